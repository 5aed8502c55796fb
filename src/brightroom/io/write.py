"""Writing images: ``write_image`` picks the format from the suffix and writes atomically."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pillow_heif
import tifffile
from PIL import Image, PngImagePlugin, TiffImagePlugin

from ..errors import BrightroomError
from .files import atomic_write, check_output_path
from .formats import ImageFormat, output_format
from .metadata import EXIF_IFD, GPS_IFD, ORIENTATION, PNG_IPTC_KEYWORD, ExifTables, icc_color_space, png_iptc_text
from .photo import Photo

_JPEG_EXIF_LIMIT = 65_533  # a JPEG APP1 segment holds at most this much
_HEIF_HIGH_BIT_DEPTH = 12  # what "16-bit" HEIF is stored as; HEVC Main 12 keeps the most of 16-bit input


def write_image(
    path: str | Path,
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    bit_depth: int | None = None,
    like: Photo | None = None,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
    quality: int = 95,
    overwrite: bool = False,
) -> Path:
    """Write float pixels in [0, 1] (H x W x C, C = 1 or 3, or H x W) to ``path``; return the path.

    The format comes from the suffix (.png .jpg .jpeg .tif .tiff .webp .heic ...).
    ``bit_depth`` is 8, 16 (PNG, TIFF, HEIF; HEIF stores it as 12-bit) or 32
    (float TIFF). When it is None, the depth of ``like`` is kept if the format
    can hold it, else the largest depth the format holds below it (a float TIFF
    becomes 16-bit PNG), else 8. Values are clipped to [0, 1] and rounded.

    ``like`` (usually the Photo that was read) supplies alpha, EXIF and ICC
    profile wherever those arguments are None, and its XMP, IPTC and print resolution (DPI) where
    the format holds them (XMP: all but PNG's 16-bit writer has it too; IPTC: JPEG and TIFF; DPI:
    PNG, JPEG and TIFF); its alpha is resized if the size changed. Pass ``exif=b""`` or ``icc_profile=b""`` to write none. Written EXIF
    has orientation 1. JPEG drops alpha; WebP stores gray as RGB; 16-bit gray
    with alpha is stored as RGBA in PNG (OpenCV has no 16-bit gray+alpha writer).

    The file is written to a temporary name beside ``path`` and renamed into
    place, so a failure leaves nothing behind. An existing file is replaced only
    with ``overwrite=True``, and ``like.path`` (the input) never is.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> ramp = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    >>> write_image(folder / "ramp.png", ramp, bit_depth=16).name
    'ramp.png'
    """
    path = Path(path)
    image_format = output_format(path)
    pixels = _checked_pixels(path, pixels)
    size = pixels.shape[:2]
    if alpha is not None:
        alpha = _checked_alpha(path, alpha, size)
    elif like is not None and like.alpha is not None:
        alpha = _resized_alpha(like.alpha, size)
    if not image_format.holds_alpha:
        alpha = None
    depth = _chosen_bit_depth(path, image_format, bit_depth, like)
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise BrightroomError(f"cannot write '{path}': quality must be a whole number from 1 to 100, not {quality!r}.")
    exif_tables = _chosen_exif(path, exif, like, size)
    if icc_profile is None and like is not None:
        icc_profile = like.icc_profile
    if icc_profile is not None and not isinstance(icc_profile, (bytes, bytearray)):
        raise BrightroomError(f"cannot write '{path}': icc_profile must be bytes.")
    check_output_path(path, overwrite=overwrite, protected=like.path if like is not None else None)

    output = _Output(pixels, alpha, depth, exif_tables, bytes(icc_profile) if icc_profile else None, int(quality),
                     *((like.xmp, like.iptc, like.dpi) if like is not None else ()))
    try:
        data = _ENCODERS[image_format.name](output)
    except BrightroomError:
        raise
    except Exception as exc:
        raise BrightroomError(f"cannot write '{path}': the {image_format.label} encoder failed ({exc}).") from exc
    atomic_write(path, data)
    return path


def _checked_pixels(path: Path, pixels: np.ndarray) -> np.ndarray:
    array = np.asarray(pixels)
    if array.dtype.kind != "f":
        raise BrightroomError(
            f"cannot write '{path}': pixels must be a float array with values in [0, 1], not {array.dtype}."
        )
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3):
        raise BrightroomError(
            f"cannot write '{path}': pixels must have shape H x W x C with C = 1 or 3 "
            f"(alpha goes in the alpha argument), not {array.shape}."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise BrightroomError(f"cannot write '{path}': the image is empty (shape {array.shape}).")
    if not np.isfinite(array).all():
        raise BrightroomError(f"cannot write '{path}': pixels contain NaN or infinite values.")
    return array.astype(np.float32, copy=False)


def _checked_alpha(path: Path, alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    array = np.asarray(alpha)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.dtype.kind != "f" or array.shape != size:
        raise BrightroomError(
            f"cannot write '{path}': alpha must be a float array of shape {size} in [0, 1], "
            f"not {array.dtype} {array.shape}."
        )
    if not np.isfinite(array).all():
        raise BrightroomError(f"cannot write '{path}': alpha contains NaN or infinite values.")
    return array.astype(np.float32, copy=False)


def _resized_alpha(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if alpha.shape == size:
        return alpha
    height, width = size
    shrinking = height * width < alpha.shape[0] * alpha.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(alpha.astype(np.float32), (width, height), interpolation=interpolation)


def _chosen_bit_depth(path: Path, image_format: ImageFormat, bit_depth: int | None, like: Photo | None) -> int:
    depths = image_format.write_bit_depths
    if bit_depth is None:
        source = like.bit_depth if like is not None else 8
        return max((d for d in depths if d <= source), default=8)
    if bit_depth not in depths:
        allowed = " or ".join(f"{d}-bit" for d in depths)
        raise BrightroomError(
            f"cannot write '{path}': {image_format.label} holds {allowed} images, not {bit_depth!r}-bit."
        )
    return bit_depth


def _chosen_exif(path: Path, exif: bytes | None, like: Photo | None, size: tuple[int, int]) -> ExifTables | None:
    if exif is None:
        tables = ExifTables.from_bytes(like.exif) if like is not None else None
    elif not isinstance(exif, (bytes, bytearray)):
        raise BrightroomError(f"cannot write '{path}': exif must be bytes (an EXIF block).")
    elif not exif:
        return None
    else:
        tables = ExifTables.from_bytes(exif)
        if tables is None:
            raise BrightroomError(f"cannot write '{path}': the exif bytes are not a readable EXIF block.")
    height, width = size
    return tables.normalized(size=(width, height)) if tables is not None else None


@dataclass
class _Output:
    """Validated pixels and metadata, ready for one format's encoder."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    exif: ExifTables | None
    icc_profile: bytes | None
    quality: int
    xmp: bytes | None = None
    iptc: bytes | None = None
    dpi: tuple[float, float] | None = None

    def samples(self, *, alpha: bool = True, rgb: bool = False) -> np.ndarray:
        """H x W x K quantised samples: colour (gray expanded to RGB if ``rgb``) then alpha."""
        planes = self.pixels
        if rgb and planes.shape[2] == 1:
            planes = np.repeat(planes, 3, axis=2)
        if alpha and self.alpha is not None:
            planes = np.concatenate([planes, self.alpha[..., None]], axis=2)
        if self.bit_depth == 32:
            return np.clip(planes, 0.0, 1.0).astype(np.float32)
        dtype = np.uint8 if self.bit_depth == 8 else np.uint16
        scaled = np.clip(planes, 0.0, 1.0) * np.float32(np.iinfo(dtype).max)
        return np.rint(scaled).astype(dtype)

    def exif_block(self, max_bytes: int | None = None) -> bytes | None:
        if self.exif is None:
            return None
        block = self.exif.to_bytes()
        if block is not None and max_bytes is not None and len(block) > max_bytes:
            block = self.exif.without_maker_note().to_bytes()
            if block is not None and len(block) > max_bytes:
                return None
        return block

    def icc_for(self, samples: np.ndarray) -> bytes | None:
        """The ICC profile if it describes the colour model being written (a gray profile for gray...)."""
        wanted = "GRAY" if samples.ndim == 2 or samples.shape[2] <= 2 else "RGB"
        return self.icc_profile if icc_color_space(self.icc_profile) == wanted else None


