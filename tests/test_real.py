"""Real photos: the camera noise chain the real-photo model trains on, and the blind model itself
(estimate, strengths, gray and black-and-white photos, bad input)."""

import numpy as np
import pytest

from brightroom import denoise
from brightroom.camera.unprocess import camera_noise, unprocess
from brightroom.color import srgb_to_linear
from brightroom.degrade import add_gaussian_noise, noise_components
from brightroom.errors import BrightroomError
from brightroom.metrics import psnr
from brightroom.nn.zoo import get_model
from brightroom.tasks.denoise import Strength, estimate_noise, is_monochrome
from conftest import smooth_image

needs_real = pytest.mark.skipif(not get_model("denoise-real").shipped, reason="denoise-real weights not shipped")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[100:292, 140:396].astype(np.float32) / 255.0  # 192 x 256


# ---------------------------------------------------------------- the camera chain


def test_sensor_noise_variance_grows_with_the_signal_as_the_shot_and_read_levels_say():
    shot, read = 0.004, 0.01
    for level in (0.1, 0.4):
        flat = np.full((128, 128, 3), level, np.float32)
        raw = unprocess(flat, shot=shot, read=read, tone_curve_strength=0, white_balance=(1, 1, 1),
                        xyz_to_camera=None, seed=1)
        linear = float(srgb_to_linear(np.float32(level)))  # the raw is linear
        assert raw.mosaic.var() == pytest.approx(shot * linear + read**2, rel=0.08)


def test_camera_noise_grows_with_the_shot_level(photo):
    errors = [np.std(camera_noise(photo, np.random.default_rng(3), shot=shot, jpeg_quality=None, in_camera=False)
                     - photo) for shot in (1e-4, 1e-3, 1e-2)]
    assert errors[0] < errors[1] < errors[2]


def test_camera_noise_is_spatially_correlated_after_demosaicking():
    flat = np.full((128, 128, 3), 0.4, np.float32)
    correlations = []
    for noisy in (camera_noise(flat, np.random.default_rng(5), shot=3e-3, jpeg_quality=None, in_camera=False),
                  add_gaussian_noise(flat, 10, seed=5)):
        error = (noisy - flat).mean(axis=2)
        correlations.append(np.corrcoef(error[:, :-1].ravel(), error[:, 1:].ravel())[0, 1])
    assert correlations[0] > 0.2 and abs(correlations[1]) < 0.05


def test_noise_components_tell_luminance_from_colour_noise():
    clean = np.full((96, 96, 3), 0.5, np.float32)
    luminance_only = clean + add_gaussian_noise(clean[..., :1] * 0, 12, seed=2)
    levels = noise_components(luminance_only, clean)
    # 12 in each of R, G and B alike is the luminance noise of white noise of sigma 12 * sqrt(3)
    assert np.median(levels[..., 0]) == pytest.approx(12 * np.sqrt(3), rel=0.1) and levels[..., 1].max() < 1e-3


# ---------------------------------------------------------------- the blind model


@needs_real
def test_blind_denoising_of_white_noise_is_close_to_the_informed_awgn_model(photo):
    noisy = add_gaussian_noise(photo, 15, seed=4)
    estimate = estimate_noise(noisy)
    assert estimate.luma == pytest.approx(15, rel=0.3) and estimate.color == pytest.approx(15, rel=0.3)
    blind = psnr(denoise(noisy, "auto", method="brightroom-real"), photo)
    informed = psnr(denoise(noisy, 15, method="brightroom"), photo)
    assert blind > psnr(noisy, photo) + 6 and blind > informed - 1.0


