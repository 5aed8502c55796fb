"""The inference runtime: frozen networks run by ONNX Runtime agree with PyTorch at any size."""

import numpy as np
import pytest
import torch

from brightroom.errors import BrightroomError
from brightroom.metrics import psnr
from brightroom.nn import runtime
from brightroom.nn.denoiser import NoiseLevelUNet
from brightroom.nn.inference import denoise_tiled, estimate_tiled, run_padded, upscale_tiled
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
    assert list(runtime._FROZEN[net].sessions) == [(2, (), False)]  # one export serves every size
    assert not net.training  # the export leaves the network in eval mode


def test_a_network_in_training_is_never_exported(fp32):
    net = _tiny_denoiser()
    x, sigma = torch.rand(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    before = runtime.run(net, x, sigma)
    with torch.no_grad():
        net.tail.weight.add_(0.5)  # a training step
    assert net not in runtime._FROZEN
    assert not torch.allclose(runtime.run(net, x, sigma), before)


def test_constants_get_one_export_each(fp32):
    torch.manual_seed(0)
    net = runtime.freeze(MultiScaleSR(width=8, blocks=1, scales=(2, 3)))
    image = np.random.default_rng(0).random((11, 14, 3)).astype(np.float32)
    assert upscale_tiled(net, image, 2).shape == (22, 28, 3)
    assert upscale_tiled(net, image, 3).shape == (33, 42, 3)
    assert sorted(runtime._FROZEN[net].sessions) == [(1, (("scale", 2),), False), (1, (("scale", 3),), False)]


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



@pytest.mark.skipif(not runtime.native_bf16(), reason="oneDNN's fused bfloat16 convolutions need native bfloat16")
def test_fused_residual_blocks_agree_with_the_plain_ones(monkeypatch):
    from brightroom.nn import blocks

    torch.manual_seed(0)
    block = blocks.ResidualBlock(16).eval()
    x = torch.randn(1, 16, 24, 40).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    calls = []
    fused_conv = blocks._fused_conv
    monkeypatch.setattr(blocks, "_fused_conv", lambda *args: calls.append(args[2]) or fused_conv(*args))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        fused = block(x)
        monkeypatch.setattr(blocks, "_fusable", lambda x: False)
        plain = block(x)
    assert calls == ["relu", "add"] and fused.dtype == torch.bfloat16
    # the same up to bfloat16 rounding (8 significant bits) of the intermediate results
    assert torch.allclose(fused.float(), plain.float(), rtol=2**-6, atol=2**-6)
    assert not torch.equal(fused, x)

# int8: networks quantised by their shipped activation ranges (brightroom.nn.quantize)

def _ranges_of(net: torch.nn.Module, feeds: list[dict]) -> dict:
    from brightroom.nn.quantize import measure_ranges

    example = tuple(torch.from_numpy(x) for x in feeds[0].values())
    return {"model": measure_ranges(runtime.onnx_bytes(net, example), feeds)}


def _denoiser_feeds(count: int) -> list[dict]:
    rng = np.random.default_rng(3)
    return [{"input0": rng.random((1, 3, 32, 32), dtype=np.float32),
             "input1": np.full((1, 1, 32, 32), 0.1, np.float32)} for _ in range(count)]


def test_int8_runs_a_network_whose_model_ships_ranges_and_stays_close(precision):
    net, twin = _tiny_denoiser(), _tiny_denoiser()
    runtime.freeze(net, _ranges_of(twin, _denoiser_feeds(4)))
    x, sigma = torch.rand(1, 3, 40, 24), torch.full((1, 1, 40, 24), 0.1)
    precision("int8")
    quantised = runtime.run(net, x, sigma).numpy()
    precision("fp32")
    exact = runtime.run(net, x, sigma).numpy()
    assert sorted(runtime._FROZEN[net].sessions) == [(2, (), False), (2, (), True)]
    assert 0 < np.abs(quantised - exact).max() < 0.05  # quantised: not bit-equal, but close


def test_without_shipped_ranges_int8_computes_in_float(precision):
    net, twin = _tiny_denoiser(), _tiny_denoiser()
    runtime.freeze(net)
    precision("int8")
    x, sigma = torch.rand(1, 3, 16, 16), torch.full((1, 1, 16, 16), 0.1)
    assert torch.allclose(runtime.run(net, x, sigma), twin(x, sigma).detach(), atol=1e-5)
    assert list(runtime._FROZEN[net].sessions) == [(2, (), False)]


def test_ranges_that_do_not_fit_the_network_are_a_clear_error(precision):
    net = _tiny_denoiser()
    ranges = _ranges_of(_tiny_denoiser(), _denoiser_feeds(1))
    ranges["model"].pop(sorted(ranges["model"])[0])
    runtime.freeze(net, ranges)
    precision("int8")
    with pytest.raises(BrightroomError, match="the int8 ranges do not fit this network"):
        runtime.run(net, torch.rand(1, 3, 16, 16), torch.full((1, 1, 16, 16), 0.1))


def test_calibration_records_what_each_part_of_a_model_is_fed(precision):
    from brightroom.nn.real import RealPhotoDenoiser

    torch.manual_seed(0)
    net = runtime.freeze(RealPhotoDenoiser(widths=(8, 16, 32), blocks=1, estimator_width=8, estimator_blocks=1))
    image = np.random.default_rng(4).random((32, 48, 3)).astype(np.float32)
    with runtime.recording_inputs() as seen:
        levels = estimate_tiled(net.estimator, image)
        denoise_tiled(net.denoiser, image, levels)
    assert [(part, len(feeds)) for _, part, _, feeds in seen] == [("estimator", 1), ("denoiser", 1)]
    assert seen[1][3][0]["input0"].shape == (1, 3, 32, 48)
    assert not runtime._RECORDING  # recording ends with the block


@pytest.mark.parametrize("name", ["denoise-color", "denoise-real", "deblock", "sr-classic"])
def test_shipped_ranges_fit_their_networks_and_int8_stays_close_to_float(precision, name):
    from brightroom.nn.quantize import load_ranges, ranges_file

    entry = get_model(name)
    assert ranges_file(entry.weights).is_file()
    networks = load_ranges(entry.weights)  # {} where measured on other weights: calibrate again
    assert networks
    net = load_model(name)
    image = np.random.default_rng(5).random((48, 64, 3)).astype(np.float32) * 0.5 + 0.25
    outputs = {}
    for value in ("fp32", "int8"):
        precision(value)
        if entry.task == "sr":
            assert {f"model scale={s}" for s in entry.scales} == set(networks)
            outputs[value] = upscale_tiled(net, image, 2)
        elif name == "deblock":
            outputs[value] = denoise_tiled(net.restorer, image[..., :1], np.full((48, 64, 2), [0.7, 0.0], np.float32))
        elif name == "denoise-real":
            outputs[value] = denoise_tiled(net.denoiser, image, np.full((48, 64, 2), 0.05, np.float32))
        else:
            outputs[value] = run_padded(net, image, 25 / 255)
    assert 40 < psnr(outputs["int8"], outputs["fp32"]) < 90  # int8 did run, and is close


@pytest.mark.datasets
@pytest.mark.slow
def test_calibration_measures_every_network_the_task_feeds(tmp_path):
    import json

    from brightroom.datasets import data_root
    from brightroom.nn.quantize import quantise
    from brightroom.train.calibrate import calibrate

    if not (data_root() / "train" / "train400_gray").is_dir():
        pytest.skip("the training photos are not beside the repo")
    path = calibrate("denoise-gray", tmp_path / "ranges.json", progress=lambda line: None)
    record = json.loads(path.read_text())
    assert record["model"] == "denoise-gray" and list(record["networks"]) == ["model"]
    ranges = record["networks"]["model"]
    assert all(low <= high for low, high in ranges.values()) and "/net/tail/Conv_output_0" in ranges
    net = load_model("denoise-gray")
    model = runtime.onnx_bytes(net, (torch.zeros(1, 1, 16, 16),) * 2)
    assert len(quantise(model, ranges)) < len(model)  # they fit: int8 weights are smaller


def test_calibrating_an_unknown_model_is_a_clear_error(capsys):
    from brightroom.cli import main

    assert main(["calibrate", "no-such-model"]) != 0
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


def test_ranges_measured_on_other_weights_are_not_used(tmp_path):
    import json

    from brightroom.nn.quantize import load_ranges, ranges_file, weights_digest

    weights = tmp_path / "model.weights"
    weights.write_bytes(b"first weights")
    record = {"model": "model", "weights_sha256": weights_digest(weights), "networks": {"model": {"x": [0, 1]}}}
    ranges_file(weights).write_text(json.dumps(record))
    assert load_ranges(weights) == {"model": {"x": [0, 1]}}
    weights.write_bytes(b"retrained weights")
    assert load_ranges(weights) == {}
    assert load_ranges(tmp_path / "uncalibrated.weights") == {}


def test_to_tensor_takes_read_only_and_flipped_arrays_silently():
    import warnings

    from brightroom.nn.inference import to_tensor

    levels = np.broadcast_to(np.float32([0.1, 0.2]), (4, 5, 2))  # read-only, zero strides
    image = np.arange(60, dtype=np.float32).reshape(4, 5, 3)[::-1, ::-1]  # negative strides
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert to_tensor(levels)[0, :, 3, 4].tolist() == [np.float32(0.1), np.float32(0.2)]
        tensor = to_tensor(image)
    assert tensor.is_contiguous(memory_format=torch.channels_last)
    assert np.array_equal(tensor[0].permute(1, 2, 0).numpy(), image)
