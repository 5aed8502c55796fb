"""The noise level of a burst, in the sensor model of ``brightroom.degrade``
(variance = shot * x + read**2 on the [0, 1] scale), measured from the frames.

Two frames of a static scene differ only by noise, so the variance of their
difference, block by block, measures the noise at each block's brightness.
Blocks that moved or are misaligned only add variance, so each brightness bin
keeps a low quantile of its blocks; a non-negative least-squares line through
the bins gives ``shot`` and ``read``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from .align import warp

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


def _block_statistics(reference: np.ndarray, aligned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per block and channel: mean level, and the variance of the difference halved (one frame's noise)."""
    reference = reference if reference.ndim == 3 else reference[..., None]
    aligned = aligned if aligned.ndim == 3 else aligned[..., None]
    height, width, channels = reference.shape
    rows, cols = height // _BLOCK, width // _BLOCK
    crop = (slice(0, rows * _BLOCK), slice(0, cols * _BLOCK))

    def blocks(image: np.ndarray) -> np.ndarray:
        return image[crop].reshape(rows, _BLOCK, cols, _BLOCK, channels).transpose(0, 2, 4, 1, 3).reshape(-1, _BLOCK**2)

    difference = blocks(reference - aligned)
    level = blocks(0.5 * (reference + aligned)).mean(axis=1)
    return level, difference.var(axis=1, ddof=1) / 2
