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
_GRID_EVIDENCE = 1.1  # clean photos measured 1.0-1.06 (a few with 8-pixel patterns of their own up to 1.37)


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
    (:func:`read_jpeg_quality`); 100 for a photo that shows no compression, or too small to have a grid.

    >>> round(estimate_jpeg_quality(np.zeros((8, 8, 1), np.float32)))
    100
    """
    return read_jpeg_quality(image, method)[0]


def read_jpeg_quality(image: np.ndarray, method: str = DEFAULT_METHOD) -> tuple[float, str]:
    """The quality read from the pixels and how: 'lattice' (the DCT coefficients still sit on a
    libjpeg table's steps: exact), 'estimator' (no lattice, but an 8 x 8 grid shows: the learned
    estimator's reading, which tends to read low), or 'none' (quality 100: never compressed).

    >>> read_jpeg_quality(np.full((32, 32, 3), 0.5, np.float32))
    (100.0, 'none')
    """
    image = check_image(image)
    if min(image.shape[:2]) < _MIN_SIDE:
        return 100.0, "none"
    return _blind_quality(_planes(image)[..., :1], method)


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


def grid_evidence(luma: np.ndarray) -> float:
    """How strongly an 8-pixel grid shows in a plane (H x W x 1): the mean step between neighbouring
    pixels at the strongest of the 8 column (and row) phases over the median of the others, averaged
    over both directions. About 1 for a photo never saved as JPEG (or resized since), above 1.1 for
    one saved at quality 80 or below, 1.8-3 at quality 10.

    >>> flat = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (64, 1))[..., None]
    >>> round(grid_evidence(flat), 2)
    1.0
    """
    ratios = []
    for axis in (0, 1):
        phases = _phase_steps(luma[..., 0], axis)
        strongest = int(np.argmax(phases))
        # a small floor: a plane flat along one direction has no steps there, and no grid
        ratios.append((phases[strongest] + 1e-4) / (float(np.median(np.delete(phases, strongest))) + 1e-4))
    return float(np.mean(ratios))


def _blind_quality(luma: np.ndarray, method: str) -> tuple[float, str]:
    """The quality a plane was saved at, from its pixels alone: where its 8 x 8 DCT coefficients
    still sit on one of libjpeg's quantisation lattices, that table's quality (exact to about 1 for a
    photo saved once, up to quality 80-90, where the steps drown in the pixels' rounding: measured on
    LIVE1); else, where an 8 x 8 grid shows, the model's estimator (a re-saved crop, a resized JPEG);
    else 100, never compressed."""
    from ..nn.jpeg import level_to_quality

    lattice = lattice_quality(luma)
    if lattice is not None:
        return float(min(lattice, earlier_quality(luma, lattice) or 100)), "lattice"
    if grid_evidence(luma) < _GRID_EVIDENCE:
        return 100.0, "none"
    return level_to_quality(_estimated_level(_model(method), luma)), "estimator"


_LATTICE_FREQUENCIES = [1, 2, 3, 8, 9, 10, 16, 17, 24]  # low AC frequencies, row-major in the 8 x 8 block
_ROUNDING_SIGMA = 0.6  # the coefficients' spread from 8-bit rounding and colour conversion


def lattice_quality(luma: np.ndarray, max_blocks: int = 4096) -> int | None:
    """The lowest libjpeg quality whose luminance steps the plane's DCT coefficients are multiples of
    (blocks taken on the grid the pixel steps show), or None where no table fits: a JPEG decoded to
    pixels keeps its quantisation lattice until it is resized, filtered or re-saved on another grid.
    For each quality the fit is the mean of cos(2 pi c / step) over the coefficients past half a step,
    against what rounding alone leaves of a perfect fit; at least 200 such coefficients are needed.

    >>> from skimage import data
    >>> from brightroom.degrade import jpeg_compress
    >>> plane = (data.camera()[:256, :256, None] / 255).astype(np.float32)
    >>> lattice_quality(jpeg_compress(plane, 30)), lattice_quality(plane)
    (29, None)
    """
    plane = _centred(luma)
    top, left = (_grid_phase(plane, axis) for axis in (0, 1))
    plane = plane[top:, left:]
    height, width = plane.shape[0] // 8 * 8, plane.shape[1] // 8 * 8
    blocks = plane[:height, :width].reshape(height // 8, 8, width // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    if len(blocks) > max_blocks:
        blocks = blocks[np.linspace(0, len(blocks) - 1, max_blocks).astype(int)]
    coefficients, tables = _low_frequencies(blocks), _lattice_steps()
    for quality in range(1, 101):
        fits, counted = [], 0
        for k, step in enumerate(tables[quality - 1]):
            values = coefficients[:, k][np.abs(coefficients[:, k]) > step / 2]
            if len(values) >= 8 and step >= 3:
                perfect = np.exp(-2 * np.pi**2 * _ROUNDING_SIGMA**2 / step**2)
                fits.append(np.cos(2 * np.pi * values / step).mean() / perfect * len(values))
                counted += len(values)
        if counted >= 200 and sum(fits) / counted > 0.7:
            return quality
    return None


_EARLIER_WINDOW = 1024
_EARLIER_FIT = 0.15  # single saves measured at most 0.03 (one photo 0.12), a save under another 0.09-0.55


def earlier_quality(image: np.ndarray, later: int, max_blocks: int = 1024) -> int | None:
    """The quality of an earlier, stronger JPEG save of a photo (H x W x C) on another 8 x 8 grid
    (cropped, then saved again: what messaging apps do), or None: the lowest libjpeg quality, in
    steps of 5 and at least 10 below ``later`` (the last save's), whose luminance steps the DCT
    coefficients taken on one of the other 63 grid phases still cluster on (the mean of
    cos(2 pi c / step) over the coefficients past half a step above 0.15; the later save blurs that
    lattice, so the fit is lower than :func:`lattice_quality`'s). Measured on 50 training photos
    re-saved at random (first at 15-50, then 20 or more higher, up to 90, a random crop between),
    given the last save's quality as a file's tables give it: found on 24, each within 5 of the first
    quality; on 50 photos saved once, never.

    >>> from skimage import data
    >>> from brightroom.degrade import jpeg_compress, jpeg_recompress
    >>> plane = (data.camera()[:256, :256, None] / 255).astype(np.float32)
    >>> earlier_quality(jpeg_recompress(plane, 25, 75, (3, 5)), 75), earlier_quality(jpeg_compress(plane, 75), 75)
    (25, None)
    """
    qualities = list(range(5, int(later) - 9, 5))
    if not qualities or min(image.shape[:2]) < _MIN_SIDE:
        return None
    # a central window of at most 1024 x 1024 that starts on the 8-pixel grid (the phases are kept)
    top, left = (max(0, (size - _EARLIER_WINDOW) // 16 * 8) for size in image.shape[:2])
    window = image[top: top + _EARLIER_WINDOW, left: left + _EARLIER_WINDOW]
    plane = _centred(_planes(window)[..., :1])
    last_grid = (_grid_phase(plane, 0), _grid_phase(plane, 1))
    tables = _lattice_steps()
    # the same blocks' corners, spread over the photo, shifted to each grid phase
    rows, cols = (np.arange(0, size - 15, 8) for size in plane.shape)
    corners = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
    corners = corners[np.linspace(0, len(corners) - 1, min(max_blocks, len(corners))).astype(int)]
    offsets = np.arange(8)
    best_fit, best = _EARLIER_FIT, None
    for top in range(8):
        for left in range(8):
            if (top, left) == last_grid:
                continue
            blocks = plane[(corners[:, 0] + top)[:, None, None] + offsets[None, :, None],
                           (corners[:, 1] + left)[:, None, None] + offsets[None, None, :]]
            coefficients = _low_frequencies(blocks)
            for quality in qualities:
                total, counted = 0.0, 0
                for k, step in enumerate(tables[quality - 1]):
                    values = coefficients[:, k][np.abs(coefficients[:, k]) > step / 2]
                    if len(values) >= 8 and step >= 6:
                        total += float(np.cos(2 * np.pi * values / step).sum())
                        counted += len(values)
                if counted >= 200 and total / counted > best_fit:
                    best_fit, best = total / counted, quality
    return best


def _centred(luma: np.ndarray) -> np.ndarray:
    """A luminance plane (H x W x 1, [0, 1]) as JPEG codes it: 0-255, less 128, float64, H x W."""
    return luma[..., 0].astype(np.float64) * 255 - 128


def _low_frequencies(blocks: np.ndarray) -> np.ndarray:
    """The lattice-reading DCT coefficients of N x 8 x 8 blocks: N x len(_LATTICE_FREQUENCIES)."""
    from scipy.fft import dctn

    return dctn(blocks, axes=(1, 2), norm="ortho").reshape(len(blocks), 64)[:, _LATTICE_FREQUENCIES]


def _lattice_steps() -> np.ndarray:
    """libjpeg's luminance steps at those frequencies, one row per quality 1-100."""
    from ..io.read import ijg_luma_tables

    return ijg_luma_tables()[:, _LATTICE_FREQUENCIES]


def _phase_steps(plane: np.ndarray, axis: int) -> np.ndarray:
    """The mean step between neighbouring pixels along an axis at each of the 8 phases (8 values)."""
    steps = np.abs(np.diff(plane, axis=axis)).mean(axis=1 - axis)
    return steps[: len(steps) // 8 * 8].reshape(-1, 8).mean(axis=0)


def _grid_phase(plane: np.ndarray, axis: int) -> int:
    """Where blocks start along an axis: after the strongest of the 8 phases of pixel steps."""
    return (int(np.argmax(_phase_steps(plane, axis))) + 1) % 8


def _estimated_level(net, luma: np.ndarray) -> float:
    """The median level the estimator reads over the 8 x 8 cells that have detail: a flat cell looks
    the same at any quality (JPEG keeps its mean), so it says nothing; a flat photo reads 0. The
    estimator alone takes smooth content for compression (clean Kodak24 photos read quality 45-83):
    it is asked only where no lattice fits and an 8 x 8 grid shows (:func:`_blind_quality`)."""
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


def _restore_plane(net, plane: np.ndarray, level: float, chroma: bool) -> np.ndarray:
    """One plane (H x W x 1) through the restorer at a level (a colour plane's flag set)."""
    from ..nn.inference import denoise_tiled

    return denoise_tiled(net.restorer, plane, np.broadcast_to(np.float32([level, float(chroma)]), (*plane.shape[:2], 2)))


def _run_learned(method: str, image: np.ndarray, quality: int | None = None, strength: float = 1.0) -> np.ndarray:
    """Restore each coded plane at the level the quality says (raised by a strength above 1); a
    strength below 1 blends the correction back towards the input."""
    from ..nn.jpeg import quality_to_level

    if strength == 0 or min(image.shape[:2]) < _MIN_SIDE:
        return image.copy()
    net = _model(method)
    planes = _planes(image)
    level = quality_to_level(quality if quality is not None else _blind_quality(planes[..., :1], method)[0])
    if level < CLEAN_LEVEL:
        return image.copy()
    level = min(level * max(strength, 1.0), 1.0)
    restored = planes.copy()
    restored[..., :1] = _restore_plane(net, planes[..., :1], level, False)
    if planes.shape[2] == 3:
        restored[..., 1:] += _chroma_correction(net, planes[..., 1:], level)
    restored = jpeg_ycbcr_to_rgb(restored) if image.shape[2] == 3 and planes.shape[2] == 3 else restored
    if image.shape[2] == 3 and planes.shape[2] == 1:
        restored = np.repeat(restored, 3, axis=2)
    result = restored if strength >= 1 else image + strength * (restored - image)
    return np.clip(result, 0.0, 1.0).astype(np.float32, copy=False)


def _chroma_correction(net, chroma: np.ndarray, level: float) -> np.ndarray:
    """The colour planes restored at their coded half resolution: the change, brought up to full size."""
    height, width = chroma.shape[:2]
    chroma = np.ascontiguousarray(chroma)  # OpenCV converts a strided view ten times slower
    even = cv2.copyMakeBorder(chroma, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE).reshape(
        height + height % 2, width + width % 2, 2) if height % 2 or width % 2 else chroma
    coded = cv2.resize(even, (even.shape[1] // 2, even.shape[0] // 2), interpolation=cv2.INTER_AREA)
    change = np.concatenate([_restore_plane(net, coded[..., c:c + 1], level, True) - coded[..., c:c + 1]
                             for c in (0, 1)], axis=2)
    return cv2.resize(change, (even.shape[1], even.shape[0]), interpolation=cv2.INTER_LINEAR)[:height, :width]


def _register_learned() -> None:
    for entry in {entry.method: entry for entry in reversed(_zoo_models("jpeg"))}.values():
        register("jpeg", entry.method, entry.summary, learned=True, blind=True)(partial(_run_learned, entry.method))


_register_learned()
