import numpy as np
import pytest

from brightroom.color import linear_to_srgb, rgb_to_gray, rgb_to_y, rgb_to_ycbcr, srgb_to_linear, ycbcr_to_rgb


@pytest.mark.parametrize(
    "rgb, expected",
    [
        ((0, 0, 0), (16, 128, 128)),
        ((1, 1, 1), (235, 128, 128)),
        ((1, 0, 0), (81.481, 90.203, 240.0)),  # MATLAB rgb2ycbcr([1 0 0]) * 255
        ((0, 1, 0), (144.553, 53.797, 34.214)),
        ((0, 0, 1), (40.966, 240.0, 109.786)),
    ],
)
def test_ycbcr_matches_matlab_rgb2ycbcr(rgb, expected):
    got = rgb_to_ycbcr(np.array(rgb, np.float32).reshape(1, 1, 3))[0, 0] * 255
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_ycbcr_round_trip():
    x = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-5)


def test_y_of_gray_image_is_the_image_itself():
    gray = np.random.default_rng(1).random((4, 4, 1)).astype(np.float32)
    np.testing.assert_array_equal(rgb_to_y(gray), gray)


def test_gray_uses_bt601_luma():
    assert rgb_to_gray(np.array([[[1.0, 0, 0]]]))[0, 0, 0] == pytest.approx(0.299)


def test_srgb_curve_known_values_and_round_trip():
    assert float(srgb_to_linear(np.array(1.0))) == pytest.approx(1.0)
    assert float(srgb_to_linear(np.array(0.04045))) == pytest.approx(0.04045 / 12.92)
    assert float(linear_to_srgb(np.array(0.18))) == pytest.approx(0.4613561, abs=1e-6)
    x = np.linspace(0, 1, 101, dtype=np.float32)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-5)
