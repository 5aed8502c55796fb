"""Colour conventions, written once: sRGB transfer curve, BT.601 YCbCr (studio swing, as MATLAB;
full range, as JPEG codes colour), luma.

All functions take and return float arrays in [0, 1] with channels last.
"""

from __future__ import annotations

import numpy as np

# ITU-R BT.601 as MATLAB's rgb2ycbcr: studio swing, Y in [16, 235] / 255.
_YCBCR_MATRIX = np.array(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ],
    dtype=np.float64,
) / 255.0
_YCBCR_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0

# BT.601 full range, as JPEG (JFIF) codes colour: Y in [0, 1], Cb and Cr centred on 0.5.
_JPEG_YCBCR_MATRIX = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.168736, -0.331264, 0.5],
        [0.5, -0.418688, -0.081312],
    ]
)
_JPEG_YCBCR_OFFSET = np.array([0.0, 0.5, 0.5])
_JPEG_YCBCR_INVERSE = np.linalg.inv(_JPEG_YCBCR_MATRIX).astype(np.float32)

# XYZ (D65 white) -> linear sRGB, the IEC 61966-2-1 matrix.
XYZ_TO_LINEAR_SRGB = np.array(
    [
        [3.2404542, -1.5371385, -0.4985314],
        [-0.9692660, 1.8760108, 0.0415560],
        [0.0556434, -0.2040259, 1.0572252],
    ]
)

# BT.601 luma weights, used to turn colour into gray.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] to BT.601 YCbCr in [0, 1] (Y in 16/255..235/255), as MATLAB ``rgb2ycbcr``.

    >>> float(rgb_to_ycbcr(np.ones((1, 1, 3)))[0, 0, 0] * 255)  # doctest: +ELLIPSIS
    235.0...
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    return (rgb @ _YCBCR_MATRIX.T + _YCBCR_OFFSET).astype(np.float32)


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """The inverse of :func:`rgb_to_ycbcr` (not clipped).

    >>> x = np.random.default_rng(0).random((4, 4, 3))
    >>> bool(np.allclose(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-5))
    True
    """
    ycbcr = np.asarray(ycbcr, dtype=np.float64)
    return ((ycbcr - _YCBCR_OFFSET) @ np.linalg.inv(_YCBCR_MATRIX).T).astype(np.float32)


def rgb_to_jpeg_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] to the full-range YCbCr a JPEG file codes (JFIF): the planes its blocks live in.

    >>> rgb_to_jpeg_ycbcr(np.array([[[1.0, 1.0, 1.0]]])).round(4).tolist()
    [[[1.0, 0.5, 0.5]]]
    """
    rgb = np.asarray(rgb, dtype=np.float32)  # float32 throughout: a 24 MP photo in 0.3 GB, not 0.6
    return rgb @ _JPEG_YCBCR_MATRIX.T.astype(np.float32) + _JPEG_YCBCR_OFFSET.astype(np.float32)


def jpeg_ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """The inverse of :func:`rgb_to_jpeg_ycbcr` (not clipped).

    >>> x = np.random.default_rng(0).random((4, 4, 3))
    >>> bool(np.allclose(jpeg_ycbcr_to_rgb(rgb_to_jpeg_ycbcr(x)), x, atol=1e-5))
    True
    """
    ycbcr = np.asarray(ycbcr, dtype=np.float32)
    return (ycbcr - _JPEG_YCBCR_OFFSET.astype(np.float32)) @ _JPEG_YCBCR_INVERSE.T


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """The BT.601 Y channel (H x W x 1) of an RGB image; a gray image is returned as its own Y.

    Gray images are passed through unchanged, which is what the SR literature does
    for the one gray picture in Set14.

    >>> rgb_to_y(np.zeros((2, 2, 3))).shape
    (2, 2, 1)
    """
    rgb = np.asarray(rgb)
    if rgb.ndim == 3 and rgb.shape[2] == 1:
        return rgb.astype(np.float32)
    return rgb_to_ycbcr(rgb)[..., :1]


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma as an H x W x 1 gray image.

    >>> float(rgb_to_gray(np.ones((1, 1, 3)))[0, 0, 0])
    1.0
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.shape[2] == 1:
        return rgb
    return (rgb @ LUMA_WEIGHTS.astype(np.float32))[..., None]


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """The IEC 61966-2-1 sRGB decoding curve.

    >>> round(float(srgb_to_linear(np.array(0.5))), 4)
    0.214
    """
    srgb = np.asarray(srgb, dtype=np.float32)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((np.maximum(srgb, 0.04045) + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """The IEC 61966-2-1 sRGB encoding curve (inputs below 0 are clipped to 0).

    >>> round(float(linear_to_srgb(np.array(0.214))), 3)
    0.5
    """
    linear = np.maximum(np.asarray(linear, dtype=np.float32), 0.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055).astype(np.float32)
