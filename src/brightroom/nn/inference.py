"""Running a network on NumPy images: padding to the network's multiple, and
tiling with overlap and feathered blending so any size fits in bounded memory."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()


def _sigma_tensor(sigma: float | np.ndarray, height: int, width: int) -> torch.Tensor:
    if np.ndim(sigma) == 0:
        return torch.full((1, 1, height, width), float(sigma))
    return torch.from_numpy(np.ascontiguousarray(np.asarray(sigma, np.float32).reshape(height, width)))[None, None]


def run_padded(net: torch.nn.Module, image: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """Denoise a whole H x W x C image in one pass, reflect-padding to ``net.multiple``.

    ``sigma`` is a scalar or an H x W map on the [0, 1] scale.
    """
    height, width = image.shape[:2]
    multiple = getattr(net, "multiple", 1)
    pad_h, pad_w = -height % multiple, -width % multiple
    x = _to_tensor(image)
    s = _sigma_tensor(sigma, height, width)
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        s = F.pad(s, (0, pad_w, 0, pad_h), mode="replicate")
    with torch.no_grad():
        y = net(x, s)
    return y[0, :, :height, :width].permute(1, 2, 0).numpy().astype(np.float32)


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
    """(start, end) of tiles covering ``length``. Starts are multiples of the network's
    downsampling factor, so every tile sees the same pixel grid as the whole image would."""
    if length <= tile:
        return [(0, length)]
    step = tile - overlap
    spans = []
    start = 0
    while start + tile < length:
        spans.append((start, start + tile))
        start += step
    last = max(0, (length - tile) // multiple * multiple)
    spans.append((min(start, last), length))
    return spans


def run_tiled(
    net: torch.nn.Module,
    image: np.ndarray,
    sigma: float | np.ndarray,
    *,
    tile: int = 512,
    overlap: int = 96,
    margin: int = 32,
    progress=None,
) -> np.ndarray:
    """Run ``net`` over overlapping tiles blended with feathered weights, in bounded memory.

    An image no larger than one tile is processed in one pass. ``sigma`` is a scalar
    or an H x W map on the [0, 1] scale. ``progress(done, total)`` is called per tile.
    ``tile`` and ``overlap`` must be multiples of the network's ``multiple``, and
    ``overlap`` at least twice ``margin``.

    >>> from brightroom.nn.denoiser import NoiseLevelUNet
    >>> net = NoiseLevelUNet(1, (8, 16, 32), 1).eval()
    >>> run_tiled(net, np.zeros((100, 70, 1), np.float32), 0.1, tile=64, overlap=32, margin=8).shape
    (100, 70, 1)
    """
    multiple = getattr(net, "multiple", 1)
    if tile % multiple or overlap % multiple or overlap < 2 * margin or overlap >= tile:
        raise ValueError(f"bad tiling: tile {tile}, overlap {overlap}, margin {margin}, multiple {multiple}")
    height, width, channels = image.shape
    if height <= tile and width <= tile:
        return run_padded(net, image, sigma)
    sigma_map = None if np.ndim(sigma) == 0 else np.asarray(sigma, np.float32).reshape(height, width)
    output = np.zeros((height, width, channels), np.float32)
    total_weight = np.zeros((height, width, 1), np.float32)
    rows = _tile_spans(height, tile, overlap, multiple)
    cols = _tile_spans(width, tile, overlap, multiple)
    done, total = 0, len(rows) * len(cols)
    for top, bottom in rows:
        for left, right in cols:
            crop_sigma = sigma if sigma_map is None else sigma_map[top:bottom, left:right]
            result = run_padded(net, image[top:bottom, left:right], crop_sigma)
            weight = np.outer(
                _blend_weights(bottom - top, overlap, margin, top == 0, bottom == height),
                _blend_weights(right - left, overlap, margin, left == 0, right == width),
            )[..., None]
            output[top:bottom, left:right] += result * weight
            total_weight[top:bottom, left:right] += weight
            done += 1
            if progress:
                progress(done, total)
    return output / total_weight
