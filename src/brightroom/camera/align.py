"""Burst alignment as in HDR+ (Hasinoff et al. 2016): a coarse-to-fine tile search
on a gray proxy, refined to sub-pixel accuracy.

Each frame is matched to the reference tile by tile on a pyramid of the gray
proxy (full, 1/2, 1/8 and 1/32 scale, as HDR+). At the coarse levels every
tile searches a window of +-4 pixels (+-8 at the top); each finer level starts from the best of
three candidates taken from the level above (the tile's parent and its two
nearest neighbours, which fixes tiles straddling a motion boundary) and searches
again, +-2 pixels at half scale and +-1 at full scale, where a tile whose best
match is off-centre steps there and searches again. A parabola through the
costs around the minimum gives a sub-pixel estimate; a 3 x 3 median over the
tiles removes the stray matches of flat tiles; and two Lucas-Kanade steps per
tile refine the result to a few hundredths of a pixel. The tile displacements are
interpolated to a smooth per-pixel flow, which ``warp`` applies with
``cv2.remap``.

A flow holds, for every reference pixel, the (dx, dy) at which the other frame
shows the same point: ``frame[y + dy, x + dx] ~ reference[y, x]``.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from ..errors import BrightroomError

TILE_SIZE = 16
COARSE_TILE_SIZE = 8
SEARCH_RADII = (1, 2, 4, 4)  # per level, finest first
COARSEST_RADIUS = 8  # the top level searches wider: it sets the largest motion found
FINE_RADIUS = 1
PYRAMID_FACTORS = (2, 4, 4)  # each level's downsampling from the one below
_FINE_STEPS = 4
_REFINE_STEPS = 2


def estimate_flow(reference: np.ndarray, frame: np.ndarray, *, tile_size: int = TILE_SIZE) -> np.ndarray:
    """The per-pixel flow (H x W x 2, float32 dx, dy) that aligns ``frame`` to ``reference``.

    Both are gray proxies, float32 H x W (see ``gray_proxy``).

    >>> y, x = np.mgrid[0:128, 0:128].astype(np.float32)
    >>> scene = np.sin(x / 5) * np.cos(y / 7) + np.sin((x + y) / 11)
    >>> shift = np.float32([[1, 0, -2.5], [0, 1, 1.5]])   # content moves 2.5 px left, 1.5 px down
    >>> moved = cv2.warpAffine(scene, shift, (128, 128), borderMode=cv2.BORDER_REFLECT)
    >>> [round(float(v), 1) for v in np.median(estimate_flow(scene, moved), axis=(0, 1))]
    [-2.5, 1.5]
    """
    tiles = _median_3x3(align_tiles(reference, frame, tile_size=tile_size))
    for _ in range(_REFINE_STEPS):
        tiles = _refine(reference, frame, tiles, tile_size)
    return tile_flow_to_pixels(tiles, tile_size, reference.shape)


def warp(frame: np.ndarray, flow: np.ndarray, *, interpolation: int = cv2.INTER_LANCZOS4) -> np.ndarray:
    """Resample ``frame`` (H x W or H x W x C, up to 4 channels) along ``flow`` onto the reference grid.

    >>> frame = np.arange(64, dtype=np.float32).reshape(8, 8)
    >>> flow = np.zeros((8, 8, 2), np.float32); flow[..., 0] = 1   # the content sits one pixel to the right
    >>> float(warp(frame, flow)[3, 3]) == float(frame[3, 4])
    True
    """
    height, width = flow.shape[:2]
    map_x = np.arange(width, dtype=np.float32)[None, :] + flow[..., 0]
    map_y = np.arange(height, dtype=np.float32)[:, None] + flow[..., 1]
    frame = np.ascontiguousarray(frame, dtype=np.float32)
    warped = cv2.remap(frame, map_x, map_y, interpolation, borderMode=cv2.BORDER_REFLECT)
    return warped.reshape(frame.shape)


def gray_proxy(image: np.ndarray) -> np.ndarray:
    """A float32 H x W gray image to align on: the mean of the channels.

    >>> gray_proxy(np.ones((2, 2, 3), np.float32)).shape
    (2, 2)
    """
    image = np.asarray(image, dtype=np.float32)
    return image if image.ndim == 2 else image.mean(axis=2)


def align_tiles(reference: np.ndarray, frame: np.ndarray, *, tile_size: int = TILE_SIZE) -> np.ndarray:
    """Displacements (rows x cols x 2, float32 dx, dy) of the ``tile_size`` tiles of ``reference``,
    from the pyramid search with its parabola fit (``estimate_flow`` refines them further).

    Tiles cover the image from the top left; the last row and column may hang over the edge.
    """
    if reference.shape != frame.shape or reference.ndim != 2:
        raise BrightroomError("alignment needs two gray images of the same size.")
    if min(reference.shape) < 2 * tile_size:
        raise BrightroomError(
            f"frames of {reference.shape[1]}x{reference.shape[0]} pixels are too small to align "
            f"(at least {2 * tile_size}x{2 * tile_size} are needed)."
        )
    pyramid = _pyramid(reference.astype(np.float32), frame.astype(np.float32))
    displacement, coarse_size = None, 0  # integer (dx, dy) per tile of the level above, and its tile size
    for level in reversed(range(len(pyramid))):
        ref, alt = pyramid[level]
        size = tile_size if level == 0 else COARSE_TILE_SIZE
        ref_tiles = _tiles(ref, size)
        origins = _tile_origins(ref_tiles.shape[:2], size)
        if displacement is None:
            prior = np.zeros(ref_tiles.shape[:2] + (2,), np.int64)
        else:
            candidates = _candidates(displacement, ref_tiles.shape[:2], size, coarse_size, PYRAMID_FACTORS[level])
            prior = _best_candidate(ref_tiles, alt, origins, candidates)
        if level > 0:
            radius = COARSEST_RADIUS if level == len(pyramid) - 1 else SEARCH_RADII[level]
            costs = _search_costs(ref_tiles, alt, origins + prior, radius)
            displacement = prior + _argmin_offset(costs, radius)
            coarse_size = size
            continue
        # Finest level: tiles whose best match is off-centre step there and search again,
        # so that the parabola fit has a cost on each side of the minimum.
        displacement = prior
        costs = _search_costs(ref_tiles, alt, origins + displacement, FINE_RADIUS)
        offset = _argmin_offset(costs, FINE_RADIUS)
        for _ in range(_FINE_STEPS):
            moving = offset.any(axis=-1)
            if not moving.any():
                break
            displacement[moving] += offset[moving]
            costs[moving] = _search_costs(ref_tiles[moving], alt, origins[moving] + displacement[moving], FINE_RADIUS)
            offset[moving] = _argmin_offset(costs[moving], FINE_RADIUS)
    centred = ~offset.any(axis=-1, keepdims=True)
    return (displacement + np.where(centred, _subpixel(costs), offset)).astype(np.float32)


def _median_3x3(tiles: np.ndarray) -> np.ndarray:
    """Each tile's displacement replaced by the median of its 3 x 3 neighbourhood (per component).

    Flat or one-directional tiles match almost anywhere, and their isolated wrong
    matches would bend the interpolated flow of their neighbours too.
    """
    return np.stack([ndimage.median_filter(tiles[..., k], size=3, mode="nearest") for k in range(2)], axis=-1)


def tile_flow_to_pixels(tiles: np.ndarray, tile_size: int, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear interpolation of per-tile displacements (known at tile centres) to every pixel."""
    rows, cols = tiles.shape[:2]
    flow = cv2.resize(tiles, (cols * tile_size, rows * tile_size), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(flow[: shape[0], : shape[1]], dtype=np.float32)


def _refine(reference: np.ndarray, frame: np.ndarray, tiles: np.ndarray, tile_size: int) -> np.ndarray:
    """One Lucas-Kanade (Gauss-Newton) step per tile on the warped frame: the last fraction of a pixel."""
    reference = reference.astype(np.float32)
    warped = warp(frame, tile_flow_to_pixels(tiles, tile_size, reference.shape), interpolation=cv2.INTER_LINEAR)
    grad_x = cv2.Sobel(warped, cv2.CV_32F, 1, 0, ksize=1, scale=0.5, borderType=cv2.BORDER_REFLECT)
    grad_y = cv2.Sobel(warped, cv2.CV_32F, 0, 1, ksize=1, scale=0.5, borderType=cv2.BORDER_REFLECT)
    error = warped - reference
    sums = [
        _tiles(product, tile_size).sum(axis=(2, 3))
        for product in (grad_x * grad_x, grad_x * grad_y, grad_y * grad_y, grad_x * error, grad_y * error)
    ]
    xx, xy, yy, xe, ye = sums
    # A little damping keeps tiles with structure in one direction only (edges, flat areas) from jumping.
    damping = 1e-2 * (xx + yy) + 1e-9
    xx, yy = xx + damping, yy + damping
    determinant = xx * yy - xy * xy
    step_x = -(yy * xe - xy * ye) / determinant
    step_y = -(xx * ye - xy * xe) / determinant
    step = np.clip(np.stack([step_x, step_y], axis=2), -0.5, 0.5)
    return (tiles + step).astype(np.float32)


def _pyramid(reference: np.ndarray, frame: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    levels = [(reference, frame)]
    for factor in PYRAMID_FACTORS:
        ref, alt = levels[-1]
        if min(ref.shape) // factor < 2 * COARSE_TILE_SIZE:
            break
        size = (ref.shape[1] // factor, ref.shape[0] // factor)
        levels.append(tuple(cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in (ref, alt)))
    return levels


def _tiles(image: np.ndarray, size: int) -> np.ndarray:
    """Non-overlapping size x size tiles (rows x cols x size x size); edges padded by reflection."""
    height, width = image.shape
    rows, cols = -(-height // size), -(-width // size)
    padded = cv2.copyMakeBorder(image, 0, rows * size - height, 0, cols * size - width, cv2.BORDER_REFLECT)
    return padded.reshape(rows, size, cols, size).transpose(0, 2, 1, 3)


def _windows(image: np.ndarray, origins: np.ndarray, length: int) -> np.ndarray:
    """length x length windows of ``image`` at integer (x, y) ``origins`` (... x 2), edges clamped."""
    height, width = image.shape
    steps = np.arange(length)
    ys = np.clip(origins[..., 1, None] + steps, 0, height - 1)
    xs = np.clip(origins[..., 0, None] + steps, 0, width - 1)
    return image[ys[..., :, None], xs[..., None, :]]


def _tile_origins(grid: tuple[int, int], size: int) -> np.ndarray:
    rows, cols = grid
    y, x = np.mgrid[0:rows, 0:cols] * size
    return np.stack([x, y], axis=2)


def _search_costs(ref_tiles: np.ndarray, alt: np.ndarray, origins: np.ndarray, radius: int) -> np.ndarray:
    """Matching costs of ``ref_tiles`` (... x T x T) against ``alt`` at ``origins`` (... x 2) plus
    every offset in [-radius, radius]^2: ... x (2r+1) x (2r+1).

    The cost is the sum of squared differences less the tile's own energy, which is
    the same for every offset: sum(w^2) - 2 sum(w * r), with w the window of ``alt``.
    """
    size = ref_tiles.shape[-1]
    span = 2 * radius + 1
    windows = _windows(alt, origins - radius, size + 2 * radius)
    costs = np.empty(windows.shape[:-2] + (span, span), np.float32)
    for dy in range(span):
        for dx in range(span):
            window = windows[..., dy : dy + size, dx : dx + size]
            costs[..., dy, dx] = np.einsum("...kl,...kl->...", window, window - 2 * ref_tiles)
    return costs


def _candidates(coarse: np.ndarray, grid: tuple[int, int], size: int, coarse_size: int, factor: int) -> np.ndarray:
    """Three starting displacements per tile (rows x cols x 3 x 2) from the coarser level, scaled up."""
    rows, cols = grid
    coarse_rows, coarse_cols = coarse.shape[:2]
    # Tile centres in coarse-level tile units.
    cy = ((np.arange(rows) + 0.5) * size / factor) / coarse_size - 0.5
    cx = ((np.arange(cols) + 0.5) * size / factor) / coarse_size - 0.5
    iy = np.clip(np.round(cy).astype(int), 0, coarse_rows - 1)
    ix = np.clip(np.round(cx).astype(int), 0, coarse_cols - 1)
    ny = np.clip(np.where(cy > iy, iy + 1, iy - 1), 0, coarse_rows - 1)  # the nearer neighbour row
    nx = np.clip(np.where(cx > ix, ix + 1, ix - 1), 0, coarse_cols - 1)
    own = coarse[iy[:, None], ix[None, :]]
    vertical = coarse[ny[:, None], ix[None, :]]
    horizontal = coarse[iy[:, None], nx[None, :]]
    return np.stack([own, vertical, horizontal], axis=2) * factor


def _best_candidate(ref_tiles: np.ndarray, alt: np.ndarray, origins: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    costs = np.stack(
        [_search_costs(ref_tiles, alt, origins + each, 0)[..., 0, 0] for each in np.moveaxis(candidates, 2, 0)], axis=2
    )
    best = np.argmin(costs, axis=2)
    return np.take_along_axis(candidates, best[:, :, None, None], axis=2)[:, :, 0]


def _argmin_offset(costs: np.ndarray, radius: int) -> np.ndarray:
    """The (dx, dy) offset of each tile's smallest cost, ... x 2."""
    span = 2 * radius + 1
    best = costs.reshape(costs.shape[:-2] + (-1,)).argmin(axis=-1)
    return np.stack([best % span, best // span], axis=-1) - radius


def _subpixel(costs: np.ndarray) -> np.ndarray:
    """Sub-pixel (dx, dy) from parabolas through the 3 x 3 costs around a centred minimum."""
    centre = costs[..., 1, 1]

    def vertex(minus: np.ndarray, plus: np.ndarray) -> np.ndarray:
        curvature = minus - 2 * centre + plus
        safe = np.where(curvature > 1e-12, curvature, 1.0)
        return np.where(curvature > 1e-12, np.clip(0.5 * (minus - plus) / safe, -0.5, 0.5), 0.0)

    return np.stack([vertex(costs[..., 1, 0], costs[..., 1, 2]), vertex(costs[..., 0, 1], costs[..., 2, 1])], axis=-1)
