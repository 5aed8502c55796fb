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
