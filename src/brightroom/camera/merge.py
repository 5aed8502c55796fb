"""Burst merging as in HDR+ (Hasinoff et al. 2016): a robust pairwise merge in
the frequency domain of overlapping tiles, then spatial denoising.

Frames are aligned to the reference (``align.py``), cut into 16 x 16 tiles that
overlap by half and are weighted by a raised-cosine window (the windows sum to
one, so overlap-adding the tiles rebuilds the image). For every frequency of
every tile, each other frame's coefficient T is pulled towards the reference's
T0 by a weight A in [0, 1]:

    merged = mean over frames of  T + A * (T0 - T)
    A = max(0, 1 - k * noise / |D|^2),   D = T0 - T

where |D|^2 is pooled over the colour channels and neighbouring frequencies and
``noise`` is its expected power for a static scene. This is HDR+'s pairwise
Wiener shrinkage in its spectral-subtraction form: a frame is averaged in fully
while it differs from the reference by no more than noise, and rejected once it
differs by much more (motion, misalignment, occlusion), frequency by frequency;
and a frame's whole tile is rejected when most of its frequencies differ (a
moving object rather than a slight misalignment), so moving objects do not
ghost. The noise each merged coefficient still holds is known from the weights.
Given a single-image denoiser (a callable: the recipe layer hands Brightroom's learned
one), the whole merged RGB image goes through it with that per-pixel noise map (1/N of
a frame's variance where all N frames merged, all of it where motion kept only the
reference): on Kodak24 this beats HDR+'s tile Wiener shrinkage by about 2-3 dB with 4
frames and 2 dB with 8. Otherwise a Wiener shrinkage against it (HDR+'s spatial
denoising) removes it.

Noise follows the sensor model of ``brightroom.degrade`` (variance = shot * x +
read**2); it is given, or measured from the burst itself (``noise.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import scipy.fft
from scipy import ndimage

from ..errors import BrightroomError
from ..io.raw import RawImage, check_mosaic, check_pattern
from .align import TILE_SIZE, estimate_flow, gray_proxy, warp
from .bayer import even_crop, join_planes, split_planes
from .frames import check_reference, check_same_size, load_frames
from .noise import NoiseProfile, estimate_noise_model, noise_model_from_sigma, raw_noise_profile
from .parallel import parallel_map

# k: how many times the expected noise power a frame may differ from the reference
# before it starts being rejected at that frequency. Larger merges more and rejects less.
DEFAULT_ROBUSTNESS = 1.0
# A frame's whole tile is kept while fewer than the first fraction of its frequencies
# differ from the reference by more than TILE_DIFFERENCE times the noise, and rejected
# when more than the second fraction do (in between, partly).
TILE_DIFFERENCE = 1.5
TILE_REJECTION = (0.3, 0.6)
# Strength of the spatial Wiener shrinkage after the merge (1 = the plain Wiener filter, 0 = off).
DEFAULT_SPATIAL_DENOISE = 1.0
# A RAW denoiser as a burst uses it: (merged raw, its noise profile) -> denoised raw.
RawDenoiser = Callable[[RawImage, NoiseProfile], RawImage]
_NOISE_FRAMES = 3  # frames used to measure the noise when it is not given
_TILES_PER_BAND = 12_000  # tiles merged at once, which bounds memory on large frames


def merge_burst(
    frames: Sequence[np.ndarray | str | Path],
    *,
    noise_sigma: float | None = None,
    noise_model: tuple[float, float] | None = None,
    reference: int = 0,
    robustness: float = DEFAULT_ROBUSTNESS,
    spatial_denoise: float = DEFAULT_SPATIAL_DENOISE,
    denoiser: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Merge a handheld burst of RGB (or gray) frames into one clean image, float32 H x W x C in [0, 1].

    ``frames`` are float32 H x W x C arrays in [0, 1] or image paths, all the
    same size. The noise is ``noise_sigma`` (white, 0-255 scale),
    ``noise_model`` (shot, read) of ``brightroom.degrade``'s sensor model, or,
    when neither is given, measured from the burst. ``reference`` is the frame
    the result is aligned to. ``robustness`` trades denoising for rejection of
    motion; ``spatial_denoise`` (0 turns it off) scales the shrinkage after the
    merge; ``denoiser(image, sigma_map)`` (sigma on the 0-255 scale), where given,
    replaces that shrinkage: it runs over the merge told the noise left per pixel.

    >>> from brightroom.degrade import add_gaussian_noise
    >>> y, x = np.mgrid[0:64, 0:64]
    >>> scene = (0.5 + 0.3 * np.sin(x / 4.0) * np.cos(y / 5.0))[..., None].repeat(3, 2).astype(np.float32)
    >>> burst = [add_gaussian_noise(scene, 20, seed=s) for s in range(8)]
    >>> merged = merge_burst(burst, noise_sigma=20)
    >>> bool(np.abs(merged - scene).std() < np.abs(burst[0] - scene).std() / 2.5)
    True
    """
    images = load_frames(frames)
    reference = check_reference(reference, len(images))
    aligned, flows = _align(images, reference)
    model = _resolve_noise(noise_sigma, noise_model, images, flows, reference)
    if denoiser is not None:
        merged, residual = merge_aligned(aligned, reference=reference, noise_model=model, robustness=robustness,
                                         spatial_denoise=0.0, return_residual=True)
        sigma = _residual_sigma(merged, residual, model)
        return np.clip(denoiser(merged, sigma), 0.0, 1.0).astype(np.float32)
    return merge_aligned(aligned, reference=reference, noise_model=model, robustness=robustness,
                         spatial_denoise=spatial_denoise)