def _pillow_bytes(samples: np.ndarray, pillow_format: str, **options) -> bytes:
    image = Image.fromarray(samples[..., 0] if samples.shape[2] == 1 else samples)
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **{k: v for k, v in options.items() if v is not None})
    return buffer.getvalue()


def _encode_png(output: _Output) -> bytes:
    samples = output.samples()
    if output.bit_depth == 8:
        text = PngImagePlugin.PngInfo() if output.xmp or output.iptc else None
        if output.xmp:
            text.add_itxt("XML:com.adobe.xmp", output.xmp.decode("utf-8", "replace"))
        if output.iptc:
            text.add_text(PNG_IPTC_KEYWORD, png_iptc_text(output.iptc), zip=True)
        return _pillow_bytes(samples, "PNG", exif=output.exif_block(), icc_profile=output.icc_for(samples),
                             dpi=output.dpi, pnginfo=text)
    # Pillow cannot hold 16-bit colour, so OpenCV encodes the pixels and the
    # metadata chunks are added here (OpenCV's own metadata API is too recent to rely on).
    if samples.shape[2] == 2:
        samples = output.samples(rgb=True)
    bgr = samples[..., [2, 1, 0, 3][: samples.shape[2]]] if samples.shape[2] >= 3 else samples
    ok, encoded = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise ValueError("OpenCV could not encode the PNG")
    chunks = []
    icc = output.icc_for(samples)
    if icc is not None:
        chunks.append(_png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc)))  # name, method 0
    block = output.exif_block()
    if block is not None:
        chunks.append(_png_chunk(b"eXIf", block[6:]))  # the chunk holds the block without "Exif\0\0"
    if output.dpi:  # pHYs: pixels per metre, unit 1
        chunks.append(_png_chunk(b"pHYs", struct.pack(">IIB", *(round(d / 0.0254) for d in output.dpi), 1)))
    if output.xmp:  # iTXt: keyword, no compression, no language, no translated keyword
        chunks.append(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + output.xmp))
    if output.iptc:  # zTXt: keyword, compression method 0, deflated text
        text = zlib.compress(png_iptc_text(output.iptc).encode("latin-1"))
        chunks.append(_png_chunk(b"zTXt", PNG_IPTC_KEYWORD.encode("latin-1") + b"\x00\x00" + text))
    data = encoded.tobytes()
    end_of_header = 8 + 25  # signature, then IHDR (always first, always 25 bytes)
    return data[:end_of_header] + b"".join(chunks) + data[end_of_header:]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _encode_jpeg(output: _Output) -> bytes:
    samples = output.samples(alpha=False)
    return _pillow_bytes(
        samples,
        "JPEG",
        quality=output.quality,
        # At high quality, halving the colour resolution (4:2:0) costs more than it saves.
        subsampling=0 if output.quality >= 90 else 2,
        exif=output.exif_block(_JPEG_EXIF_LIMIT),
        icc_profile=output.icc_for(samples),
        xmp=output.xmp if output.xmp and len(output.xmp) < _JPEG_XMP_LIMIT else None,
        dpi=tuple(round(d) for d in output.dpi) if output.dpi else None,
        extra=_jpeg_iptc_segment(output.iptc),
    )


