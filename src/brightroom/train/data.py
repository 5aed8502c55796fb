"""Training patches from folders of clean images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

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


def random_patch(images: list[np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    """One random ``size`` x ``size`` crop of one of the images, randomly turned by a multiple of
    90 degrees and mirrored: float32 H x W x C in [0, 1].

    >>> random_patch([np.zeros((40, 50, 3), np.uint8)], 16, np.random.default_rng(0)).shape
    (16, 16, 3)
    """
    image = images[rng.integers(len(images))]
    top = rng.integers(image.shape[0] - size + 1)
    left = rng.integers(image.shape[1] - size + 1)
    patch = np.rot90(image[top: top + size, left: left + size], k=rng.integers(4))
    if rng.integers(2):
        patch = patch[:, ::-1]
    return patch.astype(np.float32) / 255.0


def random_patches(images: list[np.ndarray], size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random patches (:func:`random_patch`) as float32 N x C x size x size in [0, 1]."""
    return np.stack([random_patch(images, size, rng).transpose(2, 0, 1) for _ in range(count)])


def batch_tensor(examples: list[np.ndarray]) -> torch.Tensor:
    """H x W x C float arrays as one float32 N x C x H x W tensor: a training batch.

    >>> batch_tensor([np.zeros((4, 6, 2))] * 3).shape
    torch.Size([3, 2, 4, 6])
    """
    return torch.from_numpy(np.ascontiguousarray(np.stack(examples).transpose(0, 3, 1, 2), np.float32))


def split_holdout(images: list, every: int) -> tuple[list, list]:
    """Every ``every``-th image (starting with the first) is held out for validation.

    >>> split_holdout(list(range(6)), 3)
    ([1, 2, 4, 5], [0, 3])
    """
    held = set(range(0, len(images), every))
    return [im for i, im in enumerate(images) if i not in held], [images[i] for i in sorted(held)]


def training_images(data: dict, channels: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A config's ``[data]`` set as uint8 images: (training images, held-out validation images)."""
    from ..datasets import resolve_dataset

    return split_holdout(load_uint8_images(resolve_dataset(data["train"]), channels), int(data["holdout_every"]))
