import numpy as np
import pytest
from PIL import Image

from brightroom.errors import BrightroomError
from brightroom.resize import imresize


def _pil_float_resize(channel: np.ndarray, size: tuple[int, int], resample) -> np.ndarray:
    return np.asarray(Image.fromarray(channel.astype(np.float32), mode="F").resize(size, resample))


@pytest.mark.parametrize("scale", [0.5, 1 / 3, 0.25, 2, 3])
def test_bicubic_matches_pillow_away_from_borders(scale):
    # Pillow's float bicubic uses the same Keys kernel (a = -0.5), pixel-centre convention
    # and kernel stretching when shrinking; only the border handling differs from MATLAB.
    rng = np.random.default_rng(0)
    image = rng.random((48, 60)).astype(np.float32)
    ours = imresize(image, scale)
    pillow = _pil_float_resize(image, (ours.shape[1], ours.shape[0]), Image.Resampling.BICUBIC)
    margin = max(4, int(4 / scale)) if scale < 1 else 2 * int(scale) + 2
    inner = slice(margin, -margin) if scale >= 1 else slice(3, -3)
    np.testing.assert_allclose(ours[inner, inner], pillow[inner, inner], atol=1e-4)


def test_output_size_is_ceiling_of_scaled_size():
    assert imresize(np.zeros((10, 7), np.float32), 0.5).shape == (5, 4)
    assert imresize(np.zeros((5, 5, 3), np.float32), 3).shape == (15, 15, 3)
    assert imresize(np.zeros((6, 8, 1), np.float32), output_shape=(3, 2)).shape == (3, 2, 1)


@pytest.mark.parametrize("kernel", ["bicubic", "lanczos2", "lanczos3"])
def test_constant_image_stays_constant(kernel):
    image = np.full((12, 9, 3), 0.3, np.float32)
    for scale in (0.5, 1 / 3, 2, 4):
        np.testing.assert_allclose(imresize(image, scale, kernel=kernel), 0.3, atol=1e-6)


def test_antialiasing_removes_fine_stripes_when_shrinking():
    stripes = np.tile(np.array([0.0, 1.0], np.float32), (8, 16))
    inner = (slice(None), slice(2, -2))  # mirrored borders break the pattern's phase
    assert imresize(stripes, 0.5)[inner].std() < 1e-3
    noise = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    # shrinking 4x averages about 16 pixels into one only with antialiasing
    assert imresize(noise, 0.25).std() < 0.35 * imresize(noise, 0.25, antialiasing=False).std()


def test_bad_arguments_are_clear_errors():
    with pytest.raises(BrightroomError, match="kernel"):
        imresize(np.zeros((4, 4)), 2, kernel="nearest-ish")
    with pytest.raises(BrightroomError, match="positive scale"):
        imresize(np.zeros((4, 4)), 0)
