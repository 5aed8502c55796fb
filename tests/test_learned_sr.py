"""Learned super-resolution: shapes per scale, tiling, the shipped weights, quality on a photo."""

import numpy as np
import pytest
import torch

from brightroom import upscale
from brightroom.degrade import downsample_bicubic
from brightroom.metrics import psnr, to_8bit_levels
from brightroom.nn.inference import upscale_tiled
from brightroom.nn.registry import read_metadata
from brightroom.nn.sr import MultiScaleSR
from brightroom.nn.zoo import get_model, load_model

needs_classic = pytest.mark.skipif(not get_model("sr-classic").shipped, reason="sr-classic weights not shipped")


@pytest.fixture(scope="module")
def tiny_net() -> MultiScaleSR:
    torch.manual_seed(0)
    return MultiScaleSR(width=8, blocks=2, scales=(2, 3, 4)).eval()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[96:384, 120:432].astype(np.float32) / 255.0  # 288 x 312, divisible by 2, 3, 4


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_shape_per_scale(tiny_net, scale):
    image = np.random.default_rng(scale).random((37, 52, 3)).astype(np.float32)
    assert upscale_tiled(tiny_net, image, scale).shape == (37 * scale, 52 * scale, 3)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_tiled_and_whole_image_agree(tiny_net, scale):
    image = np.random.default_rng(0).random((90, 130, 3)).astype(np.float32)
    whole = upscale_tiled(tiny_net, image, scale, tile=256)  # one tile
    tiled = upscale_tiled(tiny_net, image, scale, tile=48, overlap=24, margin=10)
    assert np.abs(whole - tiled).max() < 1e-4


def test_a_scale_without_a_tail_is_refused(tiny_net):
    with pytest.raises(ValueError, match=r"upscales by \(2, 3, 4\), not 5"):
        tiny_net(torch.zeros(1, 3, 8, 8), 5)


@needs_classic
@pytest.mark.parametrize("name", ["sr-classic", "sr-real"])
def test_shipped_weights_load_with_their_recipe(name):
    if not get_model(name).shipped:
        pytest.skip(f"{name} weights not shipped")
    model = load_model(name)
    assert isinstance(model, MultiScaleSR) and model.scales == (2, 3, 4) and not model.training
    metadata = read_metadata(get_model(name).weights)
    assert int(metadata["steps"]) > 0 and metadata["name"] == name
    assert get_model(name).weights.stat().st_size < 5_000_000


@needs_classic
@pytest.mark.parametrize("scale", [2, 4])
def test_learned_upscaler_beats_bicubic_on_a_photo(photo, scale):
    low = to_8bit_levels(downsample_bicubic(photo, scale)) / 255.0
    learned = psnr(upscale(low, scale, "brightroom"), photo, crop=scale, y_channel=True)
    bicubic = psnr(upscale(low, scale, "bicubic"), photo, crop=scale, y_channel=True)
    assert learned > bicubic + 0.5


@needs_classic
def test_self_ensemble_upscales_at_least_as_well(photo):
    low = to_8bit_levels(downsample_bicubic(photo, 3)) / 255.0
    single = upscale(low, 3, "brightroom")
    ensemble = upscale(low, 3, "brightroom-ensemble")
    assert ensemble.shape == single.shape == photo.shape
    assert psnr(ensemble, photo, crop=3, y_channel=True) > psnr(single, photo, crop=3, y_channel=True)


@needs_classic
@pytest.mark.parametrize("method", ["brightroom", "brightroom-ensemble"])
def test_gray_images_stay_gray(photo, method):
    gray = photo.mean(axis=2, keepdims=True)[:64, :64]
    result = upscale(gray, 3, method)
    assert result.shape == (192, 192, 1)
    assert psnr(result, upscale(gray, 3, "bicubic")) > 25  # close to bicubic, not garbage
