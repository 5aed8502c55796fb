"""JPEG artifact removal: blocks, ringing and banding removed by the learned model ``deblock``,
told the compression's quality or reading it from the pixels itself.

A JPEG codes luminance at full resolution and the two colour planes (Cb, Cr) at half resolution
(4:2:0), each in 8 x 8 blocks on its own table; the model restores each plane where it was coded:
luminance as it is, the colour planes averaged back to their coded half resolution, the correction
brought up to the photo's size. Every method of the ``jpeg`` task is
``method(image, quality=None, strength=1.0) -> image``; ``quality`` None reads it from the pixels.

>>> from brightroom.degrade import jpeg_compress
>>> x = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (64, 1))[..., None]
>>> deblock(jpeg_compress(x, 20), quality=20, strength=0).shape
(64, 64, 1)
"""

from __future__ import annotations

from functools import partial

import cv2
import numpy as np

from ..color import jpeg_ycbcr_to_rgb, rgb_to_jpeg_ycbcr
from ..errors import BrightroomError
from ..image import check_image
from ..nn.zoo import models as _zoo_models
from . import get_method, register
from .denoise import check_strength, is_monochrome

DEFAULT_METHOD = "brightroom"
# Below this level (quality above 97) the artifacts are under one 8-bit level: a photo is left as it is.
CLEAN_LEVEL = 0.03
CLEAN_QUALITY = 100 - 100 * CLEAN_LEVEL
_MIN_SIDE = 16  # two blocks: a smaller image has no grid to read
_DETAIL = 1.0 / 255  # a cell whose mean gradient is under one 8-bit level is flat
_MIN_CELLS = 4


def parse_jpeg_quality(value) -> int | None:
    """A quality from a user's word: 'auto' (or None) reads it from the pixels; else a whole
    number from 1 to 100, libjpeg's scale.

    >>> parse_jpeg_quality("auto"), parse_jpeg_quality("35"), parse_jpeg_quality(90)
    (None, 35, 90)
    >>> parse_jpeg_quality("101")
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: a JPEG quality must be auto or a whole number from 1 to 100, not '101'.
    """
    if value is None or str(value).strip().lower() == "auto":
        return None
    try:
        quality = int(str(value).strip())
    except ValueError:
        quality = 0
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer() or not 1 <= quality <= 100:
        raise BrightroomError(f"a JPEG quality must be auto or a whole number from 1 to 100, not '{value}'.")
    return quality


def estimate_jpeg_quality(image: np.ndarray, method: str = DEFAULT_METHOD) -> float:
    """The libjpeg quality (1-100) the photo's luminance looks compressed at, read from its pixels
    by the model's estimator (the median over the photo's 8 x 8 cells); 100 for a photo too small
    to have a grid.

    >>> round(estimate_jpeg_quality(np.zeros((8, 8, 1), np.float32)))
    100
    """
    from ..nn.jpeg import level_to_quality

    image = check_image(image)
    if min(image.shape[:2]) < _MIN_SIDE:
        return 100.0
    return level_to_quality(_estimated_level(_model(method), _planes(image)[..., :1]))


def deblock(image: np.ndarray, quality: int | str | None = None, strength: float = 1.0,
            method: str = DEFAULT_METHOD) -> np.ndarray:
    """Remove JPEG artifacts. ``quality`` is the libjpeg quality the image was saved at (a file's
    tables say it: :func:`brightroom.io.read.jpeg_quality`), or None / 'auto' to read it from the
    pixels; ``strength`` 0 leaves the image as it is, 1 follows the quality, up to 4 treats the
    compression as that many times stronger.

    >>> deblock(np.zeros((32, 32, 3), np.float32), quality=0)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: a JPEG quality must be auto or a whole number from 1 to 100, not '0'.
    """
    image = check_image(image)
    quality = parse_jpeg_quality(quality)
    strength = check_strength("the JPEG strength", strength)
    return get_method("jpeg", method).run(image, quality, strength)


