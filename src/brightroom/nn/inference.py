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


def _ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> np.ndarray:
    """Blending weights along one side of a tile: linear ramps over the overlap, except at image borders."""
    weights = np.ones(length, np.float32)
    ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if not at_start:
        weights[:overlap] = np.minimum(weights[:overlap], ramp)
    if not at_end:
        weights[length - overlap :] = np.minimum(weights[length - overlap :], ramp[::-1])
    return weights


def _tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def run_tiled(
    net: torch.nn.Module,
    image: np.ndarray,
    sigma: float | np.ndarray,
    *,
    tile: int = 512,
    overlap: int = 64,
    progress=None,
) -> np.ndarray:
    """Run ``net`` over overlapping tiles blended with linear feathering, in bounded memory.

    An image no larger than one tile is processed in one pass. ``sigma`` is a scalar
    or an H x W map on the [0, 1] scale. ``progress(done, total)`` is called per tile.

    >>> from brightroom.nn.denoiser import NoiseLevelUNet
    >>> net = NoiseLevelUNet(1, (8, 16, 32), 1).eval()
    >>> run_tiled(net, np.zeros((100, 70, 1), np.float32), 0.1, tile=64, overlap=16).shape
    (100, 70, 1)
    """
    height, width, channels = image.shape
    if height <= tile and width <= tile:
        return run_padded(net, image, sigma)
    sigma_map = None if np.ndim(sigma) == 0 else np.asarray(sigma, np.float32).reshape(height, width)
    output = np.zeros((height, width, channels), np.float32)
    total_weight = np.zeros((height, width, 1), np.float32)
    rows, cols = _tile_starts(height, tile, overlap), _tile_starts(width, tile, overlap)
    done, total = 0, len(rows) * len(cols)
    for top in rows:
        for left in cols:
            bottom, right = min(top + tile, height), min(left + tile, width)
            crop_sigma = sigma if sigma_map is None else sigma_map[top:bottom, left:right]
            result = run_padded(net, image[top:bottom, left:right], crop_sigma)
            weight = np.outer(
                _ramp(bottom - top, overlap, top == 0, bottom == height),
                _ramp(right - left, overlap, left == 0, right == width),
            )[..., None]
            output[top:bottom, left:right] += result * weight
            total_weight[top:bottom, left:right] += weight
            done += 1
            if progress:
                progress(done, total)
    return output / total_weight
