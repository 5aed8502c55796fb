"""Synthetic degradations: the noise, blur, downsampling and compression models.

Every convention that benchmarks and training rely on lives here:
AWGN is added in floating point on the 0-255 scale and NOT clipped; the
sensor noise model is Poisson-Gaussian, variance = shot * x + read**2.
All functions take float32 H x W x C images in [0, 1] and a seed or a
``numpy.random.Generator`` so results are reproducible.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from .errors import BrightroomError


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def add_gaussian_noise(image: np.ndarray, sigma: float, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """Additive white Gaussian noise of ``sigma`` on the 0-255 scale, not clipped.

    >>> noisy = add_gaussian_noise(np.full((256, 256, 1), 0.5, np.float32), 25, seed=1)
    >>> round(float(noisy.std() * 255))
    25
    """
    if sigma < 0:
        raise BrightroomError(f"noise sigma must be at least 0, not {sigma}.")
    noise = _rng(seed).standard_normal(np.shape(image), dtype=np.float32) * np.float32(sigma / 255.0)
    return (np.asarray(image, dtype=np.float32) + noise).astype(np.float32)


def poisson_gaussian_std(image: np.ndarray, shot: float, read: float) -> np.ndarray:
    """Per-pixel noise standard deviation of the sensor model: sqrt(shot * x + read**2).

    >>> round(float(poisson_gaussian_std(np.array([0.25]), shot=0.01, read=0.0)[0]), 6)
    0.05
    """
    return np.sqrt(np.maximum(shot * np.asarray(image, dtype=np.float32), 0.0) + read**2).astype(np.float32)


def add_poisson_gaussian_noise(
    image: np.ndarray, shot: float, read: float, seed: int | np.random.Generator | None = 0
) -> np.ndarray:
    """Signal-dependent sensor noise (Gaussian approximation of Poisson shot noise plus read noise), not clipped.

    ``shot`` and ``read`` are on the [0, 1] scale: variance = shot * x + read**2.

    >>> flat = np.full((256, 256, 1), 0.5, np.float32)
    >>> round(float(add_poisson_gaussian_noise(flat, shot=0.02, read=0.0, seed=1).std()), 2)
    0.1
    """
    std = poisson_gaussian_std(image, shot, read)
    return (np.asarray(image, dtype=np.float32) + _rng(seed).standard_normal(std.shape, dtype=np.float32) * std).astype(
        np.float32
    )


def downsample_bicubic(image: np.ndarray, scale: int) -> np.ndarray:
    """The SR literature's low-resolution input: crop to a multiple of ``scale``, then MATLAB bicubic ``imresize``.

    >>> downsample_bicubic(np.zeros((10, 11, 3), np.float32), 2).shape
    (5, 5, 3)
    """
    from .resize import imresize

    image = crop_to_multiple(image, scale)
    return imresize(image, 1.0 / scale)


def crop_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Crop the bottom and right so both sides are multiples of ``multiple``.

    >>> crop_to_multiple(np.zeros((10, 11, 1)), 4).shape
    (8, 8, 1)
    """
    height, width = image.shape[:2]
    return image[: height - height % multiple, : width - width % multiple]


