"""On-device export: a zoo model as one self-contained ONNX file, its input conventions in the
file's metadata, optionally quantised to int8 (ONNX Runtime's static QDQ quantisation, calibrated on
training patches), to run with onnxruntime alone (see docs/export.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..color import rgb_to_jpeg_ycbcr
from ..degrade import jpeg_compress
from ..errors import BrightroomError
from ..io.files import atomic_write
from .zoo import get_model, load_model

INPUT_CONVENTIONS = {
    "denoise": ("image: float32 N x C x H x W, sRGB in [0, 1] (C = {channels}); sigma: float32 N x 1 x H x W, the "
                "noise level on the [0, 1] scale (sigma_255 / 255, 0 to {sigma_max}/255); H and W multiples of 8 "
                "(pad by reflection); output: the denoised image, the input's shape"),
    "blind": ("image: float32 N x 3 x H x W, sRGB in [0, 1] (a gray image as three equal channels); H and W "
              "multiples of 8 (pad by reflection); the model estimates the noise itself; output: the denoised image"),
    "sr": ("image: float32 N x 3 x H x W, sRGB in [0, 1]; output: N x 3 x {scale}H x {scale}W"),
    "jpeg": ("plane: float32 N x 1 x H x W in [0, 1], a gray JPEG or the Y of a colour one (full-range YCbCr, "
             "as JPEG codes it); H and W multiples of 8 (pad by reflection); the model reads the compression "
             "from the pixels; output: the plane with its JPEG artifacts removed"),
}


def export_onnx(name: str, path: str | Path, *, scale: int | None = None, int8: bool = False,
                calibration: list[np.ndarray] | None = None) -> Path:
    """Write the zoo model ``name`` as ONNX to ``path`` (an SR model for one ``scale``); with ``int8``,
    quantised with the activations' ranges measured on ``calibration`` images (H x W x C float32 in
    [0, 1], C the model's channels; by default the crops of its training photos that
    ``brightroom calibrate`` measures on)."""
    entry = get_model(name)
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise BrightroomError(f"cannot write '{path}': name the exported model '*.onnx'.")
    if entry.task == "raw":
        raise BrightroomError(f"'{name}' is not exported: it takes packed Bayer planes and a noise map of the sensor's "
                              "profile, which only Brightroom's RAW pipeline makes.")
    if entry.task == "sr":
        if scale not in (entry.scales or ()):
            raise BrightroomError(f"'{name}' upscales by {', '.join(map(str, entry.scales or ()))}; give --scale.")
    elif scale is not None:
        raise BrightroomError(f"--scale applies to super-resolution models, not '{name}'.")
    from .runtime import onnx_bytes

    net = load_model(name)
    channels = entry.channels
    example = torch.rand(1, channels, 64, 64)
    if entry.task == "jpeg":
        kind, inputs, names, constants = "jpeg", (example,), ["plane"], {}
    elif entry.blind:
        kind, inputs, names, constants = "blind", (example,), ["image"], {}
    elif entry.task == "denoise":
        kind, inputs, names, constants = "denoise", (example, torch.full((1, 1, 64, 64), 0.1)), ["image", "sigma"], {}
    else:
        kind, inputs, names, constants = "sr", (example,), ["image"], {"scale": scale}
    model_bytes = onnx_bytes(net, inputs, constants, names)
    import onnx

    model = onnx.load_from_string(model_bytes)
    conventions = INPUT_CONVENTIONS[kind].format(channels=channels, sigma_max=entry.sigma_max, scale=scale)
    for key, value in {"brightroom_model": name, "brightroom_version": __version__, "task": entry.task,
                       "inputs": conventions, "scale": str(scale or 1), "int8": str(int8)}.items():
        model.metadata_props.add(key=key, value=value)
    if int8 and calibration is None:
        from ..train.calibrate import training_crops

        calibration = training_crops(entry)
    if int8 and not calibration:
        raise BrightroomError("int8 export needs calibration images.")
    data = _quantised(model, names, calibration, kind) if int8 else model.SerializeToString()
    atomic_write(path, data)  # never a half-written model
    return path


def _quantised(model, names: list[str], calibration: list[np.ndarray], kind: str) -> bytes:
    from .quantize import measure_ranges, quantise

    # the activations' ranges must be those of real inputs: for a denoiser, noisy images at noise
    # levels across its range, with their noise maps; for the JPEG model, planes at qualities across
    # its range
    feeds, rng = [], np.random.default_rng(0)
    for index, image in enumerate(calibration):
        image = image[: image.shape[0] // 8 * 8, : image.shape[1] // 8 * 8]  # the model's own size rule
        sigma = 0.0 if kind in ("sr", "jpeg") else float(np.linspace(5, 50, len(calibration))[index]) / 255
        noisy = image + rng.normal(0.0, sigma, image.shape) if sigma else image
        if kind == "jpeg":
            noisy = jpeg_compress(rgb_to_jpeg_ycbcr(image)[..., :1], int(np.linspace(10, 90, len(calibration))[index]))
        x = np.ascontiguousarray(noisy.transpose(2, 0, 1)[None], dtype=np.float32)
        feed = {names[0]: x}
        if kind == "denoise":
            feed[names[1]] = np.full((1, 1) + x.shape[2:], sigma, np.float32)
        feeds.append(feed)
    plain = model.SerializeToString()
    return quantise(plain, measure_ranges(plain, feeds))
