"""Reading images: ``read_image`` decodes, ``probe_image`` reads only the header.

Each format has a small "source" class that opens a file lazily, reports what
the header says (size, channels, depth, metadata) and decodes on request, so
the pixel limit is always checked between the two.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pillow_heif
import tifffile
from PIL import Image, ImageCms

from ..errors import BrightroomError
from .files import check_input_file, read_head
from .formats import HEADER_BYTES, SUPPORTED_LABELS, sniff_format
from .limits import check_pixel_count, resolve_max_pixels
from .metadata import (
    PNG_IPTC_KEYWORD,
    ExifTables,
    apply_orientation,
    checked_dpi,
    icc_color_space,
    icc_profile_name,
    iptc_from_png_text,
    swaps_axes,
    xmp_upright,
)
from .photo import ImageInfo, Photo
from .raw import libraw_develop, libraw_open, libraw_size

# Pillow's own bomb check would fire before ours with a less helpful message, and
# its limit is fixed; Brightroom checks every header against its own limit instead.
Image.MAX_IMAGE_PIXELS = None
# OpenCV (and the libtiff inside it) print warnings such as "[ WARN ] TIFFReadDirectory" to
# stderr; a file they cannot read ends in Brightroom's own sentence instead.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def read_image(path: str | Path, *, max_pixels: int | None = None) -> Photo:
    """Decode an image file into a Photo (float32 H x W x C in [0, 1], sRGB-encoded).

    The format is detected from the content, not the name. The size is checked
    against ``max_pixels`` (default: $BRIGHTROOM_MAX_PIXELS, else 100 MP) from
    the header, before decoding. EXIF orientation is applied to the pixels and
    reset to 1 in ``Photo.exif``. Float TIFF values outside [0, 1] are clipped
    (NaN becomes 0). CMYK, palette, gray+alpha and similar layouts become gray
    or RGB plus alpha. RAW files are developed by LibRaw with the camera's white
    balance into 16-bit sRGB. Multi-image files (animated PNG or WebP,
    multi-page TIFF, HEIF collections) give their first or primary image.
    Every problem raises BrightroomError.

    >>> import tempfile, pathlib
    >>> from brightroom.io import write_image
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_image(folder / "gray.png", np.full((4, 6), 0.5, np.float32))
    >>> photo = read_image(folder / "gray.png")
    >>> photo.pixels.shape, photo.pixels.dtype, photo.bit_depth, photo.format
    ((4, 6, 1), dtype('float32'), 8, 'png')
    """
    path = Path(path)
    with _opened(path, max_pixels) as source:
        pixels, alpha = source.decode()
        orientation = source.orientation
        quality = jpeg_quality(source.image.quantization) if source.format == "jpeg" else None
    pixels = apply_orientation(pixels, orientation)
    if alpha is not None:
        alpha = apply_orientation(alpha, orientation)
    exif = source.exif.normalized().to_bytes() if source.exif is not None else None
    return Photo(pixels, alpha, source.bit_depth, source.format, exif, source.icc_profile, path,
                 xmp_upright(source.xmp), source.iptc, checked_dpi(source.dpi), quality)


def read_metadata(path: str | Path) -> tuple[bytes | None, bytes | None]:
    """A file's EXIF block (orientation 1, as for pixels already turned) and ICC profile, from its
    header, without decoding its pixels: what a developed RAW or a merged burst carries over.

    >>> import tempfile, pathlib
    >>> from brightroom.io import write_image
    >>> path = write_image(pathlib.Path(tempfile.mkdtemp()) / "a.png", np.zeros((4, 4, 3), np.float32))
    >>> read_metadata(path)
    (None, None)
    """
    with _opened(Path(path), 2**62) as source:
        exif = source.exif.normalized().to_bytes() if source.exif is not None else None
        return exif, source.icc_profile


def probe_image(path: str | Path, *, max_pixels: int | None = None) -> ImageInfo:
    """Describe an image file from its header, without decoding its pixels.

    >>> import tempfile, pathlib
    >>> from brightroom.io import write_image
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_image(folder / "photo.jpg", np.zeros((4, 6, 3), np.float32))
    >>> info = probe_image(folder / "photo.jpg")
    >>> info.format, info.width, info.height, info.channels, info.bit_depth
    ('jpeg', 6, 4, 3, 8)
    """
    path = Path(path)
    with _opened(path, max_pixels) as source:
        width, height = source.width, source.height
        if swaps_axes(source.orientation):
            width, height = height, width
        return ImageInfo(
            path=path,
            format=source.format,
            width=width,
            height=height,
            channels=source.channels,
            has_alpha=source.has_alpha,
            bit_depth=source.bit_depth,
            exif_summary=source.exif.summary() if source.exif is not None else {},
            icc_profile_name=icc_profile_name(source.icc_profile),
            jpeg_quality=jpeg_quality(source.image.quantization) if source.format == "jpeg" else None,
        )


def jpeg_quality(tables: dict[int, list[int]] | None) -> int | None:
    """The libjpeg (IJG) quality factor whose luminance table is nearest a JPEG's own: exact for
    files libjpeg wrote (cameras, OpenCV, Pillow, most phones), the nearest scale of the standard
    table for others. None without tables.

    >>> import io
    >>> buffer = io.BytesIO(); Image.new("RGB", (8, 8)).save(buffer, "JPEG", quality=37)
    >>> jpeg_quality(Image.open(buffer).quantization)
    37
    """
    if not tables or 0 not in tables:
        return None
    luma = np.asarray(tables[0], np.float64).ravel()
    if luma.size != 64:
        return None
    distances = np.abs(np.log(ijg_luma_tables()) - np.log(np.maximum(luma, 1.0))).sum(axis=1)
    return int(np.argmin(distances)) + 1


@functools.cache
def ijg_luma_tables() -> np.ndarray:
    """The luminance tables libjpeg writes at qualities 1-100 (100 x 64, Pillow's order)."""
    tables = []
    for quality in range(1, 101):
        buffer = io.BytesIO()
        Image.new("L", (8, 8)).save(buffer, "JPEG", quality=quality)
        tables.append(Image.open(buffer).quantization[0])
    return np.asarray(tables, np.float64)


@contextlib.contextmanager
def _opened(path: Path, max_pixels: int | None) -> Iterator[_Source]:
    """The file's decoder, opened and checked against the pixel limit from its header;
    any failure inside becomes one sentence for the user."""
    limit = resolve_max_pixels(max_pixels)
    check_input_file(path)
    with _reading(path):
        source = _open_source(path)
        try:
            source.check_limit(path, limit)
            yield source
        finally:
            source.close()


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn any decoder failure into one sentence for the user (the cause stays chained)."""
    try:
        yield
    except BrightroomError:
        raise
    except MemoryError as exc:
        raise BrightroomError(f"cannot read '{path}': not enough memory to decode it.") from exc
    except Exception as exc:
        raise BrightroomError(f"cannot read '{path}': the file is truncated or corrupt.") from exc


def _open_source(path: Path) -> _Source:
    head = read_head(path, HEADER_BYTES)
    kind = sniff_format(head)
    if kind in (None, "tiff", "raw"):
        # TIFF-based raws (DNG, NEF, CR2, ARW...) look like TIFFs, and some raw
        # formats have no magic number at all: ask LibRaw first.
        raw = _RawSource.try_open(path, head, strict=kind == "raw")
        if raw is not None:
            return raw
    if kind is None:
        raise BrightroomError(f"'{path}' is not an image Brightroom can read (supported: {SUPPORTED_LABELS}).")
    if kind == "heif":
        return _HeifSource(path)
    if kind == "tiff":
        return _TiffSource(path)
    return _PillowSource(path, kind, head)


class _Source:
    """What a format reader knows from the header, and how it decodes."""

    format: str
    width: int  # as stored, before orientation
    height: int
    channels: int  # 1 or 3, after conversion
    has_alpha: bool
    bit_depth: int
    exif: ExifTables | None = None
    icc_profile: bytes | None = None
    xmp: bytes | None = None
    iptc: bytes | None = None
    dpi: tuple[float, float] | None = None
    oriented_by_decoder = False  # True where the codec already applies the rotation

    @property
    def orientation(self) -> int:
        if self.oriented_by_decoder or self.exif is None:
            return 1
        return self.exif.orientation

    def check_limit(self, path: Path, limit: int) -> None:
        check_pixel_count(path, self.width, self.height, limit)

    def decode(self) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _PillowSource(_Source):
    """PNG, JPEG and WebP through Pillow; 16-bit PNG pixels through OpenCV."""

    def __init__(self, path: Path, kind: str, head: bytes) -> None:
        self.path = path
        self.format = kind
        self.image = Image.open(path, formats=[_PILLOW_NAMES[kind]])  # lazy: header only
        self.width, self.height = self.image.size
        mode, info = self.image.mode, self.image.info
        # Pillow holds 16-bit RGB(A) PNGs as 8-bit, so their depth comes from IHDR
        # (byte 24: bit depth, byte 25: colour type) and their pixels from OpenCV.
        self.png16 = kind == "png" and head[24] == 16
        if self.png16:
            color_type = head[25]
            self.channels = 1 if color_type in (0, 4) else 3
            self.has_alpha = color_type in (4, 6) or "transparency" in info
            self.bit_depth = 16
        else:
            self.channels = 1 if mode in _PILLOW_GRAY_MODES else 3
            self.has_alpha = mode in _PILLOW_ALPHA_MODES or "transparency" in info
            self.bit_depth = 16 if mode.startswith("I") else 8
        self.exif = ExifTables.from_bytes(info.get("exif"))
        self.icc_profile = info.get("icc_profile") or None
        if kind == "jpeg" and self.width * self.height > path.stat().st_size * _JPEG_MAX_PIXELS_PER_BYTE:
            # libjpeg would invent the missing pixels: a 631-byte file declaring 7070 x 7070 costs a full
            # 50 MP decode (and the pipeline's work on it). Even a flat gray JPEG with optimised tables needs
            # a byte per 256 pixels; far fewer bytes is a lying header.
            raise BrightroomError(f"cannot read '{path}': it says it is {self.width} x {self.height} pixels but holds "
                                  f"only {path.stat().st_size} bytes (truncated or corrupt).")

    def decode(self) -> tuple[np.ndarray, np.ndarray | None]:
        if self.png16:
            return self._decode_png16()
        image = self.image
        image.load()
        if self.exif is None:  # a PNG may keep its eXIf chunk after the pixel data
            self.exif = ExifTables.from_bytes(image.info.get("exif"))
        self._read_extras(image.info)
        image, converted = _normalise_pillow_mode(image, self.icc_profile)
        if converted:
            self.icc_profile = None  # the old profile described CMYK/Lab, not the sRGB result
        return _split_channels(_unit_float(np.asarray(image)), gray=self.channels == 1)

    def _decode_png16(self) -> tuple[np.ndarray, np.ndarray | None]:
        with contextlib.suppress(Exception):  # the text chunks, wherever they are; the pixels come from OpenCV
            self.image.load()
        self._read_extras(self.image.info)
        return _decode_with_opencv(self.path, "PNG", gray=self.channels == 1)

    def _read_extras(self, info: dict) -> None:
        """XMP, IPTC (a JPEG's Photoshop resource 0x0404, a PNG's 'Raw profile type iptc' text) and
        the print resolution."""
        self.xmp = info.get("xmp") or None
        self.iptc = (info.get("photoshop") or {}).get(0x0404) or iptc_from_png_text(info.get(PNG_IPTC_KEYWORD))
        self.dpi = info.get("dpi")

    def close(self) -> None:
        self.image.close()


_PILLOW_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_JPEG_MAX_PIXELS_PER_BYTE = 2000  # a JPEG with more pixels per byte of file is refused unread
_PILLOW_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_PILLOW_ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}


def _normalise_pillow_mode(image: Image.Image, icc: bytes | None) -> tuple[Image.Image, bool]:
    """Convert any Pillow mode to L, LA, RGB, RGBA, I;16 or F; True if the colour space changed."""
    mode, has_key = image.mode, "transparency" in image.info
    if mode in ("P", "PA"):
        return image.convert("RGBA" if mode == "PA" or has_key else "RGB"), False
    if mode in ("1", "L"):
        return image.convert("LA" if has_key else "L"), False
    if mode == "RGB" and has_key:
        return image.convert("RGBA"), False
    if mode in ("La", "RGBa", "RGBX"):
        return image.convert({"La": "LA", "RGBa": "RGBA", "RGBX": "RGB"}[mode]), False
    if mode == "I":
        return Image.fromarray(np.clip(np.asarray(image), 0, 65535).astype(np.uint16)), False
    if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        if icc and mode == "CMYK" and icc_color_space(icc) == "CMYK":
            with contextlib.suppress(Exception):
                srgb = ImageCms.createProfile("sRGB")
                source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                return ImageCms.profileToProfile(image, source, srgb, outputMode="RGB"), True
        return image.convert("RGB"), True
    return image, False


class _TiffSource(_Source):
    """TIFF through tifffile; compressions it lacks a codec for (LZW, JPEG) through OpenCV."""

    format = "tiff"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tiff = tifffile.TiffFile(path)
        try:
            page = self.tiff.pages.first
            self.page = page
            self.width, self.height = int(page.imagewidth), int(page.imagelength)
            if page.imagedepth > 1:
                raise BrightroomError(f"cannot read '{path}': it is a volumetric TIFF, not a photo.")
            photometric = int(page.photometric)
            if photometric not in _TIFF_COLOR_SAMPLES:
                name = getattr(page.photometric, "name", photometric)
                raise BrightroomError(f"cannot read '{path}': its TIFF colour model ({name}) is not supported.")
            self.photometric = photometric
            self.color_samples = _TIFF_COLOR_SAMPLES[photometric]
            self.channels = 1 if photometric in (_MINISWHITE, _MINISBLACK) else 3
            self.has_alpha = page.samplesperpixel > self.color_samples
            self.bit_depth = _tiff_bit_depth(path, page)
            with open(path, "rb") as fh:
                self.exif = ExifTables.from_tiff(fh)
            icc = page.tags.valueof(34675)  # InterColorProfile
            self.icc_profile = bytes(icc) if icc and photometric != _SEPARATED else None
            self.xmp = _tag_bytes(page.tags.valueof(700), self.tiff.byteorder)  # XMP
            self.iptc = _tag_bytes(page.tags.valueof(33723), self.tiff.byteorder)  # IPTC-NAA
            self.dpi = _tiff_dpi(page)
        except BaseException:
            self.tiff.close()
            raise

    def decode(self) -> tuple[np.ndarray, np.ndarray | None]:
        page = self.page
        if self.photometric == _YCBCR:  # libtiff (in OpenCV) converts subsampled YCbCr to RGB
            return self._decode_with_opencv()
        try:
            stored = page.asarray()
        except (ValueError, KeyError, NotImplementedError) as exc:
            if "imagecodecs" not in str(exc):
                raise
            return self._decode_with_opencv()
        if stored.ndim == 3 and page.planarconfig == tifffile.PLANARCONFIG.SEPARATE:
            stored = np.moveaxis(stored, 0, -1)
        if stored.ndim == 2:
            stored = stored[..., None]
        colors, extra = stored[..., : self.color_samples], stored[..., self.color_samples :]
        if self.photometric == _PALETTE:
            colors = np.moveaxis(page.colormap[:, colors[..., 0]], 0, -1)  # uint16 RGB
        pixels = _unit_float(colors)
        if self.photometric == _MINISWHITE:
            pixels = 1.0 - pixels
        elif self.photometric == _SEPARATED:
            # Plain CMYK -> RGB; a CMYK ICC profile would be more exact, but rare in TIFFs.
            pixels = (1.0 - pixels[..., :3]) * (1.0 - pixels[..., 3:4])
        alpha = _unit_float(extra[..., 0]) if extra.shape[-1] else None
        if alpha is not None and page.extrasamples and int(page.extrasamples[0]) == 1:
            pixels = _unpremultiply(pixels, alpha)
        return pixels.astype(np.float32, copy=False), alpha

    def _decode_with_opencv(self) -> tuple[np.ndarray, np.ndarray | None]:
        return _decode_with_opencv(self.path, "TIFF", gray=self.channels == 1)

    def close(self) -> None:
        self.tiff.close()


_MINISWHITE, _MINISBLACK, _RGB, _PALETTE, _SEPARATED, _YCBCR = 0, 1, 2, 3, 5, 6
_TIFF_COLOR_SAMPLES = {_MINISWHITE: 1, _MINISBLACK: 1, _RGB: 3, _PALETTE: 1, _SEPARATED: 4, _YCBCR: 3}


def _tag_bytes(value, byteorder: str) -> bytes | None:
    """A TIFF tag's value as the bytes stored (tifffile gives BYTE/UNDEFINED as bytes; Photoshop
    writes IPTC as LONGs, which come back as numbers in the file's byte order)."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value) or None
    with contextlib.suppress(Exception):
        array = np.atleast_1d(np.asarray(value))
        return array.astype(f"{byteorder}u{array.dtype.itemsize}").tobytes() or None
    return None


def _tiff_dpi(page: tifffile.TiffPage) -> tuple[float, float] | None:
    """XResolution and YResolution in dots per inch (ResolutionUnit 2 inch, 3 centimetre)."""
    with contextlib.suppress(Exception):
        unit = int(page.tags.valueof(296, 2))
        if unit not in (2, 3):
            return None
        factor = 2.54 if unit == 3 else 1.0
        x, y = (page.tags.valueof(code) for code in (282, 283))
        x, y = (value[0] / value[1] if isinstance(value, tuple) else float(value) for value in (x, y))
        return x * factor, y * factor
    return None


def _tiff_bit_depth(path: Path, page: tifffile.TiffPage) -> int:
    dtype = np.dtype(page.dtype) if page.dtype is not None else None
    if dtype is None or dtype.kind not in "buf" or (dtype.kind == "u" and dtype.itemsize > 2):
        raise BrightroomError(f"cannot read '{path}': its TIFF sample type ({dtype}) is not supported.")
    if dtype.kind == "f":
        return 32
    return 16 if dtype.itemsize == 2 else 8


class _RawSource(_Source):
    """Camera raw files (DNG, CR2, CR3, NEF, ARW, RAF, ...) developed by LibRaw (see ``raw.py``)."""

    format = "raw"
    channels = 3
    has_alpha = False
    bit_depth = 16
    oriented_by_decoder = True  # LibRaw applies the camera's flip

    @classmethod
    def try_open(cls, path: Path, head: bytes, *, strict: bool) -> _RawSource | None:
        raw = libraw_open(path, strict=strict)
        return None if raw is None else cls(path, raw, tiff_structured=sniff_format(head) == "tiff")

    def __init__(self, path: Path, raw, *, tiff_structured: bool) -> None:
        self.raw, self.path = raw, path
        self.width, self.height, self.raw_pixels = libraw_size(raw)
        if tiff_structured:
            with open(path, "rb") as fh:
                self.exif = ExifTables.from_tiff(fh)

    def check_limit(self, path: Path, limit: int) -> None:
        super().check_limit(path, limit)
        if self.raw_pixels > limit:  # the undeveloped sensor data may be larger than the image
            check_pixel_count(path, self.raw_pixels, 1, limit)

    def decode(self) -> tuple[np.ndarray, np.ndarray | None]:
        return _unit_float(libraw_develop(self.raw, self.path)), None

    def close(self) -> None:
        self.raw.close()


class _HeifSource(_Source):
    """HEIC/HEIF through pillow-heif; 10- and 12-bit images come back as 16-bit."""

    format = "heif"
    oriented_by_decoder = True  # libheif applies the file's rotation and mirror

    def __init__(self, path: Path) -> None:
        self.heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=False)  # lazy: header only
        self.width, self.height = self.heif.size
        mode = self.heif.mode
        self.channels = 1 if mode.startswith(("L", "I")) and not mode.startswith("LA") else 3
        self.has_alpha = bool(self.heif.has_alpha)
        info = self.heif.info
        self.bit_depth = 8 if info.get("bit_depth", 8) <= 8 else 16
        self.exif = ExifTables.from_bytes(info.get("exif"))
        self.icc_profile = info.get("icc_profile") or None
        self.xmp = info.get("xmp") or None

    def decode(self) -> tuple[np.ndarray, np.ndarray | None]:
        stored = _unit_float(np.asarray(self.heif))
        pixels, alpha = _split_channels(stored, gray=self.channels == 1)
        if alpha is not None and self.heif.premultiplied_alpha:
            pixels = _unpremultiply(pixels, alpha)
        return pixels, alpha


