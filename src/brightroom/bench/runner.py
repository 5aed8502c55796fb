"""The benchmark protocol: degrade clean test images the literature's way, run every
method on the very same inputs in one process, and measure quality and speed (each method
over all the images in turn, after one untimed warm-up call per method and setting).

Denoising: AWGN of sigma (0-255) added in float and not clipped; PSNR/SSIM on the
rounded, clipped output over all channels, no border crop. A blind method (the real-photo
model) is not told sigma: it reads the noise itself. Super-resolution: the
ground truth cropped to a multiple of the scale, the low-resolution input made with
MATLAB bicubic imresize and stored as 8-bit; PSNR/SSIM on Y (BT.601) with ``scale``
pixels cropped from each border.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable

import numpy as np
from tqdm import tqdm

from ..datasets import dataset_name, image_files, resolve_dataset
from ..degrade import add_gaussian_noise, downsample_bicubic
from ..errors import BrightroomError
from ..io import read_image
from ..metrics import psnr, ssim, to_8bit_levels
from ..tasks import get_method
from ..tasks.super_resolve import check_scale

TASK_SETTINGS = {"denoise": "sigma", "sr": "scale"}


def method_precision(spec: str) -> tuple[str, str | None]:
    """A benchmark method, ``NAME`` or ``NAME@PRECISION``: the row's networks then compute in that
    precision (fp32, bf16 or int8, as ``BRIGHTROOM_PRECISION`` would say), so one run compares them.

    >>> method_precision("brightroom@int8"), method_precision("bm3d")
    (('brightroom', 'int8'), ('bm3d', None))
    >>> method_precision("brightroom@fast")
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: 'brightroom@fast': a method's precision is fp32, bf16 or int8.
    """
    name, _, precision = spec.partition("@")
    if precision and precision not in ("fp32", "bf16", "int8"):
        raise BrightroomError(f"'{spec}': a method's precision is fp32, bf16 or int8.")
    return name, precision or None


def computing_as(spec: str):
    """The context a method spec's rows run in: its precision, if it names one."""
    from contextlib import nullcontext

    from ..nn.runtime import computing_in

    precision = method_precision(spec)[1]
    return computing_in(precision) if precision else nullcontext()


def _seed(*parts) -> int:
    """A stable seed from the image and setting, so every method and every run sees the same noise."""
    return zlib.crc32("/".join(map(str, parts)).encode())


def _degrade(task: str, clean: np.ndarray, setting: float, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(input for the method, ground truth it is scored against)."""
    if task == "denoise":
        return add_gaussian_noise(clean, setting, seed=_seed(name, setting)), clean
    ground_truth = clean[: clean.shape[0] - clean.shape[0] % setting, : clean.shape[1] - clean.shape[1] % setting]
    low = to_8bit_levels(downsample_bicubic(ground_truth, setting)).astype(np.float32) / 255.0
    return low, ground_truth


def _score(task: str, output: np.ndarray, truth: np.ndarray, setting: float) -> tuple[float, float]:
    if task == "denoise":
        return psnr(output, truth), ssim(output, truth)
    crop = int(setting)
    return psnr(output, truth, crop=crop, y_channel=True), ssim(output, truth, crop=crop, y_channel=True)


def _warm_up(task: str, method, degraded: np.ndarray, setting: float) -> None:
    """One untimed call, so one-time costs stay out of the per-image times: a learned method's on
    the whole first image (loading and exporting the network, and the engine's buffers for that
    size), a classical one's on a 64 x 64 crop of it (first imports; its speed does not ramp up)."""
    _run(method, degraded if method.learned else degraded[:64, :64], setting)


def _run(method, degraded: np.ndarray, setting: float) -> np.ndarray:
    """A method on one input: a blind denoiser without the noise level, the others with it."""
    return method.run(degraded, None) if method.blind else method.run(degraded, setting)


def run_benchmark(
    task: str,
    datasets: Iterable[str],
    methods: Iterable[str],
    settings: Iterable[float],
    *,
    limit: int | None = None,
    method_limits: dict[str, int] | None = None,
    show_progress: bool = True,
    on_row: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Benchmark ``methods`` of ``task`` ('denoise' or 'sr') on ``datasets`` at each setting
    (sigma for denoise, scale for sr). ``limit`` takes the first N images of each set;
    ``method_limits`` caps single slow methods further (e.g. {'bm3d': 10}).

    Returns one row per dataset, setting and method with the mean PSNR and SSIM over
    images, the mean seconds per image and megapixels per second (of the output).
    """
    if task not in TASK_SETTINGS:
        raise BrightroomError(f"unknown benchmark task '{task}' (known: {', '.join(TASK_SETTINGS)}).")
    methods = list(methods)
    settings_list = [check_scale(s) for s in settings] if task == "sr" else [float(s) for s in settings]
    # a method may name one checkpoint per setting: weights:dncnn_sigma{sigma}.pth
    registered = {(name, setting): get_method(task, method_precision(name)[0].format(sigma=f"{setting:g}", scale=setting))
                  for name in methods for setting in settings_list}
    method_limits = method_limits or {}
    settings = settings_list
    sets = [(dataset_name(d), image_files(resolve_dataset(d), limit)) for d in datasets]
    counts = {(name, method): min(len(files), method_limits.get(method, len(files))) for name, files in sets
              for method in methods}
    rows: list[dict] = []
    with tqdm(total=sum(counts.values()) * len(settings), desc=f"bench {task}", unit="img",
              disable=not show_progress, leave=False) as bar:
        for name, files in sets:
            for setting in settings:
                cases = [_degrade(task, read_image(path).pixels, setting, f"{name}/{path.name}") for path in files]
                # one method after another over all the images, rather than interleaved: a library's
                # worker threads keep spinning for a moment after a call (OpenCV's after nlm slowed the
                # next network call by 13 %), and no method should pay for another's
                for method in methods:
                    with computing_as(method):
                        _warm_up(task, registered[method, setting], cases[0][0], setting)
                    stats = {"psnr": [], "ssim": [], "seconds": 0.0, "megapixels": 0.0}
                    for degraded, truth in cases[: counts[name, method]]:
                        started = time.perf_counter()
                        with computing_as(method):
                            output = np.clip(_run(registered[method, setting], degraded, setting), 0.0, 1.0)
                        stats["seconds"] += time.perf_counter() - started
                        stats["megapixels"] += output.shape[0] * output.shape[1] / 1e6
                        quality = _score(task, output, truth, setting)
                        stats["psnr"].append(quality[0])
                        stats["ssim"].append(quality[1])
                        bar.update(1)
                    row = {
                        "task": task,
                        "dataset": name,
                        "method": method,
                        TASK_SETTINGS[task]: setting,
                        "images": len(stats["psnr"]),
                        "psnr": round(float(np.mean(stats["psnr"])), 3),
                        "ssim": round(float(np.mean(stats["ssim"])), 4),
                        "seconds": round(stats["seconds"] / len(stats["psnr"]), 4),
                        "megapixels_per_second": round(stats["megapixels"] / stats["seconds"], 4),
                    }
                    rows.append(row)
                    if on_row:
                        on_row(row)
    return rows
