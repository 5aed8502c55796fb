"""The two records that reading produces: a decoded Photo and a header-only ImageInfo."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(eq=False, repr=False)
class Photo:
    """A decoded image and what Brightroom keeps of its file.

    ``pixels`` is float32 H x W x C (C is 1 for gray, 3 for RGB) with values in
    [0, 1], sRGB-encoded as stored in the file (the ICC profile, if any, says
    which RGB; it is carried through, not converted). ``alpha`` is float32 H x W
    in [0, 1] or None. ``bit_depth`` is the source's sample container: 8, 16
    (any 9-16 bit source, such as 10-bit HEIC or a RAW development) or 32 (a
    float TIFF). ``exif`` is a complete EXIF block (starting ``b"Exif\\0\\0"``)
    whose orientation is 1, because the orientation is already applied to the
    pixels. ``format`` is one of 'png', 'jpeg', 'tiff', 'webp', 'heif', 'raw'. ``xmp`` is the
    file's XMP packet (its orientation set to 1 as well), ``iptc`` its IPTC-IIM record (title,
    keywords, credit...), ``dpi`` its print resolution (x, y) in dots per inch, ``jpeg_quality``
    a JPEG's libjpeg quality (1-100) read from its quantisation tables; None where the file has none.

    >>> photo = Photo(np.zeros((2, 3, 1), np.float32), None, 8, "png", None, None)
    >>> photo
    Photo(3x2 gray, 8-bit png)
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    format: str
    exif: bytes | None
    icc_profile: bytes | None
    path: Path | None = None
    xmp: bytes | None = None
    iptc: bytes | None = None
    dpi: tuple[float, float] | None = None
    jpeg_quality: int | None = None

    def __repr__(self) -> str:
        height, width, channels = self.pixels.shape
        parts = [f"{width}x{height} {'gray' if channels == 1 else 'RGB'}", f"{self.bit_depth}-bit {self.format}"]
        parts += [name for name in ("alpha", "exif", "icc_profile", "xmp", "iptc", "dpi") if getattr(self, name) is not None]
        if self.path is not None:
            parts.append(f"path='{self.path}'")
        return f"Photo({', '.join(parts)})"


@dataclass
class ImageInfo:
    """What an image file's header says, without decoding its pixels.

    ``width`` and ``height`` are those of the image as displayed, that is after
    its EXIF orientation is applied, the same as ``read_image`` returns.
    ``bit_depth`` follows the same convention as ``Photo.bit_depth``.
    ``exif_summary`` holds the keys 'make', 'model', 'date', 'exposure',
    'f_number', 'iso', 'focal_length', 'lens' and 'orientation' where the file has them.
    ``jpeg_quality`` is the libjpeg quality (1-100) whose tables are nearest a JPEG's own.
    """

    path: Path
    format: str
    width: int
    height: int
    channels: int
    has_alpha: bool
    bit_depth: int
    exif_summary: dict[str, str] = field(default_factory=dict)
    icc_profile_name: str | None = None
    jpeg_quality: int | None = None  # a JPEG's quality factor, read from its quantisation tables
