"""Running array work on every core: NumPy, SciPy and OpenCV release the GIL in their loops, so
threads over independent parts of an image (bands of rows, frames) run in parallel."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def parallel_map(function, items, workers: int | None = None) -> list:
    """``[function(item) for item in items]`` on up to ``workers`` threads (default: one per core),
    in order.

    >>> parallel_map(abs, [-2, 3, -4])
    [2, 3, 4]
    """
    items = list(items)
    workers = min(len(items), workers or os.cpu_count() or 1)
    if workers <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


def per_pixel_in_bands(function, image: np.ndarray, band_pixels: int = 1_000_000) -> np.ndarray:
    """``function(image)`` for a ``function`` that treats each pixel on its own and returns float32
    of its input's shape, computed on bands of rows on threads: faster, and its intermediate
    arrays are a band's size, not the image's.

    >>> image = np.arange(36, dtype=np.float32).reshape(6, 2, 3)
    >>> bool((per_pixel_in_bands(np.sqrt, image, band_pixels=4) == np.sqrt(image)).all())
    True
    """
    rows = max(1, band_pixels // max(1, image.shape[1]))
    if image.shape[0] <= rows:
        return function(image)
    output = np.empty(image.shape, np.float32)

    def fill(top: int) -> None:
        output[top: top + rows] = function(image[top: top + rows])

    parallel_map(fill, range(0, image.shape[0], rows))
    return output
