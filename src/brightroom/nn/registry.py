"""Named network architectures and their weight files (safetensors).

A weight file carries its own recipe in the safetensors metadata: the
architecture name and the keyword arguments that build it, so loading needs
nothing but the file. The shipped models are listed in :mod:`.zoo`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, safe_open, save_file

from ..errors import BrightroomError
from .denoiser import NoiseLevelUNet
from .jpeg import JPEGRestorer
from .real import RealPhotoDenoiser
from .sr import MultiScaleSR

ARCHITECTURES: dict[str, type[torch.nn.Module]] = {
    "NoiseLevelUNet": NoiseLevelUNet,
    "MultiScaleSR": MultiScaleSR,
    "RealPhotoDenoiser": RealPhotoDenoiser,
    "JPEGRestorer": JPEGRestorer,
}

def build(architecture: str, **kwargs) -> torch.nn.Module:
    """Instantiate a registered architecture.

    >>> build("NoiseLevelUNet", channels=1, widths=[8, 16, 32], blocks=1).channels
    1
    """
    if architecture not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise BrightroomError(f"unknown architecture '{architecture}' (known: {known}).")
    return ARCHITECTURES[architecture](**kwargs)


def save_weights(model: torch.nn.Module, path: str | Path, architecture: str, config: dict,
                 extra: dict[str, str] | None = None) -> Path:
    """Write a model's weights as float16 safetensors with its recipe as metadata."""
    path = Path(path)
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    metadata = {"architecture": architecture, "config": json.dumps(config), **(extra or {})}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    tmp.replace(path)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata block of a safetensors file."""
    with safe_open(str(path), framework="pt") as handle:
        return dict(handle.metadata() or {})


def load_weights(path: str | Path) -> torch.nn.Module:
    """Build the network a safetensors file describes and load its weights (float32, eval mode).

    >>> import tempfile, os
    >>> net = build("NoiseLevelUNet", channels=1, widths=[8, 16, 32], blocks=1)
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.safetensors")
    >>> _ = save_weights(net, path, "NoiseLevelUNet", {"channels": 1, "widths": [8, 16, 32], "blocks": 1})
    >>> load_weights(path).channels
    1
    """
    path = Path(path)
    if not path.is_file():
        raise BrightroomError(f"weights file '{path}' does not exist.")
    try:
        metadata = read_metadata(path)
        model = build(metadata["architecture"], **json.loads(metadata["config"]))
        state = {k: v.float() for k, v in load_file(str(path)).items()}
        model.load_state_dict(state)
    except BrightroomError:
        raise
    except Exception as exc:  # a foreign or damaged file: say so in one sentence
        raise BrightroomError(f"'{path}' is not a Brightroom weights file ({exc.__class__.__name__}).") from None
    return model.eval().to(memory_format=torch.channels_last)  # oneDNN's fastest layout
