"""The in-memory image every stage takes: float32 H x W x C in [0, 1], C = 1 (gray) or 3 (RGB)."""

from __future__ import annotations

import numpy as np

from .errors import BrightroomError


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate an image for processing: float H x W x C with C in (1, 3), finite values.

    >>> check_image(np.zeros((8, 8), np.float32)).shape
    (8, 8, 1)
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise BrightroomError(
            f"expected a gray (H x W x 1) or RGB (H x W x 3) image, got an array of shape {image.shape}."
        )
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise BrightroomError(f"the image is {image.shape[1]}x{image.shape[0]} pixels; at least 8x8 is needed.")
    if not np.issubdtype(image.dtype, np.floating):
        raise BrightroomError(f"expected float pixels in [0, 1], got {image.dtype}.")
    if not np.isfinite(image).all():
        raise BrightroomError("the image contains NaN or infinite values.")
    return image.astype(np.float32, copy=False)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An H x W x 1 gray image as three equal channels; an RGB image as it is.

    >>> as_rgb(np.zeros((2, 2, 1), np.float32)).shape
    (2, 2, 3)
    """
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image


def is_two_level(image: np.ndarray) -> bool:
    """Whether every sample is 0 or 1 (a 1-bit scan, line art): such an image carries no sensor
    noise, though its dithering and hard edges read as noise of sigma 90-110 to the estimators.

    >>> is_two_level(np.float32([[0, 1], [1, 0]])), is_two_level(np.float32([[0, 0.5], [1, 0]]))
    (True, False)
    """
    def has_midtones(samples: np.ndarray) -> bool:
        return bool(np.any((samples > 0) & (samples < 1)))

    # A photo shows mid-tones in a sparse sample already: the full pass (and its masks the size of
    # the image) only for the rare image that could be two-level.
    return not has_midtones(image[::16, ::16]) and not has_midtones(image)