@needs_real
def test_strength_zero_is_the_identity_and_more_strength_smooths_more(photo):
    noisy = camera_noise(photo, np.random.default_rng(7), shot=3e-3)
    assert np.array_equal(denoise(noisy, method="brightroom-real", strength=Strength(0)), noisy)
    gentle, strong = (denoise(noisy, method="brightroom-real", strength=Strength(s)) for s in (0.5, 2.0))
    default = denoise(noisy, method="brightroom-real")
    assert np.abs(gentle - noisy).mean() < np.abs(default - noisy).mean() < np.abs(strong - noisy).mean()
    # colour strength 0: the correction is luminance only (equal in R, G and B)
    restored = denoise(noisy, method="brightroom-real", strength=Strength(color=0))
    luma_only = (restored - noisy)[((restored > 0) & (restored < 1)).all(axis=2)]  # where nothing was clipped
    assert np.abs(luma_only - luma_only.mean(axis=1, keepdims=True)).max() < 2e-6


@needs_real
def test_gray_and_black_and_white_in_rgb_are_denoised_alike(photo):
    gray = add_gaussian_noise(photo.mean(axis=2, keepdims=True), 15, seed=8)
    as_rgb = np.repeat(gray, 3, axis=2)
    assert is_monochrome(as_rgb) and estimate_noise(as_rgb).color == 0
    one = denoise(gray, method="brightroom-real")
    three = denoise(as_rgb, method="brightroom-real")
    assert one.shape == gray.shape and three.shape == as_rgb.shape
    assert np.abs(three - three.mean(axis=2, keepdims=True)).max() < 1e-6  # stays black and white
    assert np.abs(three[..., :1] - one).max() < 1e-5
    assert psnr(one, photo.mean(axis=2, keepdims=True)) > psnr(gray, photo.mean(axis=2, keepdims=True)) + 5


@needs_real
def test_a_clean_photo_reads_far_below_its_noisy_self(photo):
    clean = estimate_noise(photo)
    noisy = estimate_noise(camera_noise(photo, np.random.default_rng(3), shot=3e-3))
    assert max(clean.luma, clean.color) < 4 and noisy.luma > 3 * max(clean.luma, 1.0)
    assert estimate_noise(np.full((64, 64, 3), 0.4, np.float32)).luma < 0.5  # flat and clean: nothing


@pytest.mark.parametrize("bad, message", [
    (np.zeros((32, 32, 2), np.float32), "gray .* or RGB"),
    (np.full((32, 32, 3), np.nan, np.float32), "NaN"),
])
def test_bad_images_are_clear_errors(bad, message):
    with pytest.raises(BrightroomError, match=message):
        denoise(bad, method="brightroom-real")


@pytest.mark.parametrize("strength", [-1, 5, float("nan"), "strong", True])
def test_bad_strengths_are_clear_errors(strength):
    with pytest.raises(BrightroomError, match="strength must be a number from 0 to 4"):
        Strength(strength)


def test_strength_applies_to_the_blind_method_only():
    with pytest.raises(BrightroomError, match="strength applies to the blind method"):
        denoise(smooth_image(32, 32, 3), 10, method="brightroom", strength=Strength(0.5))


# Issue 15's bar, PSNR(output, input) >= 40 dB for every clean image, holds on Set12 (gray, and gray
# stored as RGB) but not yet on Kodak24 (5 of 24 images below) and Set14 (9 of 14, as many as the old
# white-noise path): the estimator reads fine texture as noise. Strict: these start failing once fixed.
_TEXTURE_SHORTFALL = pytest.mark.xfail(strict=True, reason="issue 15: the estimator reads fine texture as noise")


@needs_real
@pytest.mark.parametrize("dataset, form", [pytest.param("Kodak24", "rgb", marks=_TEXTURE_SHORTFALL),
                                           pytest.param("Set14", "rgb", marks=_TEXTURE_SHORTFALL),
                                           ("Set12", "gray"), ("Set12", "gray-as-rgb")])
def test_clean_photos_stay_clean_through_the_auto_recipe(dataset, form):
    from brightroom.datasets import image_files
    from brightroom.io import Photo, read_image
    from brightroom.pipeline import enhance
    from conftest import shared_set

    for path in image_files(shared_set(dataset)):
        pixels = read_image(path).pixels
        if form == "gray-as-rgb":
            pixels = np.repeat(pixels[..., :1], 3, axis=2)
        result = enhance(Photo(pixels, None, 8, "png", None, None)).pixels
        assert psnr(result, pixels) >= 40, path.name
