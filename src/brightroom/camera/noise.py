"""Sensor noise measured from the data: the noise level of a burst, in the sensor model of
``brightroom.degrade`` (variance = shot * x + read**2 on the [0, 1] scale), from the frames; and
a RAW file's own noise profile (:class:`NoiseProfile`), from its mosaic.

Two frames of a static scene differ only by noise, so the variance of their
difference, block by block, measures the noise at each block's brightness.
Blocks that moved or are misaligned only add variance, so each brightness bin
keeps a low quantile of its blocks; a non-negative least-squares line through
the bins gives ``shot`` and ``read``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
from scipy.optimize import nnls

from ..errors import BrightroomError
from ..io.raw import RawImage, check_pattern
from .align import warp
from .bayer import even_crop, pack_bayer

_BLOCK = 16
_BINS = 12
_QUANTILE = 0.3
# A chi-square quantile correction: the 30th percentile of the variance of 256 samples of
# pure noise is about 3.4% below the true variance.
_QUANTILE_BIAS = 1 - 0.524 * np.sqrt(2 / (_BLOCK * _BLOCK - 1))


def noise_model_from_sigma(sigma: float) -> tuple[float, float]:
    """(shot, read) for white noise of ``sigma`` on the 0-255 scale.

    >>> noise_model_from_sigma(25.5)
    (0.0, 0.1)
    """
    return 0.0, float(sigma) / 255.0


def estimate_noise_model(
    reference: np.ndarray, frames: list[np.ndarray], flows: list[np.ndarray]
) -> tuple[float, float]:
    """(shot, read) measured from the differences between ``reference`` and the other frames.

    ``frames`` are H x W x C like ``reference``; ``flows`` align them (see ``estimate_flow``).
    Whole-pixel alignment is used so that interpolation does not smooth the noise.

    >>> from brightroom.degrade import add_poisson_gaussian_noise
    >>> scene = np.repeat(np.linspace(0.05, 0.95, 256, dtype=np.float32)[None, :, None], 128, axis=0)
    >>> a, b = (add_poisson_gaussian_noise(scene, 0.01, 0.02, seed=s) for s in (1, 2))
    >>> shot, read = estimate_noise_model(a, [b], [np.zeros((128, 256, 2), np.float32)])
    >>> round(shot, 2), round(read, 2)
    (0.01, 0.02)
    """
    levels, variances = [], []
    for frame, flow in zip(frames, flows):
        aligned = warp(frame, np.round(flow), interpolation=0)  # cv2.INTER_NEAREST
        level, variance = _block_statistics(reference, aligned)
        levels.append(level)
        variances.append(variance)
    level, variance = np.concatenate(levels), np.concatenate(variances)
    edges = np.unique(np.quantile(level, np.linspace(0, 1, _BINS + 1)))
    bin_levels, bin_variances, weights = [], [], []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (level >= low) & (level <= high)
        if inside.sum() < 8:
            continue
        bin_levels.append(np.median(level[inside]))
        bin_variances.append(np.quantile(variance[inside], _QUANTILE) / _QUANTILE_BIAS)
        weights.append(np.sqrt(inside.sum()))
    if not bin_levels:
        return 0.0, float(np.sqrt(max(np.median(variance), 0.0)))
    weights = np.asarray(weights) / np.asarray(bin_variances).clip(1e-12)  # relative errors count equally
    design = np.stack([np.asarray(bin_levels), np.ones(len(bin_levels))], axis=1) * weights[:, None]
    (shot, read_variance), _ = nnls(design, np.asarray(bin_variances) * weights)
    return float(shot), float(np.sqrt(read_variance))


def _blocks(image: np.ndarray, size: int) -> np.ndarray:
    """The whole size x size blocks of an H x W (x C) image, one row of size * size samples per block
    and channel (a last partial row or column of blocks is left out).

    >>> _blocks(np.arange(16.0).reshape(4, 4), 2)[1].tolist()
    [2.0, 3.0, 6.0, 7.0]
    """
    image = image if image.ndim == 3 else image[..., None]
    rows, cols, channels = image.shape[0] // size, image.shape[1] // size, image.shape[2]
    cropped = image[: rows * size, : cols * size]
    return cropped.reshape(rows, size, cols, size, channels).transpose(0, 2, 4, 1, 3).reshape(-1, size * size)


def _block_statistics(reference: np.ndarray, aligned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per block and channel: mean level, and the variance of the difference halved (one frame's noise)."""
    difference = _blocks(reference - aligned, _BLOCK)
    level = _blocks(0.5 * (reference + aligned), _BLOCK).mean(axis=1)
    return level, difference.var(axis=1, ddof=1) / 2


# -- a RAW file's own noise profile ---------------------------------------------------------------
# On the normalised raw scale (black 0, white 1) a sensor's noise variance is a * x + b: a from
# the photon shot noise (it grows with ISO), b from the read noise. The profile holds one (a, b)
# per packed CFA plane (red, green, green, blue; see ``bayer.pack_bayer``).


