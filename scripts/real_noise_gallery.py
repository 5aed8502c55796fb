"""100% crops of real noisy photos through Brightroom's blind denoisers, for docs/real-noise/.

Run from the repo root:  .venv/bin/python scripts/real_noise_gallery.py
Writes, for RNI15 and RNI6, docs/real-noise/NAME.png: a crop at 100 % of the noisy photo, the AWGN
model given its white-noise estimate (`brightroom`, sigma auto, what `enhance` ran before the
real-photo model) and the real-photo model (`brightroom-real`); for three CC15 pairs, the noisy
shot, `brightroom-real` and the reference (the mean of many shots); and docs/real-noise/README.md
with every image's estimated noise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from figures import side_by_side  # scripts/figures.py

import brightroom
from brightroom.bench.real import noisy_reference_pairs
from brightroom.datasets import image_files, resolve_dataset
from brightroom.tasks.denoise import estimate_noise

CROP = 192
OUT = Path("docs/real-noise")
# where to look in each photo (top, left) as fractions of its size; the centre otherwise
FOCUS = {"Dog": (0.25, 0.35), "Glass": (0.35, 0.3), "Window": (0.3, 0.25), "Audrey_Hepburn": (0.2, 0.35)}
CC15_PAIRS = ("5dmark3_iso3200_1", "d600_iso3200_2", "d800_iso6400_1")


def crop(image: np.ndarray, name: str) -> np.ndarray:
    height, width = image.shape[:2]
    top_share, left_share = FOCUS.get(name, (0.5 - CROP / 2 / height, 0.5 - CROP / 2 / width))
    top = int(np.clip(top_share * height, 0, max(0, height - CROP)))
    left = int(np.clip(left_share * width, 0, max(0, width - CROP)))
    part = image[top: top + CROP, left: left + CROP]
    return np.repeat(part, 3, axis=2) if part.shape[2] == 1 else part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    rows = []
    for dataset in ("real/RNI15", "real/RNI6"):
        for path in image_files(resolve_dataset(dataset)):
            noisy = brightroom.read_image(path).pixels
            sigma = brightroom.estimate_noise_sigma(noisy)
            noise = estimate_noise(noisy)
            awgn = brightroom.denoise(noisy, sigma=min(sigma, 75.0), method="brightroom")
            real = brightroom.denoise(noisy, method="brightroom-real")
            rows.append(f"| {dataset.split('/')[1]} | {path.stem} | {noisy.shape[1]}x{noisy.shape[0]} | {sigma:.1f} | "
                        f"{noise.luma:.1f} | {noise.color:.1f} |")
            panels = [crop(x, path.stem) for x in (noisy, awgn, real)]
            brightroom.write_image(OUT / f"{path.stem}.png", side_by_side(panels), overwrite=True)
    cc_rows = []
    for noisy_path, mean_path in noisy_reference_pairs(resolve_dataset("real/CC15")):
        name = noisy_path.stem.removesuffix("_real")
        if name not in CC15_PAIRS:
            continue
        noisy, reference = (brightroom.read_image(p).pixels for p in (noisy_path, mean_path))
        real = brightroom.denoise(noisy, method="brightroom-real")
        cc_rows.append(f"| {name} | {brightroom.psnr(noisy, reference):.2f} | {brightroom.psnr(real, reference):.2f} |")
        brightroom.write_image(OUT / f"CC15-{name}.png", side_by_side([crop(x, name) for x in (noisy, real, reference)]),
                               overwrite=True)
    (OUT / "README.md").write_text(
        "# Real noise: blind denoising of real photos\n\n"
        "Written by `scripts/real_noise_gallery.py`. Each picture shows the same "
        f"{CROP}x{CROP} crop at 100 %:\n"
        "RNI15 and RNI6 (no reference exists): the noisy photo, the AWGN model `brightroom` given the\n"
        "white-noise estimate (what `enhance` did before the real-photo model), and `brightroom-real`\n"
        "(what `enhance` does now). CC15 (`CC15-*.png`): the noisy shot, `brightroom-real`, and the\n"
        "reference (the mean of many shots of the scene).\n\n"
        "| set | image | size | white-noise sigma | real model: luminance | colour |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nCC15 pairs shown (whole 512x512 image, PSNR in dB against the reference):\n\n"
        "| pair | noisy | brightroom-real |\n|---|---|---|\n" + "\n".join(cc_rows) + "\n"
    )
    print(f"wrote {OUT}/")


if __name__ == "__main__":
    main()