def align_burst(
    frames: Sequence[np.ndarray], *, reference: int = 0, return_flows: bool = False
) -> list[np.ndarray] | tuple[list[np.ndarray], list[np.ndarray]]:
    """Every frame resampled onto the reference frame's grid (the reference itself unchanged).

    The plain mean of the result is the "average" baseline of the burst benchmark.

    >>> frames = [np.random.default_rng(s).random((64, 64, 3), dtype=np.float32) for s in range(2)]
    >>> aligned = align_burst(frames); len(aligned), bool((aligned[0] == frames[0]).all())
    (2, True)
    """
    images = load_frames(frames)
    reference = check_reference(reference, len(images))
    aligned, flows = _align(images, reference)
    return (aligned, flows) if return_flows else aligned


def _align(images: Sequence[np.ndarray], reference: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Aligned frames and their flows; any number of channels (Bayer planes have four)."""
    proxies = [gray_proxy(image) for image in images]

    def align_one(index: int) -> tuple[np.ndarray, np.ndarray]:
        if index == reference:
            return images[index], np.zeros(images[index].shape[:2] + (2,), np.float32)
        flow = estimate_flow(proxies[reference], proxies[index])
        return warp(images[index], flow), flow

    results = parallel_map(align_one, range(len(images)))
    return [r[0] for r in results], [r[1] for r in results]


def merge_aligned(
    aligned: Sequence[np.ndarray],
    *,
    reference: int = 0,
    noise_model: tuple[float, float],
    robustness: float = DEFAULT_ROBUSTNESS,
    spatial_denoise: float = DEFAULT_SPATIAL_DENOISE,
    return_residual: bool = False,
    tile_size: int = TILE_SIZE,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The robust merge of frames already aligned to ``aligned[reference]`` (H x W x C each).

    Not clipped, so that it also serves linear Bayer planes. With
    ``return_residual``, also returns an H x W map of the noise variance left,
    as a fraction of one frame's (1/N where all N frames merged, 1 where only the
    reference was kept).
    """
    shot, read = (float(v) for v in noise_model)
    if not (np.isfinite(shot) and np.isfinite(read)) or shot < 0 or read < 0:
        raise BrightroomError(f"the noise model must be two numbers of at least 0 (shot, read), not {noise_model}.")
    if not np.isfinite(robustness) or robustness <= 0:
        raise BrightroomError(f"robustness must be a positive number, not {robustness}.")
    if not np.isfinite(spatial_denoise) or spatial_denoise < 0:
        raise BrightroomError(f"spatial_denoise must be 0 or more, not {spatial_denoise}.")
    stack = [a if a.ndim == 3 else a[..., None] for a in aligned]
    check_same_size(stack)
    order = [reference] + [i for i in range(len(stack)) if i != reference]
    height, width, channels = stack[0].shape
    step = tile_size // 2
    pad = ((step, step + (-height) % step), (step, step + (-width) % step), (0, 0))
    padded = [np.pad(stack[i].astype(np.float32, copy=False), pad, mode="symmetric") for i in order]
    window = _raised_cosine(tile_size)
    output = np.zeros_like(padded[0])
    residual = np.zeros(padded[0].shape[:2] + (1,), np.float32)
    rows = (padded[0].shape[0] - tile_size) // step + 1
    cols = (padded[0].shape[1] - tile_size) // step + 1
    band = max(2, _TILES_PER_BAND // cols // 2 * 2)  # an even number of tile rows
    settings = (window, step, shot, read, robustness, spatial_denoise)

    def merge_rows(first: int) -> tuple[int, np.ndarray, np.ndarray]:
        top, bottom = first * step, (min(rows, first + band) - 1) * step + tile_size
        return (top, *_merge_band([frame[top:bottom] for frame in padded], *settings))

    starts = list(range(0, rows, band))
    workers = os.cpu_count() or 1
    # A few bands at a time: enough to keep every core busy, few enough to bound memory.
    for group in range(0, len(starts), workers):
        for top, tiles, left in parallel_map(merge_rows, starts[group : group + workers]):
            _overlap_add(output, tiles, top, step)
            _overlap_add(residual, left[:, :, None, None, None] * window, top, step)
    crop = (slice(step, step + height), slice(step, step + width))
    merged = output[crop].reshape(stack[0].shape[:2] + aligned[0].shape[2:])
    return (merged, residual[crop][..., 0]) if return_residual else merged


def merge_bayer(
    mosaics: Sequence[np.ndarray],
    *,
    noise_model: tuple[float, float] | None = None,
    reference: int = 0,
    robustness: float = DEFAULT_ROBUSTNESS,
    spatial_denoise: float = DEFAULT_SPATIAL_DENOISE,
) -> np.ndarray:
    """Merge a burst of normalised Bayer mosaics (float32 H x W, black 0, white 1) into one mosaic.

    The four colour planes are merged together at half resolution; alignment
    runs on their mean, the gray proxy of HDR+.

    >>> rng = np.random.default_rng(0)
    >>> scene = np.full((64, 64), 0.3, np.float32)
    >>> burst = [scene + rng.normal(0, 0.05, scene.shape).astype(np.float32) for _ in range(6)]
    >>> bool(merge_bayer(burst, noise_model=(0, 0.05)).std() < 0.02)
    True
    """
    if isinstance(mosaics, np.ndarray) or len(mosaics) < 2:
        count = 1 if isinstance(mosaics, np.ndarray) else len(mosaics)
        raise BrightroomError(f"a burst needs at least two frames, not {count}.")
    planes = []
    for number, mosaic in enumerate(mosaics, start=1):
        try:
            mosaic = check_mosaic(mosaic)
        except BrightroomError as error:
            raise BrightroomError(f"frame {number}: {error}") from None
        planes.append(split_planes(even_crop(mosaic)))
    check_same_size(planes)
    if min(planes[0].shape[:2]) < 32:
        raise BrightroomError("the mosaics are too small to merge (at least 64x64 pixels are needed).")
    reference = check_reference(reference, len(planes))
    aligned, flows = _align(planes, reference)
    noise_model = _resolve_noise(None, noise_model, planes, flows, reference)
    merged = merge_aligned(aligned, reference=reference, noise_model=noise_model, robustness=robustness,
                           spatial_denoise=spatial_denoise)
    return join_planes(merged)


def merge_raw_burst(
    paths: Sequence[str | Path],
    *,
    reference: int = 0,
    noise_model: tuple[float, float] | None = None,
    robustness: float = DEFAULT_ROBUSTNESS,
    spatial_denoise: float = DEFAULT_SPATIAL_DENOISE,
    denoiser: RawDenoiser | None = None,
    **develop_options,
) -> np.ndarray:
    """Merge a burst of RAW/DNG files on their Bayer data, then develop the result (sRGB H x W x 3).

    ``develop_options`` go to :func:`brightroom.camera.develop` (``demosaic_method``,
    ``white_balance``, ``exposure``, ``tone_curve_strength``, ``local_tone``);
    the reference frame's metadata is used. ``denoiser`` see :func:`merge_raw_frames`.
    """
    from ..io.raw import read_raw
    from .raw import develop

    if isinstance(paths, (str, Path)) or len(paths) < 2:
        count = 1 if isinstance(paths, (str, Path)) else len(paths)
        raise BrightroomError(f"a burst needs at least two frames, not {count}.")
    raws = [read_raw(path) for path in paths]
    first = raws[0]
    for number, (path, raw) in enumerate(zip(paths, raws), start=1):
        if raw.mosaic.shape != first.mosaic.shape:
            raise BrightroomError(
                f"all frames must have the same size: frame 1 is {first.mosaic.shape[1]}x{first.mosaic.shape[0]} "
                f"but frame {number} ('{path}') is {raw.mosaic.shape[1]}x{raw.mosaic.shape[0]}."
            )
        if not raw.is_bayer:
            raise BrightroomError(f"frame {number} ('{path}') is not a Bayer mosaic (a linear, monochrome or "
                                  "X-Trans file); merge such frames after developing them.")
        if check_pattern(raw.cfa_pattern) != first.cfa_pattern:
            raise BrightroomError(f"frame {number} ('{path}') has a different colour filter pattern from frame 1.")
    merged = merge_raw_frames(raws, reference=reference, noise_model=noise_model, robustness=robustness,
                              spatial_denoise=spatial_denoise, denoiser=denoiser)
    return develop(merged, **develop_options)


def merge_raw_frames(raws: Sequence[RawImage], *, reference: int = 0, noise_model: tuple[float, float] | None = None,
                     robustness: float = DEFAULT_ROBUSTNESS, spatial_denoise: float = DEFAULT_SPATIAL_DENOISE,
                     denoiser: RawDenoiser | None = None) -> RawImage:
    """Merge RAW frames of one size and pattern into one :class:`RawImage` (the reference frame's
    metadata, its mosaic normalised). ``denoiser(raw, profile)`` (a RAW denoiser, e.g.
    ``tasks.denoise_raw.denoise_raw``) cleans the merged mosaic, given its reduced noise: the
    reference frame's profile (measured from its data) over the number of frames; the merge's own
    spatial shrinkage is then left out. Where the profile cannot be measured (a tiny or all-white
    frame) the shrinkage is used instead.

    >>> from brightroom.degrade import add_poisson_gaussian_noise
    >>> frames = [RawImage(add_poisson_gaussian_noise(np.full((64, 64), 0.3, np.float32), 0.004, 0.004, seed=s))
    ...           for s in range(3)]
    >>> merged = merge_raw_frames(frames)
    >>> bool(merged.mosaic.std() < frames[0].mosaic.std() / 2), merged.white_level
    (True, 1.0)
    """
    from ..io.raw import with_mosaic

    reference = check_reference(reference, len(raws))
    profile = None
    if denoiser is not None:
        try:
            profile = raw_noise_profile(raws[reference]).scaled(1 / len(raws))
        except BrightroomError:
            profile = None
    merged = merge_bayer(
        [raw.normalized() for raw in raws], noise_model=noise_model, reference=reference,
        robustness=robustness, spatial_denoise=0.0 if profile else spatial_denoise,
    )
    merged_raw = replace(with_mosaic(raws[reference], merged), iso=None)  # no single exposure any more
    return denoiser(merged_raw, profile) if profile else merged_raw


def _resolve_noise(
    noise_sigma: float | None,
    noise_model: tuple[float, float] | None,
    images: Sequence[np.ndarray],
    flows: Sequence[np.ndarray],
    reference: int,
) -> tuple[float, float]:
    """(shot, read): from a white-noise sigma, as given, or measured from the burst."""
    if noise_sigma is not None and noise_model is not None:
        raise BrightroomError("give noise_sigma or noise_model, not both.")
    if noise_sigma is not None:
        sigma = float(noise_sigma)
        if not np.isfinite(sigma) or sigma < 0:
            raise BrightroomError(f"noise_sigma must be a number of at least 0 (0-255 scale), not {noise_sigma}.")
        return noise_model_from_sigma(sigma)
    if noise_model is not None:
        values = np.asarray(noise_model, np.float64).ravel()
        if values.size != 2:
            raise BrightroomError(f"noise_model must be two numbers (shot, read), not {noise_model!r}.")
        return float(values[0]), float(values[1])
    others = [i for i in range(len(images)) if i != reference][:_NOISE_FRAMES]
    return estimate_noise_model(images[reference], [images[i] for i in others], [flows[i] for i in others])


def _residual_sigma(merged: np.ndarray, residual: np.ndarray, noise_model: tuple[float, float]) -> np.ndarray:
    """Per-pixel noise (0-255 scale) left in a merge: the fraction ``residual`` of one frame's
    variance, at the brightness of the (lightly smoothed) merged image."""
    shot, read = noise_model
    level = np.maximum(cv2.GaussianBlur(merged.mean(axis=2), (0, 0), 2), 0.0)
    return (255 * np.sqrt(np.maximum(residual, 0.0) * (shot * level + read * read))).astype(np.float32)


def _raised_cosine(size: int) -> np.ndarray:
    """HDR+'s modified raised cosine, shifted half a sample so that windows half a tile apart sum to 1."""
    one = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(size) + 0.5) / size)
    return np.outer(one, one).astype(np.float32)


