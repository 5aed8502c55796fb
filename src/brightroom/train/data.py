"""Training patches from folders of clean images."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..color import rgb_to_gray
from ..datasets import image_files
from ..io import read_image


def load_uint8_images(folder: Path, channels: int) -> list[np.ndarray]:
    """Every image of a folder as uint8 H x W x channels (gray or RGB), kept compact in memory."""
    images = []
    for path in image_files(folder):
        pixels = read_image(path).pixels
        if channels == 1 and pixels.shape[2] == 3:
            pixels = rgb_to_gray(pixels)
        elif channels == 3 and pixels.shape[2] == 1:
            pixels = np.repeat(pixels, 3, axis=2)
        images.append(np.round(pixels * 255).astype(np.uint8))
    return images


def random_patches(images: list[np.ndarray], size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random ``size`` x ``size`` crops with random flips and 90-degree rotations.

    Returns float32 N x C x size x size in [0, 1].
    """
    patches = []
    for _ in range(count):
        image = images[rng.integers(len(images))]
        top = rng.integers(image.shape[0] - size + 1)
        left = rng.integers(image.shape[1] - size + 1)
        patch = image[top : top + size, left : left + size]
        patch = np.rot90(patch, k=rng.integers(4))
        if rng.integers(2):
            patch = patch[:, ::-1]
        patches.append(patch.transpose(2, 0, 1))
    return np.stack(patches).astype(np.float32) / 255.0
