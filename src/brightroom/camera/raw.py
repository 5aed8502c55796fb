"""RAW development: Brightroom's own image signal processor.

rawpy (LibRaw) only unpacks the sensor data and its metadata; the stages are ours:

    black and white levels -> white balance (as shot, else gray world) ->
    demosaicking -> camera RGB to linear sRGB (the file's colour matrix) ->
    exposure -> local tone mapping -> sRGB encoding -> global tone curve

``develop`` works on an in-memory :class:`RawImage`; ``develop_raw`` on a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..color import XYZ_TO_LINEAR_SRGB, linear_to_srgb
from ..errors import BrightroomError
from ..io.raw import RawImage, channel_map, check_pattern, read_raw, with_mosaic  # noqa: F401  (read_raw: re-exported for develop_raw's users)
from .demosaic import DEMOSAIC_METHODS, demosaic
from .tone import check_strength, local_tone_map, tone_curve

LINEAR_SRGB_TO_XYZ = np.linalg.inv(XYZ_TO_LINEAR_SRGB)
DEFAULT_DEMOSAIC = "rcd"
DEFAULT_TONE_CURVE = 0.5
DEFAULT_LOCAL_TONE = 0.25
WHITE_BALANCE_CHOICES = ("auto", "as-shot", "gray-world")

_SATURATED = 0.98  # normalised level above which a sample counts as clipped
_DNG_COLOR_MATRIX = {1: 50721, 2: 50722}
_DNG_ILLUMINANT = {1: 50778, 2: 50779}


def develop(
    raw: RawImage,
    *,
    demosaic_method: str = DEFAULT_DEMOSAIC,
    white_balance: str | Sequence[float] = "auto",
    exposure: float = 0.0,
    tone_curve_strength: float = DEFAULT_TONE_CURVE,
    local_tone: float = DEFAULT_LOCAL_TONE,
) -> np.ndarray:
    """Develop an in-memory :class:`RawImage` to an sRGB image, float32 H x W x 3 in [0, 1].

    ``white_balance`` is 'auto' (as shot if the file says, else gray world),
    'as-shot', 'gray-world' or three RGB gains. ``exposure`` is in stops.
    ``tone_curve_strength`` (0..1) blends in the global S-curve and
    ``local_tone`` (0..1) lifts shadows locally; both 0 give a colorimetric
    rendering (plain sRGB encoding).

    >>> gray = RawImage(np.full((16, 16), 0.2, np.float32))
    >>> developed = develop(gray, tone_curve_strength=0, local_tone=0)
    >>> developed.shape, round(float(developed[8, 8, 0]), 3)   # sRGB encoding of linear 0.2
    ((16, 16, 3), 0.485)
    """
    check_develop_options(demosaic_method=demosaic_method, white_balance=white_balance, exposure=exposure,
                          tone_curve_strength=tone_curve_strength, local_tone=local_tone)
    data = raw.normalized()
    if raw.is_bayer:
        pattern = check_pattern(raw.cfa_pattern)
        gains = _white_balance_gains(data, pattern, raw.white_balance, white_balance)
        # Gains scaled so the smallest is 1: a clipped sensor value then clips to white.
        gains = gains / gains.min()
        balanced = np.minimum(data * gains[channel_map(pattern)][_cfa_index(data.shape)], 1.0)
        camera_rgb = demosaic(balanced, pattern, demosaic_method)
    elif data.shape[2] == 1:  # monochrome: no white balance, no colour matrix
        camera_rgb = np.repeat(data, 3, axis=2)
    else:  # demosaicked already (linear DNG, X-Trans through LibRaw): the colour pipeline only
        gains = _white_balance_gains(data, None, raw.white_balance, white_balance)
        camera_rgb = np.minimum(data * (gains / gains.min()).astype(np.float32), 1.0)
    matrix = np.eye(3) if not raw.is_bayer and data.shape[2] == 1 else camera_to_srgb_matrix(raw.xyz_to_camera)
    linear = camera_rgb @ matrix.T.astype(np.float32)
    exposure = float(exposure)
    if exposure:
        linear = linear * np.float32(2.0**exposure)
    linear = local_tone_map(np.clip(linear, 0.0, None), local_tone)
    encoded = tone_curve(linear_to_srgb(np.clip(linear, 0.0, 1.0)), tone_curve_strength)
    return np.ascontiguousarray(_oriented(np.clip(encoded, 0.0, 1.0), raw.flip), dtype=np.float32)


def check_develop_options(*, demosaic_method: str = DEFAULT_DEMOSAIC, white_balance: str | Sequence[float] = "auto",
                          exposure: float = 0.0, tone_curve_strength: float = DEFAULT_TONE_CURVE,
                          local_tone: float = DEFAULT_LOCAL_TONE) -> None:
    """Every development option checked before any pixel is touched (as darktable checks a
    module's parameters first), so a bad one fails at once, not after the demosaicking.

    >>> check_develop_options(tone_curve_strength=2)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: the tone curve strength must be from 0 to 1, not 2.
    """
    if demosaic_method not in DEMOSAIC_METHODS:
        raise BrightroomError(f"unknown demosaicking method '{demosaic_method}' (known: {', '.join(DEMOSAIC_METHODS)}).")
    if isinstance(white_balance, str):
        if white_balance not in WHITE_BALANCE_CHOICES:
            raise BrightroomError(f"white balance must be one of {', '.join(WHITE_BALANCE_CHOICES)} or three gains, "
                                  f"not '{white_balance}'.")
    else:
        gains = np.asarray(white_balance, np.float64).ravel()
        if gains.size != 3 or not np.isfinite(gains).all() or (gains <= 0).any():
            raise BrightroomError("white balance gains must be three positive numbers (red, green, blue).")
    try:
        stops = float(exposure)
    except (TypeError, ValueError):
        stops = float("nan")
    if not np.isfinite(stops) or abs(stops) > 10:
        raise BrightroomError(f"exposure must be between -10 and 10 stops, not {exposure}.")
    for name, strength in (("the tone curve strength", tone_curve_strength), ("the local tone mapping strength", local_tone)):
        check_strength(name, strength)


def develop_raw(path: str | Path, *, demosaic: str = DEFAULT_DEMOSAIC, max_pixels: int | None = None, **options) -> np.ndarray:
    """Read and develop a camera RAW or DNG file: sRGB float32 H x W x 3 in [0, 1].

    Options are those of :func:`develop` (``white_balance``, ``exposure``,
    ``tone_curve_strength``, ``local_tone``). Write the result with
    ``brightroom.io.write_image(path, pixels, bit_depth=16)`` for 16-bit output.

    >>> import tempfile, pathlib
    >>> from brightroom.io import write_dng
    >>> dng = write_dng(pathlib.Path(tempfile.mkdtemp()) / "g.dng", np.full((32, 32), 8000, np.uint16))
    >>> develop_raw(dng, demosaic="bilinear").shape
    (32, 32, 3)
    """
    check_develop_options(demosaic_method=demosaic, **options)  # before the file is even read
    return develop(read_raw(path, max_pixels=max_pixels), demosaic_method=demosaic, **options)


def camera_to_srgb_matrix(xyz_to_camera: np.ndarray | None) -> np.ndarray:
    """The 3 x 3 matrix from white-balanced camera RGB to linear sRGB.

    dcraw's construction: camera-from-sRGB is the colour matrix times sRGB-to-XYZ,
    its rows scaled to sum to 1 (so white stays white after white balance), inverted.

    >>> bool(np.allclose(camera_to_srgb_matrix(XYZ_TO_LINEAR_SRGB), np.eye(3), atol=1e-6))
    True
    """
    if xyz_to_camera is None:
        return np.eye(3)
    camera_from_srgb = np.asarray(xyz_to_camera, np.float64).reshape(3, 3) @ LINEAR_SRGB_TO_XYZ
    sums = camera_from_srgb.sum(axis=1, keepdims=True)
    if np.any(np.abs(sums) < 1e-6):
        raise BrightroomError("the colour matrix maps white to black; it cannot be a camera's matrix.")
    camera_from_srgb = camera_from_srgb / sums
    try:
        return np.linalg.inv(camera_from_srgb)
    except np.linalg.LinAlgError:
        raise BrightroomError("the colour matrix cannot be inverted.") from None


def gray_world_gains(mosaic: np.ndarray, pattern: str | None) -> np.ndarray:
    """RGB gains (green = 1) that make the mean of unclipped samples gray; ``pattern`` None for
    H x W x 3 camera RGB rather than a Bayer mosaic.

    >>> m = np.tile(np.array([[0.2, 0.4], [0.4, 0.1]], np.float32), (4, 4))
    >>> gray_world_gains(m, "RGGB").round(3).tolist()
    [2.0, 1.0, 4.0]
    """
    means = np.zeros(3)
    for channel in range(3):
        if pattern is None:
            samples = mosaic[..., channel][(mosaic < _SATURATED).all(axis=2)]
        else:
            samples = mosaic[(channel_map(pattern)[_cfa_index(mosaic.shape)] == channel) & (mosaic < _SATURATED)]
        means[channel] = samples.mean() if samples.size else 0.0
    if (means <= 0).any():
        return np.ones(3)
    return means[1] / means


def _cfa_index(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return rows % 2, cols % 2


def _white_balance_gains(
    mosaic: np.ndarray, pattern: str | None, as_shot: Sequence[float] | None, choice: str | Sequence[float]
) -> np.ndarray:
    if isinstance(choice, str):
        if choice not in WHITE_BALANCE_CHOICES:
            raise BrightroomError(
                f"white balance must be one of {', '.join(WHITE_BALANCE_CHOICES)} or three gains, not '{choice}'."
            )
        if choice == "as-shot" and as_shot is None:
            raise BrightroomError("the file records no as-shot white balance; use 'auto' or 'gray-world'.")
        if choice != "gray-world" and as_shot is not None:
            return np.asarray(as_shot, np.float64)
        return gray_world_gains(mosaic, pattern)
    gains = np.asarray(choice, np.float64).ravel()
    if gains.size != 3 or not np.isfinite(gains).all() or (gains <= 0).any():
        raise BrightroomError("white balance gains must be three positive numbers (red, green, blue).")
    return gains


def _oriented(image: np.ndarray, flip: int) -> np.ndarray:
    turns = {3: 2, 5: 1, 6: -1}.get(int(flip), 0)
    return np.rot90(image, turns) if turns else image
