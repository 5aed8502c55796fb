"""Training the super-resolution networks (``brightroom train sr``).

Two kinds of model share this code: ``classic`` learns to invert MATLAB bicubic
downsampling (the benchmark's degradation; low-resolution images are made once,
stored as 8-bit, as the literature does), ``real`` learns from the randomised
real-photo degradation chain applied afresh to every patch.
"""

from __future__ import annotations

import numpy as np
import torch

from ..degrade import downsample_bicubic, random_degradation
from ..metrics import psnr, to_8bit_levels
from ..nn.inference import to_image, to_tensor
from .config import build_model
from .data import training_images


def _augment(patches: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random rotation and flip for every patch of a pair."""
    turns, flip = rng.integers(4), rng.integers(2)
    out = []
    for patch in patches:
        patch = np.rot90(patch, k=turns)
        out.append(patch[:, ::-1] if flip else patch)
    return out


def _bicubic_pairs(images: list[np.ndarray], scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(low, high) uint8 pairs: high cropped to a multiple of the scale, low its bicubic reduction."""
    pairs = []
    for image in images:
        high = image[: image.shape[0] // scale * scale, : image.shape[1] // scale * scale]
        low = to_8bit_levels(downsample_bicubic(high.astype(np.float32) / 255.0, scale)).astype(np.uint8)
        pairs.append((low, high))
    return pairs


def prepare(config: dict):
    """Model, batch maker and validator for a super-resolution config."""
    model = build_model(config)
    data = config["data"]
    scales = [int(s) for s in config["model"]["scales"]]
    kind = data.get("degradation", "bicubic")
    if kind not in ("bicubic", "real"):
        from ..errors import BrightroomError

        raise BrightroomError(f"data.degradation must be 'bicubic' or 'real', not '{kind}'.")
    low_patch, batch_size = int(data["low_patch_size"]), int(data["batch_size"])
    train_images, val_images = training_images(data, 3)
    train_pairs = {s: _bicubic_pairs(train_images, s) for s in scales} if kind == "bicubic" else {}
    val_rng = np.random.default_rng(99)
    val_sets = {}
    for s in scales:
        pairs = _bicubic_pairs(val_images, s)
        if kind == "real":
            pairs = [(to_8bit_levels(random_degradation(high / 255.0, s, val_rng)).astype(np.uint8), high) for _, high in pairs]
        val_sets[s] = pairs

    def make_batch(rng: np.random.Generator, overrides: dict):
        scale = int(scales[rng.integers(len(scales))])
        lows, highs = [], []
        for _ in range(batch_size):
            if kind == "bicubic":
                low, high = train_pairs[scale][rng.integers(len(train_pairs[scale]))]
                top = rng.integers(low.shape[0] - low_patch + 1)
                left = rng.integers(low.shape[1] - low_patch + 1)
                low = low[top : top + low_patch, left : left + low_patch]
                high = high[top * scale : (top + low_patch) * scale, left * scale : (left + low_patch) * scale]
                low, high = _augment([low, high], rng)
                low = low.astype(np.float32) / 255.0
            else:
                image = train_images[rng.integers(len(train_images))]
                size = low_patch * scale
                top = rng.integers(image.shape[0] - size + 1)
                left = rng.integers(image.shape[1] - size + 1)
                (high,) = _augment([image[top : top + size, left : left + size]], rng)
                low = random_degradation(high.astype(np.float32) / 255.0, scale, rng)
            lows.append(np.ascontiguousarray(low.transpose(2, 0, 1)))
            highs.append(np.ascontiguousarray(high.transpose(2, 0, 1)).astype(np.float32) / 255.0)
        return (torch.from_numpy(np.stack(lows).astype(np.float32)), scale), torch.from_numpy(np.stack(highs))

    def validate(net: torch.nn.Module) -> float:
        scores = []
        for s, pairs in val_sets.items():
            for low, high in pairs:
                output = to_image(net(to_tensor(low.astype(np.float32) / 255.0), s))
                scores.append(psnr(output, high.astype(np.float32) / 255.0, crop=s, y_channel=True))
        return float(np.mean(scores))

    return model, make_batch, validate
