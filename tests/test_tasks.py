import numpy as np
import pytest
from scipy import ndimage

from brightroom import denoise, methods, task_names, upscale
from brightroom.degrade import add_gaussian_noise
from brightroom.errors import BrightroomError
from brightroom.metrics import psnr


def _smooth_image(channels: int, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    image = ndimage.gaussian_filter(rng.random((size, size, channels)), (3, 3, 0))
    return ((image - image.min()) / (image.max() - image.min())).astype(np.float32)


def test_registry_lists_tasks_and_methods():
    assert task_names() == ["denoise", "jpeg", "raw", "sr"]
    assert set(methods("raw")) == {"brightroom-raw"} and methods("raw")["brightroom-raw"].learned
    assert set(methods("jpeg")) == {"brightroom"} and methods("jpeg")["brightroom"].blind
    assert {"nlm", "bm3d", "brightroom"} <= set(methods("denoise"))
    assert {"bicubic", "lanczos"} <= set(methods("sr"))
    assert methods("denoise")["brightroom"].learned and not methods("denoise")["bm3d"].learned


@pytest.mark.parametrize("method", ["nlm", "bm3d"])
@pytest.mark.parametrize("channels", [1, 3])
def test_classical_denoisers_improve_psnr(method, channels):
    clean = _smooth_image(channels)
    noisy = add_gaussian_noise(clean, 25, seed=1)
    restored = denoise(noisy, sigma=25, method=method)
    assert restored.shape == clean.shape and restored.dtype == np.float32
    assert psnr(restored, clean) > psnr(noisy, clean) + 4


def test_blind_denoising_estimates_sigma():
    clean = _smooth_image(3)
    noisy = add_gaussian_noise(clean, 20, seed=2)
    blind = denoise(noisy, method="nlm")
    informed = denoise(noisy, sigma=20, method="nlm")
    assert psnr(blind, clean) == pytest.approx(psnr(informed, clean), abs=0.5)


@pytest.mark.parametrize(
    "image, sigma, message",
    [
        (np.zeros((32, 32, 4), np.float32), 10, "shape"),
        (np.full((32, 32, 3), np.nan, np.float32), 10, "NaN"),
        (np.zeros((32, 32, 3), np.uint8), 10, "float"),
        (np.zeros((4, 4, 3), np.float32), 10, "at least 8x8"),
        (np.zeros((32, 32, 3), np.float32), 80, "sigma must be from 0 to 75"),
        (np.zeros((32, 32, 3), np.float32), -1, "sigma must be from 0 to 75"),
        (np.zeros((32, 32, 3), np.float32), "loud", "sigma must be a number"),
    ],
)
def test_denoise_bad_input_is_a_clear_error(image, sigma, message):
    with pytest.raises(BrightroomError, match=message):
        denoise(image, sigma=sigma, method="nlm")


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(BrightroomError, match="known: bm3d, brightroom, brightroom-ensemble, brightroom-real, nlm"):
        denoise(np.zeros((16, 16, 3), np.float32), sigma=5, method="magic")


@pytest.mark.parametrize("method", ["bicubic", "lanczos"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_shapes(method, scale):
    assert upscale(np.zeros((10, 12, 3), np.float32), scale, method).shape == (10 * scale, 12 * scale, 3)
    assert upscale(np.zeros((10, 12, 1), np.float32), scale, method).shape == (10 * scale, 12 * scale, 1)


@pytest.mark.parametrize("scale", [1, 5, "two", 2.5])
def test_upscale_refuses_unsupported_scales(scale):
    with pytest.raises(BrightroomError, match="scale must be one of 2, 3, 4"):
        upscale(np.zeros((16, 16, 3), np.float32), scale)
