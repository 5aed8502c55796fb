"""RAW denoising: clean test images unprocessed to the Bayer data of a camera (the example DSLR's
colour matrix and daylight white balance, RGGB, 14-bit integers over a black level of 512) at four
sensor noise levels from ISO 800 to ISO 12800-like, every row developed with the same settings
(RCD, as-shot white balance, the default tone curve, no local tone mapping), PSNR and SSIM of the
developed sRGB against the development of the noise-free data.

Rows: development alone; development then an sRGB denoiser (the AWGN model with the white-noise
estimate, the same model given the best fixed sigma of a sweep, BM3D given that sigma, the blind
real-photo model); and RAW denoising before development with the profile measured from the data
(the only row whose method name contains 'raw'). ``s / image`` counts the step after development
(the development's own time is in the first row).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from tqdm import tqdm

from ..camera.bayer import even_crop
from ..camera.noise import raw_noise_profile
from ..camera.raw import develop
from ..camera.unprocess import sensor_read_noise, unprocess
from ..datasets import dataset_name, image_files, resolve_dataset
from ..image import as_rgb
from ..io import read_image
from ..io.raw import RawImage
from ..metrics import psnr
from ..tasks.denoise import REAL_METHOD, denoise
from ..tasks.denoise_raw import RAW_METHOD, denoise_raw
from .report import scored_run

# Shot levels on the [0, 1] raw scale (variance = a * x + b), doubling with each ISO stop up to
# the top of the range Brooks et al. (2019) sample; b follows a on their camera line.
LEVELS = {"ISO 800": 0.00075, "ISO 3200": 0.003, "ISO 6400": 0.006, "ISO 12800": 0.012}
SWEEP_SIGMAS = (3, 5, 8, 12, 16, 20, 25, 30, 40, 50)
BLACK, WHITE = 512, 16383
DEVELOP = {"white_balance": "as-shot", "local_tone": 0.0}
DEFAULT_METHODS = ("develop", "develop+brightroom", "develop+brightroom-best", "develop+bm3d",
                   f"develop+{REAL_METHOD}", RAW_METHOD)


def camera_raws(clean: np.ndarray, a: float, seed: int) -> tuple[RawImage, RawImage]:
    """The noise-free and the noisy RAW of a clean sRGB image: the noisy one as 14-bit integers.

    >>> clean, noisy = camera_raws(np.full((16, 16, 3), 0.5, np.float32), 0.003, 0)
    >>> noisy.white_level, float(noisy.mosaic.std()) > 0, float(clean.mosaic.std()) < float(noisy.mosaic.std())
    (16383.0, True, True)
    """
    ideal = unprocess(even_crop(clean), shot=0.0, read=0.0)
    mosaic = np.clip(ideal.mosaic, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    noisy = mosaic + rng.standard_normal(mosaic.shape, dtype=np.float32) * np.sqrt(a * mosaic + sensor_read_noise(a) ** 2)
    counts = np.clip(np.round(BLACK + noisy * (WHITE - BLACK)), 0, WHITE).astype(np.float32)
    clean_raw = RawImage(mosaic, ideal.cfa_pattern, 0.0, 1.0, ideal.white_balance, ideal.xyz_to_camera)
    return clean_raw, RawImage(counts, ideal.cfa_pattern, float(BLACK), float(WHITE), ideal.white_balance,
                               ideal.xyz_to_camera)


def run_raw_benchmark(datasets: Iterable[str], methods: Iterable[str] = DEFAULT_METHODS, *,
                      levels: dict[str, float] = LEVELS, limit: int | None = None,
                      method_limits: dict[str, int] | None = None, show_progress: bool = True) -> list[dict]:
    """One row per dataset, level and method: task 'raw', dataset, level, a, b, method, images, the
    mean psnr and ssim, seconds per image and megapixels_per_second; the RAW row also the mean
    measured a and b (``a_measured``, ``b_measured``)."""
    methods = list(methods)
    unknown = [m for m in methods if m not in DEFAULT_METHODS]
    if unknown:
        from ..errors import BrightroomError

        raise BrightroomError(f"unknown raw benchmark method '{unknown[0]}' (known: {', '.join(DEFAULT_METHODS)}).")
    method_limits = method_limits or {}
    sets = [(dataset_name(d), image_files(resolve_dataset(d), limit)) for d in datasets]
    rows = []
    with tqdm(total=sum(len(f) for _, f in sets) * len(levels), desc="bench raw", unit="img",
              disable=not show_progress, leave=False) as bar:
        for name, files in sets:
            images = [read_image(path).pixels for path in files]
            images = [as_rgb(x) for x in images]
            for level, a in levels.items():
                b = sensor_read_noise(a) ** 2
                raws = [camera_raws(image, a, seed) for seed, image in enumerate(images)]
                references = [develop(clean, **DEVELOP) for clean, _ in raws]
                developed = [develop(noisy, **DEVELOP) for _, noisy in raws]
                best_sigma = _best_sigma(developed, references) if any("best" in m or "bm3d" in m for m in methods) else None
                for method in methods:
                    count = method_limits.get(method, method_limits.get(method.removeprefix("develop+")))
                    row = _scored(method, name, raws, developed, references, best_sigma, count)
                    rows.append({**row, "level": level, "a": a, "b": b})
                bar.update(len(images))
    return rows


def _best_sigma(developed: list[np.ndarray], references: list[np.ndarray]) -> float:
    """The fixed sigma (0-255 scale) under which the AWGN model scores best on this level's images."""
    scores = {sigma: np.mean([psnr(np.clip(denoise(x, sigma), 0, 1), ref) for x, ref in zip(developed, references)])
              for sigma in SWEEP_SIGMAS}
    return float(max(scores, key=scores.get))


