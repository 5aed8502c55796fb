"""Training the noise-level-conditioned denoisers (``brightroom train denoise``)."""

from __future__ import annotations

import numpy as np
import torch

from ..degrade import add_gaussian_noise, poisson_gaussian_std
from ..metrics import psnr
from ..nn.inference import run_padded
from .config import build_model
from .data import random_patches, training_images


def noisy_batch(clean: np.ndarray, noise: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noise a batch (N x C x H x W): AWGN with sigma ~ U[0, sigma_max], or for a share of patches
    Poisson-Gaussian sensor noise; returns (noisy, per-pixel sigma map N x 1 x H x W).

    ``low_sigma_fraction`` of the AWGN patches draw sigma from [0, low_sigma_max] instead.
    """
    count = clean.shape[0]
    noisy = np.empty_like(clean)
    sigma_map = np.empty((count, 1) + clean.shape[2:], np.float32)
    sigma_max = float(noise["sigma_max"]) / 255.0
    for i in range(count):
        if rng.random() < float(noise.get("poisson_gaussian_fraction", 0.0)):
            # shot and read chosen so the noise at mid-gray spans about the same range as the AWGN
            read = rng.uniform(0.0, 0.5) * sigma_max
            shot = rng.uniform(0.0, 1.0) * (sigma_max**2 - read**2) / 0.5
            std = poisson_gaussian_std(clean[i], shot, read)
            noisy[i] = clean[i] + rng.standard_normal(clean[i].shape, dtype=np.float32) * std
            sigma_map[i] = std.mean(axis=0, keepdims=True)
        else:
            # an optional share of low noise levels, where the L1 loss is small and the model would be under-trained
            low = rng.random() < float(noise.get("low_sigma_fraction", 0.0))
            sigma = rng.uniform(0.0, float(noise.get("low_sigma_max", 25)) / 255.0 if low else sigma_max)
            noisy[i] = add_gaussian_noise(clean[i], sigma * 255.0, rng)
            sigma_map[i] = sigma
    return noisy, sigma_map


def level_weights(sigma_map: np.ndarray, offset: float) -> np.ndarray:
    """Per-patch loss weights 1 / (sigma + offset) (sigma on the 0-255 scale), normalised to mean 1.

    A denoiser's error grows with the noise level, so a plain L1 loss is ruled by the high
    levels; weighting by the inverse of the expected error balances the levels' PSNR instead.

    >>> level_weights(np.array([0.0, 10.0, 30.0]).reshape(3, 1, 1, 1) / 255, offset=10).round(3)
    array([1.714, 0.857, 0.429], dtype=float32)
    """
    sigma = sigma_map.reshape(len(sigma_map), -1).mean(axis=1) * 255.0
    weights = 1.0 / (sigma + offset)
    return (weights / weights.mean()).astype(np.float32)


def prepare(config: dict):
    """Model, batch maker and validator for a denoising config."""
    model = build_model(config)
    data, noise = config["data"], config["noise"]
    channels = int(config["model"]["channels"])
    train_images, val_images = training_images(data, channels)
    val_sigma = float(noise["validation_sigma"])
    val_rng = np.random.default_rng(1234)
    val_pairs = []
    for image in val_images:
        clean = image.astype(np.float32) / 255.0
        val_pairs.append((clean, add_gaussian_noise(clean, val_sigma, val_rng)))

    def make_batch(rng: np.random.Generator, overrides: dict):
        stage_data = {**data, **overrides.get("data", {})}
        clean = random_patches(train_images, int(stage_data["patch_size"]), int(stage_data["batch_size"]), rng)
        stage_noise = {**noise, **overrides.get("noise", {})}
        noisy, sigma_map = noisy_batch(clean, stage_noise, rng)
        batch = (torch.from_numpy(noisy), torch.from_numpy(sigma_map)), torch.from_numpy(clean)
        if "balanced_loss_offset" in stage_noise:
            return *batch, torch.from_numpy(level_weights(sigma_map, float(stage_noise["balanced_loss_offset"])))
        return batch

    def validate(net: torch.nn.Module) -> float:
        scores = []
        for clean, noisy in val_pairs:
            restored = run_padded(net, noisy, val_sigma / 255.0)
            scores.append(psnr(restored, clean))
        return float(np.mean(scores))

    return model, make_batch, validate
