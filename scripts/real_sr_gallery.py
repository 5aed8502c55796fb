"""Before/after crops of real-photo super-resolution, for docs/real-sr/.

Run from the repo root:  .venv/bin/python scripts/real_sr_gallery.py [--images N] [--scale S]
Low-quality inputs are made from test photos with the random real-photo degradation chain
(blur, downsampling, noise, JPEG; brightroom.degrade.random_degradation). Each picture is a
crop of: the low-quality input enlarged by pixel repetition | bicubic | the classic model |
the real-photo model (`--model real`) | the original photo.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import brightroom
from brightroom.datasets import image_files, resolve_dataset
from brightroom.degrade import random_degradation
from brightroom.metrics import to_8bit_levels

OUT = Path("docs/real-sr")
PANELS = ("input (pixels repeated)", "bicubic", "brightroom (classic)", "brightroom-real", "original")


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    top = max(0, (image.shape[0] - size) // 2)
    left = max(0, (image.shape[1] - size) // 2)
    return image[top : top + size, left : left + size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--crop", type=int, default=192, help="crop size in output pixels")
    parser.add_argument("--dataset", default="test/Kodak24")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2026)
    names = []
    for path in image_files(resolve_dataset(args.dataset))[: args.images]:
        original = brightroom.read_image(path).pixels
        low = to_8bit_levels(random_degradation(original, args.scale, rng)) / 255.0
        height, width = low.shape[0] * args.scale, low.shape[1] * args.scale
        panels = [
            np.repeat(np.repeat(low, args.scale, 0), args.scale, 1),
            brightroom.upscale(low, args.scale, "bicubic"),
            brightroom.upscale(low, args.scale, "brightroom"),
            brightroom.upscale(low, args.scale, "brightroom-real"),
            original[:height, :width],
        ]
        row = np.concatenate([centre_crop(p, args.crop) for p in panels], axis=1)
        brightroom.write_image(OUT / f"{path.stem}-x{args.scale}.png", np.clip(row, 0, 1), overwrite=True)
        names.append(f"{path.stem}-x{args.scale}.png")
    (OUT / "README.md").write_text(
        "# Real-photo super-resolution\n\n"
        f"Written by `scripts/real_sr_gallery.py --images {args.images} --scale {args.scale}`. Inputs are "
        f"{args.dataset} photos put through the random real-photo degradation chain\n"
        "(blur, downsampling, noise and JPEG in random order and strength), so each has its own mix.\n"
        f"Each picture is a {args.crop}x{args.crop} crop, left to right: " + " | ".join(PANELS) + ".\n\n"
        + "\n".join(f"![{name}]({name})" for name in names) + "\n"
    )
    print(f"wrote {OUT}/")


if __name__ == "__main__":
    main()
