"""The demo behind ``make demo``: a noisy phone-like photo made from scikit-image's
public-domain astronaut portrait, enhanced by the main job."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .degrade import add_poisson_gaussian_noise
from .io import Photo, write_image
from .metrics import psnr
from .pipeline import Recipe, process_photo

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

    def on_read(photo: Photo) -> None:
        say(f"input:  {noisy_path} ({photo.pixels.shape[1]}x{photo.pixels.shape[0]}, "
            f"PSNR {psnr(photo.pixels, clean):.2f} dB)")

    done = process_photo(noisy_path, folder / "astronaut-enhanced.png", Recipe("auto"), overwrite=True,
                         on_read=on_read, progress=lambda text: say(f"step:   {text}"))
    say(f"output: {done.output} (PSNR {psnr(done.result.pixels, clean):.2f} dB against the clean original)")
    return done.output
