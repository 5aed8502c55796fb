"""int8 networks for CPUs without bfloat16: ONNX Runtime's static QDQ quantisation (int8 weights
per channel, uint8 activations) of an exported network, from the ranges of its activations.

The ranges are measured once per shipped model, by running its task on training photos
(``brightroom calibrate MODEL``, :mod:`brightroom.train.calibrate`), and shipped beside its
weights as ``weights/NAME.int8.json``: one table of tensor ranges per network the runtime exports
(the model itself, or a part of it such as the real-photo model's ``denoiser``, and one per
constant such as an SR network's scale). The runtime (:mod:`.runtime`) quantises a network only
where its model has that file; ``brightroom export --int8`` measures its own ranges.

The convolutions at the network's finest resolution stay in float: 8-bit steps there are 8-bit
steps on the fine detail itself. Quantising every convolution but the first and last lost 0.43 dB
on CBSD68 at sigma 25; keeping the U-Net's first level (a third of its work) in float lost 0.03 and
still ran 1.4 times faster than float32 as an exported file on an AVX2 CPU (docs/export.md).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np

from ..errors import BrightroomError, quiet_logger

RANGES_SUFFIX = ".int8.json"
CONVOLUTIONS = ("Conv", "ConvTranspose")
# With the activations (ReLU) quantised too, a convolution's output is quantised over the ReLU's
# range, not over its negative half, which the ReLU drops: the real-photo model lost 0.05 dB on
# CC15 instead of 0.11, and ran faster. The additions stay in float (quantised, they lost 0.3 dB).
QUANTISED_OPS = (*CONVOLUTIONS, "Relu")
# the U-Net's (nn.denoiser.NoiseLevelUNet) layers at its first level and at full resolution, by
# their ONNX node names
_FINEST_LEVEL = ("/head/", "/tail/", "/enc0/", "/dec0/", "/down0/", "/up0/", "/full_")


def ranges_file(weights: Path) -> Path:
    """Where a weights file's int8 activation ranges are shipped.

    >>> from brightroom.nn.zoo import get_model
    >>> ranges_file(get_model("denoise-color").weights).name
    'denoise-color.int8.json'
    """
    return weights.with_name(weights.with_suffix("").name + RANGES_SUFFIX)


def weights_digest(weights: Path) -> str:
    """The SHA-256 of a weights file: a ranges file names the weights it was measured on."""
    return hashlib.sha256(Path(weights).read_bytes()).hexdigest()


def load_ranges(weights: Path) -> dict[str, dict[str, list[float]]]:
    """The shipped ranges of a weights file, {network: {tensor: [lowest, highest]}}; {} where there
    are none, or where they were measured on other weights (retrained, not calibrated again)."""
    path = ranges_file(weights)
    if not path.is_file():
        return {}
    record = json.loads(path.read_text())
    return record["networks"] if record.get("weights_sha256") == weights_digest(weights) else {}


def network_key(part: str, constants: dict) -> str:
    """The name of one exported network in a ranges file: the model's part ('' for the whole
    model) and its constants.

    >>> network_key("", {}), network_key("denoiser", {}), network_key("", {"scale": 2})
    ('model', 'denoiser', 'model scale=2')
    """
    return " ".join([part or "model", *(f"{key}={value}" for key, value in sorted(constants.items()))])


def float_convolutions(model) -> list[str]:
    """The convolutions of an ONNX model that stay in float: the U-Net's finest level where the
    model has one, else its first and last convolution."""
    convolutions = [node.name for node in model.graph.node if node.op_type in CONVOLUTIONS]
    return [name for name in convolutions if any(part in name for part in _FINEST_LEVEL)] \
        or convolutions[:1] + convolutions[-1:]


def measure_ranges(model: bytes, feeds: list[dict[str, np.ndarray]]) -> dict[str, list[float]]:
    """The lowest and highest value of every tensor the quantiser needs, over ``feeds`` (ONNX
    Runtime's min-max calibration).

    >>> from brightroom.nn.denoiser import NoiseLevelUNet
    >>> from brightroom.nn.runtime import onnx_bytes
    >>> import torch
    >>> model = onnx_bytes(NoiseLevelUNet(1, (8, 16, 32), 1).eval(), (torch.zeros(1, 1, 16, 16),) * 2)
    >>> ranges = measure_ranges(model, [{"input0": np.ones((1, 1, 16, 16), np.float32),
    ...                                  "input1": np.full((1, 1, 16, 16), 0.1, np.float32)}])
    >>> low, high = ranges["/net/tail/Conv_output_0"]; bool(low <= high)
    True
    """
    from onnxruntime.quantization import CalibrationDataReader
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self.iterator = iter(feeds)

        def get_next(self):
            return next(self.iterator, None)

    with tempfile.TemporaryDirectory() as folder, quiet_logger():
        path = Path(folder) / "model.onnx"
        path.write_bytes(model)
        calibrator = create_calibrator(path, list(QUANTISED_OPS), augmented_model_path=str(Path(folder) / "augmented.onnx"),
                                       calibrate_method=CalibrationMethod.MinMax)
        calibrator.collect_data(Feeds())
        tensors = calibrator.compute_data()
    return {name: [float(np.min(data.range_value[0])), float(np.max(data.range_value[1]))]
            for name, data in tensors.data.items()}


def quantise(model: bytes, ranges: dict[str, list[float]]) -> bytes:
    """``model`` (ONNX bytes) with its convolutions in int8, by activation ``ranges`` measured on
    it (:func:`measure_ranges`), its finest level in float; its metadata kept."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import CalibrationMethod, TensorData, TensorsData, save_tensors_data

    proto = onnx.load_from_string(model)
    needed = {name for node in proto.graph.node if node.op_type in CONVOLUTIONS for name in (*node.input[:1], *node.output)}
    missing = sorted(needed - ranges.keys())
    if missing:
        raise BrightroomError(f"the int8 ranges do not fit this network (no range for '{missing[0]}'): "
                              "measure them again with 'brightroom calibrate'.")
    table = TensorsData(CalibrationMethod.MinMax, {name: TensorData(lowest=np.float32(low), highest=np.float32(high))
                                                   for name, (low, high) in ranges.items()})
    with tempfile.TemporaryDirectory() as folder, quiet_logger():
        cache, output = Path(folder) / "ranges.json", Path(folder) / "int8.onnx"
        save_tensors_data(table, cache)
        quantize_static(proto, output, None, quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=float_convolutions(proto),
                        op_types_to_quantize=list(QUANTISED_OPS), calibration_cache_path=cache)
        quantised = onnx.load(str(output))
    del quantised.metadata_props[:]
    for prop in proto.metadata_props:
        quantised.metadata_props.add(key=prop.key, value=prop.value)
    return quantised.SerializeToString()
