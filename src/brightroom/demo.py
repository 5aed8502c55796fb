"""The demo behind ``make demo``: a noisy phone-like photo made from scikit-image's
public-domain astronaut portrait, enhanced by the main job."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from .degrade import add_poisson_gaussian_noise
from .io import Photo, read_image, write_image
from .metrics import psnr
from .pipeline import auto_recipe, run_recipe

# Sensor-like noise: about sigma 12 at mid-gray, stronger in highlights than in shadows.
DEMO_SHOT, DEMO_READ = 0.004, 0.01


def make_noisy_sample(folder: Path) -> tuple[Path, np.ndarray]:
    """Write the noisy sample photo into ``folder``; returns its path and the clean pixels."""
    from skimage import data

    clean = data.astronaut().astype(np.float32) / 255.0
    noisy = np.clip(add_poisson_gaussian_noise(clean, DEMO_SHOT, DEMO_READ, seed=7), 0.0, 1.0)
    path = write_image(folder / "astronaut-noisy.png", noisy, overwrite=True)
    return path, clean


def run_demo(output_dir: str | Path, say: Callable[[str], None] = print) -> Path:
    """Make the sample, enhance it like ``brightroom enhance``, and report where the result is."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    noisy_path, clean = make_noisy_sample(folder)
    photo: Photo = read_image(noisy_path)
    steps = auto_recipe(photo.pixels)
    say(f"input:  {noisy_path} ({photo.pixels.shape[1]}x{photo.pixels.shape[0]}, PSNR {psnr(photo.pixels, clean):.2f} dB)")
    result = run_recipe(photo, steps, progress=lambda text: say(f"step:   {text}"))
    output = write_image(folder / "astronaut-enhanced.png", result.pixels, like=photo, overwrite=True)
    say(f"output: {output} (PSNR {psnr(result.pixels, clean):.2f} dB against the clean original)")
    return output
