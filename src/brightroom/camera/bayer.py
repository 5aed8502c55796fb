"""Bayer mosaics: the four CFA patterns, sampling an RGB image into a mosaic, and
splitting a mosaic into its four half-resolution colour planes.

A mosaic is float32 H x W, linear. A pattern names the 2 x 2 filter colours in
reading order: 'RGGB', 'BGGR', 'GRBG' or 'GBRG'.
"""

from __future__ import annotations

import numpy as np

from ..errors import BrightroomError
from ..io.raw import channel_map, check_pattern


def red_offset(pattern: str) -> tuple[int, int]:
    """(row, column) of the red sample within the 2 x 2 cell.

    >>> red_offset("BGGR")
    (1, 1)
    """
    index = check_pattern(pattern).index("R")
    return index // 2, index % 2


def mosaic_image(rgb: np.ndarray, pattern: str = "RGGB") -> np.ndarray:
    """Sample an H x W x 3 image through the colour filter array: H x W mosaic.

    >>> rgb = np.zeros((2, 2, 3), np.float32); rgb[..., 0] = 1
    >>> mosaic_image(rgb, "RGGB").tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    channels = channel_map(pattern)
    height, width = rgb.shape[:2]
    rows, cols = np.ogrid[:height, :width]
    return np.ascontiguousarray(rgb[rows, cols, channels[rows % 2, cols % 2]])


def split_planes(mosaic: np.ndarray) -> np.ndarray:
    """The four colour planes of an even-sized mosaic, H/2 x W/2 x 4 in reading order.

    >>> split_planes(np.arange(16.0).reshape(4, 4))[0, 0].tolist()
    [0.0, 1.0, 4.0, 5.0]
    """
    height, width = mosaic.shape
    if height % 2 or width % 2:
        raise BrightroomError(f"a mosaic split into colour planes needs even sides, not {width}x{height}.")
    return np.ascontiguousarray(
        mosaic.reshape(height // 2, 2, width // 2, 2).transpose(0, 2, 1, 3).reshape(height // 2, width // 2, 4)
    )


def join_planes(planes: np.ndarray) -> np.ndarray:
    """The inverse of :func:`split_planes`.

    >>> m = np.arange(16.0).reshape(4, 4); bool((join_planes(split_planes(m)) == m).all())
    True
    """
    half_height, half_width, _ = planes.shape
    return np.ascontiguousarray(
        planes.reshape(half_height, half_width, 2, 2).transpose(0, 2, 1, 3).reshape(2 * half_height, 2 * half_width)
    )


def even_crop(mosaic: np.ndarray) -> np.ndarray:
    """Drop a last odd row or column, keeping the CFA phase."""
    height, width = mosaic.shape[:2]
    return mosaic[: height - height % 2, : width - width % 2]


# The order of the packed planes, whatever the pattern: red, the green beside red, the green
# beside blue, blue. A network sees the same colour in the same channel for every camera.
_PACKED_ORDER = {"RGGB": (0, 1, 2, 3), "BGGR": (3, 1, 2, 0), "GRBG": (1, 0, 3, 2), "GBRG": (2, 0, 3, 1)}


def pack_bayer(mosaic: np.ndarray, pattern: str) -> np.ndarray:
    """An even-sized mosaic as H/2 x W/2 x 4 planes in the order red, green, green, blue.

    >>> mosaic = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)   # B G / G R
    >>> pack_bayer(mosaic, "BGGR")[0, 0].tolist()
    [4.0, 2.0, 3.0, 1.0]
    """
    planes = split_planes(mosaic)
    return np.ascontiguousarray(planes[..., list(_PACKED_ORDER[check_pattern(pattern)])])


def unpack_bayer(planes: np.ndarray, pattern: str) -> np.ndarray:
    """The inverse of :func:`pack_bayer`.

    >>> m = np.arange(16.0).reshape(4, 4); bool((unpack_bayer(pack_bayer(m, "GBRG"), "GBRG") == m).all())
    True
    """
    order = _PACKED_ORDER[check_pattern(pattern)]
    return join_planes(np.ascontiguousarray(planes[..., list(np.argsort(order))]))
