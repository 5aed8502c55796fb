"""Image quality metrics with the literature's conventions, and blind noise-level estimation.

PSNR and SSIM are computed on 8-bit levels: the restored image is rounded and
clipped to 0-255 first, as the published tables do; on the Y channel, Y itself
is rounded to integer levels, as MATLAB's ``rgb2ycbcr`` does for uint8 images. SSIM is Wang et al.'s:
11 x 11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, valid region only,
the mean over channels for colour.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from .color import rgb_to_y
from .image import is_two_level


def to_8bit_levels(image: np.ndarray) -> np.ndarray:
    """Round and clip to the 0-255 integer levels (float64 for exact arithmetic).

    >>> to_8bit_levels(np.array([-0.1, 0.5, 1.2])).tolist()
    [0.0, 128.0, 255.0]
    """
    return np.clip(np.round(np.asarray(image, dtype=np.float64) * 255.0), 0, 255)


def _prepare(output: np.ndarray, reference: np.ndarray, crop: int, y_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    if output.shape != reference.shape:
        raise ValueError(f"images differ in shape: {output.shape} and {reference.shape}")
    a, b = to_8bit_levels(output) / 255.0, to_8bit_levels(reference) / 255.0
    if y_channel:
        # MATLAB's rgb2ycbcr on uint8 images returns uint8, so Y is rounded to integer levels too.
        a, b = np.round(rgb_to_y(a).astype(np.float64) * 255.0), np.round(rgb_to_y(b).astype(np.float64) * 255.0)
    else:
        a, b = a * 255.0, b * 255.0
    if crop:
        a, b = a[crop:-crop, crop:-crop], b[crop:-crop, crop:-crop]
    return a, b


def psnr(output: np.ndarray, reference: np.ndarray, *, crop: int = 0, y_channel: bool = False) -> float:
    """Peak signal-to-noise ratio in dB on 8-bit levels, optionally on BT.601 Y with a border crop.

    >>> ref = np.zeros((8, 8, 1)); out = ref.copy(); out[0, 0] = 1.0
    >>> round(psnr(out, ref), 2)   # one pixel off by 255 in 64
    18.06
    """
    a, b = _prepare(output, reference, crop, y_channel)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def psnr_b(output: np.ndarray, reference: np.ndarray) -> float:
    """PSNR-B (Yim and Bovik 2011), the JPEG-deblocking literature's measure: PSNR with the mean
    squared error raised by the output's blocking effect factor (BEF: how much more its pixels
    differ across the 8 x 8 grid's boundaries than within blocks, weighted by log2(8) / log2 of
    the shorter side). Per channel, then averaged; 8-bit levels.

    >>> ref = np.full((32, 32, 1), 0.5)
    >>> blocky = ref.copy(); blocky[:, 8:16] += 0.04; blocky[:, 24:] += 0.04   # steps at block boundaries
    >>> round(psnr(blocky, ref), 2), round(psnr_b(blocky, ref), 2)
    (31.14, 29.1)
    """
    a, b = _prepare(output, reference, 0, False)
    scores = []
    for channel in range(a.shape[2]):
        mse = np.mean((a[..., channel] - b[..., channel]) ** 2) + _blocking_effect_factor(a[..., channel])
        scores.append(float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse))
    return float(np.mean(scores))


def _blocking_effect_factor(image: np.ndarray, block: int = 8) -> float:
    height, width = image.shape
    across_columns = (image[:, :-1] - image[:, 1:]) ** 2  # between column j and j + 1
    across_rows = (image[:-1] - image[1:]) ** 2
    column_boundary = (np.arange(width - 1) % block) == block - 1
    row_boundary = (np.arange(height - 1) % block) == block - 1
    boundary = across_columns[:, column_boundary].sum() + across_rows[row_boundary].sum()
    inside = across_columns[:, ~column_boundary].sum() + across_rows[~row_boundary].sum()
    boundary_count = height * column_boundary.sum() + width * row_boundary.sum()
    inside_count = height * (~column_boundary).sum() + width * (~row_boundary).sum()
    if boundary_count == 0 or inside_count == 0:
        return 0.0
    difference = boundary / boundary_count - inside / inside_count
    return float(max(difference, 0.0) * np.log2(block) / np.log2(min(height, width)))


def ssim(output: np.ndarray, reference: np.ndarray, *, crop: int = 0, y_channel: bool = False) -> float:
    """Structural similarity (Wang et al. 2004) on 8-bit levels; colour is the mean over channels.

    >>> x = np.random.default_rng(0).random((32, 32, 3))
    >>> ssim(x, x)
    1.0
    """
    a, b = _prepare(output, reference, crop, y_channel)
    return float(
        structural_similarity(
            a, b, data_range=255.0, channel_axis=2, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, K1=0.01, K2=0.03,
        )
    )


def estimate_noise_sigma(image: np.ndarray, *, scales: tuple[int, ...] = (1, 2), patch_size: int = 7,
                         max_patches: int = 40_000) -> float:
    """Blind estimate of the noise sigma on the 0-255 scale: the white-noise sigma a
    denoiser should be given to remove the image's noise, white or not.

    At each scale the PCA method of Chen, Zhu and Heng (ICCV 2015) runs on the image
    averaged over ``scale`` x ``scale`` blocks, and the estimate is multiplied by the
    scale; the largest wins. For white noise every scale gives the same number. Real
    photos' noise is correlated (demosaicking, denoising and compression in the camera):
    it has little power in the finest details, so full resolution alone underestimates
    it, and the half-resolution estimate catches it. Coarser scales are not used: there
    the texture of clean photos starts to read as noise. An image too small for any scale
    (under 14 pixels a side) or two-level (:func:`~brightroom.image.is_two_level`) reads 0.

    >>> from brightroom.degrade import add_gaussian_noise
    >>> flat = np.full((96, 96, 1), 0.5, np.float32)
    >>> round(estimate_noise_sigma(add_gaussian_noise(flat, 20, seed=0)))
    20
    """
    image = np.asarray(image, dtype=np.float32)  # float64 copies cost 8 bytes a sample on large photos
    if image.ndim == 2:
        image = image[..., None]
    if is_two_level(image):
        return 0.0
    estimates = []
    for scale in scales:
        height, width = image.shape[0] // scale * scale, image.shape[1] // scale * scale
        if height // scale < 2 * patch_size or width // scale < 2 * patch_size:
            break  # too few patches for their covariance: an icon or a thumbnail
        blocks = image[:height, :width].reshape(height // scale, scale, width // scale, scale, -1).mean(axis=(1, 3))
        try:
            estimates.append(scale * _white_noise_sigma(blocks * 255.0, patch_size, max_patches))
        except np.linalg.LinAlgError:
            break
    return max(estimates, default=0.0)  # nothing measurable reads as clean


def _white_noise_sigma(image: np.ndarray, patch_size: int, max_patches: int) -> float:
    """The PCA estimate of white Gaussian noise sigma in ``image`` (H x W x C, 0-255 scale)."""
    channels = image.shape[2]
    windows = np.lib.stride_tricks.sliding_window_view(image, (patch_size, patch_size), axis=(0, 1))
    stride = max(1, int(np.ceil(np.sqrt(windows.shape[0] * windows.shape[1] / max_patches))))
    patches = windows[::stride, ::stride].reshape(-1, channels * patch_size * patch_size)
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(patches, rowvar=False)))[::-1]
    for start in range(len(eigenvalues)):
        tail = eigenvalues[start:]
        mean = tail.mean()
        if np.sum(tail > mean) >= np.sum(tail < mean):
            break
    return float(np.sqrt(max(mean, 0.0)))
