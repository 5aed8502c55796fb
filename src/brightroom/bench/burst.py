"""The burst benchmark: synthetic handheld bursts made from clean test images.

From each clean image, N frames are synthesised as a handheld camera would take
them: frame 0 is the reference; every other frame sees the scene through a
random shift (uniform within +-3 px in x and y, a sub-pixel amount included) and
a small rotation (uniform within +-0.5 degrees, about the centre), resampled
with Lanczos-4. With ``motion``, a moving object (a 1/4-side patch cut from the
opposite corner of the same image, mirrored) crosses the scene, moving 4-7 px
per frame in a random direction. Every frame then gets noise from the camera
noise model of ``brightroom.degrade``: Poisson-Gaussian with shot = 0.01 and
read = 0.02 on the [0, 1] scale (std 5/255 at black, 19/255 at mid-gray, 26/255
at white: a phone at high ISO), added to the sRGB values and not clipped, the
denoising benchmark's convention.

Methods, all on the very same frames: ``reference`` (frame 0 alone), ``average``
(the plain mean of the aligned frames), ``merge`` (``brightroom.camera.merge_burst``
given the noise model) and ``reference+denoise`` (frame 0 through the best
single-image denoiser at the noise's RMS sigma). PSNR and SSIM are those of
``brightroom.metrics`` against the clean reference scene, with a 16-pixel border
left out (handheld motion brings content there that no other frame saw). With
motion, ``psnr_moving`` is the PSNR over the pixels the object covers in any
frame: the region where ghosts would appear.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable

import cv2
import numpy as np
from tqdm import tqdm

from ..datasets import dataset_name, image_files, resolve_dataset
from ..degrade import add_poisson_gaussian_noise, poisson_gaussian_std
from ..errors import BrightroomError
from ..io import read_image
from ..metrics import psnr, ssim, to_8bit_levels

SHOT_NOISE = 0.01
READ_NOISE = 0.02
MAX_SHIFT = 3.0  # pixels
MAX_ROTATION = 0.5  # degrees
OBJECT_FRACTION = 0.25  # side of the moving object, as a fraction of the image's shorter side
OBJECT_SPEED = (4.0, 7.0)  # pixels per frame
BORDER = 16
METHODS = ("reference", "average", "merge", "reference+denoise")


def synthesize_burst(
    clean: np.ndarray,
    frames: int,
    *,
    motion: bool = False,
    shot: float = SHOT_NOISE,
    read: float = READ_NOISE,
    seed: int | np.random.Generator = 0,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """A noisy handheld burst of ``clean``: (frames, ground truth, moving-region mask H x W bool).

    The ground truth is the scene as the reference frame (frame 0) sees it.

    >>> clean = np.full((64, 64, 3), 0.5, np.float32)
    >>> burst, truth, mask = synthesize_burst(clean, 3, motion=True)
    >>> len(burst), truth.shape, bool(mask.any())
    (3, (64, 64, 3), True)
    """
    if frames < 1:
        raise BrightroomError(f"a burst has at least one frame, not {frames}.")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    clean = np.asarray(clean, np.float32)
    height, width = clean.shape[:2]
    mask = np.zeros((height, width), bool)
    scenes = [clean] * frames
    if motion:
        scenes, mask = _moving_object_scenes(clean, frames, rng)
    burst = []
    for index, scene in enumerate(scenes):
        frame = scene if index == 0 else _handheld_view(scene, rng)
        burst.append(add_poisson_gaussian_noise(frame, shot, read, seed=rng))
    return burst, scenes[0], mask


def run_burst_benchmark(
    datasets: Iterable[str],
    frame_counts: Iterable[int],
    *,
    limit: int | None = None,
    motion: Iterable[bool] = (False, True),
    methods: Iterable[str] = METHODS,
    show_progress: bool = True,
    on_row: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Benchmark burst merging; one row per dataset, frame count, motion setting and method.

    Rows hold task='burst', dataset, method, frames, motion, images, the mean
    psnr and ssim, the mean seconds per burst and megapixels_per_second (of the
    output), and with motion also psnr_moving.
    """
    from ..camera.merge import align_burst, merge_burst
    from ..pipeline import best_denoise_method, burst_denoiser
    from ..tasks.denoise import denoise

    frame_counts = [_check_frames(n) for n in frame_counts]
    motion = [bool(m) for m in motion]
    methods = list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise BrightroomError(f"unknown burst method '{unknown[0]}' (known: {', '.join(METHODS)}).")
    denoiser = best_denoise_method(3)

    def run(method: str, burst: list[np.ndarray], sigma: float) -> np.ndarray:
        if method == "reference":
            return burst[0]
        if method == "average":
            return np.mean(align_burst(burst), axis=0)
        if method == "merge":
            return merge_burst(burst, noise_model=(SHOT_NOISE, READ_NOISE), denoiser=burst_denoiser(3))
        return denoise(burst[0], sigma=sigma, method=denoiser)

    sets = [(dataset_name(d), image_files(resolve_dataset(d), limit)) for d in datasets]
    total = sum(len(files) for _, files in sets) * len(frame_counts) * len(motion)
    rows: list[dict] = []
    with tqdm(total=total, desc="bench burst", unit="burst", disable=not show_progress, leave=False) as bar:
        for name, files in sets:
            for count in frame_counts:
                for moving in motion:
                    stats = {m: {"psnr": [], "ssim": [], "moving": [], "seconds": 0.0, "megapixels": 0.0}
                             for m in methods}
                    for path in files:
                        clean = read_image(path).pixels
                        if clean.shape[2] != 3:
                            clean = np.repeat(clean, 3, axis=2)
                        seed = zlib.crc32(f"{name}/{path.name}/{count}/{moving}".encode())
                        burst, truth, mask = synthesize_burst(clean, count, motion=moving, seed=seed)
                        sigma = float(255 * np.sqrt(np.mean(poisson_gaussian_std(truth, SHOT_NOISE, READ_NOISE) ** 2)))
                        for method in methods:
                            started = time.perf_counter()
                            output = np.clip(run(method, burst, sigma), 0.0, 1.0)
                            stats[method]["seconds"] += time.perf_counter() - started
                            stats[method]["megapixels"] += output.shape[0] * output.shape[1] / 1e6
                            stats[method]["psnr"].append(psnr(output, truth, crop=BORDER))
                            stats[method]["ssim"].append(ssim(output, truth, crop=BORDER))
                            if moving:
                                stats[method]["moving"].append(masked_psnr(output, truth, mask))
                        bar.update(1)
                    for method in methods:
                        row = _row(name, method, count, moving, stats[method])
                        rows.append(row)
                        if on_row:
                            on_row(row)
    return rows


