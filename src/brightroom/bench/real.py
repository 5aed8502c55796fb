"""Real camera noise: folders of pairs, a noisy shot (``*_real.*``) and the mean of many shots of
the same scene (``*_mean.*``, the reference), as the CC set of Nam et al. (2016) is published.
Every method is blind: ``input`` is the noisy shot itself; a method that takes a noise level gets
the white-noise estimate (``sigma='auto'``); a blind method reads the noise itself. PSNR and SSIM
on RGB, 8-bit, no border crop, against the reference (the datasets README's convention).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..datasets import dataset_name, resolve_dataset
from ..errors import BrightroomError
from ..io import READABLE_SUFFIXES, read_image
from ..tasks.denoise import denoise
from .report import scored_run
from .runner import computing_as, method_precision

DEFAULT_METHODS = ("input", "bm3d", "brightroom", "brightroom-real")


def noisy_reference_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """The (noisy, reference) pairs of a folder: ``NAME_real.EXT`` with ``NAME_mean.EXT``.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()); _ = [(folder / n).touch() for n in ("a_real.png", "a_mean.png", "b.png")]
    >>> [(noisy.name, mean.name) for noisy, mean in noisy_reference_pairs(folder)]
    [('a_real.png', 'a_mean.png')]
    """
    pairs = []
    for noisy in sorted(folder.iterdir()):
        if noisy.suffix.lower() in READABLE_SUFFIXES and noisy.stem.endswith("_real"):
            reference = noisy.with_name(noisy.stem[: -len("_real")] + "_mean" + noisy.suffix)
            if reference.is_file():
                pairs.append((noisy, reference))
    if not pairs:
        raise BrightroomError(f"the folder '{folder}' has no pairs of NAME_real and NAME_mean images.")
    return pairs


def run_real_benchmark(datasets: Iterable[str], methods: Iterable[str] = DEFAULT_METHODS, *,
                       limit: int | None = None, show_progress: bool = True) -> list[dict]:
    """One row per dataset and method: task 'real', dataset, method, images, the mean psnr and ssim,
    mean seconds per image and megapixels_per_second."""
    methods = list(methods)
    for method in methods:
        if method != "input":  # an unknown name fails before any work
            denoise(np.zeros((8, 8, 3), np.float32), 0, method=method_precision(method)[0])
    sets = [(dataset_name(d), noisy_reference_pairs(resolve_dataset(d))[:limit]) for d in datasets]
    rows = []
    with tqdm(total=sum(len(p) for _, p in sets) * len(methods), desc="bench real", unit="img",
              disable=not show_progress, leave=False) as bar:
        for name, pairs in sets:
            cases = [(read_image(noisy).pixels, read_image(reference).pixels) for noisy, reference in pairs]
            for method in methods:
                run = (lambda x: x) if method == "input" else partial(denoise, sigma="auto",
                                                                       method=method_precision(method)[0])
                with computing_as(method):
                    run(cases[0][0])  # untimed warm-up: loading, export, buffers
                    rows.append(scored_run("real", name, method, cases, run, on_image=lambda: bar.update(1)))
    return rows
