"""Reading and writing images: PNG, JPEG, TIFF, WebP, HEIC/HEIF and RAW/DNG.

In memory an image is float32 H x W x C (C = 1 or 3) in [0, 1], sRGB-encoded,
with alpha kept separately; conversions to and from file encodings happen here
and nowhere else. Every bad input raises BrightroomError with one sentence.

>>> import tempfile, pathlib
>>> import numpy as np
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pixels = np.random.default_rng(0).random((32, 48, 3), dtype=np.float32)
>>> photo = read_image(write_image(folder / "noise.png", pixels, bit_depth=16))
>>> bool(np.abs(photo.pixels - pixels).max() <= 0.5 / 65535)
True
"""

from .formats import READABLE_SUFFIXES, WRITABLE_SUFFIXES
from .limits import DEFAULT_MAX_PIXELS
from .photo import ImageInfo, Photo
from .raw import write_dng
from .read import probe_image, read_image, read_metadata
from .write import write_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "READABLE_SUFFIXES",
    "WRITABLE_SUFFIXES",
    "ImageInfo",
    "Photo",
    "probe_image",
    "read_image",
    "read_metadata",
    "write_dng",
    "write_image",
]
