"""Super-resolution: classical resampling baselines (learned models register here too).

>>> upscale(np.zeros((8, 8, 3), np.float32), 3).shape
(24, 24, 3)
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..errors import BrightroomError
from ..image import check_image
from ..resize import imresize
from . import get_method, register

SCALES = (2, 3, 4)
DEFAULT_METHOD = "bicubic"


def check_scale(scale) -> int:
    """A supported integer upscaling factor, or a clear error.

    >>> check_scale("4")
    4
    """
    try:
        value = int(scale)
    except (TypeError, ValueError):
        value = None
    if value not in SCALES or float(scale) != value:
        raise BrightroomError(f"scale must be one of {', '.join(map(str, SCALES))}, not {scale}.")
    return value


def upscale(image: np.ndarray, scale: int, method: str = DEFAULT_METHOD) -> np.ndarray:
    """Enlarge an image ``scale`` times; float32 in [0, 1] out.

    Colour methods see RGB; the Y channel is only where the benchmark measures.
    """
    runner = get_method("sr", method).run
    image = check_image(image)
    return np.clip(runner(image, check_scale(scale)), 0.0, 1.0).astype(np.float32)


@register("sr", "bicubic", "MATLAB-compatible bicubic interpolation")
def upscale_bicubic(image: np.ndarray, scale: int) -> np.ndarray:
    return imresize(image, scale, kernel="bicubic")


@register("sr", "lanczos", "Lanczos-3 interpolation (MATLAB's lanczos3 kernel)")
def upscale_lanczos(image: np.ndarray, scale: int) -> np.ndarray:
    return imresize(image, scale, kernel="lanczos3")


def _learned_upscale(method: str, image: np.ndarray, scale: int, orientations: int = 1) -> np.ndarray:
    from ..nn.inference import self_ensemble, upscale_tiled
    from ..nn.zoo import find_model, load_model

    net = load_model(find_model("sr", method, 3).name)
    if image.shape[2] == 1:  # the networks see RGB: a gray image goes in as three equal channels
        return _learned_upscale(method, np.repeat(image, 3, axis=2), scale, orientations).mean(axis=2, keepdims=True)
    return self_ensemble(lambda view: upscale_tiled(net, view, scale), image, orientations)


def _register_learned() -> None:
    """One method per learned upscaler of the model zoo."""
    from ..nn.zoo import models

    for entry in models("sr"):
        register("sr", entry.method, entry.summary, learned=True)(partial(_learned_upscale, entry.method))
    register("sr", "brightroom-ensemble", "the classic network averaged over 4 rotations and flips: 4x the time, "
             "more detail", learned=True)(partial(_learned_upscale, "brightroom", orientations=4))


_register_learned()
