"""Before/after crops of strongly compressed photos for docs/jpeg/: LIVE1 and classic5 pictures
(never trained on) compressed with libjpeg, a re-saved crop (quality 30, 4 pixels cropped, then
70), and a real old JPEG (RNI15's Audrey Hepburn, its quality read from its own tables). Each
figure is the compressed crop, Brightroom's restoration (`deblock` as on a file: told the quality
the tables say) and, where there is one, the original; shown twice their size (nearest
neighbour) so the 8 x 8 blocks can be seen. Writes docs/jpeg/README.md with the PSNR of each whole image.

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
    brightroom.write_image(OUT / f"{name}.png", side_by_side([enlarged(p[rows, cols]) for p in panels]), overwrite=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    notes = []
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
        saves = f"quality 30, a 4-pixel crop, then {quality}" if "then" in name else f"quality {quality}"
        notes.append(f"- `{name}.png`: `{path.name}`{' as gray' if gray else ''}, {saves}: the JPEG, Brightroom, the "
                     f"original. Whole image: JPEG {psnr(compressed, original):.2f} dB, Brightroom "
                     f"{psnr(restored, original):.2f} dB.")
    real = brightroom.read_image(data_root() / "real" / "RNI15" / "Audrey_Hepburn.jpg")
    quality = jpeg_quality_of(real.pixels, real.jpeg_quality)
    restored = deblock(real.pixels, quality=quality.value)
    rows, cols = busiest_crop(as_rgb(real.pixels), slice(0, real.pixels.shape[0]), CROP)
    figure("rni15-audrey-real-jpeg", [real.pixels, restored], rows, cols)
    notes.append(f"- `rni15-audrey-real-jpeg.png`: RNI15's `Audrey_Hepburn.jpg`, a real old JPEG (its tables say "
                 f"quality {real.jpeg_quality}; restored at {quality.value}, {quality.source}): the file, Brightroom "
                 "(no original exists).")
    (OUT / "README.md").write_text(
        "# JPEG artifact removal, crops at twice their size\n\n"
        "Written by `scripts/jpeg_figures.py` (the `deblock` model, as `brightroom deblock` runs it on a file: "
        "told the quality the file's tables say). Each crop is the window with the most fine detail, shown "
        "enlarged 2x (nearest neighbour) so the 8 x 8 blocks can be seen. None of these images was trained on.\n\n"
        + "\n".join(notes) + "\n")
    print("\n".join(notes))


if __name__ == "__main__":
    main()
