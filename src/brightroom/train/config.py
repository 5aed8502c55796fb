"""Training configurations: TOML files with a few sections, read into plain dicts."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..errors import BrightroomError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def load_config(path_or_name: str | Path) -> dict:
    """Read a training config: a TOML path, or the name of a shipped one (``denoise-color``).

    >>> load_config("denoise-color")["model"]["channels"]
    3
    """
    path = Path(path_or_name)
    if not path.is_file():
        path = CONFIG_DIR / f"{path_or_name}.toml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.toml")))
        raise BrightroomError(f"no training config '{path_or_name}' (shipped: {shipped}).")
    try:
        with path.open("rb") as handle:
            config = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise BrightroomError(f"'{path}' is not valid TOML: {exc}.") from None
    for section in ("model", "data", "optim", "run"):
        if section not in config:
            raise BrightroomError(f"training config '{path}' has no [{section}] section.")
    return config


def model_arguments(config: dict) -> dict:
    """The ``[model]`` section less its architecture: the keyword arguments that build the network.

    >>> model_arguments({"model": {"architecture": "NoiseLevelUNet", "channels": 1}})
    {'channels': 1}
    """
    return {k: v for k, v in config["model"].items() if k != "architecture"}


def build_model(config: dict):
    """The untrained network a config's ``[model]`` section describes.

    >>> build_model(load_config("denoise-gray")).channels
    1
    """
    from ..nn.registry import build

    return build(config["model"]["architecture"], **model_arguments(config))
