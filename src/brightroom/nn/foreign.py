"""Bring-your-own weights: checkpoints of well-known public architectures (Real-ESRGAN,
SwinIR, HAT, DnCNN, SCUNet, ...) loaded through the ``spandrel`` library. Never needed by default and
never downloaded: the user names a file they already have.

spandrel is installed without its declared dependencies (``pip install --no-deps spandrel
einops``): it asks for torchvision, and PyPI's torchvision wheels need a CUDA build of
PyTorch, not the CPU build this project pins.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import torch

from ..errors import BrightroomError
from .inference import run_tiled, to_image, to_tensor


def _stand_in_torchvision() -> None:
    """Put a stand-in for torchvision in ``sys.modules`` where the real one cannot be imported.

    spandrel imports torchvision at package import, but only two of its architectures use it,
    neither of them for super-resolution (LaMa inpainting: ``rotate``; RestoreFormer face
    restoration: ``normalize``). The stand-in lets every other architecture load and says
    plainly what is missing if one of those two functions is ever called.
    """
    try:
        import torchvision  # noqa: F401
        return
    except Exception:  # absent, or built for another torch
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]

    def missing(*_args, **_kwargs):
        raise BrightroomError("this architecture needs torchvision, which this PyTorch build does not have.")

    functional = types.ModuleType("torchvision.transforms.functional")
    functional.rotate = functional.normalize = missing
    functional.InterpolationMode = types.SimpleNamespace(BILINEAR="bilinear", NEAREST="nearest", BICUBIC="bicubic")
    transforms = types.ModuleType("torchvision.transforms")
    transforms.functional = functional
    package = types.ModuleType("torchvision")
    package.transforms = transforms
    sys.modules.update({"torchvision": package, "torchvision.transforms": transforms,
                        "torchvision.transforms.functional": functional})


def is_upscaler(path: str | Path) -> bool:
    """Whether a checkpoint holds a super-resolution model (else a restoration one); a clear error
    for anything spandrel does not read."""
    model = _load_foreign(path)
    return model.purpose == "SR" or model.scale != 1


def load_foreign_upscaler(path: str | Path):
    """A spandrel model descriptor for a user's super-resolution checkpoint, or a clear error."""
    model = _load_foreign(path)
    if model.purpose != "SR":
        raise BrightroomError(f"'{path}' holds a {model.purpose} model, not a super-resolution one.")
    return model


def load_foreign_denoiser(path: str | Path):
    """A spandrel model descriptor for a user's denoising checkpoint (DnCNN, SCUNet, ...: a
    restoration model at scale 1), or a clear error."""
    model = _load_foreign(path)
    if model.purpose == "SR" or model.scale != 1:
        raise BrightroomError(f"'{path}' holds a {model.purpose} model at scale {model.scale}, not a denoiser.")
    return model


def denoise_with_foreign(model, image: np.ndarray) -> np.ndarray:
    """Run a spandrel restoration model over an image in tiles (gray images as RGB where it wants RGB)."""
    channels = image.shape[2]
    rgb = np.repeat(image, 3, axis=2) if channels == 1 and model.input_channels == 3 else image

    def process(crop: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        with torch.no_grad():
            return to_image(model(to_tensor(crop)))

    output = run_tiled(process, rgb, tile=512, overlap=96, margin=32, multiple=model.size_requirements.multiple_of)
    return output.mean(axis=2, keepdims=True) if channels == 1 and output.shape[2] == 3 else output


def _load_foreign(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise BrightroomError(f"weights file '{path}' does not exist.")
    _stand_in_torchvision()
    try:
        from spandrel import ImageModelDescriptor, ModelLoader
    except ImportError:
        raise BrightroomError("--weights needs the spandrel package (pip install --no-deps spandrel einops).") from None
    try:
        model = ModelLoader(device="cpu").load_from_file(str(path))
    except Exception as exc:
        raise BrightroomError(f"'{path}' is not a checkpoint spandrel recognises ({exc.__class__.__name__}).") from None
    if not isinstance(model, ImageModelDescriptor):
        raise BrightroomError(f"'{path}' holds a {getattr(model, 'purpose', 'non-image')} model, not an image one.")
    return model.eval()


def upscale_with_foreign(model, image: np.ndarray, scale: int) -> np.ndarray:
    """Run a spandrel super-resolution model over an image in tiles; its scale must match."""
    if model.scale != scale:
        raise BrightroomError(f"these weights upscale by {model.scale}, not {scale}.")
    channels = image.shape[2]
    rgb = np.repeat(image, 3, axis=2) if channels == 1 and model.input_channels == 3 else image

    def process(crop: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        with torch.no_grad():
            return to_image(model(to_tensor(crop)))

    output = run_tiled(process, rgb, scale=scale, tile=256, overlap=64, margin=24, multiple=model.size_requirements.multiple_of)
    return output.mean(axis=2, keepdims=True) if channels == 1 and output.shape[2] == 3 else output
