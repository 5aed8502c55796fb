"""The table of supported formats, and format detection from a file's first bytes.

This is the one place that knows which suffixes Brightroom reads and writes and
which bit depths each format can hold; everything else asks here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import BrightroomError


@dataclass(frozen=True)
class ImageFormat:
    """One file format: its name in Photo.format, its label for messages, its suffixes.

    ``write_bit_depths`` is empty for formats Brightroom only reads.
    """

    name: str
    label: str
    suffixes: tuple[str, ...]
    write_bit_depths: tuple[int, ...] = ()
    holds_alpha: bool = False

    @property
    def writable(self) -> bool:
        return bool(self.write_bit_depths)


RAW_SUFFIXES = (
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2",
    ".raf", ".orf", ".rw2", ".rwl", ".pef", ".srw", ".3fr", ".fff", ".iiq",
    ".erf", ".kdc", ".dcr", ".mrw", ".mos", ".x3f", ".gpr",
)  # fmt: skip

FORMATS: dict[str, ImageFormat] = {
    f.name: f
    for f in (
        ImageFormat("png", "PNG", (".png",), (8, 16), holds_alpha=True),
        ImageFormat("jpeg", "JPEG", (".jpg", ".jpeg", ".jpe", ".jfif"), (8,)),
        ImageFormat("tiff", "TIFF", (".tif", ".tiff"), (8, 16, 32), holds_alpha=True),
        ImageFormat("webp", "WebP", (".webp",), (8,), holds_alpha=True),
        # 16 here means "high bit depth": stored as 12-bit HEVC, read back as 16-bit.
        ImageFormat("heif", "HEIC/HEIF", (".heic", ".heif", ".hif"), (8, 16), holds_alpha=True),
        ImageFormat("raw", "RAW/DNG", RAW_SUFFIXES),
    )
}

READABLE_SUFFIXES: tuple[str, ...] = tuple(s for f in FORMATS.values() for s in f.suffixes)
WRITABLE_SUFFIXES: tuple[str, ...] = tuple(s for f in FORMATS.values() if f.writable for s in f.suffixes)
SUPPORTED_LABELS = ", ".join(f.label for f in FORMATS.values())

# Brands in an ISO-BMFF 'ftyp' box. AVIF shares the container but this build of
# pillow-heif has no AV1 decoder, so it is deliberately absent.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_CANON_CR3_BRAND = b"crx "

_RAW_SIGNATURES = (
    b"FUJIFILMCCD-RAW",  # RAF
    b"IIRO", b"IIRS", b"MMOR",  # Olympus ORF
    b"IIU\x00",  # Panasonic RW2
    b"FOVb",  # Sigma X3F
    b"\x00MRM",  # Minolta MRW
)  # fmt: skip

HEADER_BYTES = 64


def sniff_format(head: bytes) -> str | None:
    """Name the format of a file from its first bytes, or None if unrecognised.

    'tiff' may still be a TIFF-based camera raw (DNG, NEF, CR2, ARW...): the
    reader asks LibRaw before treating it as an ordinary TIFF.

    >>> sniff_format(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
    'png'
    >>> sniff_format(b"hello, world") is None
    True
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        box = head[8 : min(box_size, len(head))]
        brands = {box[:4]} | {box[i : i + 4] for i in range(8, len(box) - 3, 4)}
        if _CANON_CR3_BRAND in brands:
            return "raw"
        if brands & _AVIF_BRANDS:
            return None
        if brands & _HEIF_BRANDS:
            return "heif"
        return None
    if head.startswith(_RAW_SIGNATURES):
        return "raw"
    return None


def default_output_suffix(source: str | Path) -> str:
    """The suffix a result of ``source`` is written with by default: the input's format
    where Brightroom writes it, else (RAW) 16-bit TIFF.

    >>> default_output_suffix("IMG_1.CR2"), default_output_suffix("photo.JPG")
    ('.tif', '.jpg')
    """
    suffix = Path(source).suffix.lower()
    return suffix if suffix in WRITABLE_SUFFIXES else ".tif"


def output_format(path: str | Path) -> ImageFormat:
    """The writable format named by an output file's suffix.

    >>> output_format("out.JPG").name
    'jpeg'
    """
    suffix = Path(path).suffix.lower()
    for image_format in FORMATS.values():
        if image_format.writable and suffix in image_format.suffixes:
            return image_format
    shown = f"'{suffix}'" if suffix else "no suffix"
    raise BrightroomError(
        f"cannot write '{path}': unknown output format ({shown}); use one of {', '.join(WRITABLE_SUFFIXES)}."
    )