def _tile_spectra(band: np.ndarray, window: np.ndarray, step: int) -> np.ndarray:
    """Windowed tiles of an H x W x C band, half overlapping, as spectra: rows x cols x C x T x (T/2+1)."""
    size = window.shape[0]
    tiles = np.lib.stride_tricks.sliding_window_view(band, (size, size), axis=(0, 1))[::step, ::step]
    return scipy.fft.rfft2(tiles * window)


def _merge_band(frames, window, step, shot, read, robustness, spatial_denoise):
    """One band of tile rows: merged tiles (rows x cols x C x T x T, windowed) and the
    fraction of one frame's noise variance left in each tile (rows x cols)."""
    count = len(frames)
    reference = _tile_spectra(frames[0], window, step)
    # Noise power of one frame at every frequency of a tile: the tile's noise variance
    # (from its mean level, the DC coefficient over the window's sum) times sum(window^2).
    level = np.maximum(reference[..., 0, 0].real / window.sum(), 0.0)
    noise_power = ((shot * level + read * read) * float((window**2).sum())).astype(np.float32)
    difference_noise = 2 * noise_power.mean(axis=2)[..., None, None]  # a difference holds two frames' noise
    merged = reference.copy()
    kept = np.zeros(reference.shape[:2] + reference.shape[3:], np.float32)  # sum of A over frames
    spread = np.zeros_like(kept)  # sum of (1 - A)^2 over frames
    for frame in frames[1:]:
        spectrum = _tile_spectra(frame, window, step)
        difference = reference - spectrum
        # Pooling over channels and neighbouring frequencies steadies |D|^2, which
        # for one coefficient of a static tile is as random as the noise itself.
        distance = ndimage.uniform_filter(_channel_power(difference), size=(1, 1, 3, 3), mode=_POOL_MODES)
        rejection = np.clip(1 - robustness * difference_noise / (distance + 1e-20), 0.0, 1.0)
        # Per-tile rejection: misalignment shows at a few frequencies, a moving object at
        # most of them, so a median well above the noise rejects the frame's whole tile.
        differing = (distance > TILE_DIFFERENCE * difference_noise).mean(axis=(2, 3))
        low, high = TILE_REJECTION
        accepted = np.clip((high - differing) / (high - low), 0.0, 1.0)
        rejection = 1 - (1 - rejection) * accepted[:, :, None, None]
        merged += spectrum
        difference *= rejection[:, :, None]
        merged += difference
        kept += rejection
        spread += (1 - rejection) ** 2
    merged /= count
    left = ((1 + kept) ** 2 + spread) / count**2  # noise variance left, per frequency, in units of one frame's
    if spatial_denoise > 0:
        power = merged.real**2 + merged.imag**2
        merged *= power / (power + spatial_denoise * noise_power[..., None, None] * left[:, :, None] + 1e-20)
    return scipy.fft.irfft2(merged, s=window.shape), left.mean(axis=(2, 3))


_POOL_MODES = ("nearest", "nearest", "wrap", "mirror")  # vertical frequency wraps around; rfft's half-plane mirrors


def _channel_power(spectra: np.ndarray) -> np.ndarray:
    """|z|^2 averaged over the channel axis (2) of complex64 spectra, in one pass."""
    pairs = spectra.view(np.float32)  # real and imaginary parts side by side in the last axis
    power = np.einsum("abcij,abcij->abij", pairs, pairs)
    return (power[..., 0::2] + power[..., 1::2]) / spectra.shape[2]


def _overlap_add(output: np.ndarray, tiles: np.ndarray, top: int, step: int) -> None:
    """Add windowed tiles (rows x cols x C x T x T, half overlapping) into ``output`` from row ``top``."""
    size = tiles.shape[-1]
    for row_phase in (0, 1):
        for col_phase in (0, 1):
            part = tiles[row_phase::2, col_phase::2]
            rows, cols, channels = part.shape[:3]
            if rows == 0 or cols == 0:
                continue
            block = part.transpose(0, 3, 1, 4, 2).reshape(rows * size, cols * size, channels)
            y, x = top + row_phase * step, col_phase * step
            output[y : y + rows * size, x : x + cols * size] += block