def _scored(method: str, dataset: str, raws, developed, references, best_sigma: float | None,
            count: int | None) -> dict:
    if method == "develop":
        cases = [(noisy, ref) for (_, noisy), ref in zip(raws, references)]
        return scored_run("raw", dataset, method, cases[:count], lambda raw: develop(raw, **DEVELOP))
    if method == RAW_METHOD:
        measured = [raw_noise_profile(noisy) for _, noisy in raws[:count]]
        cases = [((noisy, profile), ref) for (_, noisy), profile, ref in zip(raws, measured, references)]
        row = scored_run("raw", dataset, method, cases,
                         lambda case: develop(denoise_raw(case[0], profile=case[1]), **DEVELOP))
        return {**row, "a_measured": float(np.mean([p.a for p in measured])),
                "b_measured": float(np.mean([p.b for p in measured]))}
    cases = list(zip(developed, references))[:count]
    if method == "develop+brightroom":
        return scored_run("raw", dataset, method, cases, lambda x: denoise(x, "auto", method="brightroom"))
    if method == "develop+brightroom-best":
        return scored_run("raw", dataset, f"develop+brightroom (best fixed sigma {best_sigma:g})", cases,
                          lambda x: denoise(x, best_sigma, method="brightroom"))
    if method == "develop+bm3d":
        return scored_run("raw", dataset, f"develop+bm3d (sigma {best_sigma:g})", cases,
                          lambda x: denoise(x, best_sigma, method="bm3d"))
    return scored_run("raw", dataset, method, cases, lambda x: denoise(x, None, method=REAL_METHOD))


BURST_METHODS = ("merge", "merge+brightroom", f"merge+{RAW_METHOD}")


def run_raw_burst_benchmark(datasets: Iterable[str], frames: int = 4, *, level: str = "ISO 12800",
                            limit: int | None = None, show_progress: bool = True) -> list[dict]:
    """Handheld bursts of RAW frames (each the scene through a slightly moved camera, as in
    ``bench.burst``, unprocessed with its own noise at ``level``), merged on their Bayer data by
    ``camera.merge.merge_raw_frames`` (what ``burst`` runs), then: developed as merged (the merge's own
    spatial shrinkage: what ``burst`` did before RAW denoising), merged without shrinkage, developed,
    then the AWGN model at the white-noise estimate (sRGB denoising after development), or
    RAW-denoised before development with the merged data's reduced profile (the reference frame's,
    measured, over the number of frames). PSNR and SSIM against the development of the noise-free reference
    frame, a 16-pixel border left out. Rows: task 'raw-burst', dataset, level, a, b, frames, method,
    images, psnr, ssim, seconds (per burst, merge included)."""
    import time

    from ..camera.merge import merge_raw_frames
    from ..metrics import ssim
    from .burst import BORDER, _handheld_view

    a = LEVELS[level]
    sets = [(dataset_name(d), image_files(resolve_dataset(d), limit)) for d in datasets]
    rows = []
    with tqdm(total=sum(len(f) for _, f in sets), desc="bench raw burst", unit="burst",
              disable=not show_progress, leave=False) as bar:
        for name, files in sets:
            scores = {method: {"psnr": [], "ssim": [], "seconds": 0.0} for method in BURST_METHODS}
            for number, path in enumerate(files):
                clean = read_image(path).pixels
                clean = as_rgb(clean)
                rng = np.random.default_rng(number)
                views = [clean] + [_handheld_view(clean, rng) for _ in range(frames - 1)]
                pairs = [camera_raws(view, a, 1000 * number + index) for index, view in enumerate(views)]
                reference = develop(pairs[0][0], **DEVELOP)
                frames_raw = [noisy for _, noisy in pairs]
                for method in BURST_METHODS:
                    started = time.perf_counter()
                    if method == f"merge+{RAW_METHOD}":
                        merged = merge_raw_frames(frames_raw, denoiser=lambda raw, profile: denoise_raw(raw, profile=profile))
                        output = develop(merged, **DEVELOP)
                    elif method == "merge+brightroom":
                        merged = merge_raw_frames(frames_raw, spatial_denoise=0.0)
                        output = denoise(develop(merged, **DEVELOP), "auto", method="brightroom")
                    else:
                        output = develop(merge_raw_frames(frames_raw), **DEVELOP)
                    scores[method]["seconds"] += time.perf_counter() - started
                    output = np.clip(output, 0.0, 1.0)
                    scores[method]["psnr"].append(psnr(output, reference, crop=BORDER))
                    scores[method]["ssim"].append(ssim(output, reference, crop=BORDER))
                bar.update(1)
            for method, stats in scores.items():
                rows.append({"task": "raw-burst", "dataset": name, "level": level, "a": a,
                             "b": sensor_read_noise(a) ** 2, "frames": frames, "method": method,
                             "images": len(stats["psnr"]), "psnr": round(float(np.mean(stats["psnr"])), 3),
                             "ssim": round(float(np.mean(stats["ssim"])), 4),
                             "seconds": round(stats["seconds"] / len(stats["psnr"]), 4)})
    return rows
