"""RAW denoising: the Bayer mosaic cleaned before demosaicking, where the noise is still what the
sensor made (independent per sample, its variance a line in the signal), by the learned model
``denoise-raw`` conditioned on the sensor's noise profile: measured from the file itself
(``camera.noise.raw_noise_profile``) unless the caller gives one.

Every method of the ``raw`` task is ``method(raw, strength=1.0, profile=None) -> RawImage``.

>>> from brightroom.io.raw import RawImage
>>> flat = RawImage(np.full((64, 64), 0.3, np.float32))
>>> denoise_raw(flat, strength=0) is flat
True
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..camera.bayer import even_crop, pack_bayer, unpack_bayer
from ..camera.noise import NoiseProfile, noise_std_map, raw_noise_profile
from ..errors import BrightroomError
from ..io.raw import RawImage, check_pattern
from . import register

RAW_METHOD = "brightroom-raw"
MAX_RAW_STRENGTH = 4.0


def parse_raw_denoise(value: str | float | None) -> float:
    """The RAW denoising strength from a user's word: 'auto' (or None) 1, 'off' 0, or a number
    from 0 to 4 (1 follows the measured profile, 2 treats the noise as twice as strong).

    >>> parse_raw_denoise("auto"), parse_raw_denoise("off"), parse_raw_denoise("1.5")
    (1.0, 0.0, 1.5)
    >>> parse_raw_denoise("lots")
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: RAW denoising takes auto, off or a strength from 0 to 4, not 'lots'.
    """
    if value is None or str(value).strip().lower() == "auto":
        return 1.0
    if str(value).strip().lower() == "off":
        return 0.0
    try:
        strength = float(value)
    except (TypeError, ValueError):
        strength = float("nan")
    if isinstance(value, bool) or not 0.0 <= strength <= MAX_RAW_STRENGTH:
        raise BrightroomError(f"RAW denoising takes auto, off or a strength from 0 to {MAX_RAW_STRENGTH:g}, "
                              f"not '{value}'.")
    return strength


def parse_noise_profile(text: str) -> NoiseProfile:
    """A profile the user gives: 'A,B' (the same for every CFA plane) on the normalised raw scale,
    variance = A * signal + B.

    >>> parse_noise_profile("0.004,1e-5").a
    (0.004, 0.004, 0.004, 0.004)
    >>> parse_noise_profile("0.004")
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: a noise profile is two numbers A,B (variance = A * signal + B, on the 0-1 raw scale), not '0.004'.
    """
    try:
        a, b = (float(part) for part in str(text).split(","))
    except ValueError:
        a = b = float("nan")
    if not (np.isfinite(a) and np.isfinite(b) and a >= 0 and b >= 0 and a + b > 0):
        raise BrightroomError(f"a noise profile is two numbers A,B (variance = A * signal + B, on the 0-1 raw scale), "
                              f"not '{text}'.")
    return NoiseProfile((a,) * 4, (b,) * 4, "given by the user")


RAW_ORIENTATIONS = (1, 2, 4)
DEFAULT_RAW_ORIENTATIONS = 2  # the mosaic as it is and mirrored: +0.14 dB at ISO 6400-12800, twice the time


@register("raw", RAW_METHOD, "learned Bayer-domain denoiser conditioned on the sensor's noise profile "
          "(measured from the file)", learned=True)
def denoise_raw(raw: RawImage, *, strength: float = 1.0, profile: NoiseProfile | None = None,
                orientations: int = DEFAULT_RAW_ORIENTATIONS) -> RawImage:
    """The RAW with its Bayer mosaic denoised (float32, on the file's own scale; the metadata kept).

    ``strength`` 0 leaves it as it is, 1 removes the noise the profile describes, above 1 treats
    it as stronger (up to 4), below 1 blends back towards the input. ``profile`` None measures it
    from the data. ``orientations`` (1, 2 or 4) averages the network over the mosaic mirrored
    left-right and up-down (each mirror is another CFA phase, which the network was trained on):
    less residual noise, at that many times the time. Samples at white stay white (a clipped
    highlight must not turn coloured).
    """
    from ..nn.inference import denoise_tiled
    from ..nn.zoo import find_model, load_model

    strength = parse_raw_denoise(strength)
    if orientations not in RAW_ORIENTATIONS:
        raise BrightroomError(f"RAW denoising averages 1, 2 or 4 orientations, not {orientations}.")
    if not raw.is_bayer:
        raise BrightroomError("RAW denoising works on a Bayer mosaic; this file holds demosaicked "
                              "(linear, monochrome or X-Trans) data.")
    if strength == 0:
        return raw
    data = raw.normalized()
    profile = profile or raw_noise_profile(raw)
    net = load_model(find_model("raw", RAW_METHOD, 4).name)
    mosaic = even_crop(data)
    restored = np.zeros_like(mosaic)
    for rows, cols in ((False, False), (False, True), (True, False), (True, True))[:orientations]:
        view = np.ascontiguousarray(mosaic[::-1 if rows else 1, ::-1 if cols else 1])
        pattern = _mirrored_pattern(check_pattern(raw.cfa_pattern), rows, cols)
        planes = pack_bayer(view, pattern)
        std = noise_std_map(planes, profile) * np.float32(max(strength, 1.0))
        output = unpack_bayer(denoise_tiled(net, planes, std), pattern)
        restored += output[::-1 if rows else 1, ::-1 if cols else 1]
    restored /= np.float32(orientations)
    if strength < 1:
        restored = mosaic + np.float32(strength) * (restored - mosaic)
    restored = np.where(mosaic >= 1.0, mosaic, restored)
    denoised = data.copy()
    denoised[: restored.shape[0], : restored.shape[1]] = restored
    return replace(raw, mosaic=raw.denormalized(denoised))


def _mirrored_pattern(pattern: str, rows: bool, cols: bool) -> str:
    """The CFA pattern of an even-sized mosaic mirrored up-down (``rows``) and/or left-right.

    >>> _mirrored_pattern("RGGB", False, True), _mirrored_pattern("RGGB", True, False), _mirrored_pattern("RGGB", True, True)
    ('GRBG', 'GBRG', 'BGGR')
    """
    cell = np.array(list(pattern)).reshape(2, 2)
    return "".join(cell[::-1 if rows else 1, ::-1 if cols else 1].ravel())
