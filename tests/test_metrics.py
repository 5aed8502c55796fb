import cv2
import numpy as np
import pytest
from scipy import ndimage

from brightroom.datasets import data_root, image_files
from brightroom.degrade import add_gaussian_noise
from brightroom.io import read_image
from brightroom.metrics import estimate_noise_sigma, psnr, ssim, to_8bit_levels


def test_psnr_known_value():
    reference = np.zeros((10, 10, 3), np.float32)
    output = reference + 10 / 255  # every pixel off by 10 levels: MSE 100
    assert psnr(output, reference) == pytest.approx(10 * np.log10(255**2 / 100), abs=1e-9)


def test_psnr_rounds_and_clips_to_8bit_levels_first():
    reference = np.full((4, 4, 1), 0.5, np.float32)
    assert psnr(reference + 0.4 / 255, reference) == float("inf")  # rounds to the same level
    assert to_8bit_levels(np.array([1.7]))[0] == 255


def test_psnr_on_y_with_border_crop_ignores_the_border():
    reference = np.random.default_rng(0).random((20, 20, 3)).astype(np.float32)
    output = reference.copy()
    output[:2] = 0  # damage only a 2-pixel border
    assert psnr(output, reference, crop=2, y_channel=True) == float("inf")
    assert psnr(output, reference, y_channel=True) < 30


def _reference_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al.'s ssim_index.m, written out: 11x11 Gaussian (sigma 1.5), 'valid' filtering."""
    axis = np.arange(11) - 5
    window = np.exp(-(axis[:, None] ** 2 + axis[None, :] ** 2) / (2 * 1.5**2))
    window /= window.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def filt(x):
        return ndimage.correlate(x, window, mode="constant")[5:-5, 5:-5]

    mu_a, mu_b = filt(a), filt(b)
    var_a, var_b = filt(a * a) - mu_a**2, filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def test_ssim_matches_the_reference_formulation():
    rng = np.random.default_rng(3)
    clean = ndimage.gaussian_filter(rng.random((48, 40)), 2)
    clean = (clean - clean.min()) / (clean.max() - clean.min())
    noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1)
    expected = _reference_ssim(to_8bit_levels(noisy), to_8bit_levels(clean))
    assert ssim(noisy[..., None], clean[..., None]) == pytest.approx(expected, abs=1e-6)
    assert 0.2 < expected < 0.9


def test_ssim_of_colour_is_the_mean_over_channels():
    rng = np.random.default_rng(4)
    clean = rng.random((32, 32, 3))
    noisy = clean + rng.normal(0, 0.05, clean.shape)
    per_channel = [ssim(noisy[..., c : c + 1], clean[..., c : c + 1]) for c in range(3)]
    assert ssim(noisy, clean) == pytest.approx(np.mean(per_channel), abs=1e-9)


def test_metrics_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))


def test_noise_estimate_on_flat_and_textured_synthetic_images():
    flat = np.full((128, 128, 3), 0.5, np.float32)
    assert estimate_noise_sigma(add_gaussian_noise(flat, 30, seed=1)) == pytest.approx(30, abs=1)
    assert estimate_noise_sigma(flat) < 0.5


def test_correlated_noise_is_caught_at_half_resolution():
    # white noise blurred by a 3x3 box: its finest details are gone, as in a camera's output
    rng = np.random.default_rng(3)
    white = rng.standard_normal((256, 256, 1)) * 40 / 255
    correlated = 0.5 + cv2.blur(white, (3, 3))[..., None]
    full_resolution_only = estimate_noise_sigma(correlated, scales=(1,))
    assert full_resolution_only < 8
    assert estimate_noise_sigma(correlated) > 2 * full_resolution_only


CBSD68 = data_root() / "test" / "CBSD68"


@pytest.mark.skipif(not CBSD68.is_dir(), reason="the shared datasets are not beside the repo")
@pytest.mark.parametrize("sigma", [5, 15, 25, 50])
def test_noise_estimate_within_2_on_cbsd68(sigma):
    errors = []
    for index, path in enumerate(image_files(CBSD68)):
        noisy = add_gaussian_noise(read_image(path).pixels, sigma, seed=index)
        errors.append(abs(estimate_noise_sigma(noisy) - sigma))
    # The half-resolution estimate (for correlated real noise) reads some texture as noise at
    # low levels: on CBSD68 at sigma 5 the mean error is 0.3 and the worst image is off by 1.8.
    assert np.mean(errors) < 0.5
    assert np.max(errors) < 2.0
