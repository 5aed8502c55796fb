import numpy as np
import pytest

from brightroom import degrade
from brightroom.errors import BrightroomError


def test_gaussian_noise_has_the_asked_sigma_is_seeded_and_not_clipped():
    white = np.ones((200, 200, 3), np.float32)
    noisy = degrade.add_gaussian_noise(white, 25, seed=5)
    assert (noisy - white).std() * 255 == pytest.approx(25, rel=0.01)
    assert noisy.max() > 1.1  # the literature's convention: no clipping
    np.testing.assert_array_equal(noisy, degrade.add_gaussian_noise(white, 25, seed=5))
    assert not np.array_equal(noisy, degrade.add_gaussian_noise(white, 25, seed=6))
    assert noisy.dtype == np.float32


def test_poisson_gaussian_variance_grows_with_signal():
    shot, read = 0.01, 0.02
    for level in (0.1, 0.8):
        flat = np.full((300, 300, 1), level, np.float32)
        noisy = degrade.add_poisson_gaussian_noise(flat, shot, read, seed=1)
        assert noisy.var() == pytest.approx(shot * level + read**2, rel=0.03)


def test_bicubic_downsampling_crops_to_a_multiple_first():
    assert degrade.downsample_bicubic(np.zeros((17, 13, 3), np.float32), 4).shape == (4, 3, 3)


def test_jpeg_degrades_more_at_lower_quality_and_keeps_shape():
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(0.5, 0.2, (64, 64, 3)), 0, 1).astype(np.float32)
    errors = [np.abs(degrade.jpeg_compress(image, q) - image).mean() for q in (95, 50, 10)]
    assert errors[0] < errors[1] < errors[2]
    assert degrade.jpeg_compress(image[..., :1], 50).shape == (64, 64, 1)
    with pytest.raises(BrightroomError, match="quality"):
        degrade.jpeg_compress(image, 0)


def test_blur_kernels_are_normalised_and_shaped():
    gaussian = degrade.gaussian_kernel(2.0)
    assert gaussian.shape == (13, 13) and gaussian.sum() == pytest.approx(1.0)
    assert gaussian[6, 6] == gaussian.max()
    horizontal = degrade.motion_kernel(7, 0)
    assert horizontal.sum() == pytest.approx(1.0)
    assert np.count_nonzero(horizontal.sum(axis=1)) == 1  # one row only
    vertical = degrade.motion_kernel(7, 90)
    assert np.count_nonzero(vertical.sum(axis=0)) == 1


def test_blur_smooths_an_edge_and_keeps_flat_regions():
    edge = np.zeros((32, 32, 1), np.float32)
    edge[:, 16:] = 1
    blurred = degrade.blur(edge, degrade.gaussian_kernel(2.0))
    assert 0.2 < blurred[16, 15, 0] < 0.5 and 0.5 < blurred[16, 16, 0] < 0.8
    assert blurred[16, 0, 0] == pytest.approx(0, abs=1e-6)


def test_bad_degradation_parameters_are_errors():
    with pytest.raises(BrightroomError):
        degrade.add_gaussian_noise(np.zeros((4, 4, 1)), -1)
    with pytest.raises(BrightroomError):
        degrade.gaussian_kernel(0)
    with pytest.raises(BrightroomError):
        degrade.motion_kernel(0.5, 10)
