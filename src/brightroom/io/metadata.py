"""EXIF and ICC metadata: parsing, cleaning for re-writing, summaries, orientation.

EXIF is handled as three plain tag tables (IFD0, the Exif sub-IFD and the GPS
sub-IFD) so that the same tables can be written as a JPEG/PNG/WebP/HEIF EXIF
block or as tags of a TIFF file. Pillow's EXIF parser and serialiser do the
byte-level work.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
from PIL import Image, ImageCms

ORIENTATION = 0x0112
IMAGE_DESCRIPTION = 0x010E
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
INTEROP_IFD = 0xA005
PIXEL_X_DIMENSION = 0xA002
PIXEL_Y_DIMENSION = 0xA003

# IFD0 tags worth carrying to a new file. Everything else in IFD0 describes the
# old file's layout (strips, compression, DNG calibration...) and would be wrong.
_KEPT_BASE_TAGS = {
    0x010E,  # ImageDescription
    0x010F,  # Make
    0x0110,  # Model
    ORIENTATION,
    0x0131,  # Software
    0x0132,  # DateTime
    0x013B,  # Artist
    0x013C,  # HostComputer
    0x8298,  # Copyright
}
# The interoperability sub-IFD is a pointer that would dangle once copied.
_DROPPED_EXIF_TAGS = {INTEROP_IFD}

# Orientation (EXIF 0x0112) -> operation turning stored pixels into displayed ones.
_ORIENT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}
# Wording as exiftool prints it, which photographers will recognise.
_ORIENTATION_NAMES = {
    1: "Horizontal (normal)",
    2: "Mirror horizontal",
    3: "Rotate 180",
    4: "Mirror vertical",
    5: "Mirror horizontal and rotate 270 CW",
    6: "Rotate 90 CW",
    7: "Mirror horizontal and rotate 90 CW",
    8: "Rotate 270 CW",
}


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an H x W (x C) array as stored into the array as displayed.

    >>> apply_orientation(np.array([[1, 2], [3, 4]]), 6).tolist()
    [[3, 1], [4, 2]]
    """
    return np.ascontiguousarray(_ORIENT.get(orientation, _ORIENT[1])(array))


def swaps_axes(orientation: int) -> bool:
    """True if the orientation turns the image by 90 degrees (width and height swap)."""
    return orientation in (5, 6, 7, 8)


@dataclass
class ExifTables:
    """EXIF metadata as plain tag tables: IFD0, the Exif sub-IFD and the GPS sub-IFD.

    >>> tables = ExifTables(base={0x010F: "Canon", ORIENTATION: 6})
    >>> ExifTables.from_bytes(tables.normalized().to_bytes()).base[ORIENTATION]
    1
    """

    base: dict[int, Any] = field(default_factory=dict)
    exif: dict[int, Any] = field(default_factory=dict)
    gps: dict[int, Any] = field(default_factory=dict)

    @classmethod
    def from_bytes(cls, data: bytes | None) -> ExifTables | None:
        """Parse an EXIF block (with or without the ``Exif\\0\\0`` prefix); None if absent or unreadable."""
        if not data:
            return None
        exif = Image.Exif()
        try:
            exif.load(bytes(data))
        except Exception:
            return None
        return cls._from_pillow(exif)

    @classmethod
    def from_tiff(cls, fh: IO[bytes]) -> ExifTables | None:
        """Read the metadata of a TIFF-structured file's first IFD (TIFF, DNG, NEF, CR2...)."""
        exif = Image.Exif()
        try:
            fh.seek(0)
            exif.load_from_fp(fh)
        except Exception:
            return None
        return cls._from_pillow(exif)

    @classmethod
    def _from_pillow(cls, exif: Image.Exif) -> ExifTables | None:
        # Unreadable metadata is dropped rather than allowed to fail the read,
        # and a broken sub-IFD loses only itself.
        try:
            base = {tag: exif[tag] for tag in list(exif) if tag in _KEPT_BASE_TAGS}
        except Exception:
            return None
        sub = {t: v for t, v in _sub_ifd(exif, EXIF_IFD).items() if t not in _DROPPED_EXIF_TAGS}
        tables = cls(base, sub, _sub_ifd(exif, GPS_IFD))
        return tables if tables.base or tables.exif or tables.gps else None

    @property
    def orientation(self) -> int:
        value = self.base.get(ORIENTATION, 1)
        return value if isinstance(value, int) and value in _ORIENT else 1

    def normalized(self, size: tuple[int, int] | None = None) -> ExifTables:
        """A copy with orientation 1 and, given (width, height), the pixel dimensions updated."""
        tables = ExifTables(dict(self.base), dict(self.exif), dict(self.gps))
        tables.base[ORIENTATION] = 1
        description = tables.base.get(IMAGE_DESCRIPTION)
        if isinstance(description, bytes):
            description = description.decode("latin-1")
        if isinstance(description, str) and description.startswith('{"shape"'):
            # tifffile's record of the array it wrote, not words about the photo: stale once resized
            del tables.base[IMAGE_DESCRIPTION]
        if size is not None:
            for tag, value in zip((PIXEL_X_DIMENSION, PIXEL_Y_DIMENSION), size, strict=True):
                if tag in tables.exif:
                    tables.exif[tag] = int(value)
        return tables

    def to_bytes(self) -> bytes | None:
        """Serialise as an EXIF block starting ``b"Exif\\0\\0"``; None if that fails."""
        exif = Image.Exif()
        for tag, value in self.base.items():
            exif[tag] = value
        if self.exif:
            exif.get_ifd(EXIF_IFD).update(self.exif)
        if self.gps:
            exif.get_ifd(GPS_IFD).update(self.gps)
        try:
            return exif.tobytes()
        except Exception:
            return None

    def without_maker_note(self) -> ExifTables:
        """A copy without the camera's private MakerNote, often the bulk of the block."""
        return ExifTables(dict(self.base), {t: v for t, v in self.exif.items() if t != 0x927C}, dict(self.gps))

    def summary(self) -> dict[str, str]:
        """The facts a person asks about a photo, as short strings.

        >>> ExifTables(base={0x010F: "Canon ", ORIENTATION: 6}).summary()
        {'make': 'Canon', 'orientation': 'Rotate 90 CW'}
        """
        found: dict[str, str] = {}

        def put(key: str, value: Any, formatter=str) -> None:
            if value is None:
                return
            try:
                text = formatter(_scalar(value))
            except (TypeError, ValueError, ZeroDivisionError, KeyError, OverflowError):
                return  # a value the standard does not define (e.g. orientation 0, as some phones write)
            text = text.replace("\x00", "").strip()
            if text:
                found[key] = text

        put("make", self.base.get(0x010F))
        put("model", self.base.get(0x0110))
        put("date", self.exif.get(0x9003) or self.base.get(0x0132))  # DateTimeOriginal, else DateTime
        put("exposure", self.exif.get(0x829A), _format_exposure)
        put("f_number", self.exif.get(0x829D), lambda v: f"f/{float(v):g}")
        put("iso", self.exif.get(0x8827), lambda v: str(int(v)))
        put("focal_length", self.exif.get(0x920A), lambda v: f"{float(v):g} mm")
        put("lens", self.exif.get(0xA434))  # LensModel
        if ORIENTATION in self.base:
            put("orientation", self.base[ORIENTATION], lambda v: _ORIENTATION_NAMES[int(v)])
        return found


