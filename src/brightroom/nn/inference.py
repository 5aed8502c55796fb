"""Running networks on NumPy images: padding to a network's multiple, and tiling
with overlap and feathered blending so any size fits in bounded memory."""

from __future__ import annotations

import contextvars
import warnings
from collections.abc import Callable

import cv2
import numpy as np
import torch

from ..errors import BrightroomError
from .runtime import run


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """H x W x C float array -> 1 x C x H x W float32 tensor in channels-last memory, the layout
    oneDNN's convolutions want: one copy of the pixels (an NCHW copy and then a channels-last one
    cost 0.3 s of a 12 MP denoise), into PyTorch's own aligned memory (a view of the NumPy array
    would do without the copy, but oneDNN then rounds bfloat16 differently: a tile and the whole
    image would disagree).

    >>> tensor = to_tensor(np.zeros((4, 6, 3), np.float32))
    >>> tensor.shape, tensor.is_contiguous(memory_format=torch.channels_last)
    (torch.Size([1, 3, 4, 6]), True)
    """
    height, width, channels = image.shape
    tensor = torch.empty((1, channels, height, width), memory_format=torch.channels_last)
    image = np.asarray(image, np.float32)
    if min(image.strides) < 0:  # a flipped view: PyTorch takes only positive strides
        image = np.ascontiguousarray(image)
    with warnings.catch_warnings():  # a read-only array (np.broadcast_to) is only read here
        warnings.filterwarnings("ignore", "The given NumPy array is not writable", UserWarning)
        tensor[0].permute(1, 2, 0).copy_(torch.from_numpy(image))
    return tensor


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """1 x C x H x W tensor -> H x W x C float32 array."""
    return tensor[0].permute(1, 2, 0).float().numpy().astype(np.float32)


def _pad_bottom_right(array: np.ndarray, pad_h: int, pad_w: int, reflect: bool) -> np.ndarray:
    """Pad an H x W x C array at its bottom and right edges, mirroring (without repeating the edge)
    or repeating the edge. OpenCV, since PyTorch's padding contends for the two cores with ONNX
    Runtime's still-spinning threads right after a run (6 ms against 0.3 ms per 0.15 MP)."""
    border = cv2.BORDER_REFLECT_101 if reflect else cv2.BORDER_REPLICATE
    padded = cv2.copyMakeBorder(array, 0, pad_h, 0, pad_w, border)
    return padded.reshape(padded.shape[0], padded.shape[1], array.shape[2])