def _model(method: str):
    from ..nn.zoo import find_model, load_model

    return load_model(find_model("jpeg", method).name)


def _planes(image: np.ndarray) -> np.ndarray:
    """The planes JPEG codes: Y (gray and black-and-white photos) or Y, Cb, Cr."""
    return image[..., :1] if is_monochrome(image) else rgb_to_jpeg_ycbcr(image)


def _estimated_level(net, luma: np.ndarray) -> float:
    """The median level the estimator reads over the 8 x 8 cells that have detail: a flat cell looks
    the same at any quality (JPEG keeps its mean), so it says nothing; a flat photo reads 0."""
    from ..nn.inference import estimate_tiled

    levels = estimate_tiled(net.estimator, luma)[..., 0]
    gradient = np.zeros(luma.shape[:2], np.float32)
    gradient[:, :-1] += np.abs(np.diff(luma[..., 0], axis=1))
    gradient[:-1] += np.abs(np.diff(luma[..., 0], axis=0))
    height, width = luma.shape[0] // 8 * 8, luma.shape[1] // 8 * 8

    def cells(values: np.ndarray) -> np.ndarray:
        return values[:height, :width].reshape(height // 8, 8, width // 8, 8).mean(axis=(1, 3))

    textured = cells(gradient) > _DETAIL
    return float(np.median(cells(levels)[textured])) if textured.sum() >= _MIN_CELLS else 0.0


def _run_learned(method: str, image: np.ndarray, quality: int | None = None, strength: float = 1.0) -> np.ndarray:
    """Restore each coded plane at the level the quality says (raised by a strength above 1); a
    strength below 1 blends the correction back towards the input."""
    from ..nn.inference import denoise_tiled
    from ..nn.jpeg import quality_to_level

    if strength == 0 or min(image.shape[:2]) < _MIN_SIDE:
        return image.copy()
    net = _model(method)
    planes = _planes(image)
    level = quality_to_level(quality) if quality is not None else _estimated_level(net, planes[..., :1])
    if level < CLEAN_LEVEL:
        return image.copy()
    level = min(level * max(strength, 1.0), 1.0)
    height, width = planes.shape[:2]
    restored = planes.copy()
    restored[..., :1] = denoise_tiled(net.restorer, planes[..., :1], np.broadcast_to(
        np.float32([level, 0.0]), (height, width, 2)))
    if planes.shape[2] == 3:
        restored[..., 1:] += _chroma_correction(net, planes[..., 1:], level)
    restored = jpeg_ycbcr_to_rgb(restored) if image.shape[2] == 3 and planes.shape[2] == 3 else restored
    if image.shape[2] == 3 and planes.shape[2] == 1:
        restored = np.repeat(restored, 3, axis=2)
    result = image + min(strength, 1.0) * (restored - image)
    return np.clip(result, 0.0, 1.0).astype(np.float32)


def _chroma_correction(net, chroma: np.ndarray, level: float) -> np.ndarray:
    """The colour planes restored at their coded half resolution: the change, brought up to full size."""
    from ..nn.inference import denoise_tiled

    height, width = chroma.shape[:2]
    even = cv2.copyMakeBorder(chroma, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE).reshape(
        height + height % 2, width + width % 2, 2)
    coded = cv2.resize(even, (even.shape[1] // 2, even.shape[0] // 2), interpolation=cv2.INTER_AREA)
    levels = np.broadcast_to(np.float32([level, 1.0]), (*coded.shape[:2], 2))
    change = np.concatenate([denoise_tiled(net.restorer, coded[..., c:c + 1], levels) - coded[..., c:c + 1]
                             for c in (0, 1)], axis=2)
    return cv2.resize(change, (even.shape[1], even.shape[0]), interpolation=cv2.INTER_LINEAR)[:height, :width]


def _register_learned() -> None:
    for entry in {entry.method: entry for entry in reversed(_zoo_models("jpeg"))}.values():
        register("jpeg", entry.method, entry.summary, learned=True, blind=True)(partial(_run_learned, entry.method))


_register_learned()
