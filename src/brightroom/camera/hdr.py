"""High dynamic range from bracketed exposures: exposure fusion, or a radiance
merge followed by tone mapping. OpenCV does the numerical work.

- ``fuse_exposures``: Mertens, Kautz and Van Reeth (2007) blend the frames in a
  Laplacian pyramid, weighting each pixel by contrast, saturation and
  well-exposedness. No exposure times are needed and the result is display-ready.
- ``merge_hdr``: Debevec and Malik (1997) recover scene radiance from the frames
  and their exposure times (the camera response is the sRGB curve, or
  calibrated from the frames), then a global tone-mapping operator maps it to
  the display and the sRGB curve encodes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..color import linear_to_srgb, srgb_to_linear
from ..errors import BrightroomError
from .frames import load_frames

TONE_MAPPINGS = ("reinhard", "drago", "mantiuk")
RESPONSES = ("srgb", "calibrate")


def fuse_exposures(
    frames: Sequence[np.ndarray | str | Path],
    *,
    contrast_weight: float = 1.0,
    saturation_weight: float = 1.0,
    exposure_weight: float = 1.0,
    align: bool = False,
) -> np.ndarray:
    """Mertens exposure fusion of a bracket: float32 H x W x C in [0, 1].

    ``frames`` are sRGB images (arrays or paths) of the same scene at different
    exposures. ``align`` first shifts them onto the middle exposure (OpenCV's
    median threshold bitmaps, which do not depend on exposure; translation only).

    >>> ramp = np.linspace(0, 1, 64, dtype=np.float32)[None, :, None].repeat(48, 0).repeat(3, 2)
    >>> bracket = [np.clip(ramp * gain, 0, 1) for gain in (0.5, 1.0, 2.0)]
    >>> fused = fuse_exposures(bracket); fused.shape, bool(0 <= fused.min() and fused.max() <= 1)
    ((48, 64, 3), True)
    """
    images, channels = _as_rgb(load_frames(frames, what="an exposure bracket"))
    if align:
        images = _align_bitmaps(images)
    for name, value in (("contrast_weight", contrast_weight), ("saturation_weight", saturation_weight),
                        ("exposure_weight", exposure_weight)):
        if not np.isfinite(value) or value < 0:
            raise BrightroomError(f"{name} must be 0 or more, not {value}.")
    merger = cv2.createMergeMertens(float(contrast_weight), float(saturation_weight), float(exposure_weight))
    # OpenCV scales float input by 1/255, as if it held 8-bit levels.
    fused = merger.process([np.ascontiguousarray(image * 255.0, dtype=np.float32) for image in images])
    return _restore_channels(np.clip(np.nan_to_num(fused), 0.0, 1.0), channels)


def merge_radiance(
    frames: Sequence[np.ndarray | str | Path],
    exposure_times: Sequence[float],
    *,
    response: str = "srgb",
    align: bool = False,
) -> np.ndarray:
    """Relative scene radiance (linear, float32 H x W x 3, not bounded) from a bracket.

    ``exposure_times`` are in seconds, one per frame. ``response`` is 'srgb' (the
    frames are sRGB-encoded, as Brightroom's images are) or 'calibrate'
    (Debevec's response recovery from the frames themselves).

    >>> scene = np.linspace(0.02, 4.0, 64, dtype=np.float32)[None, :, None].repeat(32, 0).repeat(3, 2)
    >>> times = [0.25, 1.0, 4.0]
    >>> bracket = [linear_to_srgb(np.clip(scene * t / 4, 0, 1)) for t in times]
    >>> radiance = merge_radiance(bracket, times)
    >>> recovered, true = radiance[16, 60, 0] / radiance[16, 8, 0], scene[0, 60, 0] / scene[0, 8, 0]
    >>> bool(abs(recovered / true - 1) < 0.1)
    True
    """
    images, channels = _as_rgb(load_frames(frames, what="an exposure bracket"))
    times = _checked_times(exposure_times, len(images))
    if response not in RESPONSES:
        raise BrightroomError(f"unknown camera response '{response}' (known: {', '.join(RESPONSES)}).")
    if align:
        images = _align_bitmaps(images)
    levels = [np.round(np.clip(image, 0, 1) * 255).astype(np.uint8) for image in images]
    if response == "srgb":
        curve = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)
        curve[0] = curve[1]  # Debevec's merge takes its logarithm
        camera_response = np.repeat(curve[:, None, None], 3, axis=2).astype(np.float32)
    else:
        camera_response = _quietly(lambda: cv2.createCalibrateDebevec().process(levels, times))
    radiance = cv2.createMergeDebevec().process(levels, times, camera_response)
    return np.nan_to_num(radiance, nan=0.0, posinf=0.0).astype(np.float32)


def merge_hdr(
    frames: Sequence[np.ndarray | str | Path],
    exposure_times: Sequence[float],
    *,
    tone_mapping: str = "reinhard",
    response: str = "srgb",
    align: bool = False,
) -> np.ndarray:
    """Radiance merge of a bracket, tone-mapped for display: sRGB float32 H x W x C in [0, 1].

    ``tone_mapping`` is 'reinhard' (photographic, the default), 'drago'
    (logarithmic) or 'mantiuk' (contrast domain); see :func:`merge_radiance`
    for the other arguments.

    >>> scene = np.linspace(0.02, 4.0, 64, dtype=np.float32)[None, :, None].repeat(32, 0).repeat(3, 2)
    >>> bracket = [linear_to_srgb(np.clip(scene * t / 4, 0, 1)) for t in (0.25, 1.0, 4.0)]
    >>> out = merge_hdr(bracket, [0.25, 1.0, 4.0]); bool(0 <= out.min() and out.max() <= 1)
    True
    """
    if tone_mapping not in TONE_MAPPINGS:
        raise BrightroomError(f"unknown tone mapping '{tone_mapping}' (known: {', '.join(TONE_MAPPINGS)}).")
    images = load_frames(frames, what="an exposure bracket")
    radiance = merge_radiance(images, exposure_times, response=response, align=align)
    radiance = radiance / max(float(np.percentile(radiance, 99.5)), 1e-12)  # the operators expect a sane scale
    operator = {
        "reinhard": lambda: cv2.createTonemapReinhard(gamma=1.0),
        "drago": lambda: cv2.createTonemapDrago(gamma=1.0),
        "mantiuk": lambda: cv2.createTonemapMantiuk(gamma=1.0),
    }[tone_mapping]()
    display = np.clip(np.nan_to_num(operator.process(np.ascontiguousarray(radiance))), 0.0, 1.0)
    return _restore_channels(linear_to_srgb(display), images[0].shape[2])


def _quietly(compute):
    """Run an OpenCV call without its warnings on stderr (calibration warns about an internal API)."""
    logging = cv2.utils.logging
    previous = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    try:
        return compute()
    finally:
        logging.setLogLevel(previous)


def _as_rgb(images: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """OpenCV's HDR functions want three channels; gray frames are repeated (and restored after)."""
    channels = images[0].shape[2]
    if channels == 1:
        images = [np.repeat(image, 3, axis=2) for image in images]
    return [np.clip(image, 0.0, 1.0) for image in images], channels


def _restore_channels(image: np.ndarray, channels: int) -> np.ndarray:
    image = image.astype(np.float32)
    return image.mean(axis=2, keepdims=True) if channels == 1 else image


def _checked_times(exposure_times: Sequence[float], count: int) -> np.ndarray:
    try:
        times = np.asarray(exposure_times, dtype=np.float32).ravel()
    except (TypeError, ValueError):
        raise BrightroomError("exposure times must be numbers (seconds).") from None
    if times.size != count:
        raise BrightroomError(f"give one exposure time per frame: {count} frames but {times.size} times.")
    if not np.isfinite(times).all() or (times <= 0).any():
        raise BrightroomError("exposure times must be positive numbers of seconds.")
    return times


def _align_bitmaps(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Translate every frame onto the middle exposure with median threshold bitmaps (Ward 2003)."""
    grays = [cv2.cvtColor(np.round(frame * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY) for frame in frames]
    reference = int(np.argsort([gray.mean() for gray in grays])[len(grays) // 2])
    aligner = cv2.createAlignMTB()
    aligned = []
    for index, (frame, gray) in enumerate(zip(frames, grays)):
        if index == reference:
            aligned.append(frame)
            continue
        dx, dy = aligner.calculateShift(grays[reference], gray)
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        height, width = frame.shape[:2]
        aligned.append(cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REFLECT))
    return aligned
