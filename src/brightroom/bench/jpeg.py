"""JPEG artifact removal: the literature's protocol (ARCNN, DnCNN-3, FBCNN). Each clean image is
compressed with libjpeg (OpenCV's) at each quality, gray images as one channel and colour ones
with 4:2:0 chroma; ``gray`` turns colour sets into gray first: the Y of MATLAB's ``rgb2ycbcr``
(BT.601, 16-235, rounded to 8 bits), which is what the published "LIVE1 gray" JPEG rows are
(27.77 / 30.07 / 31.41 / 32.35 dB at quality 10-40; full-range luma gives 0.75 dB less). Rows score the decoded JPEG
itself (``jpeg``) and each method's restoration of it: PSNR, SSIM and PSNR-B (Yim and Bovik's
blocking-aware PSNR) against the original on 8-bit levels, no border crop.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from tqdm import tqdm

from ..color import rgb_to_y
from ..datasets import dataset_name, image_files, resolve_dataset
from ..degrade import jpeg_compress
from ..errors import BrightroomError
from ..io import read_image
from ..metrics import psnr_b
from .report import scored_run

DEFAULT_QUALITIES = (10, 20, 30, 40)
DEFAULT_METHODS = ("jpeg",)


def check_quality(quality) -> int:
    """A libjpeg quality factor, 1 to 100.

    >>> check_quality(101)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: a JPEG quality must be a whole number from 1 to 100, not 101.
    """
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise BrightroomError(f"a JPEG quality must be a whole number from 1 to 100, not {quality}.")
    return int(quality)


def run_jpeg_benchmark(datasets: Iterable[str], qualities: Iterable[int] = DEFAULT_QUALITIES,
                       methods: Iterable[str] = DEFAULT_METHODS, *, gray: bool = False, limit: int | None = None,
                       show_progress: bool = True) -> list[dict]:
    """One row per dataset, quality and method: task 'jpeg', dataset, quality, gray, method, images,
    the mean psnr, ssim and psnr_b, seconds per image and megapixels_per_second."""
    qualities = [check_quality(q) for q in qualities]
    methods = list(methods)
    unknown = [m for m in methods if m not in DEFAULT_METHODS]
    if unknown:
        raise BrightroomError(f"unknown JPEG method '{unknown[0]}' (known: {', '.join(DEFAULT_METHODS)}).")
    sets = [(dataset_name(d), image_files(resolve_dataset(d), limit)) for d in datasets]
    rows = []
    with tqdm(total=sum(len(f) for _, f in sets) * len(qualities), desc="bench jpeg", unit="img",
              disable=not show_progress, leave=False) as bar:
        for name, files in sets:
            originals = [_as_tested(read_image(path).pixels, gray) for path in files]
            for quality in qualities:
                cases = [(jpeg_compress(image, quality), image) for image in originals]
                for method in methods:
                    row = scored_run("jpeg", name, method, cases, lambda x: x)
                    row["psnr_b"] = round(float(np.mean([psnr_b(x, ref) for x, ref in cases])), 3)
                    rows.append({**row, "quality": quality, "gray": gray or all(x.shape[2] == 1 for x in originals)})
                bar.update(len(files))
    return rows


def _as_tested(pixels: np.ndarray, gray: bool) -> np.ndarray:
    """The clean image as the protocol tests it: gray sets as they are, colour turned to 8-bit Y if asked."""
    if not gray or pixels.shape[2] == 1:
        return pixels
    return (np.round(rgb_to_y(pixels) * 255) / 255).astype(np.float32)
