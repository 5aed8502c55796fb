"""The inference runtime: frozen networks run by ONNX Runtime agree with PyTorch at any size."""

import numpy as np
import pytest
import torch

from brightroom.nn import runtime
from brightroom.nn.denoiser import NoiseLevelUNet
from brightroom.nn.inference import run_padded, upscale_tiled
from brightroom.nn.registry import load_weights
from brightroom.nn.sr import MultiScaleSR
from brightroom.nn.zoo import get_model, load_model


@pytest.fixture
def fp32(precision):
    """Float32 inference (so frozen networks go to ONNX Runtime), whatever this CPU is."""
    precision("fp32")


def _tiny_denoiser() -> NoiseLevelUNet:
    torch.manual_seed(0)
    return NoiseLevelUNet(3, (8, 16, 32), 1).eval()


def test_a_frozen_network_is_exported_once_and_agrees_at_every_size(fp32):
    net = _tiny_denoiser()
    twin = _tiny_denoiser()
    runtime.freeze(net)
    for height, width in [(24, 40), (64, 16), (8, 8)]:
        x, sigma = torch.rand(1, 3, height, width), torch.full((1, 1, height, width), 0.1)
        expected = twin(x, sigma).detach()
        assert torch.allclose(runtime.run(net, x, sigma), expected, atol=1e-5)
    assert list(runtime._SESSIONS[net]) == [(2, ())]  # one export serves every size
    assert not net.training  # the export leaves the network in eval mode


def test_a_network_in_training_is_never_exported(fp32):
    net = _tiny_denoiser()
    x, sigma = torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    before = runtime.run(net, x, sigma)
    with torch.no_grad():
        net.tail.weight.add_(0.5)  # a training step
    assert net not in runtime._SESSIONS
    assert not torch.allclose(runtime.run(net, x, sigma), before)


def test_constants_get_one_export_each(fp32):
    torch.manual_seed(0)
    net = runtime.freeze(MultiScaleSR(width=8, blocks=1, scales=(2, 3)))
    image = np.random.default_rng(0).random((11, 14, 3)).astype(np.float32)
    assert upscale_tiled(net, image, 2).shape == (22, 28, 3)
    assert upscale_tiled(net, image, 3).shape == (33, 42, 3)
    assert sorted(runtime._SESSIONS[net]) == [(1, (("scale", 2),)), (1, (("scale", 3),))]


@pytest.mark.parametrize("name, channels", [("denoise-color", 3), ("denoise-gray", 1)])
def test_shipped_denoisers_agree_with_pytorch(fp32, name, channels):
    image = np.random.default_rng(1).random((75, 130, channels)).astype(np.float32)
    exported = run_padded(load_model(name), image, 25 / 255)
    eager = run_padded(load_weights(get_model(name).weights), image, 25 / 255)
    assert np.abs(exported - eager).max() < 1e-4


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_shipped_upscaler_agrees_with_pytorch_up_to_the_borders(fp32, scale):
    image = np.random.default_rng(2).random((29, 41, 3)).astype(np.float32)
    exported = upscale_tiled(load_model("sr-classic"), image, scale)
    eager = upscale_tiled(load_weights(get_model("sr-classic").weights), image, scale)
    assert exported.shape == (29 * scale, 41 * scale, 3)
    assert np.abs(exported - eager).max() < 1e-4  # bicubic borders included


def test_the_report_names_the_engine(fp32):
    assert runtime.describe().startswith("fp32 on ONNX Runtime ")


def test_under_bf16_autocast_only_the_layer_reading_the_image_stays_float32():
    net = _tiny_denoiser()
    dtypes = {}
    for name in ("head", "tail"):
        getattr(net, name).register_forward_hook(lambda module, args, out, name=name: dtypes.update({name: out.dtype}))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        net(torch.rand(1, 3, 16, 16), torch.full((1, 1, 16, 16), 0.1))
    assert dtypes == {"head": torch.float32, "tail": torch.bfloat16}
