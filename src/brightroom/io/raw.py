"""Everything Brightroom knows about RAW files, in one place: the colour filter array (CFA)
patterns, unpacking a RAW/DNG file's mosaic and metadata with LibRaw (``read_raw``, for
Brightroom's own development in ``camera/``), LibRaw's own development (``RawSource``, what
``read_image`` uses for a RAW), and writing minimal single-image CFA DNG files (``write_dng``)
that LibRaw reads back. DNG tags follow the DNG 1.4 specification; tifffile writes the TIFF
structure. Development itself (white balance, demosaicking, colour, tone) is ``camera/``'s.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import rawpy
import tifffile

from ..color import XYZ_TO_LINEAR_SRGB
from ..errors import BrightroomError
from .files import atomic_write, check_input_file, check_output_path
from .formats import HEADER_BYTES, sniff_format
from .limits import check_pixel_count, resolve_max_pixels

# As ColorMatrix1, XYZ_TO_LINEAR_SRGB describes a "camera" whose raw RGB is linear sRGB,
# so a mosaic of linear sRGB develops to itself.
D65 = 21  # EXIF LightSource code, as used by CalibrationIlluminant1

_DNG_COLOR_MATRIX = {1: 50721, 2: 50722}
_DNG_ILLUMINANT = {1: 50778, 2: 50779}
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
_LINEAR_RAW = 34892  # PhotometricInterpretation of demosaicked (or monochrome) DNG data


CFA_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")
NO_CFA = "none"  # data that is not a Bayer mosaic: demosaicked (or linear, or monochrome) already
_CHANNEL = {"R": 0, "G": 1, "B": 2}


def check_pattern(pattern: str) -> str:
    """The pattern in upper case, or a clear error.

    >>> check_pattern("rggb")
    'RGGB'
    """
    name = str(pattern).upper()
    if name not in CFA_PATTERNS:
        raise BrightroomError(f"unknown CFA pattern {pattern!r} (known: {', '.join(CFA_PATTERNS)}).")
    return name


def channel_map(pattern: str) -> np.ndarray:
    """The 2 x 2 channel indices (0 = R, 1 = G, 2 = B) of a pattern.

    >>> channel_map("GRBG").tolist()
    [[1, 0], [2, 1]]
    """
    letters = check_pattern(pattern)
    return np.array([_CHANNEL[c] for c in letters]).reshape(2, 2)


def check_mosaic(mosaic: np.ndarray) -> np.ndarray:
    """A Bayer mosaic as float32 H x W (at least 4 x 4, finite), or a clear error.

    >>> check_mosaic(np.zeros((4, 6), np.uint16)).dtype
    dtype('float32')
    """
    array = np.asarray(mosaic)
    if array.ndim != 2:
        raise BrightroomError(f"a Bayer mosaic must be a 2-D H x W array, not shape {array.shape}.")
    if min(array.shape) < 4:
        raise BrightroomError(f"the mosaic is {array.shape[1]}x{array.shape[0]} pixels; at least 4x4 is needed.")
    if array.dtype.kind not in "uif":
        raise BrightroomError(f"a Bayer mosaic must hold numbers, not {array.dtype}.")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise BrightroomError("the mosaic contains NaN or infinite values.")
    return array


@dataclass
class RawImage:
    """A RAW file's sensor data and the metadata needed to develop it.

    ``mosaic`` is float32 H x W in sensor units, a Bayer mosaic of ``cfa_pattern``; or, for data
    that is not a Bayer mosaic (a linear DNG, an X-Trans sensor demosaicked by LibRaw, a
    monochrome DNG), H x W x C linear camera RGB (C = 3) or gray (C = 1) with ``cfa_pattern``
    'none' (see :data:`NO_CFA`). ``black_level`` is a scalar or
    2 x 2 (one per CFA position, reading order); ``white_level`` the clipping
    level. ``white_balance`` holds the as-shot RGB gains (green = 1), or None if
    unknown. ``xyz_to_camera`` is the 3 x 3 colour matrix with DNG ColorMatrix
    meaning (XYZ under D65 -> camera RGB); None means camera RGB is linear sRGB.
    ``flip`` is LibRaw's orientation code (0, 3 = 180, 5 = 90 CCW, 6 = 90 CW). ``iso`` is the
    EXIF ISO speed, None if the file does not say.

    >>> raw = RawImage(np.full((8, 8), 1000, np.float32), black_level=200, white_level=4000)
    >>> float(raw.normalized()[0, 0])
    0.2105...
    """

    mosaic: np.ndarray
    cfa_pattern: str = "RGGB"
    black_level: float | np.ndarray = 0.0
    white_level: float = 1.0
    white_balance: tuple[float, float, float] | None = None
    xyz_to_camera: np.ndarray | None = None
    flip: int = 0
    iso: float | None = None

    @property
    def is_bayer(self) -> bool:
        return np.ndim(self.mosaic) == 2

    def normalized(self) -> np.ndarray:
        """The data with black at 0 and white at 1 (noise below black is kept, not clipped)."""
        if not self.is_bayer:
            span = float(self.white_level) - float(np.max(self.black_level))
            if span <= 0:
                raise BrightroomError("the raw white level must be above the black level.")
            return ((np.asarray(self.mosaic, np.float32) - float(np.max(self.black_level))) / span).astype(np.float32)
        mosaic = check_mosaic(self.mosaic)
        black_map = self._black_map(mosaic.shape)
        span = np.float32(self.white_level) - black_map
        if (span <= 0).any():
            raise BrightroomError("the raw white level must be above the black level.")
        return ((mosaic - black_map) / span).astype(np.float32)

    def denormalized(self, data: np.ndarray) -> np.ndarray:
        """Normalised Bayer data (black 0, white 1) back on this raw's scale: the inverse of
        :meth:`normalized`, so processed data keeps the file's levels.

        >>> raw = RawImage(np.full((4, 4), 1000, np.float32), black_level=200, white_level=4000)
        >>> float(raw.denormalized(raw.normalized())[0, 0])
        1000.0
        """
        black_map = self._black_map(data.shape)
        return (black_map + data * (np.float32(self.white_level) - black_map)).astype(np.float32)

    def _black_map(self, shape: tuple[int, ...]) -> np.ndarray:
        black = np.broadcast_to(np.asarray(self.black_level, np.float32), (2, 2))
        height, width = shape[:2]
        return np.tile(black, ((height + 1) // 2, (width + 1) // 2))[:height, :width]


def read_raw(path: str | Path, *, max_pixels: int | None = None) -> RawImage:
    """Unpack a camera RAW or DNG file: its sensor data (the visible Bayer mosaic; other data as
    linear camera RGB, see :class:`RawImage`) and its metadata.

    >>> import tempfile, pathlib
    >>> from brightroom.io import write_dng
    >>> dng = write_dng(pathlib.Path(tempfile.mkdtemp()) / "a.dng", np.full((32, 32), 900, np.uint16), black_level=100)
    >>> raw = read_raw(dng); raw.mosaic.shape, raw.cfa_pattern, raw.black_level.tolist()
    ((32, 32), 'RGGB', [[100.0, 100.0], [100.0, 100.0]])
    """
    path = Path(path)
    check_input_file(path)
    with libraw_quiet():
        try:
            handle = rawpy.imread(str(path))
        except Exception as exc:
            raise raw_error(path, exc) from None
        with handle as raw:
            try:
                sizes = raw.sizes
                check_pixel_count(path, sizes.raw_width, sizes.raw_height, resolve_max_pixels(max_pixels))
                pattern = _bayer_pattern(path, raw)
                if pattern == NO_CFA:
                    mosaic, black, white = _demosaicked_by_libraw(path, raw), np.zeros((2, 2), np.float32), 1.0
                else:
                    mosaic = np.array(raw.raw_image_visible, dtype=np.float32)
                    colors = raw.raw_colors_visible[:2, :2]
                    black = np.array(raw.black_level_per_channel, np.float32)[colors]
                    white = float(raw.white_level)
                balance = _as_shot_white_balance(raw.camera_whitebalance)
                xyz_to_camera = _color_matrix(path, raw)
                flip = int(sizes.flip)
                iso = float(raw.other.iso_speed) or None
            except BrightroomError:
                raise
            except Exception as exc:  # LibRaw unpacks on first access to the data
                raise raw_error(path, exc) from None
    if white <= black.max():
        raise BrightroomError(f"cannot develop '{path}': its white level is not above its black level.")
    check_image_data(path, mosaic, float(black.max()), white)
    return RawImage(mosaic, pattern, black, white, balance, xyz_to_camera, flip, iso)


def check_image_data(path: Path, mosaic: np.ndarray, black: float, white: float) -> None:
    """Refuse a mosaic with (almost) no sample above black: a RAW whose image data was stripped
    or never written decodes to zeros, which must not become a black picture.

    >>> check_image_data(Path("x.dng"), np.zeros((64, 64), np.float32), 0.0, 4095.0)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: cannot read 'x.dng': the RAW file holds no image data (it is stripped or truncated).
    """
    sample = np.asarray(mosaic)[::4, ::4]
    if sample.size == 0 or np.mean(sample > black + 5e-4 * (white - black)) < 0.005:
        raise BrightroomError(f"cannot read '{path}': the RAW file holds no image data (it is stripped or truncated).")


def raw_error(path: Path, exc: Exception) -> BrightroomError:
    """One sentence for a LibRaw failure."""
    kind = type(exc).__name__
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        if sniff_format(handle.read(HEADER_BYTES)) not in (None, "tiff", "raw"):
            return BrightroomError(f"cannot develop '{path}': it is not a camera RAW file (such as DNG, CR2, NEF or ARW).")
    if kind == "LibRawFileUnsupportedError":
        reason = "cannot be read by LibRaw (it is stripped, corrupt or of a format LibRaw does not know)"
    elif kind == "LibRawTooBigError":
        reason = "declares an image too large to process (it is stripped or corrupt)"
    else:
        reason = "is truncated or corrupt (its image data cannot be decoded)"
    return BrightroomError(f"cannot read '{path}': the RAW file {reason}.")


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def libraw_quiet() -> Iterator[None]:
    """LibRaw reports problems by printing to the process's standard error (file descriptor 2,
    past any Python redirect); the descriptor points at /dev/null meanwhile, so the user sees
    Brightroom's one sentence only."""
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        silent = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(silent, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(silent)


def with_mosaic(raw: RawImage, mosaic: np.ndarray) -> RawImage:
    """The same metadata around a new, already normalised mosaic (black 0, white 1)."""
    return replace(raw, mosaic=mosaic, black_level=0.0, white_level=1.0)


def _as_shot_white_balance(multipliers: Sequence[float]) -> tuple[float, float, float] | None:
    red, green, blue = (float(m) for m in list(multipliers)[:3])
    if min(red, green, blue) <= 0:
        return None
    return red / green, 1.0, blue / green


def _bayer_pattern(path: Path, raw: rawpy.RawPy) -> str:
    """The file's Bayer pattern, or NO_CFA for data LibRaw must demosaic or that needs none."""
    pattern = raw.raw_pattern
    if raw.num_colors != 3 or pattern is None or pattern.shape != (2, 2):
        return NO_CFA
    letters = raw.color_desc.decode("ascii", "replace")
    name = "".join(letters[i] for i in raw.raw_colors_visible[:2, :2].ravel())
    if name not in ("RGGB", "BGGR", "GRBG", "GBRG"):
        raise BrightroomError(f"cannot develop '{path}': its colour filter pattern ({name}) is not an RGB Bayer one.")
    return name


def _demosaicked_by_libraw(path: Path, raw: rawpy.RawPy) -> np.ndarray:
    """Linear camera RGB (H x W x 3) or gray (H x W x 1) in [0, 1] for data that is not a Bayer
    mosaic: LibRaw demosaics X-Trans and other filters, and reads linear and monochrome DNGs,
    with unit white balance, no colour conversion, no gamma and no brightening; Brightroom's
    own pipeline does the rest."""
    rgb = raw.postprocess(output_color=rawpy.ColorSpace.raw, gamma=(1, 1), no_auto_bright=True,
                          use_camera_wb=False, user_wb=[1.0, 1.0, 1.0, 1.0], output_bps=16, user_flip=0)
    data = rgb.astype(np.float32) / np.float32(65535)
    return data[..., :1] if raw.num_colors == 1 else data


def _color_matrix(path: Path, raw: rawpy.RawPy) -> np.ndarray | None:
    """XYZ -> camera: LibRaw's camera table, else the DNG's ColorMatrix, else LibRaw's own matrix."""
    from_table = np.asarray(raw.rgb_xyz_matrix, np.float64)[:3]
    if np.abs(from_table).sum() > 0:
        return from_table
    from_dng = _dng_color_matrix(path)
    if from_dng is not None:
        return from_dng
    rgb_from_camera = np.asarray(raw.color_matrix, np.float64)[:3, :3]
    if np.abs(rgb_from_camera).sum() > 0 and abs(np.linalg.det(rgb_from_camera)) > 1e-9:
        return np.linalg.inv(rgb_from_camera) @ XYZ_TO_LINEAR_SRGB
    return None


def _dng_color_matrix(path: Path) -> np.ndarray | None:
    """The DNG ColorMatrix for D65 if there is one, else the last one given."""
    with contextlib.suppress(Exception), tifffile.TiffFile(path) as tiff:
        tags = tiff.pages.first.tags
        chosen = None
        for index in (1, 2):
            tag = tags.get(_DNG_COLOR_MATRIX[index])
            if tag is None:
                continue
            values = np.asarray(tag.value, np.float64)
            matrix = (values[0::2] / values[1::2]).reshape(3, 3) if values.size == 18 else values.reshape(3, 3)
            illuminant = tags.get(_DNG_ILLUMINANT[index])
            chosen = matrix
            if illuminant is not None and int(illuminant.value) == D65:
                return matrix
        return chosen
    return None


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
    orientation: int = 1,
    exif: bytes | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an H x W Bayer mosaic (integers 0..65535) as an uncompressed CFA DNG, or H x W x 3
    linear camera RGB (or H x W x 1, monochrome) as a LinearRaw DNG, as DNG converters write
    demosaicked or monochrome data (``cfa_pattern`` is then not used).

    ``cfa_pattern`` names the 2 x 2 filter colours in reading order ('RGGB',
    'BGGR', 'GRBG', 'GBRG'). ``black_level`` is one value, or four (one per
    pattern position, reading order). ``color_matrix`` is the DNG ColorMatrix1,
    3 x 3 XYZ -> camera RGB under ``illuminant`` (an EXIF LightSource code, 21 =
    D65); the default, XYZ_TO_LINEAR_SRGB, makes camera RGB equal to linear
    sRGB. ``as_shot_neutral`` is the camera RGB of a white object (3 values; the
    default (1, 1, 1) means already white-balanced); LibRaw's camera white
    balance is its reciprocal. ``orientation`` is the EXIF orientation (1, 3, 6 or 8); ``exif`` an
    EXIF block whose camera, exposure, ISO, lens and date tags are carried over (and whose make
    and model replace ``make`` and ``model``). Written atomically; an existing file is replaced
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
    linear = mosaic.ndim == 3
    pattern = None if linear else _checked_pattern(path, cfa_pattern)
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
    if orientation not in _ORIENTATION_TO_FLIP:
        raise BrightroomError(f"cannot write '{path}': orientation must be 1, 3, 6 or 8, not {orientation}.")
    carried = _exif_tags(exif)
    make = carried.pop(_MAKE, None) or make
    model = carried.pop(_MODEL, None) or model
    make, model = _ascii(path, "make", make), _ascii(path, "model", model)
    check_output_path(path, overwrite=overwrite)

    black_repeat = (1, 1) if len(blacks) == 1 else (2, 2)
    tags = [
        (_NEW_SUBFILE_TYPE, _LONG, 1, 0, True),  # 0: the main image
        (_MAKE, "s", 0, make, True),
        (_MODEL, "s", 0, model, True),
        (_ORIENTATION, _SHORT, 1, orientation, True),
        (_DNG_VERSION, _BYTE, 4, (1, 4, 0, 0), True),
        (_DNG_BACKWARD_VERSION, _BYTE, 4, (1, 1, 0, 0), True),
        (_UNIQUE_CAMERA_MODEL, "s", 0, f"{make} {model}", True),
        (_BLACK_LEVEL_REPEAT_DIM, _SHORT, 2, black_repeat, True),
        (_BLACK_LEVEL, _LONG, len(blacks), blacks, True),
        (_WHITE_LEVEL, _LONG, 1, white, True),
        (_COLOR_MATRIX_1, _SRATIONAL, 9, _rationals(path, matrix), True),
        (_AS_SHOT_NEUTRAL, _RATIONAL, 3, _rationals(path, neutral), True),
        (_CALIBRATION_ILLUMINANT_1, _SHORT, 1, illuminant, True),
    ]
    if not linear:
        tags += [
            (_CFA_REPEAT_PATTERN_DIM, _SHORT, 2, (2, 2), True),
            (_CFA_PATTERN, _BYTE, 4, pattern, True),
            (_CFA_PLANE_COLOR, _BYTE, 3, (0, 1, 2), True),
            (_CFA_LAYOUT, _SHORT, 1, 1, True),  # rectangular
        ]
    if carried:
        # tifffile will not write an IFD pointer: a placeholder one code below, in the same place in
        # the sorted entries, becomes the ExifIFD pointer once the IFD is appended
        tags.append((_EXIF_IFD - 1, _LONG, 1, 0, True))
    if linear and len(blacks) == 4:
        raise BrightroomError(f"cannot write '{path}': linear data takes one black level, not four.")
    buffer = io.BytesIO()
    try:
        monochrome = linear and mosaic.shape[2] == 1
        # tifffile writes LinearRaw with three samples only; one sample is written as BlackIsZero
        # and its PhotometricInterpretation entry set to LinearRaw after, as monochrome DNGs have it
        photometric = "minisblack" if monochrome else _LINEAR_RAW if linear else "cfa"
        tifffile.imwrite(buffer, mosaic[..., 0] if monochrome else mosaic, photometric=photometric,
                         planarconfig="contig" if linear and not monochrome else None, extratags=sorted(tags),
                         metadata=None, software="Brightroom", byteorder="<")
    except Exception as exc:
        raise BrightroomError(f"cannot write '{path}': the DNG writer failed ({exc}).") from exc
    data = buffer.getvalue()
    if monochrome:
        entry = struct.pack("<HHII", 262, _SHORT, 1, 1)  # PhotometricInterpretation = BlackIsZero
        data = data.replace(entry, struct.pack("<HHIHH", 262, _SHORT, 1, _LINEAR_RAW, 0), 1)
    if carried:
        offset = len(data) + len(data) % 2
        placeholder = struct.pack("<HHII", _EXIF_IFD - 1, _LONG, 1, 0)
        data = data.replace(placeholder, struct.pack("<HHII", _EXIF_IFD, _LONG, 1, offset), 1)
        data += b"\0" * (offset - len(data)) + _exif_ifd(carried, offset)
    atomic_write(path, data)
    return path


# LibRaw's flip code for each EXIF orientation a camera writes, and back.
_ORIENTATION_TO_FLIP = {1: 0, 3: 3, 6: 6, 8: 5}
FLIP_TO_ORIENTATION = {flip: orientation for orientation, flip in _ORIENTATION_TO_FLIP.items()}

_DATE_TIME_ORIGINAL, _EXPOSURE_TIME, _F_NUMBER, _ISO = 36867, 33434, 33437, 34855
_FOCAL_LENGTH, _LENS_MODEL = 37386, 42036


def _rational(value) -> tuple[int, int, bytes]:
    fraction = Fraction(float(value)).limit_denominator(100_000)
    return _RATIONAL, 1, struct.pack("<II", fraction.numerator, fraction.denominator)


_EXIF_IFD = 34665
# The photo's own tags a DNG carries in its Exif IFD (where LibRaw and raw converters read them):
# each value encoded as (TIFF type, count, little-endian bytes).
_EXIF_TYPES = {
    _DATE_TIME_ORIGINAL: lambda text: (2, len(str(text)) + 1, str(text).encode("ascii") + b"\0"),
    _EXPOSURE_TIME: _rational,
    _F_NUMBER: _rational,
    _ISO: lambda iso: (_SHORT, 1, struct.pack("<H", min(int(iso), 65535))),
    _FOCAL_LENGTH: _rational,
    _LENS_MODEL: lambda text: (2, len(str(text)) + 1, str(text).encode("ascii") + b"\0"),
}


def _exif_ifd(tags: dict[int, object], offset: int) -> bytes:
    """A little-endian Exif IFD to be placed at file ``offset``: its entries, then the values
    longer than four bytes."""
    entries = [(code, *_EXIF_TYPES[code](value)) for code, value in sorted(tags.items())]
    values_at = offset + 2 + 12 * len(entries) + 4
    table, extra = struct.pack("<H", len(entries)), b""
    for code, kind, count, payload in entries:
        if len(payload) <= 4:
            field = payload.ljust(4, b"\0")
        else:
            field = struct.pack("<I", values_at + len(extra))
            extra += payload + b"\0" * (len(payload) % 2)
        table += struct.pack("<HHI", code, kind, count) + field
    return table + b"\0\0\0\0" + extra


def _exif_tags(exif: bytes | None) -> dict[int, object]:
    """The camera (make, model) and exposure tags of an EXIF block, by tag code; unreadable or
    odd values are left out (a DNG is written without them rather than not at all)."""
    if not exif:
        return {}
    from PIL import Image

    tags: dict[int, object] = {}
    with contextlib.suppress(Exception):
        parsed = Image.Exif()
        parsed.load(exif)
        merged = {**dict(parsed), **dict(parsed.get_ifd(0x8769))}  # IFD0, then the Exif IFD
        for code in (_MAKE, _MODEL, *_EXIF_TYPES):
            value = merged.get(code)
            if isinstance(value, tuple):  # ISO may come as a list of speeds
                value = value[0] if value else None
            if isinstance(value, bytes):
                value = value.decode("ascii", "ignore")
            if isinstance(value, str):
                value = value.strip("\x00 ").encode("ascii", "ignore").decode()
            if value in (None, ""):
                continue
            if code in (_EXPOSURE_TIME, _F_NUMBER, _FOCAL_LENGTH, _ISO) and not float(value) > 0:
                continue
            tags[code] = value
    return tags


def write_raw_dng(
    path: str | Path,
    raw: RawImage,
    *,
    black_level: int | None = None,
    white_level: int | None = None,
    exif: bytes | None = None,
    overwrite: bool = False,
) -> Path:
    """Store a :class:`RawImage` as a DNG that LibRaw, Lightroom, darktable and RawTherapee open:
    its Bayer mosaic (or linear camera RGB) as integers between ``black_level`` and
    ``white_level`` (by default the raw's own where it has integer levels, else 512 and 16383,
    a 14-bit sensor), its colour matrix, as-shot white balance and orientation, and the camera
    and exposure tags of ``exif``. Values above white clip, as on a sensor; noise below black
    down to 0 is kept.

    >>> import tempfile, pathlib
    >>> raw = RawImage(np.full((32, 32), 0.5, np.float32), white_balance=(2.0, 1.0, 1.6))
    >>> path = write_raw_dng(pathlib.Path(tempfile.mkdtemp()) / "u.dng", raw)
    >>> [round(g, 3) for g in read_raw(path).white_balance]
    [2.0, 1.0, 1.6]
    """
    if raw.flip not in FLIP_TO_ORIENTATION:
        raise BrightroomError(f"cannot write '{path}': the raw's orientation (LibRaw flip {raw.flip}) has no DNG tag.")
    own_levels = float(raw.white_level) > 1 and black_level is None and white_level is None
    if own_levels:  # sensor units already: the values and levels as they are (rounded)
        black_level = [int(round(v)) for v in np.broadcast_to(np.asarray(raw.black_level, np.float64), (2, 2)).ravel()]
        black_level = black_level[0] if len(set(black_level)) == 1 or not raw.is_bayer else black_level
        white_level = int(round(float(raw.white_level)))
        levels = np.clip(np.round(raw.mosaic), 0, white_level).astype(np.uint16)
    else:
        black_level = 512 if black_level is None else black_level
        white_level = 16383 if white_level is None else white_level
        levels = np.clip(np.round(black_level + raw.normalized() * (white_level - black_level)), 0, white_level)
        levels = levels.astype(np.uint16)
    neutral = None if raw.white_balance is None else [1.0 / g for g in raw.white_balance]
    return write_dng(
        path,
        levels,
        cfa_pattern=raw.cfa_pattern if raw.is_bayer else "RGGB",
        black_level=black_level,
        white_level=white_level,
        color_matrix=XYZ_TO_LINEAR_SRGB if raw.xyz_to_camera is None else raw.xyz_to_camera,
        as_shot_neutral=neutral,
        orientation=FLIP_TO_ORIENTATION[raw.flip],
        exif=exif,
        overwrite=overwrite,
    )


def _checked_mosaic(path: Path, bayer: np.ndarray) -> np.ndarray:
    mosaic = np.asarray(bayer)
    linear = mosaic.ndim == 3 and mosaic.shape[2] in (1, 3)
    if not (mosaic.ndim == 2 or linear) or min(mosaic.shape[:2]) < 2:
        raise BrightroomError(f"cannot write '{path}': bayer must be an H x W mosaic or H x W x 1|3 linear data, "
                              f"not shape {mosaic.shape}.")
    if mosaic.dtype.kind not in "ui":
        raise BrightroomError(f"cannot write '{path}': bayer must hold integers 0..65535 (uint16), not {mosaic.dtype}.")
    if mosaic.size and (mosaic.min() < 0 or mosaic.max() > 65535):
        raise BrightroomError(f"cannot write '{path}': bayer values must be within 0..65535.")
    return np.ascontiguousarray(mosaic, dtype=np.uint16)


def _checked_pattern(path: Path, cfa_pattern: str) -> tuple[int, ...]:
    if str(cfa_pattern).upper() not in CFA_PATTERNS:
        raise BrightroomError(f"cannot write '{path}': cfa_pattern must be one of {', '.join(CFA_PATTERNS)}, "
                              f"not {cfa_pattern!r}.")
    return tuple(channel_map(cfa_pattern).ravel().tolist())


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


def raw_summary(path: str | Path) -> dict[str, str]:
    """What a RAW file's header says of its sensor data, for ``brightroom info``: the colour filter
    (a Bayer pattern, X-Trans, or 'none' for linear and monochrome DNGs), the sensor size, black and
    white levels, and the camera model where a DNG names it; empty if LibRaw cannot open it.

    >>> import tempfile, pathlib
    >>> dng = write_dng(pathlib.Path(tempfile.mkdtemp()) / "a.dng", np.full((32, 32), 900, np.uint16), black_level=64)
    >>> raw_summary(dng)["cfa"], raw_summary(dng)["levels"]
    ('RGGB (Bayer)', 'black 64, white 65535')
    """
    path = Path(path)
    summary = {}
    with libraw_quiet(), contextlib.suppress(Exception), rawpy.imread(str(path)) as raw:
        pattern = raw.raw_pattern
        letters = raw.color_desc.decode("ascii", "replace")
        if pattern is None or raw.num_colors < 3 and pattern.size <= 1:
            summary["cfa"] = "none (linear or monochrome data)"
        elif pattern.shape == (2, 2):
            summary["cfa"] = "".join(letters[i] for i in pattern.ravel()) + " (Bayer)"
        else:
            summary["cfa"] = f"{pattern.shape[0]} x {pattern.shape[1]} ({'X-Trans' if pattern.shape == (6, 6) else 'other'})"
        sizes = raw.sizes
        summary["sensor"] = f"{sizes.raw_width} x {sizes.raw_height}"
        blacks = sorted({int(b) for b in raw.black_level_per_channel})
        summary["levels"] = f"black {'/'.join(map(str, blacks))}, white {int(raw.white_level)}"
    with contextlib.suppress(Exception), tifffile.TiffFile(path) as tiff:
        model = tiff.pages.first.tags.get(50708)  # UniqueCameraModel
        if model is not None:
            summary["camera"] = str(model.value).strip()
    return summary


# -- LibRaw's own development (what read_image gives for a RAW file) ---------------------------------

_SRGB_GAMMA = (2.4, 12.92)  # LibRaw's (power, toe slope) for the sRGB curve


def libraw_open(path: Path, *, strict: bool) -> rawpy.RawPy | None:
    """Open a RAW file's header with LibRaw; None if LibRaw does not recognise it (with ``strict``,
    when the bytes said "raw", its failure is raised instead)."""
    raw = rawpy.RawPy()
    with libraw_quiet():
        try:
            raw.open_file(str(path))
        except Exception as exc:
            raw.close()
            if strict:
                raise raw_error(path, exc) from None
            return None
    return raw


def libraw_size(raw: rawpy.RawPy) -> tuple[int, int, int]:
    """(width, height) of the developed image as LibRaw stores it (its flip is applied on
    development), and the count of undeveloped sensor pixels, which may be larger."""
    sizes = raw.sizes
    width, height = sizes.width, sizes.height
    if sizes.flip in (5, 6):  # LibRaw's codes for a 90-degree turn
        width, height = height, width
    return width, height, sizes.raw_width * sizes.raw_height


def libraw_develop(raw: rawpy.RawPy, path: Path) -> np.ndarray:
    """LibRaw's development with the camera's white balance: 16-bit sRGB, oriented."""
    with libraw_quiet():
        try:
            raw.unpack()
            check_image_data(path, raw.raw_image_visible, float(max(raw.black_level_per_channel)), float(raw.white_level))
            return raw.postprocess(use_camera_wb=True, output_color=rawpy.ColorSpace.sRGB, output_bps=16,
                                   gamma=_SRGB_GAMMA)
        except BrightroomError:
            raise
        except Exception as exc:
            raise raw_error(path, exc) from None