def _sub_ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:
        return {}


def _scalar(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return value[0] if value else None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _format_exposure(seconds: Any) -> str:
    seconds = float(seconds)
    if 0 < seconds < 1:
        return f"1/{round(1 / seconds)} s"
    return f"{seconds:g} s"


@functools.cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile (Pillow's, from LittleCMS), for results that are sRGB by construction.

    >>> icc_profile_name(srgb_profile()).startswith("sRGB")
    True
    """
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def icc_profile_name(icc: bytes | None) -> str | None:
    """The description inside an ICC profile, such as 'sRGB IEC61966-2.1'; None if unreadable.

    >>> srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    >>> "sRGB" in icc_profile_name(srgb)
    True
    """
    if not icc:
        return None
    try:
        name = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except Exception:
        return None
    return name.strip() or None


def icc_color_space(icc: bytes | None) -> str | None:
    """The colour space an ICC profile describes: 'RGB', 'GRAY', 'CMYK'...; None if not a profile."""
    if not icc or len(icc) < 128 or icc[36:40] != b"acsp":
        return None
    return icc[16:20].decode("ascii", "replace").strip()


_XMP_ORIENTATION = re.compile(rb"(tiff:Orientation\s*=\s*[\"'])\d([\"'])|(<tiff:Orientation>)\s*\d\s*(</tiff:Orientation>)")


def xmp_upright(xmp: bytes | str | None) -> bytes | None:
    """An XMP packet with its orientation (tiff:Orientation) set to 1, as the pixels are turned
    upright on reading: a viewer that reads XMP must not turn them again.

    >>> xmp_upright(b'<x tiff:Orientation="6"/>')
    b'<x tiff:Orientation="1"/>'
    """
    if not xmp:
        return None
    packet = xmp.encode("utf-8") if isinstance(xmp, str) else bytes(xmp)

    def upright(match: re.Match) -> bytes:
        return match.group(1) + b"1" + match.group(2) if match.group(1) else match.group(3) + b"1" + match.group(4)

    return _XMP_ORIENTATION.sub(upright, packet)


def checked_dpi(dpi) -> tuple[float, float] | None:
    """A print resolution (x, y) in dots per inch, or None when absent or meaningless (0, negative,
    or the 1 x 1 "aspect ratio only" that some writers leave).

    >>> checked_dpi((72, 72)), checked_dpi((1, 1)), checked_dpi(None)
    ((72.0, 72.0), None, None)
    """
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(x) and np.isfinite(y)) or x <= 1 or y <= 1 or max(x, y) > 100_000:
        return None
    return round(x, 1), round(y, 1)  # a PNG stores dots per metre: 300 dpi reads 299.9994


PNG_IPTC_KEYWORD = "Raw profile type iptc"  # ImageMagick's text chunk for IPTC in PNG, which ExifTool reads


def png_iptc_text(iptc: bytes) -> str:
    """An IPTC-IIM record as the text of a PNG ``Raw profile type iptc`` chunk: a blank line, the
    profile's name, its length, then its bytes in hexadecimal, 36 to a line.

    >>> png_iptc_text(b"\\x1c\\x02\\x00")
    '\\niptc\\n       3\\n1c0200\\n'
    """
    digits = iptc.hex()
    lines = [digits[i: i + 72] for i in range(0, len(digits), 72)]
    return f"\niptc\n{len(iptc):8d}\n" + "\n".join(lines) + "\n"


def iptc_from_png_text(text: str | None) -> bytes | None:
    """The IPTC-IIM record in a ``Raw profile type iptc`` chunk's text; None where it is malformed.

    >>> iptc_from_png_text(png_iptc_text(b"\\x1c\\x02\\x00"))
    b'\\x1c\\x02\\x00'
    >>> iptc_from_png_text("iptc\\nnot hex") is None
    True
    """
    parts = (text or "").split()
    try:
        length, data = int(parts[1]), bytes.fromhex("".join(parts[2:]))
    except (IndexError, ValueError):
        return None
    return data[:length] if len(data) >= length > 0 else None
