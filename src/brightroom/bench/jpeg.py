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
from ..degrade import jpeg_compress, jpeg_recompress
from ..errors import BrightroomError
from ..io import read_image
from ..metrics import psnr_b
from .report import scored_run
from .runner import computing_as, method_precision

DEFAULT_QUALITIES = (10, 20, 30, 40)
# 'jpeg' scores the decoded JPEG itself; 'brightroom' restores at the quality `deblock` takes for a
# JPEG file (its tables' quality, the last save's, unless its pixels show an earlier, stronger save on
# another grid: ``pipeline.jpeg_quality_of``), 'brightroom-blind' at the one it reads from the pixels alone.
METHODS = ("jpeg", "brightroom", "brightroom-blind")
DEFAULT_METHODS = ("jpeg",)
DOUBLE_SHIFT = (4, 4)


def check_quality(quality) -> int:
    """A libjpeg quality factor, 1 to 100 (not 'auto': the protocol compresses at a given one).

    >>> check_quality(101)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: a JPEG quality must be auto or a whole number from 1 to 100, not '101'.
    """
    from ..tasks.jpeg import parse_jpeg_quality

    checked = parse_jpeg_quality(quality)
    if checked is None:
        raise BrightroomError("the JPEG benchmark compresses at given qualities, not 'auto'.")
    return checked


def run_jpeg_benchmark(datasets: Iterable[str], qualities: Iterable[int] = DEFAULT_QUALITIES,
                       methods: Iterable[str] = DEFAULT_METHODS, *, gray: bool = False, first_quality: int | None = None,
                       limit: int | None = None, show_progress: bool = True) -> list[dict]:
    """One row per dataset, quality and method: task 'jpeg', dataset, quality, gray, method, images,
    the mean psnr, ssim and psnr_b, seconds per image and megapixels_per_second.

    ``first_quality`` tests re-saved crops instead: each image compressed at ``first_quality``,
    cropped by 4 pixels at the top and left (the second grid falls across the first), compressed at
    each quality, and scored against the original cropped the same way; rows carry ``first_quality``.
    """
    from ..pipeline import jpeg_quality_of
    from ..tasks.jpeg import deblock

    qualities = [check_quality(q) for q in qualities]
    first_quality = None if first_quality is None else check_quality(first_quality)
    methods = list(methods)
    unknown = [m for m in methods if method_precision(m)[0] not in METHODS]
    if unknown:
        raise BrightroomError(f"unknown JPEG method '{unknown[0]}' (known: {', '.join(METHODS)}).")
    sets = [(dataset_name(d), image_files(resolve_dataset(d), limit)) for d in datasets]
    rows = []
    with tqdm(total=sum(len(f) for _, f in sets) * len(qualities) * len(methods), desc="bench jpeg", unit="img",
              disable=not show_progress, leave=False) as bar:
        for name, files in sets:
            originals = [_as_tested(read_image(path).pixels, gray) for path in files]
            for quality in qualities:
                if first_quality is None:
                    cases = [(jpeg_compress(image, quality), image) for image in originals]
                else:
                    rows_cut, cols_cut = DOUBLE_SHIFT
                    cases = [(jpeg_recompress(image, first_quality, quality, DOUBLE_SHIFT), image[rows_cut:, cols_cut:])
                             for image in originals]
                for method in methods:
                    run = {"jpeg": lambda x: x,
                           "brightroom": lambda x, q=quality: deblock(x, quality=jpeg_quality_of(x, q).value),
                           "brightroom-blind": lambda x: deblock(x, quality=None)}[method_precision(method)[0]]
                    outputs = []
                    with computing_as(method):
                        row = scored_run("jpeg", name, method, cases, lambda x, run=run, kept=outputs: _kept(run(x), kept),
                                         on_image=bar.update)
                    row["psnr_b"] = round(float(np.mean([psnr_b(y, ref) for y, (_, ref) in zip(outputs, cases)])), 3)
                    row |= {"quality": quality, "gray": gray or all(x.shape[2] == 1 for x in originals)}
                    rows.append(row | ({"first_quality": first_quality} if first_quality is not None else {}))
    return rows


def _kept(output: np.ndarray, outputs: list) -> np.ndarray:
    """Keep a method's output for the blocking score (PSNR-B), computed outside the timing."""
    outputs.append(np.clip(output, 0.0, 1.0))
    return output


def _as_tested(pixels: np.ndarray, gray: bool) -> np.ndarray:
    """The clean image as the protocol tests it: gray sets as they are, colour turned to 8-bit Y if asked."""
    if not gray or pixels.shape[2] == 1:
        return pixels
    return (np.round(rgb_to_y(pixels) * 255) / 255).astype(np.float32)