_JPEG_XMP_LIMIT = 65_000  # one APP1 segment (Extended XMP is not written)


def _jpeg_iptc_segment(iptc: bytes | None) -> bytes | None:
    """An APP13 segment holding IPTC-IIM as Photoshop's resource 0x0404, as cameras and editors write it."""
    if not iptc or len(iptc) > 60_000:
        return None
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    body = b"Photoshop 3.0\x00" + resource + b"\x00" * (len(iptc) % 2)
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def _encode_webp(output: _Output) -> bytes:
    samples = output.samples(rgb=True)
    return _pillow_bytes(
        samples,
        "WEBP",
        quality=output.quality,
        exact=True,  # keep the colour under fully transparent pixels
        exif=output.exif_block(),
        icc_profile=output.icc_for(samples),
        xmp=output.xmp,
    )


def _encode_heif(output: _Output) -> bytes:
    samples = output.samples()
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[samples.shape[2]]
    if output.bit_depth == 16:
        mode += ";16"
    height, width = samples.shape[:2]
    heif = pillow_heif.from_bytes(mode=mode, size=(width, height), data=np.ascontiguousarray(samples).tobytes())
    options = {"quality": output.quality, "chroma": 444 if output.quality >= 90 else 420}
    if output.bit_depth == 16:
        options["bit_depth"] = _HEIF_HIGH_BIT_DEPTH
    if (block := output.exif_block()) is not None:
        options["exif"] = block
    if (icc := output.icc_for(samples)) is not None:
        options["icc_profile"] = icc
    if output.xmp:
        options["xmp"] = output.xmp
    buffer = io.BytesIO()
    heif.save(buffer, **options)
    return buffer.getvalue()