@dataclass(frozen=True)
class NoiseProfile:
    """Poisson-Gaussian noise of a Bayer sensor, variance = a * x + b per CFA plane (red, green,
    green, blue), on the normalised raw scale.

    >>> profile = NoiseProfile.uniform(0.004, 1e-5)
    >>> round(float(profile.variance(np.full((1, 1, 4), 0.25, np.float32))[0, 0, 0]), 6)
    0.00101
    """

    a: tuple[float, float, float, float]
    b: tuple[float, float, float, float]
    note: str = ""  # where the numbers came from, when that is worth saying

    @classmethod
    def uniform(cls, a: float, b: float) -> NoiseProfile:
        """The same (a, b) for the four planes."""
        return cls((float(a),) * 4, (float(b),) * 4)

    def variance(self, planes: np.ndarray) -> np.ndarray:
        """The noise variance at each sample of H x W x 4 packed planes (signal below 0 counts as 0)."""
        a, b = np.asarray(self.a, np.float32), np.asarray(self.b, np.float32)
        return np.maximum(planes, 0.0) * a + b

    def scaled(self, factor: float) -> NoiseProfile:
        """The profile of noise with ``factor`` times the variance (a merged burst: 1 / frames).

        >>> NoiseProfile.uniform(0.004, 1e-5).scaled(0.5).a[0]
        0.002
        """
        return NoiseProfile(tuple(float(v) * factor for v in self.a), tuple(float(v) * factor for v in self.b), self.note)

    def describe(self) -> str:
        """One line: the mean a and b and the noise at mid-gray.

        >>> NoiseProfile.uniform(0.004, 1e-5).describe()
        'a = 0.004, b = 1e-05 (sigma 3.2% of white at 0.25)'
        """
        a, b = float(np.mean(self.a)), float(np.mean(self.b))
        line = f"a = {a:.3g}, b = {b:.3g} (sigma {100 * np.sqrt(a * 0.25 + b):.2g}% of white at 0.25)"
        return f"{line}, {self.note}" if self.note else line


def noise_std_map(planes: np.ndarray, profile: NoiseProfile) -> np.ndarray:
    """The noise standard deviation expected at each sample of noisy H x W x 4 packed planes: the
    profile read at the local 3 x 3 mean, which is less noisy than the sample itself. What the RAW
    denoiser is conditioned on, in training and in use.

    >>> planes = np.full((8, 8, 4), 0.25, np.float32)
    >>> round(float(noise_std_map(planes, NoiseProfile.uniform(0.004, 0.0))[4, 4, 0]), 4)
    0.0316
    """
    level = cv2.blur(np.asarray(planes, np.float32), (3, 3), borderType=cv2.BORDER_REFLECT)
    return np.sqrt(profile.variance(level)).astype(np.float32)


# The profile from one mosaic: a Laplacian-like 3 x 3 filter (Immerkaer 1996) removes the smooth
# signal and keeps the noise (its squared output over 36 is the variance of white noise); in
# blocks, the mean level and that variance; per brightness bin, a low quantile of the block
# variances (texture and edges only add), corrected for the quantile's bias on pure noise; a
# non-negative line through the bins (their lower envelope) gives a and b, plane by plane.
_RESIDUAL_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32) / 6.0  # unit gain on white noise
_PROFILE_BLOCK = 8
_PROFILE_BINS = 24
_PROFILE_QUANTILE = 0.1
_PROFILE_SATURATED = 0.97
_PROFILE_ENVELOPE = 1.1
# The 10th percentile of the block variances of pure white noise is 0.625 of its variance (measured on
# 65,536 blocks of 8 x 8 filtered samples).
_PROFILE_QUANTILE_BIAS = 0.625


def estimate_noise_profile(planes: np.ndarray) -> NoiseProfile:
    """(a, b) of each of the four packed planes (H x W x 4, normalised raw scale), from the data
    alone: no dark frame, no second shot. Saturated blocks are left out.

    >>> from brightroom.degrade import add_poisson_gaussian_noise
    >>> chart = np.repeat(np.array([0, 0.01, 0.05, 0.2, 0.5, 0.8], np.float32), 64)  # gray patches, black to white
    >>> chart = np.broadcast_to(chart[:, None, None], (384, 256, 4))
    >>> profile = estimate_noise_profile(add_poisson_gaussian_noise(chart, 0.004, 0.003, seed=1))
    >>> round(profile.a[0], 3), round(float(np.sqrt(profile.b[0])), 3)
    (0.004, 0.003)
    """
    planes = np.asarray(planes, np.float32)
    if planes.ndim != 3 or planes.shape[2] != 4:
        raise ValueError("the noise profile is estimated on H x W x 4 packed Bayer planes")
    a, b = [], []
    for channel in range(4):
        fit = _fit_profile(planes[..., channel])
        a.append(fit[0])
        b.append(fit[1])
    return NoiseProfile(tuple(a), tuple(b))


