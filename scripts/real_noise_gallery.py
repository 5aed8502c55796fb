"""Before/after crops of real noisy photos (RNI15) through blind denoising, for docs/real-noise/.

Run from the repo root:  .venv/bin/python scripts/real_noise_gallery.py [--images N]
Writes docs/real-noise/NAME.png (noisy crop left, denoised crop right) for the first N
images and docs/real-noise/README.md listing every image's estimated sigma.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import brightroom
from brightroom.datasets import image_files, resolve_dataset

CROP = 256
OUT = Path("docs/real-noise")


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    top = max(0, (image.shape[0] - size) // 2)
    left = max(0, (image.shape[1] - size) // 2)
    return image[top : top + size, left : left + size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6, help="how many before/after pictures to save")
    parser.add_argument("--dataset", default="real/RNI15")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, path in enumerate(image_files(resolve_dataset(args.dataset))):
        noisy = brightroom.read_image(path).pixels
        sigma = brightroom.estimate_noise_sigma(noisy)
        clean = brightroom.denoise(noisy, sigma=min(sigma, 75.0))
        rows.append(f"| {path.name} | {noisy.shape[1]}x{noisy.shape[0]} | {sigma:.1f} |")
        if index < args.images:
            pair = np.concatenate([centre_crop(noisy, CROP), centre_crop(clean, CROP)], axis=1)
            brightroom.write_image(OUT / f"{path.stem}.png", np.clip(pair, 0, 1), overwrite=True)
    method = brightroom.pipeline.best_denoise_method()
    (OUT / "README.md").write_text(
        "# Real noise: blind denoising of RNI15\n\n"
        f"Written by `scripts/real_noise_gallery.py` with denoise method `{method}`. Each picture is a\n"
        f"{CROP}x{CROP} centre crop: the noisy photo on the left, the blind result on the right.\n"
        "Sigma is the blind estimate (0-255 scale) that the denoiser was given.\n\n"
        "| image | size | estimated sigma |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    print(f"wrote {OUT}/")


if __name__ == "__main__":
    main()
