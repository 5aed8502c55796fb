"""Speed and memory on photo-sized inputs: seconds and peak resident memory for one call
of a method on a synthetic photo of a given size, each in a fresh process so the peak
belongs to that call alone.

The photo is a Kodak24 picture mirrored out to the size asked (4:3), plus AWGN of the
given sigma for denoising, compressed at the given JPEG quality for JPEG artifact removal
(``brightroom`` told the quality, ``brightroom-blind`` reading it first); super-resolution gets it as its low-resolution input sized so
the output has the megapixels asked; a burst is that many noisy, shifted frames.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import resource
import time
from pathlib import Path

import numpy as np

from ..datasets import image_files, resolve_dataset
from ..degrade import add_gaussian_noise
from ..io import read_image

SPEED_TASKS = ("denoise", "sr", "burst")


def synthetic_photo(megapixels: float, source: np.ndarray) -> np.ndarray:
    """``source`` mirrored out to a 4:3 picture of about ``megapixels``.

    >>> synthetic_photo(0.012, np.zeros((50, 60, 3), np.float32)).shape
    (94, 126, 3)
    """
    width = int(round(np.sqrt(megapixels * 1e6 * 4 / 3)))
    height = int(round(width * 3 / 4))
    reps = (int(np.ceil(height / source.shape[0])), int(np.ceil(width / source.shape[1])))
    tiles = [[source[:, ::-1] if c % 2 else source for c in range(reps[1])] for _ in range(reps[0])]
    rows = [np.concatenate(row, axis=1) for row in tiles]
    rows = [row[::-1] if r % 2 else row for r, row in enumerate(rows)]
    return np.ascontiguousarray(np.concatenate(rows, axis=0)[:height, :width])


def gmacs_per_megapixel(task: str, method: str, setting: float) -> float | None:
    """The convolutions' GMAC per output megapixel of a learned method (None for a classical one):
    counted on a 128 x 128 input (:func:`brightroom.nn.cost.gmacs`); a blind model's estimator
    included, the JPEG model's colour planes at their quarter size, a self-ensemble not."""
    import torch

    from ..nn.cost import gmacs
    from ..nn.zoo import find_model, load_model
    from ..tasks import get_method

    if task not in ("denoise", "sr", "jpeg") or method.endswith("-ensemble") \
            or not get_method(task, method.removesuffix("-blind")).learned:
        return None
    side = 128
    x = torch.rand(1, 3, side, side)
    if task == "denoise":
        entry = find_model("denoise", method, 3)
        if not entry.shipped:
            return None
        net = load_model(entry.name)
        cost = gmacs(net, x) if entry.blind else gmacs(net, x, torch.full((1, 1, side, side), 0.1))
        return cost / (side * side / 1e6)
    if task == "sr":
        net = load_model(find_model("sr", method, 3).name)
        return gmacs(net, x, scale=int(setting)) / ((side * setting) ** 2 / 1e6)
    net = load_model(find_model("jpeg", "brightroom").name)
    plane = x[:, :1]
    cost = 1.5 * gmacs(net.restorer, plane, torch.zeros(1, 2, side, side))  # Y, and Cb and Cr at a quarter
    if method.endswith("-blind"):
        cost += gmacs(net.estimator, plane)
    return cost / (side * side / 1e6)


def _measure(task: str, spec: str, megapixels: float, setting: float, frames: int) -> dict:
    """Runs in a fresh process: build the input, time one call, report the peak memory. ``spec``
    is the method, or ``METHOD@PRECISION`` (:func:`.runner.method_precision`)."""
    from .runner import computing_as, method_precision

    with computing_as(spec):
        return {**_measure_method(task, method_precision(spec)[0], megapixels, setting, frames), "method": spec}


