"""The pixel-count limit that every read checks from the header, before decoding.

A small file can claim an enormous size (a "decompression bomb"); checking the
header first turns that into a clear error instead of an exhausted machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import BrightroomError

DEFAULT_MAX_PIXELS = 100_000_000
MAX_PIXELS_ENV = "BRIGHTROOM_MAX_PIXELS"


def resolve_max_pixels(max_pixels: int | None = None) -> int:
    """Return the limit in force: the argument, else $BRIGHTROOM_MAX_PIXELS, else the default.

    >>> resolve_max_pixels(5_000)
    5000
    """
    if max_pixels is None:
        text = os.environ.get(MAX_PIXELS_ENV, "").strip()
        if not text:
            return DEFAULT_MAX_PIXELS
        try:
            max_pixels = int(text.replace("_", ""))
        except ValueError:
            raise BrightroomError(f"{MAX_PIXELS_ENV} must be a whole number of pixels, not {text!r}.") from None
        source = MAX_PIXELS_ENV
    else:
        source = "max_pixels"
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels <= 0:
        raise BrightroomError(f"{source} must be a positive whole number of pixels, not {max_pixels!r}.")
    return max_pixels


def check_pixel_count(path: str | Path, width: int, height: int, limit: int) -> None:
    """Raise BrightroomError if a width x height image is over the pixel limit, or has no pixels
    (a header that says 0 wide or high describes no image, whatever the decoder then returns).

    >>> check_pixel_count("small.png", 640, 480, limit=1_000_000)
    >>> check_pixel_count("empty.tif", 0, 8, limit=1_000_000)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: cannot read 'empty.tif': its header says it is 0 x 8 pixels, which is no image.
    >>> check_pixel_count("big.png", 15_000, 10_000, limit=100_000_000)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: 'big.png' has 150.0 megapixels, over the limit of 100 MP (set BRIGHTROOM_MAX_PIXELS or max_pixels to raise it).
    """
    if int(width) < 1 or int(height) < 1:
        raise BrightroomError(f"cannot read '{path}': its header says it is {int(width)} x {int(height)} pixels, "
                              "which is no image.")
    count = int(width) * int(height)
    if count > limit:
        raise BrightroomError(
            f"'{path}' has {_megapixels(count)} megapixels, over the limit of "
            f"{limit / 1e6:g} MP (set {MAX_PIXELS_ENV} or max_pixels to raise it)."
        )


def _megapixels(count: int) -> str:
    return f"{count / 1e6:.1f}" if count >= 100_000 else f"{count / 1e6:.2g}"
