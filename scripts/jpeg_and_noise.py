"""Noisy photos saved as JPEG: is `enhance` better removing the JPEG artifacts first (the JPEG model,
then the real-photo denoiser), or leaving both to the real-photo denoiser (which saw JPEGs at
quality 50-95 in training)? Kodak24 photos through the realistic camera chain (sensor noise at a
fixed shot level, development, in-camera processing) saved at qualities 30, 50 and 75; PSNR of
each against the clean photo. What decided `enhance`'s order is in the deblock model's card.

Run from the repo root:  .venv/bin/python scripts/jpeg_and_noise.py [IMAGES]   (default 8)
"""

from __future__ import annotations

import sys

import numpy as np

import brightroom
from brightroom.camera.unprocess import camera_noise
from brightroom.datasets import image_files, resolve_dataset
from brightroom.metrics import psnr
from brightroom.pipeline import Recipe, run_recipe


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    files = image_files(resolve_dataset("Kodak24"))[:count]
    print("| quality | shot | input | real-photo model alone | JPEG model, then the real-photo model |")
    print("|---|---|---|---|---|")
    for quality in (30, 50, 75):
        for shot in (0.0005, 0.004):
            scores = []
            for index, path in enumerate(files):
                clean = brightroom.read_image(path).pixels
                noisy = camera_noise(clean, np.random.default_rng(index), shot=shot, jpeg_quality=quality)
                photo = brightroom.Photo(noisy, None, 8, "jpeg", None, None, jpeg_quality=quality)
                alone = run_recipe(photo, Recipe("auto", jpeg="off").steps(noisy)).pixels
                both = run_recipe(photo, Recipe("auto").steps(noisy, jpeg_quality=quality)).pixels
                scores.append([psnr(x, clean) for x in (noisy, alone, both)])
            means = np.mean(scores, axis=0)
            print(f"| {quality} | {shot} | {means[0]:.2f} | {means[1]:.2f} | {means[2]:.2f} |")


if __name__ == "__main__":
    main()
