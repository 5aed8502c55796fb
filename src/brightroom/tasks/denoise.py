"""Denoising: classical baselines and the learned noise-level-aware network.

>>> from brightroom.degrade import add_gaussian_noise
>>> clean = np.full((64, 64, 3), 0.5, np.float32)
>>> restored = denoise(add_gaussian_noise(clean, 25, seed=0), sigma=25, method="nlm")
>>> bool(np.abs(restored - clean).mean() < 0.02)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from ..errors import BrightroomError, check_number
from ..image import as_rgb, check_image, is_two_level
from ..metrics import estimate_noise_sigma
from ..nn.zoo import models as _zoo_models
from . import get_method, register

# The highest noise level (0-255 scale) the learned models were trained for, from their configs.
MAX_SIGMA = max(entry.sigma_max for entry in _zoo_models("denoise") if entry.sigma_max)
MAX_STRENGTH = 4.0
DEFAULT_METHOD = "brightroom"
REAL_METHOD = "brightroom-real"


@dataclass(frozen=True)
class Strength:
    """How strongly a blind method denoises: ``overall`` times ``luma`` for luminance noise,
    ``overall`` times ``color`` for colour noise. 0 leaves that part untouched, 1 follows the
    model's own estimate, above 1 is stronger (up to 4).

    >>> Strength(overall=0.5, color=2).color
    1.0
    >>> Strength(luma=-1)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: the luminance strength must be a number from 0 to 4, not -1.
    """

    overall: float = 1.0
    luma_factor: float = 1.0
    color_factor: float = 1.0

    def __init__(self, overall: float = 1.0, luma: float = 1.0, color: float = 1.0):
        for name, value in (("", overall), ("luminance ", luma), ("colour ", color)):
            check_strength(f"the {name}strength", value)
        object.__setattr__(self, "overall", float(overall))
        object.__setattr__(self, "luma_factor", float(luma))
        object.__setattr__(self, "color_factor", float(color))

    @property
    def luma(self) -> float:
        return self.overall * self.luma_factor

    @property
    def color(self) -> float:
        return self.overall * self.color_factor

    def describe(self) -> str:
        """E.g. 'luminance x0.7, colour x1.4'."""
        return f"luminance x{self.luma:g}, colour x{self.color:g}"


def check_strength(name: str, value) -> float:
    """A restoration strength: 0 (untouched) to 4."""
    return check_number(name, value, 0.0, MAX_STRENGTH)


def is_monochrome(image: np.ndarray, tolerance: float = 1.5 / 255) -> bool:
    """True for a one-channel image, or an RGB one whose channels agree everywhere (a black and
    white photo stored as colour).

    >>> is_monochrome(np.repeat(np.random.default_rng(0).random((8, 8, 1)), 3, axis=2))
    True
    """
    if image.shape[2] == 1:
        return True

    def agree(pixels: np.ndarray) -> bool:
        return bool(np.abs(pixels - pixels.mean(axis=2, keepdims=True)).max() <= tolerance)

    return agree(image[::16]) and agree(image)  # a colour photo shows itself in every 16th row


@dataclass(frozen=True)
class NoiseEstimate:
    """A blind model's reading of a photo's noise: the median luminance and colour levels
    (0-255 scale, white Gaussian noise of sigma s reads s in both) and the per-pixel map
    H x W x 2 on the [0, 1] scale."""

    luma: float
    color: float
    levels: np.ndarray

    def describe(self) -> str:
        return f"luminance {self.luma:.1f}, colour {self.color:.1f}"


def estimate_noise_levels(image: np.ndarray, method: str = REAL_METHOD) -> np.ndarray:
    """The per-pixel luminance and colour noise levels a blind model reads, H x W x 2, [0, 1] scale;
    zero for a two-level image (:func:`~brightroom.image.is_two_level`), which has no sensor noise."""
    from ..nn.inference import estimate_tiled
    from ..nn.zoo import load_model

    image = check_image(image)
    if is_two_level(image):
        return np.zeros((*image.shape[:2], 2), np.float32)
    rgb = as_rgb(image)
    return estimate_tiled(load_model(_learned_entry(method, 3).name).estimator, rgb)


def estimate_noise(image: np.ndarray, method: str = REAL_METHOD) -> NoiseEstimate:
    """What a blind model reads of a photo's noise (see :class:`NoiseEstimate`); a black and
    white photo has no colour noise.

    >>> from brightroom.degrade import add_gaussian_noise
    >>> estimate = estimate_noise(add_gaussian_noise(np.full((64, 64, 3), 0.5, np.float32), 20))
    >>> bool(10 < estimate.luma < 30)
    True
    """
    image = check_image(image)
    levels = estimate_noise_levels(image, method)
    if is_monochrome(image):
        levels[..., 1] = 0.0
    luma, color = (float(np.median(levels[..., k]) * 255) for k in (0, 1))
    return NoiseEstimate(luma, color, levels)


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


def check_sigma_map(sigma: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A per-pixel noise level map (0-255 scale) checked against the image's height and width
    (and, for a blind method's luminance and colour levels, 2 channels).

    >>> check_sigma_map(np.full((4, 5), 10.0), (4, 5)).dtype
    dtype('float32')
    """
    sigma = np.asarray(sigma, dtype=np.float32)
    if sigma.shape != tuple(shape):
        raise BrightroomError(f"the sigma map is {sigma.shape}; it must match the image's {tuple(shape)}.")
    if not np.isfinite(sigma).all() or sigma.min() < 0 or sigma.max() > MAX_SIGMA:
        raise BrightroomError(f"sigma map values must be finite and from 0 to {MAX_SIGMA:g} (0-255 scale).")
    return sigma