def jpeg_compress(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through libjpeg at ``quality`` (colour with 4:2:0 chroma subsampling).

    >>> x = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    >>> bool(np.abs(jpeg_compress(x, 10) - x).mean() > 0.05)
    True
    """
    if not 1 <= quality <= 100:
        raise BrightroomError(f"JPEG quality must be between 1 and 100, not {quality}.")
    pixels = np.clip(np.round(np.asarray(image) * 255), 0, 255).astype(np.uint8)
    color = pixels.shape[2] == 3
    encoded = pixels[..., ::-1] if color else pixels[..., 0]
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    if color:
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
    ok, buffer = cv2.imencode(".jpg", np.ascontiguousarray(encoded), params)
    decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE)
    decoded = decoded[..., ::-1] if color else decoded[..., None]
    return (decoded.astype(np.float32) / 255.0).copy()


def jpeg_recompress(image: np.ndarray, first: int, second: int, shift: tuple[int, int] = (4, 4)) -> np.ndarray:
    """A re-saved crop: compress at quality ``first``, crop ``shift`` = (rows, columns) pixels off the
    top and left (so the second save's 8 x 8 grid falls across the first's), compress at ``second``.
    Compare the result with ``image[rows:, columns:]``.

    >>> x = np.random.default_rng(0).random((32, 32, 1)).astype(np.float32)
    >>> jpeg_recompress(x, 30, 70).shape
    (28, 28, 1)
    """
    rows, columns = shift
    return jpeg_compress(jpeg_compress(image, first)[rows:, columns:], second)


def gaussian_kernel(sigma: float, size: int | None = None) -> np.ndarray:
    """An isotropic Gaussian blur kernel summing to 1 (size defaults to 2*ceil(3*sigma)+1).

    >>> k = gaussian_kernel(1.0); k.shape, round(float(k.sum()), 6)
    ((7, 7), 1.0)
    """
    if sigma <= 0:
        raise BrightroomError(f"blur sigma must be positive, not {sigma}.")
    size = size or 2 * int(np.ceil(3 * sigma)) + 1
    axis = np.arange(size, dtype=np.float64) - (size - 1) / 2
    kernel = np.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) / (2 * sigma**2))
    return (kernel / kernel.sum()).astype(np.float32)


def motion_kernel(length: float, angle_degrees: float, size: int | None = None) -> np.ndarray:
    """A linear motion-blur kernel of ``length`` pixels at ``angle_degrees``, summing to 1.

    >>> k = motion_kernel(5, 0); k.shape, int((k > 0).sum(axis=1).max())
    ((7, 7), 5)
    """
    if length < 1:
        raise BrightroomError(f"motion blur length must be at least 1 pixel, not {length}.")
    size = size or int(np.ceil(length)) // 2 * 2 + 3
    kernel = np.zeros((size, size), np.float32)
    centre = (size - 1) / 2
    direction = np.array([np.cos(np.radians(angle_degrees)), -np.sin(np.radians(angle_degrees))])
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, int(np.ceil(length)) * 4):
        x, y = centre + t * direction
        kernel[int(round(y)), int(round(x))] += 1.0
    return kernel / kernel.sum()


def blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve every channel with ``kernel`` (reflect padding at the borders).

    >>> flat = np.full((8, 8, 3), 0.5, np.float32)
    >>> bool(np.allclose(blur(flat, gaussian_kernel(1.0)), 0.5))
    True
    """
    image = np.asarray(image, dtype=np.float32)
    return np.stack(
        [ndimage.convolve(image[..., c], kernel, mode="reflect") for c in range(image.shape[2])], axis=2
    ).astype(np.float32)


def anisotropic_gaussian_kernel(sigma_x: float, sigma_y: float, angle_degrees: float, size: int = 21) -> np.ndarray:
    """A Gaussian blur kernel stretched along ``angle_degrees``, summing to 1.

    >>> k = anisotropic_gaussian_kernel(3.0, 0.5, 0); k.shape, bool(k.sum(axis=0).std() > k.sum(axis=1).std())
    ((21, 21), False)
    """
    if sigma_x <= 0 or sigma_y <= 0:
        raise BrightroomError("blur sigmas must be positive.")
    theta = np.radians(angle_degrees)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    covariance = rotation @ np.diag([sigma_x**2, sigma_y**2]) @ rotation.T
    axis = np.arange(size, dtype=np.float64) - (size - 1) / 2
    grid = np.stack(np.meshgrid(axis, axis), axis=-1)  # (y, x) -> (x, y) pairs
    inverse = np.linalg.inv(covariance)
    kernel = np.exp(-0.5 * np.einsum("...i,ij,...j->...", grid, inverse, grid))
    return (kernel / kernel.sum()).astype(np.float32)


def random_degradation(image: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
    """The real-photo degradation chain (after BSRGAN / Real-ESRGAN): blur, downsampling and
    noise in random order and strength, then JPEG; returns an image ``scale`` times smaller
    (the input is first cropped to a multiple of ``scale``), float32 in [0, 1].

    >>> x = np.random.default_rng(0).random((64, 48, 3)).astype(np.float32)
    >>> random_degradation(x, 4, np.random.default_rng(1)).shape
    (16, 12, 3)
    """
    image = crop_to_multiple(np.asarray(image, dtype=np.float32), scale)
    target = (image.shape[1] // scale, image.shape[0] // scale)  # cv2 wants (width, height)

    def blur_step(x: np.ndarray) -> np.ndarray:
        if rng.random() < 0.5:
            kernel = gaussian_kernel(rng.uniform(0.2, 2.5))
        else:
            kernel = anisotropic_gaussian_kernel(rng.uniform(0.5, 3.0), rng.uniform(0.2, 1.5), rng.uniform(0, 180))
        return np.stack([cv2.filter2D(x[..., c], -1, kernel, borderType=cv2.BORDER_REFLECT) for c in range(x.shape[2])], 2)

    def downsample_step(x: np.ndarray) -> np.ndarray:
        choice = rng.integers(3)
        if choice == 0:
            from .resize import imresize

            return imresize(x, output_shape=(target[1], target[0]))
        interpolation = (cv2.INTER_LINEAR, cv2.INTER_AREA)[choice - 1]
        resized = cv2.resize(x, target, interpolation=interpolation)
        return resized.reshape(target[1], target[0], x.shape[2])

    def noise_step(x: np.ndarray) -> np.ndarray:
        if rng.random() < 0.6:
            sigma = rng.uniform(1, 25) / 255
            shape = x.shape if rng.random() < 0.6 else x.shape[:2] + (1,)  # colour or luma noise
            return x + rng.standard_normal(shape).astype(np.float32) * sigma
        return add_poisson_gaussian_noise(np.clip(x, 0, 1), rng.uniform(0.0005, 0.01), rng.uniform(0.0, 0.02), rng)

    steps = [downsample_step]
    if rng.random() < 0.8:
        steps.append(blur_step)
    if rng.random() < 0.8:
        steps.append(noise_step)
    for index in rng.permutation(len(steps)):
        image = steps[index](image)
    image = np.clip(image, 0.0, 1.0)
    if rng.random() < 0.8:
        image = jpeg_compress(image, int(rng.integers(30, 96)))
    return image.astype(np.float32)


def noise_components(noisy: np.ndarray, clean: np.ndarray, radius: float = 6.0) -> np.ndarray:
    """The local strength of the noise in a noisy/clean pair, as two maps H x W x 2 on the 0-255
    scale: luminance (the mean of the channels' errors) and colour (each channel's error less that
    mean), each as the sigma of white noise that would be as hard to remove. Each map is the larger
    of two readings, the noise's own standard deviation and twice that of its 2 x 2 block means: the
    same for white noise, larger for the coarse, correlated noise of a camera's processing (which a
    white-noise denoiser must be given a higher sigma to remove, as ``estimate_noise_sigma`` finds).
    Powers are averaged under a Gaussian window of ``radius`` pixels. A one-channel pair has no
    colour: that map is 0.

    >>> clean = np.full((128, 128, 3), 0.5, np.float32)
    >>> maps = noise_components(add_gaussian_noise(clean, 20, seed=0), clean)
    >>> [round(float(np.median(maps[..., k]))) for k in (0, 1)]
    [20, 20]
    """
    error = (np.asarray(noisy, np.float32) - np.asarray(clean, np.float32)) * 255.0
    height, width, channels = error.shape

    def powers(error: np.ndarray) -> np.ndarray:
        luma = error.mean(axis=2, keepdims=True)
        luma_power = luma[..., 0] ** 2 * channels
        chroma_power = ((error - luma) ** 2).mean(axis=2) * channels / (channels - 1) if channels > 1 \
            else np.zeros_like(luma_power)
        return np.stack([luma_power, chroma_power], axis=2)

    fine = powers(error)
    even = error[: height // 2 * 2, : width // 2 * 2]
    blocks = even.reshape(height // 2, 2, width // 2, 2, channels).mean(axis=(1, 3))
    coarse = cv2.resize(powers(blocks) * 4, (width, height), interpolation=cv2.INTER_NEAREST).reshape(height, width, 2)
    smoothed = [cv2.GaussianBlur(p, (0, 0), radius, borderType=cv2.BORDER_REFLECT) for p in (fine, coarse)]
    return np.sqrt(np.maximum(np.maximum(*smoothed), 0.0)).astype(np.float32)