def _fit_profile(plane: np.ndarray) -> tuple[float, float]:
    residual = cv2.filter2D(plane, -1, _RESIDUAL_KERNEL, borderType=cv2.BORDER_REFLECT)
    size = _PROFILE_BLOCK
    rows, cols = plane.shape[0] // size, plane.shape[1] // size
    if rows * cols < 16:
        raise ValueError("the image is too small to measure its noise (at least 64 x 64 pixels are needed)")

    # the filter's outermost samples of each block see the next block too; that is fine for noise
    level, peak = _blocks(plane, size).mean(axis=1), _blocks(plane, size).max(axis=1)
    variance = (_blocks(residual, size) ** 2).mean(axis=1)
    keep = peak < _PROFILE_SATURATED
    level, variance = level[keep], variance[keep]
    if level.size < 16:
        raise ValueError("too little of the image is below white to measure its noise")
    # bins spaced evenly in log level: the darkest ones, where b shows, get bins of their own
    low = max(float(np.quantile(level, 0.01)), 1e-4)
    edges = np.concatenate([[-np.inf], np.geomspace(low, max(float(level.max()), 2 * low), _PROFILE_BINS)])
    bin_levels, bin_variances, counts = [], [], []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (level >= low) & (level <= high)
        if inside.sum() < 4:
            continue
        bin_levels.append(max(float(np.median(level[inside])), 0.0))
        bin_variances.append(np.quantile(variance[inside], _PROFILE_QUANTILE) / _PROFILE_QUANTILE_BIAS)
        counts.append(inside.sum())
    levels, variances, counts = np.asarray(bin_levels), np.asarray(bin_variances), np.asarray(counts)
    # A bin whose every block is textured lies above the line: the fit keeps the lower envelope,
    # dropping bins more than 10% above the line and fitting again (this halves the overestimate
    # on detailed photos, measured on Kodak24 mosaics).
    used = np.ones(len(levels), bool)
    for _ in range(3):
        weights = np.sqrt(counts[used]) / np.maximum(variances[used], 1e-12)  # relative errors count equally
        design = np.stack([levels[used], np.ones(used.sum())], axis=1) * weights[:, None]
        (a, b), _ = nnls(design, variances[used] * weights)
        below = variances <= _PROFILE_ENVELOPE * (a * levels + b)
        if below.sum() < 3 or (below == used).all():
            break
        used = below
    return float(a), float(b)


# The shot level per ISO unit, from a full-frame camera's (about 1.5e-7: 60,000 electrons fill a
# 14-bit pixel at ISO 100) to a small phone sensor's (about 2e-6), each widened four times: a
# measurement outside is not the sensor's noise (a texture-only or heavily processed file).
ISO_SHOT_RANGE = (4e-8, 8e-6)


def raw_noise_profile(raw: RawImage) -> NoiseProfile:
    """The noise profile of a Bayer RAW, measured from its own data (:func:`estimate_noise_profile`)
    and checked against its EXIF ISO where the file gives one: a shot level no sensor shows at that
    ISO is brought to the nearest plausible one, and the profile's note says so.

    >>> from brightroom.degrade import add_poisson_gaussian_noise
    >>> chart = np.repeat(np.array([0, 0.01, 0.05, 0.2, 0.5, 0.8], np.float32), 128)[:, None].repeat(512, axis=1)
    >>> raw = RawImage(add_poisson_gaussian_noise(chart, 0.006, 0.007, seed=0), iso=6400)
    >>> round(raw_noise_profile(raw).a[1], 3), raw_noise_profile(raw).note
    (0.006, 'measured from the file, plausible for ISO 6400')
    """
    if not raw.is_bayer:
        raise BrightroomError("a noise profile is measured on a Bayer mosaic; this RAW holds demosaicked data.")
    planes = pack_bayer(even_crop(raw.normalized()), check_pattern(raw.cfa_pattern))
    try:
        profile = estimate_noise_profile(planes)
    except ValueError as exc:
        raise BrightroomError(f"cannot measure the noise profile: {exc}.") from None
    if not raw.iso:
        return replace(profile, note="measured from the file (no ISO to check it against)")
    low, high = (raw.iso * bound for bound in ISO_SHOT_RANGE)
    measured = float(np.mean(profile.a))
    if low <= measured <= high:
        return replace(profile, note=f"measured from the file, plausible for ISO {raw.iso:g}")
    factor = (low if measured < low else high) / max(measured, 1e-12)
    return NoiseProfile(tuple(a * factor for a in profile.a), profile.b,
                        f"measured a = {measured:.3g} is implausible for ISO {raw.iso:g}; brought to {measured * factor:.3g}")
