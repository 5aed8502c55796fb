"""Denoising: classical baselines and the learned noise-level-aware network.

>>> from brightroom.degrade import add_gaussian_noise
>>> clean = np.full((64, 64, 3), 0.5, np.float32)
>>> restored = denoise(add_gaussian_noise(clean, 25, seed=0), sigma=25, method="nlm")
>>> bool(np.abs(restored - clean).mean() < 0.02)
True
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import BrightroomError
from ..metrics import estimate_noise_sigma
from . import get_method, register

MAX_SIGMA = 75.0  # the range the learned models were trained on (0-255 scale)
DEFAULT_METHOD = "brightroom"


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate an image for processing: float H x W x C with C in (1, 3), finite values.

    >>> check_image(np.zeros((8, 8), np.float32)).shape
    (8, 8, 1)
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise BrightroomError(
            f"expected a gray (H x W x 1) or RGB (H x W x 3) image, got an array of shape {image.shape}."
        )
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise BrightroomError(f"the image is {image.shape[1]}x{image.shape[0]} pixels; at least 8x8 is needed.")
    if not np.issubdtype(image.dtype, np.floating):
        raise BrightroomError(f"expected float pixels in [0, 1], got {image.dtype}.")
    if not np.isfinite(image).all():
        raise BrightroomError("the image contains NaN or infinite values.")
    return image.astype(np.float32, copy=False)


def is_auto(sigma) -> bool:
    """Whether a sigma option asks for a blind estimate (None or 'auto')."""
    return sigma is None or (isinstance(sigma, str) and sigma.strip().lower() == "auto")


def check_sigma(sigma) -> float:
    """A noise level given by a user, as a number on the 0-255 scale, or a clear error.

    >>> check_sigma("12.5")
    12.5
    """
    try:
        value = float(sigma)
    except (TypeError, ValueError):
        value = None
    if value is None or isinstance(sigma, bool) or not np.isfinite(value):
        raise BrightroomError(f"sigma must be a number from 0 to {MAX_SIGMA:g} or 'auto', not '{sigma}'.")
    if not 0 <= value <= MAX_SIGMA:
        raise BrightroomError(f"sigma must be from 0 to {MAX_SIGMA:g} (0-255 scale), not {value:g}.")
    return value


def resolve_sigma(image: np.ndarray, sigma: float | str | None) -> float:
    """The noise level to use: a given sigma (checked) or, for None/'auto', a blind estimate.

    >>> resolve_sigma(np.zeros((16, 16, 1), np.float32), 10)
    10.0
    """
    return estimate_noise_sigma(image) if is_auto(sigma) else check_sigma(sigma)


def check_sigma_map(sigma: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A per-pixel noise level map (0-255 scale) checked against the image's height and width.

    >>> check_sigma_map(np.full((4, 5), 10.0), (4, 5)).dtype
    dtype('float32')
    """
    sigma = np.asarray(sigma, dtype=np.float32)
    if sigma.shape != tuple(shape):
        raise BrightroomError(f"the sigma map is {sigma.shape}; it must match the image's {tuple(shape)}.")
    if not np.isfinite(sigma).all() or sigma.min() < 0 or sigma.max() > MAX_SIGMA:
        raise BrightroomError(f"sigma map values must be finite and from 0 to {MAX_SIGMA:g} (0-255 scale).")
    return sigma


def denoise(image: np.ndarray, sigma: float | str | np.ndarray | None = None, method: str = DEFAULT_METHOD) -> np.ndarray:
    """Remove noise of standard deviation ``sigma`` (0-255 scale; None or 'auto' estimates it;
    an H x W array gives a level per pixel, for signal-dependent noise).

    Returns float32 in [0, 1], the shape of the input (H x W becomes H x W x 1).
    """
    runner = get_method("denoise", method).run
    image = check_image(image)
    if np.ndim(sigma) >= 2:
        level = check_sigma_map(sigma, image.shape[:2])
    else:
        level = resolve_sigma(image, sigma)
    return np.clip(runner(image, level), 0.0, 1.0).astype(np.float32)


def _single_level(sigma: float | np.ndarray) -> float:
    """Methods that take one noise level use the root mean square of a map."""
    return float(np.sqrt(np.mean(np.square(sigma))))


# OpenCV's filter strength per unit of sigma, tuned on training images (four of BSDS400,
# eight of Train400) at sigma 15/25/50 with 7x7 templates and a 21x21 search window.
# Colour is filtered in CIELAB, where the same sigma needs a weaker setting.
NLM_STRENGTH_COLOR = 0.5
NLM_STRENGTH_GRAY = 0.9


@register("denoise", "nlm", "OpenCV non-local means, strength tuned to sigma")
def denoise_nlm(image: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    sigma = _single_level(sigma)
    if sigma <= 0:
        return image.copy()
    pixels = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    if image.shape[2] == 3:
        strength = NLM_STRENGTH_COLOR * sigma
        bgr = np.ascontiguousarray(pixels[..., ::-1])
        out = cv2.fastNlMeansDenoisingColored(bgr, None, strength, strength, 7, 21)[..., ::-1]
    else:
        strength = NLM_STRENGTH_GRAY * sigma
        out = cv2.fastNlMeansDenoising(np.ascontiguousarray(pixels[..., 0]), None, strength, 7, 21)[..., None]
    return out.astype(np.float32) / 255.0


@register("denoise", "bm3d", "BM3D (CBM3D in opponent colour for RGB), the bm3d package")
def denoise_bm3d(image: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    import bm3d

    sigma = _single_level(sigma)
    if sigma <= 0:
        return image.copy()
    if image.shape[2] == 3:
        return bm3d.bm3d_rgb(image, sigma / 255.0).astype(np.float32)
    return bm3d.bm3d(image[..., 0], sigma / 255.0).astype(np.float32)[..., None]


def learned_denoiser_name(channels: int) -> str:
    """The shipped weights for gray (1) or colour (3) images."""
    return "denoise-gray" if channels == 1 else "denoise-color"


def _run_learned(image: np.ndarray, sigma: float | np.ndarray, orientations: int) -> np.ndarray:
    from ..nn.inference import denoise_tiled, self_ensemble
    from ..nn.registry import load_shipped

    net = load_shipped(learned_denoiser_name(image.shape[2]))
    sigma = np.asarray(sigma, np.float32) / 255.0
    if sigma.ndim == 0:
        return self_ensemble(lambda view: denoise_tiled(net, view, float(sigma)), image, orientations)
    # a sigma map turns with the image: carried as one more channel
    stacked = np.concatenate([image, sigma[..., None]], axis=2)
    return self_ensemble(lambda view: denoise_tiled(net, view[..., :-1], view[..., -1]), stacked, orientations)


@register("denoise", "brightroom", "Brightroom's noise-level-aware U-Net, trained here", learned=True)
def denoise_learned(image: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    return _run_learned(image, sigma, 1)


@register("denoise", "brightroom-ensemble",
          "the same network averaged over 4 rotations and flips: 4x the time, about 0.2 dB more", learned=True)
def denoise_learned_ensemble(image: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    return _run_learned(image, sigma, 4)