def denoise(image: np.ndarray, sigma: float | str | np.ndarray | None = None, method: str = DEFAULT_METHOD,
            strength: Strength | None = None) -> np.ndarray:
    """Remove noise of standard deviation ``sigma`` (0-255 scale; None or 'auto' estimates it;
    an H x W array gives a level per pixel, for signal-dependent noise). A blind method
    ('brightroom-real') estimates luminance and colour noise itself under 'auto' and takes a
    :class:`Strength`.

    Returns float32 in [0, 1], the shape of the input (H x W becomes H x W x 1).
    """
    chosen = get_method("denoise", method)
    image = check_image(image)
    if strength is not None and not chosen.blind:
        raise BrightroomError(f"strength applies to the blind method '{REAL_METHOD}', not '{method}'.")
    if chosen.blind and np.ndim(sigma) == 3:  # luminance and colour levels, e.g. from estimate_noise
        level = check_sigma_map(sigma, image.shape[:2] + (2,))
    elif np.ndim(sigma) >= 2:
        level = check_sigma_map(sigma, image.shape[:2])
    elif chosen.blind and is_auto(sigma):
        level = None
    else:
        level = resolve_sigma(image, sigma)
    restored = chosen.run(image, level, strength) if chosen.blind else chosen.run(image, level)
    return np.clip(restored, 0.0, 1.0).astype(np.float32, copy=False)


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


def _learned_entry(method: str, channels: int):
    from ..nn.zoo import find_model

    return find_model("denoise", method, channels)


def _run_learned(method: str, image: np.ndarray, sigma: float | np.ndarray, orientations: int = 1) -> np.ndarray:
    from ..nn.inference import denoise_tiled, self_ensemble
    from ..nn.zoo import load_model

    net = load_model(_learned_entry(method, image.shape[2]).name)
    sigma = np.asarray(sigma, np.float32) / 255.0
    if sigma.ndim == 0:
        return self_ensemble(lambda view: denoise_tiled(net, view, float(sigma)), image, orientations)
    # a sigma map turns with the image: carried as one more channel
    stacked = np.concatenate([image, sigma[..., None]], axis=2)
    return self_ensemble(lambda view: denoise_tiled(net, view[..., :-1], view[..., -1]), stacked, orientations)


def _run_blind(method: str, image: np.ndarray, sigma: float | np.ndarray | None,
               strength: Strength | None = None) -> np.ndarray:
    """A blind real-photo model: its own luminance and colour noise estimate (or a given level for
    both), scaled by the strengths; strengths below 1 blend the correction back towards the input."""
    from ..nn.inference import denoise_tiled
    from ..nn.zoo import load_model

    strength = strength or Strength()
    net = load_model(_learned_entry(method, 3).name)
    monochrome = is_monochrome(image)
    rgb = np.repeat(image[..., :1], 3, axis=2) if monochrome else image
    if sigma is None:
        levels = estimate_noise_levels(rgb, method)
    elif np.ndim(sigma) == 3:
        levels = np.asarray(sigma, np.float32) / 255
    else:
        levels = np.repeat(np.broadcast_to(np.asarray(sigma, np.float32), rgb.shape[:2])[..., None], 2, axis=2) / 255
    luma, color = strength.luma, 0.0 if monochrome else strength.color
    if monochrome:
        levels = levels * np.array([1.0, 0.0], np.float32)  # no colour noise to remove
    if luma == 0 and color == 0 or not levels.any():
        return image.copy()  # told zero noise, the network still alters images unlike photos (dithering)
    condition = np.multiply(levels, np.array([max(luma, 1.0), max(color, 1.0)], np.float32), dtype=np.float32)
    restored = denoise_tiled(net.denoiser, rgb, condition)
    if luma < 1 or color < 1:
        correction = restored - rgb
        luma_part = correction.mean(axis=2, keepdims=True)
        restored = rgb + min(luma, 1.0) * luma_part + min(color, 1.0) * (correction - luma_part)
    return restored.mean(axis=2, keepdims=True).repeat(image.shape[2], axis=2) if monochrome else restored


def _register_learned() -> None:
    """One method per distinct learned method of the model zoo whose weights are shipped (models
    differ by channels; a model still in training has none yet)."""
    from ..nn.zoo import models

    shipped = [entry for entry in models("denoise") if entry.shipped]
    for entry in {entry.method: entry for entry in reversed(shipped)}.values():
        run = partial(_run_blind if entry.blind else _run_learned, entry.method)
        register("denoise", entry.method, entry.summary, learned=True, blind=entry.blind)(run)
    register("denoise", "brightroom-ensemble",
             "the AWGN network averaged over 4 rotations and flips: 4x the time, about 0.2 dB more",
             learned=True)(partial(_run_learned, "brightroom", orientations=4))


_register_learned()
