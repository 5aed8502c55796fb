"""Unprocessing (Brooks et al., "Unprocessing Images for Learned Raw Denoising", CVPR 2019):
turn an sRGB photo into the linear Bayer RAW a camera could have recorded.

Each stage of :func:`brightroom.camera.develop` is inverted in reverse order:
global tone curve -> sRGB encoding -> colour matrix -> exposure -> white balance
-> colour filter array; then sensor noise (the Poisson-Gaussian model of
``brightroom.degrade``) is added. ``write_raw_dng`` stores the result as a DNG
that rawpy and ``develop_raw`` read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..color import XYZ_TO_LINEAR_SRGB, srgb_to_linear
from ..degrade import add_poisson_gaussian_noise
from ..errors import BrightroomError
from ..image import check_image
from ..io.raw import RawImage, check_pattern, write_dng
from .bayer import mosaic_image
from .raw import DEFAULT_TONE_CURVE, camera_to_srgb_matrix
from .tone import inverse_tone_curve

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


def write_raw_dng(
    path: str | Path,
    raw: RawImage,
    *,
    black_level: int = 512,
    white_level: int = 16383,
    overwrite: bool = False,
) -> Path:
    """Store a :class:`RawImage` as a 14-bit (by default) DNG; values above white clip, as on a sensor.

    >>> import tempfile, pathlib
    >>> raw = unprocess(np.full((32, 32, 3), 0.5, np.float32), shot=0, read=0)
    >>> path = write_raw_dng(pathlib.Path(tempfile.mkdtemp()) / "u.dng", raw)
    >>> from brightroom.io.raw import read_raw
    >>> [round(g, 3) for g in read_raw(path).white_balance]
    [2.0, 1.0, 1.6]
    """
    if raw.flip:
        raise BrightroomError("writing a rotated raw (flip other than 0) as DNG is not supported.")
    mosaic = raw.normalized()
    levels = np.round(black_level + mosaic * (white_level - black_level))
    bayer = np.clip(levels, 0, white_level).astype(np.uint16)
    neutral = None if raw.white_balance is None else [1.0 / g for g in raw.white_balance]
    matrix = XYZ_TO_LINEAR_SRGB if raw.xyz_to_camera is None else raw.xyz_to_camera
    return write_dng(
        path,
        bayer,
        cfa_pattern=raw.cfa_pattern,
        black_level=black_level,
        white_level=white_level,
        color_matrix=matrix,
        as_shot_neutral=neutral,
        overwrite=overwrite,
    )


def unprocess_to_dng(path: str | Path, image: np.ndarray, *, overwrite: bool = False, **options) -> Path:
    """:func:`unprocess` an sRGB image and write it as a DNG in one step.

    >>> import tempfile, pathlib
    >>> path = unprocess_to_dng(pathlib.Path(tempfile.mkdtemp()) / "x.dng", np.full((32, 32, 3), 0.4, np.float32))
    >>> path.suffix
    '.dng'
    """
    return write_raw_dng(path, unprocess(image, **options), overwrite=overwrite)

