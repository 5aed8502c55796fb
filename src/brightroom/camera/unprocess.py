"""Unprocessing (Brooks et al., "Unprocessing Images for Learned Raw Denoising", CVPR 2019):
turn an sRGB photo into the linear Bayer RAW a camera could have recorded, and the realistic
camera noise chain built on it (``camera_noise``: what the real-photo model trains on).

Each stage of :func:`brightroom.camera.develop` is inverted in reverse order:
global tone curve -> sRGB encoding -> colour matrix -> exposure -> white balance
-> colour filter array; then sensor noise (the Poisson-Gaussian model of
``brightroom.degrade``) is added. ``write_raw_dng`` stores the result as a DNG
that rawpy and ``develop_raw`` read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..color import XYZ_TO_LINEAR_SRGB, linear_to_srgb, srgb_to_linear
from ..degrade import add_poisson_gaussian_noise, jpeg_compress
from ..errors import BrightroomError
from ..image import check_image
from ..io.raw import CFA_PATTERNS, RawImage, check_pattern, write_raw_dng
from .bayer import mosaic_image
from .demosaic import demosaic
from .raw import DEFAULT_TONE_CURVE, camera_to_srgb_matrix
from .tone import inverse_tone_curve, tone_curve

# A real DSLR's D65 colour matrix (XYZ -> camera, DNG ColorMatrix2 of the Canon EOS 5D
# Mark III as published by Adobe's DNG Converter and listed in dcraw).
EXAMPLE_XYZ_TO_CAMERA = np.array([[6722, -635, -963], [-4287, 12460, 2028], [-908, 2162, 5668]]) / 10_000
# Daylight white balance gains of a typical sensor: red and blue are recorded weaker than green.
EXAMPLE_WHITE_BALANCE = (2.0, 1.0, 1.6)
# A mid-ISO phone-like noise level on the [0, 1] raw scale (variance = shot * x + read**2).
DEFAULT_SHOT_NOISE = 0.001
DEFAULT_READ_NOISE = 0.002


def unprocess(
    image: np.ndarray,
    *,
    cfa_pattern: str = "RGGB",
    xyz_to_camera: np.ndarray | None = EXAMPLE_XYZ_TO_CAMERA,
    white_balance: Sequence[float] = EXAMPLE_WHITE_BALANCE,
    exposure: float = 0.0,
    tone_curve_strength: float = DEFAULT_TONE_CURVE,
    shot: float = DEFAULT_SHOT_NOISE,
    read: float = DEFAULT_READ_NOISE,
    seed: int | np.random.Generator | None = 0,
) -> RawImage:
    """An sRGB image (float32 H x W x 3 in [0, 1]) as a noisy linear Bayer :class:`RawImage`.

    The mosaic is normalised (black 0, white 1) and not clipped below 0, as a
    sensor's noise is not. ``exposure`` (stops) darkens the raw, as a shorter
    exposure would; develop with the same ``exposure`` and ``tone_curve_strength``
    (and ``local_tone=0``) to get the image back. ``shot=read=0`` gives a clean raw.

    >>> raw = unprocess(np.full((8, 8, 3), 0.5, np.float32), shot=0, read=0)
    >>> raw.mosaic.shape, raw.cfa_pattern, raw.white_balance
    ((8, 8), 'RGGB', (2.0, 1.0, 1.6))
    """
    rgb = check_image(image)
    if rgb.shape[2] != 3:
        raise BrightroomError("unprocessing needs an RGB image, not a gray one.")
    pattern = check_pattern(cfa_pattern)
    gains = np.asarray(white_balance, np.float64).ravel()
    if gains.size != 3 or not np.isfinite(gains).all() or (gains <= 0).any():
        raise BrightroomError("white balance gains must be three positive numbers (red, green, blue).")
    gains = gains / gains[1]
    if shot < 0 or read < 0:
        raise BrightroomError("shot and read noise must be at least 0.")

    linear = srgb_to_linear(inverse_tone_curve(np.clip(rgb, 0.0, 1.0), tone_curve_strength))
    camera_from_srgb = np.linalg.inv(camera_to_srgb_matrix(xyz_to_camera))
    camera_rgb = linear @ camera_from_srgb.T.astype(np.float32)
    camera_rgb = camera_rgb * np.float32(2.0 ** -float(exposure)) / gains.astype(np.float32)
    mosaic = mosaic_image(camera_rgb, pattern)
    if shot or read:
        # The noise model wants the signal level, which is never negative.
        mosaic = add_poisson_gaussian_noise(np.maximum(mosaic, 0.0), shot, read, seed=seed)
    return RawImage(
        mosaic=mosaic.astype(np.float32),
        cfa_pattern=pattern,
        black_level=0.0,
        white_level=1.0,
        white_balance=tuple(float(g) for g in gains),
        xyz_to_camera=None if xyz_to_camera is None else np.asarray(xyz_to_camera, np.float64).reshape(3, 3),
    )


def unprocess_to_dng(path: str | Path, image: np.ndarray, *, overwrite: bool = False, **options) -> Path:
    """:func:`unprocess` an sRGB image and write it as a DNG in one step (14-bit, black 512).

    >>> import tempfile, pathlib
    >>> path = unprocess_to_dng(pathlib.Path(tempfile.mkdtemp()) / "x.dng", np.full((32, 32, 3), 0.4, np.float32))
    >>> path.suffix
    '.dng'
    """
    return write_raw_dng(path, unprocess(image, **options), overwrite=overwrite)


# -- the realistic camera noise chain, for training on real photos -------------------------------
# Sensor noise on the [0, 1] raw scale, variance = shot * x + read**2. Shot levels span a phone or
# camera from base ISO (about 1e-4) to ISO 12800-like (about 1.2e-2, Brooks et al.); the read level follows the shot
# level as in Brooks et al. (2019): log(read variance) = 2.18 log(shot) + 1.2 + N(0, 0.26).
SHOT_RANGE = (1e-4, 1.2e-2)
CHAIN_JPEG_QUALITY = (50, 95)
CHAIN_JPEG_SHARE = 0.85  # the rest stay uncompressed (PNG, TIFF or HEIC exports)


def sensor_read_noise(shot: float, rng: np.random.Generator | None = None) -> float:
    """The read noise (standard deviation, [0, 1] scale) that goes with a shot level; random
    spread around the camera line when ``rng`` is given.

    >>> round(sensor_read_noise(1e-3), 5)
    0.00098
    """
    spread = 0.0 if rng is None else rng.normal(0.0, 0.26)
    return float(np.sqrt(np.exp(2.18 * np.log(shot) + 1.2 + spread)))


def camera_noise(clean: np.ndarray, rng: np.random.Generator, *, shot: float | None = None,
                 jpeg_quality: int | None | str = "random", in_camera: bool = True,
                 sharpen: tuple[float, float] | None = None,
                 with_sensor_image: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Clean sRGB (H x W x 3 in [0, 1]) as a camera would have recorded it in low light: unprocessed
    to linear camera RGB and a Bayer mosaic, sensor noise (Poisson-Gaussian), demosaicked, white
    balance, colour matrix, sRGB and tone curve (the noise is the difference that development makes
    between the noisy and the clean mosaic), optional in-camera noise reduction (colour, and
    luminance) and sharpening,
    and, for most, a JPEG at quality 50-95 (4:2:0). Random white balance, colour matrix, tone curve,
    CFA phase and demosaicking; ``shot`` None draws a level from :data:`SHOT_RANGE` (log-uniform);
    ``jpeg_quality`` None skips the JPEG, a number forces it; ``sharpen`` (amount, radius) applies
    :func:`camera_sharpen` before the JPEG (apply it to the clean target too). The result is
    clipped to [0, 1], the same size; ``with_sensor_image`` also returns the image before the
    JPEG, whose difference from the clean one is the noise alone (the JPEG's loss is not noise).

    >>> flat = np.full((64, 64, 3), 0.5, np.float32)
    >>> noisy = camera_noise(flat, np.random.default_rng(0), shot=0.001, jpeg_quality=None, in_camera=False)
    >>> bool(0.01 < noisy.std() < 0.2), noisy.shape
    (True, (64, 64, 3))
    """

    rgb = np.clip(np.asarray(clean, np.float32), 0.0, 1.0)
    if shot is None:
        shot = float(np.exp(rng.uniform(*np.log(SHOT_RANGE))))
    read = sensor_read_noise(shot, rng)
    drawn = random_camera(rng)
    to_srgb = camera_to_srgb_matrix(drawn["xyz_to_camera"]).astype(np.float32)
    gains = np.asarray(drawn["white_balance"], np.float32)
    tone, pattern = drawn["tone_curve_strength"], drawn["cfa_pattern"]

    linear = srgb_to_linear(inverse_tone_curve(rgb, tone))
    camera = (linear @ np.linalg.inv(to_srgb).T) / gains
    clean_mosaic = mosaic_image(np.clip(camera, 0.0, 1.0), pattern)
    noisy_mosaic = np.clip(add_poisson_gaussian_noise(clean_mosaic, shot, read, rng), 0.0, 1.0)
    method = "mhc" if rng.random() < 0.6 else "bilinear"

    def develop(mosaic: np.ndarray) -> np.ndarray:
        linear = np.clip((demosaic(mosaic, pattern, method=method) * gains) @ to_srgb.T, 0.0, 1.0)
        return tone_curve(linear_to_srgb(linear), tone)

    # The noise is what the development of the noisy mosaic adds to that of the clean one: spatially
    # correlated and signal-dependent as a camera's, without the demosaicking errors of the content
    # (the training images were downsampled; a sensor's optics blur finer detail than that).
    noise = develop(noisy_mosaic) - develop(clean_mosaic)
    if in_camera and rng.random() < 0.6:  # a camera's noise reduction smooths the colour noise first,
        noise = _smooth_chroma(noise, rng.uniform(0.5, 3.0))
    if in_camera and rng.random() < 0.5:  # and often the luminance noise a little: coarser grain
        noise = _smooth_luma(noise, rng.uniform(0.4, 1.2))
    before_jpeg = np.clip(rgb + noise, 0.0, 1.0)
    if sharpen is not None:
        before_jpeg = camera_sharpen(before_jpeg, *sharpen)
    if jpeg_quality == "random":
        jpeg_quality = int(rng.integers(CHAIN_JPEG_QUALITY[0], CHAIN_JPEG_QUALITY[1] + 1)) \
            if rng.random() < CHAIN_JPEG_SHARE else None
    noisy = before_jpeg if jpeg_quality is None else jpeg_compress(before_jpeg, jpeg_quality)
    noisy = noisy.astype(np.float32)
    return (noisy, before_jpeg.astype(np.float32)) if with_sensor_image else noisy


