"""Shared by the scripts that draw the pictures under docs/: crops side by side."""

from __future__ import annotations

import numpy as np


def side_by_side(images: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Equal-height H x W x 3 images in a row, white gaps between, clipped to [0, 1]."""
    spacer = np.ones((images[0].shape[0], gap, 3), np.float32)
    parts = []
    for image in images:
        parts += [image, spacer]
    return np.clip(np.concatenate(parts[:-1], axis=1), 0, 1)


def busiest_crop(image: np.ndarray, rows: slice, size: int) -> tuple[slice, slice]:
    """The ``size`` x ``size`` window (within ``rows``) with the most fine detail: where a restoration shows."""
    gray = image[rows].mean(axis=2)
    detail = np.abs(np.diff(gray, axis=1))[:-1] + np.abs(np.diff(gray, axis=0))[:, :-1]
    best, where = -1.0, (0, 0)
    for top in range(0, gray.shape[0] - size, size // 2):
        for left in range(0, gray.shape[1] - size, size // 2):
            score = float(detail[top: top + size, left: left + size].mean())
            if score > best:
                best, where = score, (top, left)
    top = rows.start + where[0]
    return slice(top, top + size), slice(where[1], where[1] + size)