def masked_psnr(output: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """PSNR on 8-bit levels (the convention of ``brightroom.metrics``) over the pixels where ``mask`` is set.

    >>> a = np.zeros((4, 4, 3)); b = a.copy(); b[0, 0] = 1.0; mask = np.zeros((4, 4), bool); mask[:2, :2] = True
    >>> round(masked_psnr(b, a, mask), 2)
    6.02
    """
    difference = to_8bit_levels(output)[mask] - to_8bit_levels(reference)[mask]
    mse = float(np.mean(difference**2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def markdown_burst_table(rows: list[dict]) -> str:
    """A Markdown table of burst benchmark rows.

    >>> print(markdown_burst_table([{"dataset": "Kodak24", "frames": 8, "motion": True, "method": "merge",
    ...     "images": 24, "psnr": 33.1, "ssim": 0.91, "psnr_moving": 30.2, "seconds": 1.5,
    ...     "megapixels_per_second": 0.17}]))
    | dataset | frames | motion | method | images | PSNR (dB) | SSIM | PSNR moving (dB) | s / burst | MP/s |
    |---|---|---|---|---|---|---|---|---|---|
    | Kodak24 | 8 | yes | merge | 24 | 33.10 | 0.9100 | 30.20 | 1.500 | 0.17 |
    """
    if not rows:
        return "(no rows)"
    lines = [
        "| dataset | frames | motion | method | images | PSNR (dB) | SSIM | PSNR moving (dB) | s / burst | MP/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        moving = f"{row['psnr_moving']:.2f}" if "psnr_moving" in row else "-"
        lines.append(
            f"| {row['dataset']} | {row['frames']} | {'yes' if row['motion'] else 'no'} | {row['method']} "
            f"| {row['images']} | {row['psnr']:.2f} | {row['ssim']:.4f} | {moving} | {row['seconds']:.3f} "
            f"| {row['megapixels_per_second']:.2f} |"
        )
    return "\n".join(lines)


def _row(dataset: str, method: str, frames: int, moving: bool, stats: dict) -> dict:
    images = len(stats["psnr"])
    row = {
        "task": "burst",
        "dataset": dataset,
        "method": method,
        "frames": frames,
        "motion": moving,
        "images": images,
        "psnr": round(float(np.mean(stats["psnr"])), 3),
        "ssim": round(float(np.mean(stats["ssim"])), 4),
        "seconds": round(stats["seconds"] / images, 4),
        "megapixels_per_second": round(stats["megapixels"] / max(stats["seconds"], 1e-9), 4),
    }
    if moving:
        row["psnr_moving"] = round(float(np.mean(stats["moving"])), 3)
    return row


def _check_frames(count) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 2:
        raise BrightroomError(f"a burst benchmark needs frame counts of at least 2, not {count!r}.")
    return int(count)


def _handheld_view(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The scene through a slightly moved camera: a shift and a rotation about the centre."""
    height, width = scene.shape[:2]
    angle = rng.uniform(-MAX_ROTATION, MAX_ROTATION)
    shift_x, shift_y = rng.uniform(-MAX_SHIFT, MAX_SHIFT, size=2)
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)
    matrix[:, 2] += (shift_x, shift_y)
    view = cv2.warpAffine(scene, matrix, (width, height), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
    return view.reshape(scene.shape)


def _moving_object_scenes(
    clean: np.ndarray, frames: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], np.ndarray]:
    """The scene at each frame with an object moving across it, and the mask of all its positions."""
    height, width = clean.shape[:2]
    side = max(8, int(min(height, width) * OBJECT_FRACTION))
    # The object: the mirrored opposite corner of the picture, so it is textured like the scene.
    patch = clean[height - side :, width - side :][::-1, ::-1]
    speed = rng.uniform(*OBJECT_SPEED)
    direction = rng.uniform(0, 2 * np.pi)
    velocity = speed * np.array([np.sin(direction), np.cos(direction)])
    travel = np.abs(velocity) * (frames - 1)
    low = np.array([BORDER, BORDER], float)
    high = np.array([height - side - BORDER, width - side - BORDER], float) - travel
    high = np.maximum(high, low)
    start = rng.uniform(low, high)
    start = np.where(velocity < 0, start + travel, start)
    scenes, mask = [], np.zeros((height, width), bool)
    for index in range(frames):
        top, left = np.round(start + index * velocity).astype(int)
        top, left = int(np.clip(top, 0, height - side)), int(np.clip(left, 0, width - side))
        scene = clean.copy()
        scene[top : top + side, left : left + side] = patch
        mask[top : top + side, left : left + side] = True
        scenes.append(scene)
    return scenes, mask
