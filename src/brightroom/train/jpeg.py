"""Training the blind JPEG artifact remover (``brightroom train jpeg``): gray and colour patches
compressed with libjpeg at qualities 5-95 (colour with 4:2:0 chroma), a share of them saved twice
with the second grid shifted (re-saved crops), and a few left clean; each example is one JPEG
plane (luminance, or a colour plane at its coded half resolution) with its true level.

A share of the patches carry noise before they are saved (photos are noisy, then compressed);
their target is the noisy patch as it was before saving: the model removes what the JPEG did, the
denoiser what the sensor did, and a noisy photo that was never compressed reads as clean.
"""

from __future__ import annotations

import numpy as np
import torch

from ..color import rgb_to_jpeg_ycbcr
from ..degrade import jpeg_compress, jpeg_recompress
from ..metrics import psnr
from ..nn.jpeg import quality_to_level
from .config import build_model
from .data import batch_tensor, random_patch, training_images
from .warm_start import source_weights, warm_start

# Shares of the example kinds: luminance of a gray image, luminance of a colour one, a colour plane, clean.
KINDS = {"gray": 0.35, "luma": 0.30, "chroma": 0.30, "clean": 0.05}
DOUBLE_SHARE = 0.25  # of the compressed examples: saved twice, the second grid shifted
STUDIO_SHARE = 0.25  # of the gray examples: levels 16-235 (the literature's "LIVE1 gray" is MATLAB's Y)
NOISY_SHARE = 0.15  # of every kind: Gaussian noise of sigma 2-20 (0-255 scale) before saving
_SLACK = 16  # a patch this much larger is compressed, then cropped at a random offset: a random grid phase
VALIDATION_QUALITY = 10


def random_quality(rng: np.random.Generator) -> int:
    """Half the examples at 5-40 (where the artifacts are, and the benchmarks), half at 5-95."""
    return int(rng.integers(5, 41) if rng.random() < 0.5 else rng.integers(5, 96))


def compressed(patch: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """(compressed, clean) of the same size and the level, once or twice compressed."""
    quality = random_quality(rng)
    if rng.random() < DOUBLE_SHARE:
        other = random_quality(rng)
        shift = tuple(int(v) for v in rng.integers(1, 8, size=2))
        return jpeg_recompress(patch, other, quality, shift), patch[shift[0]:, shift[1]:], \
            quality_to_level(min(quality, other))
    return jpeg_compress(patch, quality), patch, quality_to_level(quality)


def _crop(arrays: tuple[np.ndarray, ...], size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    top = rng.integers(arrays[0].shape[0] - size + 1)
    left = rng.integers(arrays[0].shape[1] - size + 1)
    return tuple(a[top: top + size, left: left + size] for a in arrays)


def noisy_before_saving(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For :data:`NOISY_SHARE` of the patches, the patch with Gaussian noise, as 8-bit levels; else the patch."""
    if rng.random() >= NOISY_SHARE:
        return patch
    noisy = patch + rng.standard_normal(patch.shape, dtype=np.float32) * rng.uniform(2, 20) / 255
    return (np.round(np.clip(noisy, 0, 1) * 255) / 255).astype(np.float32)


def half(plane: np.ndarray) -> np.ndarray:
    """A full-resolution colour plane at the half resolution JPEG codes it (2 x 2 means).

    >>> half(np.arange(16, dtype=np.float32).reshape(4, 4, 1))[..., 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    h, w = plane.shape[0] // 2 * 2, plane.shape[1] // 2 * 2
    return plane[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3))


def jpeg_example(gray_images: list[np.ndarray], color_images: list[np.ndarray], size: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One example: (input plane, target plane) size x size x 1, the level and the colour-plane flag.

    >>> gray = [np.random.default_rng(0).integers(0, 256, (80, 80, 1), dtype=np.uint8)]
    >>> color = [np.random.default_rng(1).integers(0, 256, (160, 160, 3), dtype=np.uint8)]
    >>> x, y, level, chroma = jpeg_example(gray, color, 32, np.random.default_rng(2))
    >>> x.shape, y.shape, 0 <= level < 1, chroma in (0.0, 1.0)
    ((32, 32, 1), (32, 32, 1), True, True)
    """
    kind = rng.choice(list(KINDS), p=list(KINDS.values()))
    if kind == "chroma":
        clean = noisy_before_saving(random_patch(color_images, 2 * (size + _SLACK), rng), rng)
        noisy, clean, level = compressed(clean, rng)
        channel = 1 + int(rng.integers(2))
        planes = [rgb_to_jpeg_ycbcr(x)[..., channel:channel + 1] for x in (noisy, clean)]
        noisy, clean = _crop(tuple(half(p) for p in planes), size, rng)
        return noisy, clean, level, 1.0
    if kind == "luma":
        clean = noisy_before_saving(random_patch(color_images, size + _SLACK, rng), rng)
        noisy, clean, level = compressed(clean, rng)
        noisy, clean = _crop(tuple(rgb_to_jpeg_ycbcr(x)[..., :1] for x in (noisy, clean)), size, rng)
        return noisy, clean, level, 0.0
    clean = random_patch(gray_images, size + _SLACK, rng)
    if rng.random() < STUDIO_SHARE:
        clean = (np.round(16 + clean * 219) / 255).astype(np.float32)
    clean = noisy_before_saving(clean, rng)
    if kind == "clean":
        (clean,) = _crop((clean,), size, rng)
        return clean, clean, 0.0, float(rng.integers(2))
    noisy, clean, level = compressed(clean, rng)
    noisy, clean = _crop((noisy, clean), size, rng)
    return noisy, clean, level, 0.0


def prepare(config: dict):
    """Model, batch maker and validator for a JPEG config."""
    model = build_model(config)
    if config["run"].get("init_restorer"):
        # from the gray denoiser: its noise level's first-layer weights read the JPEG level, the
        # colour-plane flag's (an input it lacks) start at zero
        source = config["run"]["init_restorer"]
        warm_start(model.restorer, source_weights(source), f"'{source}'")
    data = config["data"]
    gray_images, gray_val = training_images({**data, "train": data["train_gray"]}, 1)
    color_images, _ = training_images({**data, "train": data["train_color"]}, 3)
    val_pairs = []
    for image in gray_val:
        clean = image.astype(np.float32) / 255.0
        val_pairs.append((jpeg_compress(clean, VALIDATION_QUALITY), clean))

    def make_batch(rng: np.random.Generator, overrides: dict):
        stage_data = {**data, **overrides.get("data", {})}
        size, count = int(stage_data["patch_size"]), int(stage_data["batch_size"])
        examples = [jpeg_example(gray_images, color_images, size, rng) for _ in range(count)]
        planes, targets, levels, flags = zip(*examples)
        maps = [np.broadcast_to(np.float32([level, flag]), (size, size, 2)) for level, flag in zip(levels, flags)]
        return (batch_tensor(list(planes)), batch_tensor(maps)), batch_tensor(list(targets))

    def validate(net: torch.nn.Module) -> float:
        """Blind: the model's own level estimate, gray held-out images at quality 10."""
        scores = []
        for compressed_image, clean in val_pairs:
            h, w = compressed_image.shape[0] // 8 * 8, compressed_image.shape[1] // 8 * 8
            x = torch.from_numpy(np.ascontiguousarray(compressed_image[:h, :w].transpose(2, 0, 1)))[None]
            restored = net(x)[0].permute(1, 2, 0).float().numpy()
            scores.append(psnr(np.clip(restored, 0, 1), clean[:h, :w]))
        return float(np.mean(scores))

    return model, make_batch, validate
