"""Before/after crops of strongly compressed photos for docs/jpeg/: LIVE1 and classic5 pictures
(never trained on) compressed with libjpeg, a re-saved crop (quality 30, 4 pixels cropped, then
70), and a real old JPEG (RNI15's Audrey Hepburn, its quality read from its own tables). Each
figure is the compressed crop, Brightroom's restoration (`deblock` as on a file: told the quality
the tables say) and, where there is one, the original; shown twice their size (nearest
neighbour) so the 8 x 8 blocks can be seen. Prints the PSNR of each crop's whole image.

Run from the repo root:  .venv/bin/python scripts/jpeg_figures.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from figures import busiest_crop, side_by_side  # scripts/figures.py

import brightroom
from brightroom.datasets import data_root
from brightroom.degrade import jpeg_compress, jpeg_recompress
from brightroom.image import as_rgb
from brightroom.metrics import psnr
from brightroom.pipeline import jpeg_quality_of
from brightroom.tasks.jpeg import deblock

OUT = Path("docs/jpeg")
CROP = 160


def enlarged(image: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(as_rgb(image), 2, axis=0), 2, axis=1)


def figure(name: str, panels: list[np.ndarray], rows: slice, cols: slice) -> None:
    brightroom.write_image(OUT / f"{name}.png", side_by_side([enlarged(p[rows, cols]) for p in panels]))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    test = data_root() / "test"
    cases = [("live1-monarch-q10", test / "LIVE1" / "monarch.png", 10, False),
             ("live1-parrots-q20", test / "LIVE1" / "parrots.png", 20, False),
             ("classic5-barbara-q10", test / "classic5" / "barbara.png", 10, True),
             ("live1-lighthouse-q30-then-70", test / "LIVE1" / "lighthouse2.png", 70, False)]
    for name, path, quality, gray in cases:
        original = brightroom.read_image(path).pixels
        if gray:
            original = original[..., :1]
        if "then" in name:
            compressed = jpeg_recompress(original, 30, quality, (4, 4))
            original = original[4:, 4:]
            restored = deblock(compressed, quality=jpeg_quality_of(compressed, quality).value)
        else:
            compressed = jpeg_compress(original, quality)
            restored = deblock(compressed, quality=quality)
        rows, cols = busiest_crop(as_rgb(original), slice(0, original.shape[0]), CROP)
        figure(name, [compressed, restored, original], rows, cols)
        print(f"{name}: JPEG {psnr(compressed, original):.2f} dB, brightroom {psnr(restored, original):.2f} dB")
    real = brightroom.read_image(data_root() / "real" / "RNI15" / "Audrey_Hepburn.jpg")
    quality = jpeg_quality_of(real.pixels, real.jpeg_quality)
    restored = deblock(real.pixels, quality=quality.value)
    rows, cols = busiest_crop(as_rgb(real.pixels), slice(0, real.pixels.shape[0]), CROP)
    figure("rni15-audrey-real-jpeg", [real.pixels, restored], rows, cols)
    print(f"rni15-audrey-real-jpeg: tables say {real.jpeg_quality}, restored at {quality.value} ({quality.source})")


if __name__ == "__main__":
    main()
