"""The burst-with-motion figure, docs/burst-motion.png: what merging does where something moves.

An 8-frame synthetic handheld burst of scikit-image's astronaut with a moving object
(``brightroom.bench.burst.synthesize_burst``, motion=True) is shown as four labelled panels:
frame 0 (the reference), the plain average of the aligned frames (which ghosts), Brightroom's
merge, and the clean scene. Each label gives the PSNR over the region the object crosses,
computed as the burst benchmark does.

Run from the repo root:  .venv/bin/python scripts/burst_motion_figure.py [--output docs/burst-motion.png] [--seed N]
"""

from __future__ import annotations

import argparse

import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageFont

import brightroom
from brightroom.bench.burst import READ_NOISE, SHOT_NOISE, masked_psnr, synthesize_burst
from brightroom.camera import align_burst, merge_burst

FRAMES = 8
PANEL = 256  # pixels per panel side
GAP = 4  # white pixels between panels
HEADER = 44  # white band above the panels for the labels


def astronaut() -> np.ndarray:
    """The astronaut's face and shoulders with the shuttle at the right: a PANEL x PANEL crop in [0, 1]."""
    return skimage.data.astronaut()[40 : 40 + PANEL, 140 : 140 + PANEL].astype(np.float32) / 255


def figure(panels: list[tuple[str, str, np.ndarray]]) -> np.ndarray:
    """The panels side by side under their two-line labels (title, then a gray subtitle)."""
    width = len(panels) * PANEL + (len(panels) - 1) * GAP
    canvas = Image.new("RGB", (width, HEADER + PANEL), "white")
    draw = ImageDraw.Draw(canvas)
    title, subtitle = ImageFont.load_default(size=15), ImageFont.load_default(size=12)
    for index, (label, note, pixels) in enumerate(panels):
        left = index * (PANEL + GAP)
        canvas.paste(Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)), (left, HEADER))
        draw.text((left + 6, 5), label, fill=(0, 0, 0), font=title)
        draw.text((left + 6, 25), note, fill=(100, 100, 100), font=subtitle)
    return np.asarray(canvas, np.float32) / 255


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="docs/burst-motion.png")
    parser.add_argument("--seed", type=int, default=5, help="burst seed (5: the object crosses the collar)")
    args = parser.parse_args()
    burst, clean, moving = synthesize_burst(astronaut(), FRAMES, motion=True, seed=args.seed)
    results = [
        ("frame 0 (reference)", np.clip(burst[0], 0, 1)),
        (f"average of {FRAMES} aligned", np.clip(np.mean(align_burst(burst), axis=0), 0, 1)),
        (f"Brightroom merge of {FRAMES}", merge_burst(burst, noise_model=(SHOT_NOISE, READ_NOISE))),
    ]
    panels = []
    for label, pixels in results:
        score = masked_psnr(pixels, clean, moving)
        print(f"{label:<24} moving-region PSNR {score:.2f} dB")
        panels.append((label, f"moving region {score:.1f} dB", pixels))
    panels.append(("clean scene", "ground truth (as frame 0 sees it)", clean))
    print(f"wrote {brightroom.write_image(args.output, figure(panels), overwrite=True)}")


if __name__ == "__main__":
    main()