def run_padded(net: torch.nn.Module, image: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """Denoise a whole H x W x C image in one pass, reflect-padding to ``net.multiple``.

    ``sigma`` is a scalar, an H x W map or an H x W x K map (K levels per pixel) on the [0, 1] scale.
    """
    height, width = image.shape[:2]
    multiple = getattr(net, "multiple", 1)
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        image = _pad_bottom_right(image, pad_h, pad_w, reflect=pad_h < height and pad_w < width)
    if np.ndim(sigma) == 0:
        sigma_map = np.full((height + pad_h, width + pad_w, 1), sigma, np.float32)
    else:
        sigma_map = np.asarray(sigma, np.float32).reshape(height, width, -1)
        if pad_h or pad_w:
            sigma_map = _pad_bottom_right(sigma_map, pad_h, pad_w, reflect=False)
    return to_image(run(net, to_tensor(image), to_tensor(sigma_map))[..., :height, :width])


def _blend_weights(length: int, overlap: int, margin: int, at_start: bool, at_end: bool) -> np.ndarray:
    """Weights along one side of a tile: zero over the outer ``margin`` (where zero padding
    inside the network still shows), then a linear ramp up to 1 at ``overlap``; image borders
    keep full weight."""
    distance = np.arange(length, dtype=np.float32)
    ramp = np.clip((distance - margin + 0.5) / (overlap - 2 * margin), 0.0, 1.0)
    weights = np.ones(length, np.float32)
    if not at_start:
        weights = np.minimum(weights, ramp)
    if not at_end:
        weights = np.minimum(weights, ramp[::-1])
    return weights


def _tile_spans(length: int, tile: int, overlap: int, multiple: int) -> list[tuple[int, int]]:
    """(start, end) of as few tiles of at most ``tile`` as cover ``length`` with at least
    ``overlap`` shared by neighbours, spread evenly, so the extra work is about one overlap per
    seam rather than a whole tile at the end. Starts are multiples of the network's downsampling
    factor, so every tile sees the same pixel grid as the whole image would (the last tile may
    exceed the others by less than one multiple).

    >>> _tile_spans(1000, 512, 96, 8)
    [(0, 408), (296, 704), (592, 1000)]
    """
    if length <= tile:
        return [(0, length)]
    count = -(-(length - overlap) // (tile - overlap))
    while True:
        # even tiles, plus one multiple of slack so that rounding the starts down keeps the overlap
        size = -(-(length + (count - 1) * overlap) // (count * multiple)) * multiple + multiple
        if size <= tile:
            break
        count += 1
    starts = [i * (length - size) // (count - 1) // multiple * multiple for i in range(count)]
    return [(start, start + size) for start in starts[:-1]] + [(starts[-1], length)]


TileFunction = Callable[[np.ndarray, slice, slice], np.ndarray]


# Who hears of every tile of every tiled run in this context (the command line's progress bar);
# set with ``TILE_PROGRESS.set(callback)``, where callback(done, total).
TILE_PROGRESS: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar(
    "tile_progress", default=None)


def run_tiled(
    process: TileFunction,
    image: np.ndarray,
    *,
    scale: int = 1,
    multiple: int = 1,
    tile: int = 512,
    overlap: int = 96,
    margin: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Apply ``process(crop, rows, cols)`` over overlapping tiles and blend the results.

    ``process`` maps an input crop (with its row and column slices in the whole image)
    to an output crop ``scale`` times larger. Tiles start on multiples of ``multiple``;
    each tile's outer ``margin`` is discarded and the next ``overlap - 2 * margin``
    pixels are feathered linearly. An image no larger than one tile is one call.
    ``progress(done, total)`` is called after each tile.

    >>> double = lambda crop, rows, cols: np.repeat(np.repeat(crop, 2, 0), 2, 1)
    >>> image = np.random.default_rng(0).random((100, 70, 1)).astype(np.float32)
    >>> out = run_tiled(double, image, scale=2, tile=48, overlap=24, margin=4)
    >>> bool(np.allclose(out, double(image, None, None)))
    True
    """
    if tile % multiple or overlap % multiple or overlap < 2 * margin or overlap + 2 * multiple > tile:
        raise ValueError(f"bad tiling: tile {tile}, overlap {overlap}, margin {margin}, multiple {multiple}")
    height, width = image.shape[:2]
    if height <= tile and width <= tile:
        return process(image, slice(0, height), slice(0, width))
    output = None  # allocated on the first tile: the output may have other channels than the input
    total_weight = np.zeros((height * scale, width * scale, 1), np.float32)
    rows = _tile_spans(height, tile, overlap, multiple)
    cols = _tile_spans(width, tile, overlap, multiple)
    done, total = 0, len(rows) * len(cols)
    for top, bottom in rows:
        for left, right in cols:
            result = process(image[top:bottom, left:right], slice(top, bottom), slice(left, right))
            weight = np.outer(
                _blend_weights((bottom - top) * scale, overlap * scale, margin * scale, top == 0, bottom == height),
                _blend_weights((right - left) * scale, overlap * scale, margin * scale, left == 0, right == width),
            )[..., None]
            out_rows, out_cols = slice(top * scale, bottom * scale), slice(left * scale, right * scale)
            if output is None:
                output = np.zeros((height * scale, width * scale, result.shape[2]), np.float32)
            output[out_rows, out_cols] += result * weight
            total_weight[out_rows, out_cols] += weight
            done += 1
            for report in (progress, TILE_PROGRESS.get()):
                if report:
                    report(done, total)
    output /= total_weight
    return output


# The eight rotations and flips of the square, ordered so that every prefix of 2 or 4 mixes both.
_ORIENTATIONS = ((0, False), (2, True), (1, False), (3, True), (2, False), (0, True), (3, False), (1, True))
ENSEMBLE_SIZES = (1, 2, 4, 8)


def self_ensemble(run: Callable[[np.ndarray], np.ndarray], image: np.ndarray, count: int) -> np.ndarray:
    """Mean of ``run`` over ``count`` rotated and flipped copies of the image, each turned back
    (geometric self-ensemble, as EDSR+ does): a network's errors differ per orientation, so the
    mean is closer to the truth than any one pass, at ``count`` times the cost.

    ``run`` must map an H x W x C image to the same size or a whole multiple of it.

    >>> image = np.arange(12, dtype=np.float32).reshape(3, 4, 1)
    >>> bool(np.allclose(self_ensemble(lambda x: x * 2, image, 8), image * 2))
    True
    """
    if count not in ENSEMBLE_SIZES:
        raise BrightroomError(f"the self-ensemble takes 1, 2, 4 or 8 orientations, not {count}.")
    if count == 1:
        return run(image)
    total = None
    for turns, flip in _ORIENTATIONS[:count]:
        view = np.rot90(image[:, ::-1] if flip else image, turns)
        result = np.rot90(run(np.ascontiguousarray(view)), -turns)
        result = result[:, ::-1] if flip else result
        if total is None:
            total = result.astype(np.float32)  # a copy: the sum accumulates in place
        else:
            total += result
    total /= count
    return total


def denoise_tiled(net: torch.nn.Module, image: np.ndarray, sigma: float | np.ndarray, *, tile: int = 1024,
                  overlap: int = 96, margin: int = 32) -> np.ndarray:
    """Run a noise-level-conditioned denoiser over any image size, in tiles of up to 1024 px
    (about 0.3 GB of activations for the colour network).

    ``sigma`` is a scalar, an H x W map or an H x W x K map on the [0, 1] scale.

    >>> from brightroom.nn.denoiser import NoiseLevelUNet
    >>> net = NoiseLevelUNet(1, (8, 16, 32), 1).eval()
    >>> denoise_tiled(net, np.zeros((100, 70, 1), np.float32), 0.1, tile=64, overlap=32, margin=8).shape
    (100, 70, 1)
    """
    sigma_map = None if np.ndim(sigma) == 0 else np.asarray(sigma, np.float32).reshape(*image.shape[:2], -1)

    def process(crop: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        return run_padded(net, crop, sigma if sigma_map is None else sigma_map[rows, cols])

    return run_tiled(process, image, multiple=getattr(net, "multiple", 1), tile=tile, overlap=overlap, margin=margin)


def estimate_tiled(net: torch.nn.Module, image: np.ndarray, *, tile: int = 1024, overlap: int = 64,
                   margin: int = 16) -> np.ndarray:
    """Run a noise estimator ``net(x) -> levels`` (N x K x H x W) over any image size; H x W x K out.

    >>> from brightroom.nn.real import NoiseEstimator
    >>> estimate_tiled(NoiseEstimator(width=8).eval(), np.zeros((100, 70, 3), np.float32), tile=64, overlap=32,
    ...                margin=8).shape
    (100, 70, 2)
    """
    multiple = getattr(net, "multiple", 1)

    def process(crop: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        height, width = crop.shape[:2]
        pad_h, pad_w = -height % multiple, -width % multiple
        if pad_h or pad_w:
            crop = _pad_bottom_right(crop, pad_h, pad_w, reflect=pad_h < height and pad_w < width)
        return to_image(run(net, to_tensor(crop)))[:height, :width]

    levels = run_tiled(process, image, multiple=multiple, tile=tile, overlap=overlap, margin=margin)
    return np.maximum(levels, 0.0)


def upscale_tiled(net: torch.nn.Module, image: np.ndarray, scale: int, *, tile: int = 256, overlap: int = 64,
                  margin: int = 24) -> np.ndarray:
    """Run a super-resolution network ``net(x, scale)`` over any image size.

    The default margin (24 low-resolution pixels) exceeds the receptive-field radius of
    the shipped networks, so tiles agree with a whole-image pass to float precision.

    >>> from brightroom.nn.sr import MultiScaleSR
    >>> net = MultiScaleSR(width=8, blocks=1, scales=(2,)).eval()
    >>> upscale_tiled(net, np.zeros((100, 70, 3), np.float32), 2, tile=48, overlap=24, margin=8).shape
    (200, 140, 3)
    """

    def process(crop: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        return to_image(run(net, to_tensor(crop), scale=scale))

    return run_tiled(process, image, scale=scale, multiple=getattr(net, "multiple", 1), tile=tile, overlap=overlap,
                     margin=margin)
