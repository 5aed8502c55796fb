"""Demosaicking: clean colour test images sampled through an RGGB filter (no noise), every method
on the same mosaics, colour PSNR and SSIM (all channels, 8-bit, no border crop) against the image."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

import numpy as np
from tqdm import tqdm

from ..camera.bayer import mosaic_image
from ..camera.demosaic import demosaic
from ..datasets import dataset_name, image_files, resolve_dataset
from ..image import as_rgb
from ..io import read_image
from .report import scored_run

DEFAULT_METHODS = ("bilinear", "mhc", "rcd")


def run_demosaic_benchmark(datasets: Iterable[str], methods: Iterable[str] = DEFAULT_METHODS, *,
                           limit: int | None = None, show_progress: bool = True) -> list[dict]:
    """One row per dataset and method: task 'demosaic', dataset, method, images, the mean psnr and
    ssim, mean seconds per image and megapixels_per_second."""
    methods = list(methods)
    for method in methods:
        demosaic(np.zeros((8, 8), np.float32), "RGGB", method)  # an unknown name fails before any work
    sets = [(dataset_name(d), image_files(resolve_dataset(d), limit)) for d in datasets]
    rows = []
    with tqdm(total=sum(len(f) for _, f in sets) * len(methods), desc="bench demosaic", unit="img",
              disable=not show_progress, leave=False) as bar:
        for name, files in sets:
            images = [read_image(path).pixels for path in files]
            images = [as_rgb(x) for x in images]
            mosaics = [mosaic_image(image, "RGGB") for image in images]
            for method in methods:
                demosaic(mosaics[0], "RGGB", method)  # untimed warm-up
                rows.append(scored_run("demosaic", name, method, list(zip(mosaics, images)),
                                       partial(demosaic, pattern="RGGB", method=method),
                                       on_image=lambda: bar.update(1)))
    return rows
