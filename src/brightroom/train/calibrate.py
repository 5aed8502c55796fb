"""int8 calibration: a shipped model's activation ranges, measured by running its task on crops of
its own training photos with the inputs it meets in use (noise across its range, JPEG qualities,
downscaled photos, RAW data at several ISO levels), and shipped beside its weights as
``weights/NAME.int8.json`` (see :mod:`brightroom.nn.quantize`).

Reproduce: ``brightroom calibrate MODEL`` (from the repo root, with the training data).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..datasets import image_files, resolve_dataset
from ..errors import BrightroomError
from ..io import read_image
from ..io.files import atomic_write

PHOTOS = 16
CROP = 256
MIN_INPUTS = 8  # a network fed fewer inputs than this (the JPEG model's estimator, asked only
# where no DCT lattice fits) has no measured ranges and stays in float


def calibrate(name: str, output: Path | None = None, progress: Callable[[str], None] = print) -> Path:
    """Measure the zoo model ``name``'s int8 activation ranges and write them to ``output``
    (default: its ranges file beside its weights, what the runtime reads)."""
    import torch

    from ..nn.quantize import measure_ranges, network_key, ranges_file, weights_digest
    from ..nn.runtime import computing_in, onnx_bytes, recording_inputs
    from ..nn.zoo import get_model, load_model

    entry = get_model(name)
    folder = training_folder(entry)
    photos = training_crops(entry)
    exercise = _EXERCISES[entry.task]
    load_model(name)  # frozen, so its networks' inputs are recorded
    with computing_in("fp32"), recording_inputs() as seen:
        exercise(entry, photos)
    networks = {}
    for net, part, constants, feeds in seen:
        key = network_key(part, constants)
        if len(feeds) < MIN_INPUTS:
            progress(f"{name}: {key}, {len(feeds)} inputs: too few to measure, stays in float")
            continue
        example = tuple(torch.from_numpy(x) for x in feeds[0].values())
        networks[key] = measure_ranges(onnx_bytes(net, example, constants), feeds)
        progress(f"{name}: {key}, {len(feeds)} inputs, {len(networks[key])} tensors")
    if not networks:
        raise BrightroomError(f"running '{name}' fed no frozen network: nothing to calibrate.")
    path = Path(output) if output is not None else ranges_file(entry.weights)
    record = {"model": name, "weights_sha256": weights_digest(entry.weights),
              "photos": f"{PHOTOS} crops of {CROP} x {CROP} from {folder}", "networks": networks}
    atomic_write(path, json.dumps(record, indent=1).encode())
    return path


def training_folder(entry) -> str:
    """The dataset a zoo model was trained on, as its config names it (the JPEG model: its colour
    photos, from which it also made its gray ones).

    >>> from brightroom.nn.zoo import get_model
    >>> training_folder(get_model("deblock"))
    'train/bsds400'
    """
    data = entry.config["data"]
    return data.get("train") or data["train_color"]


def training_crops(entry) -> list[np.ndarray]:
    """The photos a zoo model's int8 ranges are measured on (here and by ``export --int8``): centre
    crops of every n-th photo it was trained on, ``PHOTOS`` of them, ``CROP`` pixels square, as
    H x W x C float32 (C its channels for a denoiser, else 3: the JPEG model makes its planes)."""
    folder, channels = training_folder(entry), entry.channels if entry.task == "denoise" else 3
    files = image_files(resolve_dataset(folder))
    crops = []
    for path in files[:: max(1, len(files) // PHOTOS)][:PHOTOS]:
        pixels = read_image(path).pixels
        top, left = max(0, (pixels.shape[0] - CROP) // 2), max(0, (pixels.shape[1] - CROP) // 2)
        crop = pixels[top: top + CROP, left: left + CROP]
        crops.append(crop[..., :1] if channels == 1 else np.repeat(crop, 3, axis=2) if crop.shape[2] == 1 else crop)
    return crops


def _denoise(entry, photos: list[np.ndarray]) -> None:
    from ..degrade import add_gaussian_noise
    from ..tasks.denoise import denoise

    # white noise across the model's range; a blind model reads it itself (the camera chain it was
    # trained on measured alike: CC15 0.10 dB below float32, white noise 0.11, before the ReLUs were
    # quantised too)
    low, high = (5, 50) if entry.blind else (2, min(entry.sigma_max, 75))
    for index, photo in enumerate(photos):
        sigma = float(np.linspace(low, high, len(photos))[index])
        noisy = np.clip(add_gaussian_noise(photo, sigma, seed=index), 0, 1)
        denoise(noisy, None if entry.blind else sigma, method=entry.method)


def _jpeg(entry, photos: list[np.ndarray]) -> None:
    from ..degrade import jpeg_compress
    from ..tasks.jpeg import deblock

    for index, photo in enumerate(photos):
        quality = int(np.linspace(5, 90, len(photos))[index])
        saved = jpeg_compress(photo[..., :1] if index % 2 else photo, quality)
        deblock(saved, None, method=entry.method)  # the blind path: the estimator runs where no lattice fits
        deblock(saved, quality, method=entry.method)


def _sr(entry, photos: list[np.ndarray]) -> None:
    from ..degrade import downsample_bicubic
    from ..tasks.super_resolve import upscale

    for scale in entry.scales:
        for photo in photos[::2]:
            upscale(downsample_bicubic(photo, scale), scale, method=entry.method)


def _raw(entry, photos: list[np.ndarray]) -> None:
    from ..camera.bayer import unpack_bayer
    from ..io.raw import RawImage
    from ..tasks.denoise_raw import denoise_raw
    from .raw import simulate_raw

    rng = np.random.default_rng(0)
    for index, photo in enumerate(photos):  # shot levels from base ISO to beyond ISO 12800-like
        a = float(np.geomspace(1e-4, 2e-2, len(photos))[index])
        noisy, _, profile, _ = simulate_raw(photo, rng, a=a)
        denoise_raw(RawImage(unpack_bayer(noisy, "RGGB")), profile=profile)


_EXERCISES = {"denoise": _denoise, "jpeg": _jpeg, "sr": _sr, "raw": _raw}