def _decode_with_opencv(path: Path, label: str, *, gray: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """OpenCV's decoder, for what Pillow and tifffile cannot do alone (16-bit RGB PNG, compressed TIFF)."""
    stored = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if stored is None:
        raise ValueError(f"OpenCV could not decode the {label}")
    return _split_channels(_unit_float(_bgr_to_rgb(stored)), gray=gray)


def _unit_float(stored: np.ndarray) -> np.ndarray:
    """Integer or float samples as float32 in [0, 1]; floats are clipped, NaN becomes 0."""
    if stored.dtype == np.bool_:
        return stored.astype(np.float32)
    if stored.dtype == np.uint8 or stored.dtype == np.uint16:
        unit = stored.astype(np.float32)
        unit /= np.float32(np.iinfo(stored.dtype).max)
        return unit
    if stored.dtype.kind == "f":
        unit = np.nan_to_num(stored.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        return np.clip(unit, 0.0, 1.0, out=unit)
    raise ValueError(f"unsupported sample type {stored.dtype}")


def _bgr_to_rgb(stored: np.ndarray) -> np.ndarray:
    if stored.ndim == 3 and stored.shape[2] in (3, 4):
        order = [2, 1, 0, 3][: stored.shape[2]]
        return stored[..., order]
    return stored


def _split_channels(unit: np.ndarray, *, gray: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """H x W (x C) samples -> (H x W x 1|3 pixels, H x W alpha or None)."""
    if unit.ndim == 2:
        unit = unit[..., None]
    count = unit.shape[2]
    if count in (1, 2):
        colors, alpha = unit[..., :1], unit[..., 1] if count == 2 else None
    else:
        colors, alpha = unit[..., :3], unit[..., 3] if count >= 4 else None
        if gray:  # a gray image that a decoder expanded to RGB
            colors = colors[..., :1]
    pixels = np.ascontiguousarray(colors, dtype=np.float32)
    return pixels, None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32)


def _unpremultiply(pixels: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    safe = np.where(alpha > 0, alpha, 1.0)[..., None]
    return np.clip(pixels / safe, 0.0, 1.0).astype(np.float32)
