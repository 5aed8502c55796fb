"""The model zoo: one declarative table of every shipped model, and the only door to its weights.

Each entry names the model, the task and registered method that run it, the image channels it
takes and its training config; the config (``train/configs/NAME.toml``) holds the architecture,
its arguments and the noise range or scales it was trained for, the weights file
(``weights/NAME.safetensors``) carries that recipe and its training record in its metadata, and
the card (``weights/NAME.md``) says what was measured. The tasks register one method per distinct
``method`` below, the recipe layer, the CLI's choices, ``brightroom models``, ``/v1/methods`` and
the benchmark read this table; nothing else names a weights file.

Adding a model: an architecture in ``nn/`` (listed in ``registry.ARCHITECTURES``), an entry here,
a training config, the weights and their card (``docs/architecture.md``).

>>> [entry.name for entry in models("sr")]
['sr-classic', 'sr-real']
>>> find_model("denoise", "brightroom", channels=1).name
'denoise-gray'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BrightroomError

if TYPE_CHECKING:  # the table itself needs no PyTorch; loading a model does
    import torch

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


@dataclass(frozen=True)
class ModelEntry:
    """One shipped model. ``method`` is the registered method name that runs it; models of one
    method differ by ``channels`` (1 gray, 3 colour). ``kind`` groups upscalers for ``--model``
    ('classic' for clean images, 'real' for real photos); ``blind`` models estimate the noise
    themselves instead of taking a noise level."""

    name: str
    task: str
    method: str
    channels: int
    summary: str
    kind: str | None = None
    blind: bool = False

    @cached_property
    def config(self) -> dict:
        """The training config: the architecture, its arguments, the data and noise it was trained on."""
        from ..train.config import load_config

        return load_config(self.name)

    @property
    def architecture(self) -> str:
        return self.config["model"]["architecture"]

    @property
    def arguments(self) -> dict:
        from ..train.config import model_arguments

        return model_arguments(self.config)

    @property
    def sigma_max(self) -> float | None:
        """The highest noise level (0-255 scale) a non-blind denoiser was trained for."""
        noise = self.config.get("noise", {})
        return float(noise["sigma_max"]) if "sigma_max" in noise else None

    @property
    def scales(self) -> tuple[int, ...] | None:
        scales = self.arguments.get("scales")
        return tuple(scales) if scales else None

    @property
    def weights(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.safetensors"

    @property
    def card(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.md"

    @property
    def shipped(self) -> bool:
        return self.weights.is_file()


MODELS: dict[str, ModelEntry] = {entry.name: entry for entry in [
    ModelEntry("denoise-color", "denoise", "brightroom", 3,
               "noise-level-conditioned U-Net for colour photos with Gaussian or sensor noise (AWGN sigma 0-75)"),
    ModelEntry("denoise-gray", "denoise", "brightroom", 1,
               "the same U-Net for gray images"),
    ModelEntry("denoise-hq", "denoise", "brightroom-hq", 3,
               "the quality tier: the colour U-Net with a full-resolution stage around it, for AWGN and sensor noise"),
    ModelEntry("denoise-real", "denoise", "brightroom-real", 3,
               "blind real-photo denoiser: estimates luminance and colour noise itself (camera noise, JPEG)",
               blind=True),
    ModelEntry("denoise-raw", "raw", "brightroom-raw", 4,
               "U-Net on the packed Bayer planes, before demosaicking, conditioned on the sensor's noise profile"),
    ModelEntry("deblock", "jpeg", "brightroom", 1,
               "blind JPEG artifact remover: estimates the compression itself, restores each JPEG plane",
               blind=True),
    ModelEntry("sr-classic", "sr", "brightroom", 3,
               "multi-scale residual network trained on bicubic downsampling (x2, x3, x4)", kind="classic"),
    ModelEntry("sr-real", "sr", "brightroom-real", 3,
               "the same network fine-tuned on a random real-photo degradation chain", kind="real"),
]}


def get_model(name: str) -> ModelEntry:
    """The zoo entry called ``name``, or a clear error listing the known ones.

    >>> get_model("no-such-model")
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: unknown model 'no-such-model' (known: denoise-color, denoise-gray, denoise-hq, denoise-real, denoise-raw, deblock, sr-classic, sr-real).
    """
    if name not in MODELS:
        raise BrightroomError(f"unknown model '{name}' (known: {', '.join(MODELS)}).")
    return MODELS[name]


def models(task: str | None = None) -> list[ModelEntry]:
    """The zoo's entries, of one task if given, in table order."""
    return [entry for entry in MODELS.values() if task is None or entry.task == task]


def find_model(task: str, method: str, channels: int = 3) -> ModelEntry:
    """The model a learned method runs for images of ``channels`` (a colour model takes gray too)."""
    candidates = [entry for entry in models(task) if entry.method == method]
    if not candidates:
        raise BrightroomError(f"no model in the zoo runs {task} method '{method}'.")
    exact = [entry for entry in candidates if entry.channels == channels]
    return (exact or candidates)[0]


def upscale_kinds() -> dict[str, ModelEntry]:
    """The upscalers by kind ('classic', 'real'): what ``--model`` chooses from."""
    return {entry.kind: entry for entry in models("sr") if entry.kind}


def weights_path(name_or_path: str | Path) -> Path:
    """A zoo model's weights file by name, or any path given as it is.

    >>> weights_path("sr-real").name, str(weights_path("my/own.safetensors"))
    ('sr-real.safetensors', 'my/own.safetensors')
    """
    return MODELS[name_or_path].weights if name_or_path in MODELS else Path(name_or_path)


_LOADED: dict[str, torch.nn.Module] = {}


def load_model(name: str) -> torch.nn.Module:
    """The shipped model ``name``, loaded once per process and frozen (see :mod:`.runtime`).

    >>> load_model("denoise-color").channels
    3
    """
    entry = get_model(name)
    if name not in _LOADED:
        if not entry.shipped:
            raise BrightroomError(f"the model '{name}' is not shipped with this installation.")
        from .quantize import load_ranges
        from .registry import load_weights
        from .runtime import freeze

        _LOADED[name] = freeze(load_weights(entry.weights), load_ranges(entry.weights))
    return _LOADED[name]


def describe_models() -> list[dict[str, str]]:
    """Every zoo entry with its shipped file's recipe and training record (from its metadata).

    >>> all("architecture" in model for model in describe_models())
    True
    """
    from safetensors import safe_open

    from .quantize import load_ranges
    from .registry import read_metadata

    rows = []
    for entry in MODELS.values():
        row = {"name": entry.name, "task": entry.task, "method": entry.method, "architecture": entry.architecture,
               "summary": entry.summary, "card": str(entry.card), "shipped": str(entry.shipped)}
        if entry.shipped:
            with safe_open(str(entry.weights), framework="pt") as handle:
                parameters = sum(math.prod(handle.get_slice(key).get_shape()) for key in handle.keys())
            row |= {"parameters": str(parameters), "megabytes": f"{entry.weights.stat().st_size / 1e6:.1f}",
                    "int8": str(bool(load_ranges(entry.weights))),
                    **{k: v for k, v in read_metadata(entry.weights).items() if k in ("steps", "train_seconds")}}
        rows.append(row)
    return rows
