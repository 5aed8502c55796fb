"""On-device export: a zoo model as ONNX, run by onnxruntime alone, gives Brightroom's output."""

import numpy as np
import onnxruntime
import pytest

from brightroom.cli import main
from brightroom.nn.zoo import get_model
from brightroom.tasks import get_method
from conftest import smooth_image


@pytest.mark.parametrize("name", ["denoise-color", "denoise-real"])
def test_an_exported_denoiser_matches_brightroom_within_one_level(name, tmp_path, precision):
    if not get_model(name).shipped:
        pytest.skip(f"{name} is not shipped")
    precision("fp32")
    path = tmp_path / f"{name}.onnx"
    assert main(["export", name, "-o", str(path)]) == 0
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["brightroom_model"] == name and "sRGB in [0, 1]" in meta["inputs"]
    image = np.clip(smooth_image(64, 96, 3) + np.random.default_rng(0).normal(0, 0.05, (64, 96, 3)), 0, 1)
    image = image.astype(np.float32)
    feed = {"image": image.transpose(2, 0, 1)[None]}
    if "sigma" in meta["inputs"]:
        feed["sigma"] = np.full((1, 1, 64, 96), 12 / 255, np.float32)
    exported = session.run(None, feed)[0][0].transpose(1, 2, 0)
    method = get_model(name).method
    ours = get_method("denoise", method).run(image, None if get_model(name).blind else 12.0)
    assert np.abs(np.clip(exported, 0, 1) - np.clip(ours, 0, 1)).max() < 1 / 255


def test_export_errors_are_clear(tmp_path, capsys):
    assert main(["export", "sr-classic", "-o", str(tmp_path / "sr.onnx")]) == 2
    assert "give --scale" in capsys.readouterr().err
    assert main(["export", "no-such", "-o", str(tmp_path / "x.onnx")]) == 2
    assert main(["export", "denoise-gray", "-o", str(tmp_path / "x.png")]) == 2
    assert not list(tmp_path.iterdir())


def test_the_jpeg_model_exports_its_blind_luminance_path_and_the_raw_model_is_refused(tmp_path, precision, capsys):
    import torch

    from brightroom.degrade import jpeg_compress
    from brightroom.nn.zoo import load_model

    if not get_model("deblock").shipped:
        pytest.skip("deblock is not shipped")
    precision("fp32")
    path = tmp_path / "deblock.onnx"
    assert main(["export", "deblock", "-o", str(path)]) == 0
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert "a gray JPEG or the Y of a colour one" in session.get_modelmeta().custom_metadata_map["inputs"]
    plane = jpeg_compress(smooth_image(64, 96, 1), 20).transpose(2, 0, 1)[None]
    exported = session.run(None, {"plane": plane})[0]
    with torch.no_grad():
        ours = load_model("deblock")(torch.from_numpy(plane)).numpy()
    assert np.abs(exported - ours).max() < 1 / 255
    assert main(["export", "denoise-raw", "-o", str(tmp_path / "raw.onnx")]) == 2
    assert "packed Bayer planes" in capsys.readouterr().err


def test_int8_export_keeps_the_finest_level_in_float_and_stays_close(tmp_path, precision):
    import onnx

    from brightroom.metrics import psnr
    from brightroom.nn.export import export_onnx

    if not get_model("denoise-color").shipped:
        pytest.skip("denoise-color is not shipped")
    precision("fp32")
    rng = np.random.default_rng(0)
    calibration = [np.clip(smooth_image(64, 64, 3) + rng.normal(0, 0.1, (64, 64, 3)), 0, 1).astype(np.float32)
                   for _ in range(4)]
    paths = {kind: tmp_path / f"{kind}.onnx" for kind in ("float", "int8")}
    export_onnx("denoise-color", paths["float"])
    export_onnx("denoise-color", paths["int8"], int8=True, calibration=calibration)
    graph = onnx.load(str(paths["int8"])).graph
    dequantised = {node.output[0] for node in graph.node if node.op_type == "DequantizeLinear"}
    quantised = {node.name for node in graph.node if node.op_type == "Conv" and node.input[1] in dequantised}
    assert "/net/middle/middle.0/conv1/Conv" in quantised
    assert not any(part in name for name in quantised for part in ("/head/", "/enc0/", "/dec0/", "/tail/"))
    image = np.clip(smooth_image(64, 96, 3) + rng.normal(0, 0.08, (64, 96, 3)), 0, 1).astype(np.float32)
    feed = {"image": image.transpose(2, 0, 1)[None], "sigma": np.full((1, 1, 64, 96), 20 / 255, np.float32)}
    outputs = {kind: onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)[0]
               for kind, path in paths.items()}
    meta = onnxruntime.InferenceSession(str(paths["int8"]), providers=["CPUExecutionProvider"]).get_modelmeta()
    assert meta.custom_metadata_map["int8"] == "True"
    assert psnr(np.clip(outputs["int8"], 0, 1), np.clip(outputs["float"], 0, 1)) > 45


@pytest.mark.datasets
@pytest.mark.slow
def test_int8_export_of_a_gray_model_calibrates_on_its_own_training_photos(tmp_path):
    from brightroom.datasets import data_root

    if not (data_root() / "train" / "train400_gray").is_dir():
        pytest.skip("the training photos are not beside the repo")
    path = tmp_path / "gray.onnx"
    # its photos are 180 px gray: one channel, cropped to the model's multiple of 8
    assert main(["export", "denoise-gray", "-o", str(path), "--int8"]) == 0
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["int8"] == "True"
    image = smooth_image(64, 64, 1).transpose(2, 0, 1)[None].astype(np.float32)
    out = session.run(None, {"image": image, "sigma": np.zeros_like(image)})[0]
    assert out.shape == image.shape and np.abs(out - image).mean() < 0.02
