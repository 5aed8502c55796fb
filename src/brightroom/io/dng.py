"""Writing minimal single-image CFA DNG files (Bayer mosaics) that LibRaw develops.

Used to turn synthetic or unprocessed sensor data into real raw files, so the
raw path (rawpy/LibRaw) can be exercised end to end. Tags follow the DNG 1.4
specification; tifffile writes the TIFF structure.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tifffile

from ..errors import BrightroomError
from ..color import XYZ_TO_LINEAR_SRGB
from .files import atomic_write, check_output_path

# As ColorMatrix1, XYZ_TO_LINEAR_SRGB describes a "camera" whose raw RGB is linear sRGB,
# so a mosaic of linear sRGB develops to itself.
D65 = 21  # EXIF LightSource code, as used by CalibrationIlluminant1

_CFA_COLORS = {"R": 0, "G": 1, "B": 2}
_RATIONAL_DENOMINATOR = 10_000

# DNG / TIFF-EP tag codes.
_NEW_SUBFILE_TYPE = 254
_MAKE, _MODEL, _ORIENTATION = 271, 272, 274
_CFA_REPEAT_PATTERN_DIM, _CFA_PATTERN = 33421, 33422
_DNG_VERSION, _DNG_BACKWARD_VERSION, _UNIQUE_CAMERA_MODEL = 50706, 50707, 50708
_CFA_PLANE_COLOR, _CFA_LAYOUT = 50710, 50711
_BLACK_LEVEL_REPEAT_DIM, _BLACK_LEVEL, _WHITE_LEVEL = 50713, 50714, 50717
_COLOR_MATRIX_1, _AS_SHOT_NEUTRAL, _CALIBRATION_ILLUMINANT_1 = 50721, 50728, 50778
_SHORT, _LONG, _BYTE, _RATIONAL, _SRATIONAL = 3, 4, 1, 5, 10


def write_dng(
    path: str | Path,
    bayer: np.ndarray,
    *,
    cfa_pattern: str = "RGGB",
    black_level: int | Sequence[int] = 0,
    white_level: int = 65535,
    color_matrix: np.ndarray | None = None,
    as_shot_neutral: Sequence[float] | None = None,
    illuminant: int = D65,
    make: str = "Brightroom",
    model: str = "Synthetic",
    overwrite: bool = False,
) -> Path:
    """Write an H x W Bayer mosaic (integers 0..65535) as an uncompressed CFA DNG.

    ``cfa_pattern`` names the 2 x 2 filter colours in reading order ('RGGB',
    'BGGR', 'GRBG', 'GBRG'). ``black_level`` is one value, or four (one per
    pattern position, reading order). ``color_matrix`` is the DNG ColorMatrix1,
    3 x 3 XYZ -> camera RGB under ``illuminant`` (an EXIF LightSource code, 21 =
    D65); the default, XYZ_TO_LINEAR_SRGB, makes camera RGB equal to linear
    sRGB. ``as_shot_neutral`` is the camera RGB of a white object (3 values; the
    default (1, 1, 1) means already white-balanced); LibRaw's camera white
    balance is its reciprocal. Written atomically; an existing file is replaced
    only with ``overwrite=True``. (LibRaw ignores images under 22 x 22 pixels.)

    >>> import tempfile, pathlib, rawpy
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> mosaic = np.full((32, 32), 1000, np.uint16)
    >>> dng = write_dng(folder / "flat.dng", mosaic, black_level=64, white_level=4095)
    >>> with rawpy.imread(str(dng)) as raw:
    ...     raw.raw_image.shape, raw.white_level, raw.black_level_per_channel
    ((32, 32), 4095, [64, 64, 64, 64])
    """
    path = Path(path)
    if path.suffix.lower() != ".dng":
        raise BrightroomError(f"cannot write '{path}': write_dng writes DNG files; name the output '*.dng'.")
    mosaic = _checked_mosaic(path, bayer)
    pattern = _checked_pattern(path, cfa_pattern)
    blacks = _checked_black_levels(path, black_level)
    white = _checked_int(path, "white_level", white_level, 1, 65535)
    if max(blacks) >= white:
        raise BrightroomError(f"cannot write '{path}': black_level must be below white_level ({white}).")
    matrix = _checked_floats(path, "color_matrix", XYZ_TO_LINEAR_SRGB if color_matrix is None else color_matrix, 9)
    neutral = _checked_floats(
        path, "as_shot_neutral", (1.0, 1.0, 1.0) if as_shot_neutral is None else as_shot_neutral, 3
    )
    if min(neutral) <= 0:
        raise BrightroomError(f"cannot write '{path}': as_shot_neutral values must be positive.")
    illuminant = _checked_int(path, "illuminant", illuminant, 0, 65535)
    make, model = _ascii(path, "make", make), _ascii(path, "model", model)
    check_output_path(path, overwrite=overwrite)

    black_repeat = (1, 1) if len(blacks) == 1 else (2, 2)
    tags = [
        (_NEW_SUBFILE_TYPE, _LONG, 1, 0, True),  # 0: the main image
        (_MAKE, "s", 0, make, True),
        (_MODEL, "s", 0, model, True),
        (_ORIENTATION, _SHORT, 1, 1, True),
        (_CFA_REPEAT_PATTERN_DIM, _SHORT, 2, (2, 2), True),
        (_CFA_PATTERN, _BYTE, 4, pattern, True),
        (_DNG_VERSION, _BYTE, 4, (1, 4, 0, 0), True),
        (_DNG_BACKWARD_VERSION, _BYTE, 4, (1, 1, 0, 0), True),
        (_UNIQUE_CAMERA_MODEL, "s", 0, f"{make} {model}", True),
        (_CFA_PLANE_COLOR, _BYTE, 3, (0, 1, 2), True),
        (_CFA_LAYOUT, _SHORT, 1, 1, True),  # rectangular
        (_BLACK_LEVEL_REPEAT_DIM, _SHORT, 2, black_repeat, True),
        (_BLACK_LEVEL, _LONG, len(blacks), blacks, True),
        (_WHITE_LEVEL, _LONG, 1, white, True),
        (_COLOR_MATRIX_1, _SRATIONAL, 9, _rationals(path, matrix), True),
        (_AS_SHOT_NEUTRAL, _RATIONAL, 3, _rationals(path, neutral), True),
        (_CALIBRATION_ILLUMINANT_1, _SHORT, 1, illuminant, True),
    ]
    buffer = io.BytesIO()
    try:
        tifffile.imwrite(
            buffer, mosaic, photometric="cfa", extratags=tags, metadata=None, software="Brightroom", byteorder="<"
        )
    except Exception as exc:
        raise BrightroomError(f"cannot write '{path}': the DNG writer failed ({exc}).") from exc
    atomic_write(path, buffer.getvalue())
    return path


def _checked_mosaic(path: Path, bayer: np.ndarray) -> np.ndarray:
    mosaic = np.asarray(bayer)
    if mosaic.ndim != 2 or min(mosaic.shape) < 2:
        raise BrightroomError(f"cannot write '{path}': bayer must be a 2-D H x W mosaic, not shape {mosaic.shape}.")
    if mosaic.dtype.kind not in "ui":
        raise BrightroomError(f"cannot write '{path}': bayer must hold integers 0..65535 (uint16), not {mosaic.dtype}.")
    if mosaic.size and (mosaic.min() < 0 or mosaic.max() > 65535):
        raise BrightroomError(f"cannot write '{path}': bayer values must be within 0..65535.")
    return np.ascontiguousarray(mosaic, dtype=np.uint16)


def _checked_pattern(path: Path, cfa_pattern: str) -> tuple[int, ...]:
    letters = str(cfa_pattern).upper()
    if len(letters) != 4 or set(letters) != {"R", "G", "B"}:
        raise BrightroomError(
            f"cannot write '{path}': cfa_pattern must be four letters of R, G and B "
            f"such as 'RGGB', not {cfa_pattern!r}."
        )
    return tuple(_CFA_COLORS[letter] for letter in letters)


def _checked_black_levels(path: Path, black_level: int | Sequence[int]) -> tuple[int, ...]:
    values = (black_level,) if np.ndim(black_level) == 0 else tuple(np.ravel(black_level))
    if len(values) not in (1, 4):
        raise BrightroomError(f"cannot write '{path}': black_level must be one value or four (one per CFA position).")
    return tuple(_checked_int(path, "black_level", v, 0, 65535) for v in values)


def _checked_int(path: Path, name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise BrightroomError(
            f"cannot write '{path}': {name} must be a whole number from {low} to {high}, not {value!r}."
        )
    return int(value)


def _checked_floats(path: Path, name: str, values, count: int) -> list[float]:
    try:
        array = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        array = np.array([])
    if array.size != count or not np.isfinite(array).all():
        raise BrightroomError(f"cannot write '{path}': {name} must be {count} finite numbers.")
    return array.tolist()


def _rationals(path: Path, values: list[float]) -> list[int]:
    """Values as flat (numerator, denominator) pairs, as tifffile takes (S)RATIONAL tags."""
    flat = []
    for value in values:
        numerator = round(value * _RATIONAL_DENOMINATOR)
        if abs(numerator) >= 2**31:
            raise BrightroomError(f"cannot write '{path}': the value {value} is too large for a DNG rational.")
        flat += [numerator, _RATIONAL_DENOMINATOR]
    return flat


def _ascii(path: Path, name: str, text: str) -> str:
    text = str(text)
    if not text or not text.isascii():
        raise BrightroomError(f"cannot write '{path}': {name} must be non-empty ASCII text.")
    return text
