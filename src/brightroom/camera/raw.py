"""RAW development: Brightroom's own image signal processor.

rawpy (LibRaw) only unpacks the sensor data and its metadata; the stages are ours:

    black and white levels -> white balance (as shot, else gray world) ->
    demosaicking -> camera RGB to linear sRGB (the file's colour matrix) ->
    exposure -> local tone mapping -> sRGB encoding -> global tone curve

``develop`` works on an in-memory :class:`RawImage`; ``develop_raw`` on a file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..color import XYZ_TO_LINEAR_SRGB, linear_to_srgb
from ..errors import BrightroomError
from ..io.raw import RawImage, channel_map, check_pattern, read_raw, with_mosaic  # noqa: F401  (read_raw: re-exported for develop_raw's users)
from .demosaic import DEMOSAIC_METHODS, demosaic
from .parallel import per_pixel_in_bands
from .tone import check_strength, local_tone_map, tone_curve

LINEAR_SRGB_TO_XYZ = np.linalg.inv(XYZ_TO_LINEAR_SRGB)
DEFAULT_DEMOSAIC = "rcd"
DEFAULT_TONE_CURVE = 0.5
DEFAULT_LOCAL_TONE = 0.25
WHITE_BALANCE_CHOICES = ("auto", "as-shot", "gray-world")
HIGHLIGHT_MODES = ("rolloff", "clip")

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
    highlights: str = "rolloff",
) -> np.ndarray:
    """Develop an in-memory :class:`RawImage` to an sRGB image, float32 H x W x 3 in [0, 1].

    ``white_balance`` is 'auto' (as shot if the file says, else gray world),
    'as-shot', 'gray-world', a colour temperature ('5500K', with a tint '5500K+10') or three
    RGB gains. ``exposure`` is in stops.
    ``tone_curve_strength`` (0..1) blends in the global S-curve and
    ``local_tone`` (0..1) lifts shadows locally; both 0 give a colorimetric
    rendering (plain sRGB encoding). ``highlights`` 'rolloff' (the default) compresses values
    near and above white smoothly, keeping their hue and fading them to white (see
    :func:`roll_off_highlights`); 'clip' clips each channel at white.

    >>> gray = RawImage(np.full((16, 16), 0.2, np.float32))
    >>> developed = develop(gray, tone_curve_strength=0, local_tone=0)
    >>> developed.shape, round(float(developed[8, 8, 0]), 3)   # sRGB encoding of linear 0.2
    ((16, 16, 3), 0.485)
    """
    check_develop_options(demosaic_method=demosaic_method, white_balance=white_balance, exposure=exposure,
                          tone_curve_strength=tone_curve_strength, local_tone=local_tone, highlights=highlights)
    data = raw.normalized()
    if raw.is_bayer:
        pattern = check_pattern(raw.cfa_pattern)
        gains = _white_balance_gains(data, pattern, raw.white_balance, white_balance, raw.xyz_to_camera)
        # Gains scaled so the smallest is 1: a clipped sensor value then clips to white.
        gains = gains / gains.min()
        balanced = np.minimum(data * gains[channel_map(pattern)][_cfa_index(data.shape)], 1.0)
        camera_rgb = demosaic(balanced, pattern, demosaic_method)
    elif data.shape[2] == 1:  # monochrome: no white balance, no colour matrix
        camera_rgb = np.repeat(data, 3, axis=2)
    else:  # demosaicked already (linear DNG, X-Trans through LibRaw): the colour pipeline only
        gains = _white_balance_gains(data, None, raw.white_balance, white_balance, raw.xyz_to_camera)
        camera_rgb = np.minimum(data * (gains / gains.min()).astype(np.float32), 1.0)
    matrix = np.eye(3) if not raw.is_bayer and data.shape[2] == 1 else camera_to_srgb_matrix(raw.xyz_to_camera)
    linear = camera_rgb @ matrix.T.astype(np.float32)
    exposure = float(exposure)
    if exposure:
        linear = linear * np.float32(2.0**exposure)
    linear = local_tone_map(np.clip(linear, 0.0, None), local_tone)

    def encoded(linear: np.ndarray) -> np.ndarray:
        if highlights == "rolloff":
            linear = roll_off_highlights(linear)
        return np.clip(tone_curve(linear_to_srgb(np.clip(linear, 0.0, 1.0)), tone_curve_strength), 0.0, 1.0)

    return np.ascontiguousarray(_oriented(per_pixel_in_bands(encoded, linear), raw.flip), dtype=np.float32)


def check_develop_options(*, demosaic_method: str = DEFAULT_DEMOSAIC, white_balance: str | Sequence[float] = "auto",
                          exposure: float = 0.0, tone_curve_strength: float = DEFAULT_TONE_CURVE,
                          local_tone: float = DEFAULT_LOCAL_TONE, highlights: str = "rolloff") -> None:
    """Every development option checked before any pixel is touched (as darktable checks a
    module's parameters first), so a bad one fails at once, not after the demosaicking.

    >>> check_develop_options(tone_curve_strength=2)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: the tone curve strength must be a number from 0 to 1, not 2.
    """
    if demosaic_method not in DEMOSAIC_METHODS:
        raise BrightroomError(f"unknown demosaicking method '{demosaic_method}' (known: {', '.join(DEMOSAIC_METHODS)}).")
    if isinstance(white_balance, str):
        if white_balance not in WHITE_BALANCE_CHOICES:
            parse_kelvin(white_balance)
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
    if highlights not in HIGHLIGHT_MODES:
        raise BrightroomError(f"highlights must be one of {', '.join(HIGHLIGHT_MODES)}, not '{highlights}'.")


HIGHLIGHT_KNEE = 0.85  # linear level where the roll-off starts (about 0.93 in sRGB)


def roll_off_highlights(linear: np.ndarray, knee: float = HIGHLIGHT_KNEE) -> np.ndarray:
    """Compress linear RGB above ``knee`` so that any brightness stays under white, smoothly
    (slope 1 at the knee, a Reinhard shoulder x / (1 + x) above: white itself lands at
    knee + (1 - knee) / 2, four times white at 0.98), instead of clipping each channel: a channel
    clipping alone turns bright clouds flat cyan. The scale follows the brightest channel, so the
    hue is kept, and what goes well past white fades towards neutral, as film renders it.

    >>> out = roll_off_highlights(np.array([[[0.5, 0.5, 0.5], [2.0, 1.0, 0.5]]], np.float32))
    >>> out[0, 0].tolist(), bool(out[0, 1].max() < 1.0 and out[0, 1, 0] > out[0, 1, 1] > out[0, 1, 2])
    ([0.5, 0.5, 0.5], True)
    """
    peak = linear.max(axis=2, keepdims=True)
    over = np.maximum(peak - knee, 0.0) / (1 - knee)
    compressed = knee + (1 - knee) * over / (1 + over)
    scaled = np.where(peak > knee, linear * (compressed / np.maximum(peak, 1e-6)), linear)
    whiteness = np.clip((peak - 1) / 3, 0.0, 1.0) ** 2  # from white to four times white: towards neutral
    return (scaled + whiteness * (compressed - scaled)).astype(np.float32)


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
    mosaic: np.ndarray, pattern: str | None, as_shot: Sequence[float] | None, choice: str | Sequence[float],
    xyz_to_camera: np.ndarray | None = None,
) -> np.ndarray:
    if isinstance(choice, str) and choice not in WHITE_BALANCE_CHOICES:
        temperature, tint = parse_kelvin(choice)
        return kelvin_gains(temperature, tint, xyz_to_camera)
    if isinstance(choice, str):
        if choice == "as-shot" and as_shot is None:
            raise BrightroomError("the file records no as-shot white balance; use 'auto' or 'gray-world'.")
        if choice != "gray-world" and as_shot is not None:
            return np.asarray(as_shot, np.float64)
        return gray_world_gains(mosaic, pattern)
    gains = np.asarray(choice, np.float64).ravel()
    if gains.size != 3 or not np.isfinite(gains).all() or (gains <= 0).any():
        raise BrightroomError("white balance gains must be three positive numbers (red, green, blue).")
    return gains


KELVIN_RANGE = (1667, 25000)


def parse_kelvin(text: str) -> tuple[float, float]:
    """'5500K' or '5500K+10' / '5500K-10' (a tint) as (temperature, tint), or a clear error.

    >>> parse_kelvin("3200k-15")
    (3200.0, -15.0)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[kK]\s*(?:([+-]\s*\d+(?:\.\d+)?))?\s*", str(text))
    if not match:
        raise BrightroomError(f"white balance must be one of {', '.join(WHITE_BALANCE_CHOICES)}, three gains, or a "
                              f"colour temperature such as 5500K (with a tint: 5500K+10), not '{text}'.")
    temperature, tint = float(match.group(1)), float((match.group(2) or "0").replace(" ", ""))
    if not KELVIN_RANGE[0] <= temperature <= KELVIN_RANGE[1]:
        raise BrightroomError(f"the colour temperature must be from {KELVIN_RANGE[0]} to {KELVIN_RANGE[1]} K, "
                              f"not {temperature:g}.")
    if not -100 <= tint <= 100:
        raise BrightroomError(f"the tint must be from -100 to 100, not {tint:g}.")
    return temperature, tint


def kelvin_chromaticity(temperature: float) -> tuple[float, float]:
    """CIE xy of a light of ``temperature`` kelvin: the CIE daylight locus from 4000 K, the Planckian
    locus (Kim et al.'s cubic fit) below.

    >>> [round(v, 4) for v in kelvin_chromaticity(6504)]   # D65
    [0.3127, 0.3291]
    """
    t = float(temperature)
    if t >= 4000:
        if t <= 7000:
            x = -4.6070e9 / t**3 + 2.9678e6 / t**2 + 0.09911e3 / t + 0.244063
        else:
            x = -2.0064e9 / t**3 + 1.9018e6 / t**2 + 0.24748e3 / t + 0.237040
        return x, -3.0 * x * x + 2.87 * x - 0.275
    x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    else:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    return x, y


def kelvin_gains(temperature: float, tint: float = 0.0, xyz_to_camera: np.ndarray | None = None) -> np.ndarray:
    """RGB gains (green = 1) that make a light of ``temperature`` kelvin neutral for a camera of
    ``xyz_to_camera`` (None: camera RGB is linear sRGB). ``tint`` (-100 to 100) moves along the
    green-magenta axis: positive adds magenta (less green gain), as in raw converters.

    >>> kelvin_gains(6504).round(2).tolist()   # D65 is sRGB's white
    [1.0, 1.0, 1.0]
    """
    x, y = kelvin_chromaticity(temperature)
    white_xyz = np.array([x / y, 1.0, (1 - x - y) / y])
    matrix = np.linalg.inv(LINEAR_SRGB_TO_XYZ) if xyz_to_camera is None else np.asarray(xyz_to_camera, np.float64)
    camera_white = matrix.reshape(3, 3) @ white_xyz
    if (camera_white <= 0).any():
        raise BrightroomError(f"a light of {temperature:g} K falls outside this camera's colours; choose another.")
    gains = camera_white[1] / camera_white
    gains[[0, 2]] /= 1 - float(tint) / 200  # relative to green: magenta is red and blue up
    return gains


def _oriented(image: np.ndarray, flip: int) -> np.ndarray:
    turns = {3: 2, 5: 1, 6: -1}.get(int(flip), 0)
    return np.rot90(image, turns) if turns else image