def _encode_tiff(output: _Output) -> bytes:
    samples = output.samples()
    channels = output.pixels.shape[2]
    bigtiff = samples.nbytes > 2**32 - 2**25
    tags, sub_ifds = _tiff_exif_tags(output.exif, allow_sub_ifds=not bigtiff)
    if output.xmp:
        tags.append((700, "B", len(output.xmp), output.xmp, True))
    if output.iptc:
        tags.append((33723, "B", len(output.iptc), output.iptc, True))
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer,
        samples[..., 0] if samples.shape[2] == 1 else samples,
        photometric="rgb" if channels == 3 else "minisblack",
        planarconfig="contig",
        extrasamples=("unassalpha",) if output.alpha is not None else None,
        compression="zlib",
        predictor=samples.dtype != np.float32,  # the float predictor needs imagecodecs
        iccprofile=output.icc_for(samples),
        extratags=tags,
        resolution=output.dpi,
        resolutionunit="INCH" if output.dpi else None,
        metadata=None,
        software=False,
        byteorder="<",
        bigtiff=bigtiff,
    )
    return _attach_sub_ifds(buffer.getvalue(), sub_ifds)


def _tiff_exif_tags(exif: ExifTables | None, *, allow_sub_ifds: bool) -> tuple[list[tuple], dict[int, dict]]:
    """EXIF as tifffile extratags for IFD0, plus sub-IFD tables to attach afterwards."""
    if exif is None:
        return [], {}
    tags: list[tuple] = []
    for tag, value in exif.base.items():
        if tag == ORIENTATION:
            tags.append((tag, "H", 1, 1, True))
        elif isinstance(value, (str, bytes)):
            text = value.encode("ascii", "replace") if isinstance(value, str) else value
            tags.append((tag, "s", 0, text, True))
    sub_ifds = {}
    if allow_sub_ifds:
        for tag, name, table in ((EXIF_IFD, "ExifTag", exif.exif), (GPS_IFD, "GPSTag", exif.gps)):
            if table:
                # A placeholder pointer, filled in by _attach_sub_ifds. tifffile filters
                # IFD tags given by number, so this one is given by name.
                tags.append((name, "I", 1, 0, True))
                sub_ifds[tag] = table
    return tags, sub_ifds


def _attach_sub_ifds(data: bytes, sub_ifds: dict[int, dict]) -> bytes:
    """Append EXIF/GPS sub-IFDs to a little-endian classic TIFF and point IFD0 at them."""
    if not sub_ifds:
        return data
    out = bytearray(data)
    (first_ifd,) = struct.unpack_from("<I", out, 4)
    (count,) = struct.unpack_from("<H", out, first_ifd)
    entries = {}
    for index in range(count):
        entry = first_ifd + 2 + 12 * index
        entries[struct.unpack_from("<H", out, entry)[0]] = entry
    for tag, table in sub_ifds.items():
        if len(out) % 2:
            out += b"\x00"  # IFDs start on a word boundary
        offset = len(out)
        directory = TiffImagePlugin.ImageFileDirectory_v2(ifh=b"II*\x00\x08\x00\x00\x00", group=tag)
        for sub_tag, value in table.items():
            directory[sub_tag] = value
        out += directory.tobytes(offset)
        struct.pack_into("<I", out, entries[tag] + 8, offset)
    return bytes(out)


_ENCODERS: dict[str, Callable[[_Output], bytes]] = {
    "png": _encode_png,
    "jpeg": _encode_jpeg,
    "webp": _encode_webp,
    "heif": _encode_heif,
    "tiff": _encode_tiff,
}
