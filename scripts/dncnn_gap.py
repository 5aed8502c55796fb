"""Where the colour AWGN model loses to DnCNN (issue 20): the excess error split into luminance and
colour, and above and below a 1.5-pixel Gaussian, per set; the per-image gap against the clean
images' luminance and colour detail; the same detail measure on the training photos. The numbers
and what they say are in the denoise-color card.

DnCNN's weights are the authors' (../shared/anchors, never shipped). About 10 minutes on 2 cores.
Run from the repo root:  .venv/bin/python scripts/dncnn_gap.py [SIGMA]   (default 25)
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

import brightroom
from brightroom.datasets import image_files, resolve_dataset
from brightroom.degrade import add_gaussian_noise
from brightroom.metrics import psnr
from brightroom.tasks import get_method

ANCHOR = "weights:../shared/anchors/dncnn_color_sigma{sigma}.pth"


def error_parts(error: np.ndarray) -> dict[str, float]:
    """Mean squared error (0-255 scale) in luminance (the channels' mean) and colour (the rest),
    and above and below a 1.5-pixel Gaussian."""
    luma = error.mean(axis=2, keepdims=True)
    low = cv2.GaussianBlur(error, (0, 0), 1.5)
    scale = 255.0**2
    return {"luma": float((luma**2).mean() * scale), "colour": float(((error - luma) ** 2).mean() * scale),
            "high": float(((error - low) ** 2).mean() * scale), "low": float((low**2).mean() * scale)}


def detail(clean: np.ndarray) -> tuple[float, float]:
    """The standard deviation (0-255) of a 1.5-pixel high-pass of the luminance and of the colour."""
    luma = clean.mean(axis=2, keepdims=True)

    def high_pass(a: np.ndarray) -> np.ndarray:
        return a - cv2.GaussianBlur(a, (0, 0), 1.5).reshape(a.shape)

    return float(high_pass(luma).std() * 255), float(high_pass(clean - luma).std() * 255)


def main() -> None:
    sigma = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    methods = {"brightroom": get_method("denoise", "brightroom"),
               "dncnn": get_method("denoise", ANCHOR.format(sigma=sigma))}
    for name in ("CBSD68", "Kodak24"):
        parts, gaps, details = {m: [] for m in methods}, [], []
        for index, path in enumerate(image_files(resolve_dataset(name))):
            clean = brightroom.read_image(path).pixels
            noisy = add_gaussian_noise(clean, sigma, index)
            scores = {}
            for method_name, method in methods.items():
                restored = np.round(np.clip(method.run(noisy, sigma), 0, 1) * 255) / 255
                scores[method_name] = psnr(restored, clean)
                parts[method_name].append(error_parts(restored - clean))
            gaps.append(scores["dncnn"] - scores["brightroom"])
            details.append(detail(clean))
        mean = {m: {k: np.mean([p[k] for p in parts[m]]) for k in parts[m][0]} for m in methods}
        gaps, details = np.array(gaps), np.array(details)
        print(f"{name}, sigma {sigma}: gap to DnCNN {gaps.mean():.2f} dB ({gaps.min():.2f} to {gaps.max():.2f})")
        for m in methods:
            print(f"  {m}: luminance {mean[m]['luma']:.2f} + colour {mean[m]['colour']:.2f}; "
                  f"above the Gaussian {mean[m]['high']:.2f}, below {mean[m]['low']:.2f}")
        print(f"  clean detail: luminance {details[:, 0].mean():.2f}, colour {details[:, 1].mean():.2f}; "
              f"gap vs luminance detail r={np.corrcoef(gaps, details[:, 0])[0, 1]:.2f}, "
              f"vs colour detail r={np.corrcoef(gaps, details[:, 1])[0, 1]:.2f}")
    train = np.array([detail(brightroom.read_image(p).pixels) for p in image_files(resolve_dataset("train/bsds400"))])
    print(f"train/bsds400 clean detail: luminance {train[:, 0].mean():.2f}, colour {train[:, 1].mean():.2f}")


if __name__ == "__main__":
    main()
