"""Training the RAW denoiser (``brightroom train raw``): clean sRGB patches unprocessed to the Bayer
mosaic a camera could have recorded (``brightroom.camera.unprocess`` with a random camera), sensor
noise from a random Poisson-Gaussian profile, stored as a random camera's integers (black level,
white level, clipping) and read back; the network sees the packed planes and the noise map of
``brightroom.camera.noise.noise_std_map`` and is trained to give back the clean planes.

The loss compares what a photographer sees (as Brooks et al. 2019 train): the planes and the
image developed from them (white balance, colour matrix, exposure, a gamma), both under a gamma
of 1/2.2, so the shadows that development lifts and the colour noise its matrix amplifies count.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from ..camera.bayer import pack_bayer
from ..camera.noise import NoiseProfile, noise_std_map
from ..camera.raw import camera_to_srgb_matrix
from ..camera.unprocess import random_camera, sensor_read_noise, unprocess
from ..metrics import psnr
from .config import build_model
from .data import random_patch, training_images
from .warm_start import source_weights

# Shot levels from below base ISO to past ISO 12800-like (variance = a * x + b on the [0, 1] raw
# scale); b follows a as in Brooks et al. (2019), with their spread.
A_RANGE = (1e-4, 2e-2)
WHITE_LEVELS = (1023, 4095, 16383, 65535)  # 10-, 12-, 14- and 16-bit sensors
VALIDATION_A = 0.006  # an ISO 6400-like level
_GAMMA_FLOOR = 1e-3


def simulate_raw(clean: np.ndarray, rng: np.random.Generator, *, a: float | None = None,
                 camera: dict | None = None) -> tuple[np.ndarray, np.ndarray, NoiseProfile, np.ndarray]:
    """One training example from a clean sRGB patch (even sides): the noisy and the clean packed
    planes (H/2 x W/2 x 4, normalised raw scale), the noise profile, and the 3 x 4 matrix that
    develops the planes to linear sRGB (white balance, colour matrix, exposure back). A random
    camera, exposure, CFA phase and level ``a`` unless given; the noisy data is quantised at a
    random bit depth and black level and clipped there, as a sensor's integers are.

    >>> noisy, clean, profile, matrix = simulate_raw(np.full((16, 16, 3), 0.5, np.float32), np.random.default_rng(0))
    >>> noisy.shape, clean.shape, len(profile.a), matrix.shape
    ((8, 8, 4), (8, 8, 4), 4, (3, 4))
    """
    camera = random_camera(rng) if camera is None else camera
    if a is None:
        a = float(np.exp(rng.uniform(*np.log(A_RANGE))))
    b = sensor_read_noise(a, rng) ** 2
    exposure = float(rng.uniform(0.0, 1.5)) if rng.random() < 0.5 else 0.0  # many high-ISO shots are dark
    raw = unprocess(clean, exposure=exposure, shot=0.0, read=0.0, seed=None, **camera)
    mosaic = np.clip(raw.mosaic, 0.0, 1.0)
    noisy = mosaic + rng.standard_normal(mosaic.shape, dtype=np.float32) * np.sqrt(a * mosaic + b).astype(np.float32)
    white = WHITE_LEVELS[rng.integers(len(WHITE_LEVELS))]
    black = round(white * rng.uniform(0.0, 0.07))
    counts = np.clip(np.round(black + noisy * (white - black)), 0, white)
    noisy = ((counts - black) / (white - black)).astype(np.float32)
    gains = np.asarray(raw.white_balance, np.float64)
    greens_averaged = np.array([[1, 0, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 0, 1]], np.float64)
    matrix = camera_to_srgb_matrix(raw.xyz_to_camera) @ np.diag(gains / gains.min()) @ greens_averaged * 2.0**exposure
    return (pack_bayer(noisy, raw.cfa_pattern), pack_bayer(mosaic, raw.cfa_pattern), NoiseProfile.uniform(a, b),
            matrix.astype(np.float32))


def gamma(values: torch.Tensor) -> torch.Tensor:
    """A gamma of 1/2.2, continued linearly below 0 (noise below black must still be penalised)."""
    slope = (1 / 2.2) * _GAMMA_FLOOR ** (1 / 2.2 - 1)
    positive = (values.clamp(min=0.0) + _GAMMA_FLOOR) ** (1 / 2.2) - _GAMMA_FLOOR ** (1 / 2.2)
    return positive + values.clamp(max=0.0) * slope


def developed(planes: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """N x 4 x H x W packed planes through N x 3 x 4 development matrices: linear sRGB, clipped at white."""
    return torch.einsum("nck,nkhw->nchw", matrix, planes).clamp(max=1.0)


def training_loss(output: torch.Tensor, target: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """L1 of the planes and of the developed image, both under :func:`gamma`."""
    planes, matrix = target
    return (F.l1_loss(gamma(output), gamma(planes))
            + F.l1_loss(gamma(developed(output, matrix)), gamma(developed(planes, matrix))))


def start_from(source_model: str, model: torch.nn.Module) -> int:
    """Copy every tensor of an sRGB denoiser that fits (the body of the U-Net); the first and last
    layers, whose channels differ, start fresh. Returns the number of tensors copied."""
    source = source_weights(source_model)
    target = model.state_dict()
    fitting = {k: v for k, v in source.items() if k in target and target[k].shape == v.shape}
    model.load_state_dict({**target, **fitting})
    return len(fitting)


def _tensor(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.stack(arrays).transpose(0, 3, 1, 2)))


def prepare(config: dict):
    """Model, batch maker and validator for a RAW denoising config."""
    model = build_model(config)
    if config["run"].get("init_body"):
        start_from(config["run"]["init_body"], model)
    data = config["data"]
    train_images, val_images = training_images(data, 3)
    val_rng = np.random.default_rng(1234)
    val_examples = []
    for image in val_images:
        clean = image.astype(np.float32) / 255.0
        clean = clean[: clean.shape[0] // 16 * 16, : clean.shape[1] // 16 * 16]
        noisy, target, profile, matrix = simulate_raw(clean, val_rng, a=VALIDATION_A)
        val_examples.append((noisy, noise_std_map(noisy, profile), target, torch.from_numpy(matrix)[None]))

    def make_batch(rng: np.random.Generator, overrides: dict):
        stage_data = {**data, **overrides.get("data", {})}
        size, count = int(stage_data["patch_size"]), int(stage_data["batch_size"])
        noisy, maps, target, matrices = [], [], [], []
        for _ in range(count):
            example_noisy, example_clean, profile, matrix = simulate_raw(random_patch(train_images, size, rng), rng)
            noisy.append(example_noisy)
            maps.append(noise_std_map(example_noisy, profile))
            target.append(example_clean)
            matrices.append(matrix)
        return (_tensor(noisy), _tensor(maps)), (_tensor(target), torch.from_numpy(np.stack(matrices)))

    def validate(net: torch.nn.Module) -> float:
        """PSNR of the developed image, under the gamma, at an ISO 6400-like level."""
        scores = []
        for noisy, std, clean, matrix in val_examples:
            restored = net(_tensor([noisy]), _tensor([std])).float().clamp(0, 1)
            views = [gamma(developed(x, matrix).clamp(min=0))[0].permute(1, 2, 0).numpy()
                     for x in (restored, _tensor([clean]))]
            scores.append(psnr(*views))
        return float(np.mean(scores))

    return model, make_batch, validate