def random_camera(rng: np.random.Generator) -> dict:
    """A random camera for training, as :func:`unprocess` options: the example DSLR's colour matrix
    blended towards sRGB, daylight white balance gains, a tone curve strength and a CFA phase.

    >>> sorted(random_camera(np.random.default_rng(0)))
    ['cfa_pattern', 'tone_curve_strength', 'white_balance', 'xyz_to_camera']
    """
    blend = rng.uniform(0.0, 1.0)
    xyz_to_camera = blend * EXAMPLE_XYZ_TO_CAMERA + (1 - blend) * np.linalg.inv(XYZ_TO_LINEAR_SRGB)
    gains = (float(rng.uniform(1.6, 2.4)), 1.0, float(rng.uniform(1.3, 2.0)))
    tone = float(rng.uniform(0.0, 1.0))
    pattern = CFA_PATTERNS[rng.integers(len(CFA_PATTERNS))]
    return {"xyz_to_camera": xyz_to_camera, "white_balance": gains, "tone_curve_strength": tone,
            "cfa_pattern": pattern}


def camera_sharpen(image: np.ndarray, amount: float, radius: float) -> np.ndarray:
    """In-camera unsharp masking of the luminance: ``amount`` of the detail under a Gaussian of ``radius``.

    >>> flat = np.full((16, 16, 3), 0.5, np.float32)
    >>> bool(np.allclose(camera_sharpen(flat, 1.0, 1.0), flat))
    True
    """
    image = np.asarray(image, np.float32)
    luma = image.mean(axis=2, keepdims=True)
    detail = luma - cv2.GaussianBlur(luma, (0, 0), radius, borderType=cv2.BORDER_REFLECT).reshape(luma.shape)
    return np.clip(image + amount * detail, 0.0, 1.0).astype(np.float32)


def _smooth_luma(noise: np.ndarray, radius: float) -> np.ndarray:
    """Blur the luminance part of a noise field, keep its colour: the blotchier grain that a
    camera's luminance noise reduction leaves."""
    luma = noise.mean(axis=2, keepdims=True)
    blurred = cv2.GaussianBlur(luma, (0, 0), radius, borderType=cv2.BORDER_REFLECT).reshape(luma.shape)
    return (noise - luma + blurred).astype(np.float32)


def _smooth_chroma(noise: np.ndarray, radius: float) -> np.ndarray:
    """Blur the colour-difference part of a noise field, keep its luminance."""
    luma = noise.mean(axis=2, keepdims=True)
    chroma = cv2.GaussianBlur(noise - luma, (0, 0), radius, borderType=cv2.BORDER_REFLECT)
    return (luma + chroma).astype(np.float32)
