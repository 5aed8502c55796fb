"""Training the blind real-photo denoiser (``brightroom train real``): clean patches through the
realistic camera chain of ``brightroom.camera.unprocess`` (and, as a minority, plain AWGN, Poisson-Gaussian
noise in sRGB, black-and-white photos and clean patches), the true noise map as the estimator's target.
"""

from __future__ import annotations

import numpy as np
import torch

from ..camera.unprocess import camera_noise, camera_sharpen
from ..degrade import add_gaussian_noise, add_poisson_gaussian_noise, jpeg_compress, noise_components
from ..metrics import psnr
from .config import build_model
from .data import batch_tensor, random_patch, training_images
from .warm_start import source_weights

# Shares of the patch kinds (the rest of 1 goes to the camera chain in colour).
MIX = {"chain_gray": 0.08, "awgn": 0.12, "awgn_luma": 0.05, "poisson_gaussian": 0.08, "clean": 0.14}
_GRID = 8  # the chain runs on a patch this much larger, cropped at a random offset: a random JPEG grid phase


def degrade_patch(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One training example (noisy, target, noise levels): H x W x 3 float32 images and the H x W x 2
    luminance and colour noise levels on the [0, 1] scale, from a clean patch ``_GRID`` pixels larger
    than the result on each side. The levels measure the noise alone: a JPEG's loss is restored
    towards the target but is not noise, so a clean JPEG reads as clean.

    >>> clean = np.random.default_rng(0).random((72, 72, 3)).astype(np.float32)
    >>> [x.shape for x in degrade_patch(clean, np.random.default_rng(1))]
    [(64, 64, 3), (64, 64, 3), (64, 64, 2)]
    """
    kind = rng.choice(["chain", *MIX], p=[1 - sum(MIX.values()), *MIX.values()])
    target = clean
    if kind in ("chain", "chain_gray"):
        sharpen = (rng.uniform(0.2, 1.0), rng.uniform(0.7, 1.5)) if rng.random() < 0.3 else None
        noisy, sensor = camera_noise(clean, rng, sharpen=sharpen, with_sensor_image=True)
        if sharpen:
            target = camera_sharpen(clean, *sharpen)
        if kind == "chain_gray":
            noisy, sensor, target = (np.repeat(x.mean(axis=2, keepdims=True), 3, axis=2)
                                     for x in (noisy, sensor, target))
    elif kind == "awgn":
        noisy = sensor = add_gaussian_noise(clean, rng.uniform(0, 50), rng)
    elif kind == "awgn_luma":  # noise equal in R, G and B: a phone's processed noise is mostly luminance
        noisy = sensor = clean + add_gaussian_noise(clean[..., :1] * 0, rng.uniform(0, 30), rng)
    elif kind == "poisson_gaussian":
        noisy = sensor = add_poisson_gaussian_noise(clean, rng.uniform(0, 0.01), rng.uniform(0, 0.03), rng)
    else:
        if rng.random() < 1 / 3:  # clean black-and-white photos too: gray content is not a sign of noise
            clean = target = np.repeat(clean.mean(axis=2, keepdims=True), 3, axis=2)
        sensor = clean
        noisy = jpeg_compress(clean, int(rng.integers(50, 96))) if rng.random() < 0.5 else clean
    top, left = rng.integers(_GRID, size=2)
    size = clean.shape[0] - _GRID, clean.shape[1] - _GRID
    crop = (slice(top, top + size[0]), slice(left, left + size[1]))
    levels = noise_components(sensor[crop], target[crop]) / 255.0
    return noisy[crop].astype(np.float32), target[crop].astype(np.float32), levels


def widen_denoiser(source_model: str, model: torch.nn.Module) -> None:
    """Start the real-photo denoiser from the AWGN colour model: the one-channel noise level's
    first-layer weights are shared by the luminance and colour levels (white noise reads the same
    in both), every other tensor is copied. A denoiser with two levels already is copied as it is."""
    source = source_weights(source_model)
    head = source["head.weight"]
    if head.shape[1] == model.denoiser.head.weight.shape[1] - 1:  # one noise level: shared by the two
        source["head.weight"] = torch.cat([head[:, :-1], head[:, -1:] / 2, head[:, -1:] / 2], dim=1)
    model.denoiser.load_state_dict(source)


def prepare(config: dict):
    """Model, batch maker and validator for a real-photo config."""
    model = build_model(config)
    if config["run"].get("init_denoiser"):
        widen_denoiser(config["run"]["init_denoiser"], model)
    data = config["data"]
    train_images, val_images = training_images(data, 3)
    val_rng = np.random.default_rng(1234)
    val_pairs = []
    for image in val_images:
        clean = image.astype(np.float32) / 255.0
        clean = clean[: clean.shape[0] // 8 * 8, : clean.shape[1] // 8 * 8]
        padded = np.pad(clean, ((0, _GRID), (0, _GRID), (0, 0)), mode="reflect")
        noisy, target = degrade_patch_chain(padded, val_rng)
        val_pairs.append((noisy, target))

    def make_batch(rng: np.random.Generator, overrides: dict):
        stage_data = {**data, **overrides.get("data", {})}
        size, count = int(stage_data["patch_size"]), int(stage_data["batch_size"])
        examples = [degrade_patch(random_patch(train_images, size + _GRID, rng), rng) for _ in range(count)]
        noisy, target, levels = (batch_tensor(list(part)) for part in zip(*examples))
        return (noisy, levels), target

    def validate(net: torch.nn.Module) -> float:
        scores = []
        for noisy, clean in val_pairs:
            x = torch.from_numpy(np.ascontiguousarray(noisy.transpose(2, 0, 1)))[None]
            restored = net(x)[0].permute(1, 2, 0).float().numpy()
            scores.append(psnr(np.clip(restored, 0, 1), clean))
        return float(np.mean(scores))

    return model, make_batch, validate


def degrade_patch_chain(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A validation pair: the colour camera chain only (what real photos carry), no sharpening."""
    noisy = camera_noise(clean, rng)
    return noisy[:-_GRID, :-_GRID], clean[:-_GRID, :-_GRID]