def _measure_method(task: str, method: str, megapixels: float, setting: float, frames: int) -> dict:
    source = read_image(image_files(resolve_dataset("Kodak24"))[0]).pixels
    rng = np.random.default_rng(0)
    started_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if task == "denoise":
        from ..tasks import get_method
        from ..tasks.denoise import denoise

        photo = add_gaussian_noise(synthetic_photo(megapixels, source), setting, seed=rng)
        started = time.perf_counter()
        # a blind method times its own noise estimate too
        output = denoise(photo, "auto" if get_method("denoise", method).blind else setting, method=method)
    elif task == "jpeg":
        from ..degrade import jpeg_compress
        from ..tasks.jpeg import deblock

        photo = jpeg_compress(synthetic_photo(megapixels, source), int(setting))
        started = time.perf_counter()
        output = deblock(photo, quality=None if method.endswith("-blind") else int(setting))
    elif task == "sr":
        from ..tasks.super_resolve import upscale

        photo = synthetic_photo(megapixels / setting**2, source)
        started = time.perf_counter()
        output = upscale(photo, int(setting), method=method)
    elif task == "develop":
        import tempfile

        from ..camera import unprocess_to_dng
        from ..pipeline import develop_photo

        folder = tempfile.mkdtemp()
        # an ISO 3200-like noisy RAW; 'rcd+brightroom-raw' develops it with RAW denoising (profile measured)
        path = unprocess_to_dng(Path(folder) / "photo.dng", synthetic_photo(megapixels, source), seed=rng,
                                shot=0.003, read=0.003)
        demosaic_method, _, raw_method = method.partition("+")
        started = time.perf_counter()
        output = develop_photo(path, denoise="auto" if raw_method else "off", demosaic_method=demosaic_method).pixels
    else:
        from ..camera import merge_burst
        from ..pipeline import burst_denoiser

        scene = synthetic_photo(megapixels, source)
        burst = [np.roll(add_gaussian_noise(scene, setting, seed=rng), (i % 3, i // 3), axis=(0, 1)) for i in range(frames)]
        started = time.perf_counter()
        output = merge_burst(burst, denoiser=burst_denoiser(3))
    seconds = time.perf_counter() - started
    out_megapixels = output.shape[0] * output.shape[1] / 1e6
    cost = gmacs_per_megapixel(task, method, setting)
    return {
        "task": f"{task}-speed", "method": method, "megapixels": round(out_megapixels, 2),
        "width": output.shape[1], "height": output.shape[0], "setting": setting,
        "frames": frames if task == "burst" else 1, "seconds": round(seconds, 2),
        "megapixels_per_second": round(out_megapixels / seconds, 4),
        "gmac_per_megapixel": None if cost is None else round(cost, 1),
        "gmac_per_second": None if cost is None else round(cost * out_megapixels / seconds, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "start_rss_gb": round(started_rss / 1e6, 2),
    }


def run_speed_benchmark(task: str, methods: list[str], megapixels: list[float], *, setting: float,
                        frames: int = 8) -> list[dict]:
    """One row per method and size: seconds, output MP/s and the process's peak RSS (GB).

    ``setting`` is sigma for denoise and burst, the scale for sr, the quality for jpeg.
    """
    rows = []
    context = multiprocessing.get_context("spawn")
    for method in methods:
        for size in megapixels:
            with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                rows.append(pool.submit(_measure, task, method, size, setting, frames).result())
    return rows


def markdown_speed_table(rows: list[dict]) -> str:
    """The speed rows as Markdown.

    >>> print(markdown_speed_table([{"task": "denoise-speed", "method": "bm3d", "megapixels": 12.0, "width": 4000,
    ...     "height": 3000, "frames": 1, "seconds": 60.0, "megapixels_per_second": 0.2, "peak_rss_gb": 1.5}]))
    | task | method | output size | frames | seconds | MP/s | GMAC / MP | GMAC/s | peak RSS (GB) |
    |---|---|---|---|---|---|---|---|---|
    | denoise-speed | bm3d | 4000 x 3000 (12.0 MP) | 1 | 60.00 | 0.2 | - | - | 1.50 |
    """
    lines = ["| task | method | output size | frames | seconds | MP/s | GMAC / MP | GMAC/s | peak RSS (GB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        cost = row.get("gmac_per_megapixel")
        compute = f"{cost:.0f} | {row['gmac_per_second']:.0f}" if cost is not None else "- | -"
        lines.append(
            f"| {row['task']} | {row['method']} | {row['width']} x {row['height']} ({row['megapixels']:.1f} MP) "
            f"| {row['frames']} | {row['seconds']:.2f} | {row['megapixels_per_second']:.3g} | {compute} "
            f"| {row['peak_rss_gb']:.2f} |"
        )
    return "\n".join(lines)
