"""Tone: the global S-curve applied after sRGB encoding, its inverse (for
unprocessing), and local tone mapping (shadows lifted, local contrast kept).

The global curve blends the identity with smoothstep, 3x^2 - 2x^3, the curve
Brooks et al. (2019) assume a camera applied. Local tone mapping compresses the
large-scale log luminance, taken from a guided filter (He et al. 2010, computed
at reduced resolution), towards the bright end, and keeps the detail layer.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..color import LUMA_WEIGHTS
from ..errors import check_number

_INVERSE_SAMPLES = 65_537
_BASE_MAX_SIDE = 1024  # the base layer is computed at this size at most, then upsampled


def check_strength(name: str, strength: float) -> float:
    """A tone strength: from 0 (none) to 1."""
    return check_number(name, strength, 0.0, 1.0)


def tone_curve(encoded: np.ndarray, strength: float) -> np.ndarray:
    """The global S-curve on sRGB-encoded values: ``x + strength * (smoothstep(x) - x)``, clipped to [0, 1].

    >>> round(float(tone_curve(np.float32(0.25), 1.0)), 4)   # smoothstep(0.25)
    0.1562
    """
    strength = check_strength("the tone curve strength", strength)
    x = np.clip(np.asarray(encoded, dtype=np.float32), 0.0, 1.0)
    if strength == 0:
        return x
    return (x + strength * (x * x * (3 - 2 * x) - x)).astype(np.float32)


def inverse_tone_curve(toned: np.ndarray, strength: float) -> np.ndarray:
    """The inverse of :func:`tone_curve` (the curve is monotonic for strengths in [0, 1]).

    >>> x = np.linspace(0, 1, 11, dtype=np.float32)
    >>> bool(np.abs(inverse_tone_curve(tone_curve(x, 0.6), 0.6) - x).max() < 1e-4)
    True
    """
    strength = check_strength("the tone curve strength", strength)
    y = np.clip(np.asarray(toned, dtype=np.float32), 0.0, 1.0)
    if strength == 0:
        return y
    # The inverse tabulated on a uniform grid of outputs, then read by linear interpolation:
    # ten times faster than searching the curve for every pixel (np.interp).
    grid = np.linspace(0.0, 1.0, _INVERSE_SAMPLES)
    inverse = np.interp(grid, grid + strength * (grid * grid * (3 - 2 * grid) - grid), grid).astype(np.float32)
    position = y * np.float32(_INVERSE_SAMPLES - 1)
    index = np.minimum(position.astype(np.int32), _INVERSE_SAMPLES - 2)
    fraction = position - index
    return (inverse[index] + fraction * (inverse[index + 1] - inverse[index])).astype(np.float32)


def local_tone_map(linear_rgb: np.ndarray, strength: float) -> np.ndarray:
    """Lift shadows by compressing the large-scale log luminance by ``strength`` (0 = off).

    Each pixel's RGB is scaled by one gain, so hues and neutral grays are kept.
    The brightest regions (the 99th percentile of the base layer) keep their level.

    >>> dark = np.full((64, 64, 3), 0.01, np.float32); dark[:, 32:] = 0.5
    >>> out = local_tone_map(dark, 0.5)
    >>> bool(out[10, 10, 0] > 0.03 and abs(out[10, 50, 0] - 0.5) < 0.01)
    True
    """
    strength = check_strength("the local tone mapping strength", strength)
    rgb = np.asarray(linear_rgb, dtype=np.float32)
    if strength == 0:
        return rgb
    luminance = np.maximum(rgb @ LUMA_WEIGHTS.astype(np.float32), 0.0)
    log_luminance = np.log2(luminance + 1e-4).astype(np.float32)
    base = _edge_aware_base(log_luminance)
    anchor = np.percentile(base, 99)
    gain = np.exp2(strength * (anchor - base))
    # Only lift: regions brighter than the anchor are left alone.
    gain = np.maximum(gain, 1.0).astype(np.float32)
    return rgb * gain[..., None]


def _edge_aware_base(guide: np.ndarray, epsilon: float = 0.25) -> np.ndarray:
    """A self-guided filter of ``guide`` (log2 luminance), edges of about a stop or more kept.

    The "fast guided filter": coefficients at reduced resolution, applied at full resolution.
    """
    height, width = guide.shape
    scale = min(1.0, _BASE_MAX_SIDE / max(height, width))
    small = cv2.resize(guide, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else guide
    radius = max(2, round(min(small.shape) / 30))
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    mean = box(small)
    variance = np.maximum(box(small * small) - mean * mean, 0.0)
    a = variance / (variance + epsilon)
    b = mean - a * mean
    a, b = box(a), box(b)
    if scale < 1:
        a = cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (width, height), interpolation=cv2.INTER_LINEAR)
    return (a * guide + b).astype(np.float32)
