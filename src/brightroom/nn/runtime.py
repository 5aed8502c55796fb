"""How a network computes: PyTorch in bfloat16 where the CPU has it natively, else ONNX Runtime
in int8 (where the model ships its activation ranges, :mod:`.quantize`) or float32.

A shipped network is *frozen* (its weights never change), so it can be exported once per
process, in memory, to ONNX with free height and width, and run by ONNX Runtime. On AVX2 CPUs
(no native bfloat16) ONNX Runtime's float32 convolutions ran the shipped denoisers 1.1-1.3x
faster than PyTorch's on the same images, and int8 1.2-1.4x faster again (docs/export.md).
Networks being trained are never frozen and always run in PyTorch. Only the quantiser's
scratch files touch the disk (a temporary folder).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import warnings
import weakref
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import BrightroomError

PRECISIONS = ("auto", "fp32", "bf16", "int8")


@functools.cache
def native_bf16() -> bool:
    """Whether this machine computes bfloat16 natively (CUDA, or a CPU with AVX-512 BF16 or AMX)."""
    return torch.cuda.is_available() or torch.ops.mkldnn._is_mkldnn_bf16_supported()


@functools.cache
def inference_precision() -> str:
    """'bf16', 'int8' or 'fp32': what networks compute in, from ``BRIGHTROOM_PRECISION`` (auto,
    fp32, bf16, int8).

    ``auto`` takes bf16 where the CPU has native bfloat16 arithmetic (AVX-512 BF16 or AMX),
    where it roughly doubles the speed, and int8 elsewhere, where bf16 would be emulated. bf16
    applies to the convolutions' arithmetic only (weights stay float32); int8 to the networks
    whose model ships its activation ranges, the others computing in float32.

    >>> inference_precision() in ("bf16", "int8", "fp32")
    True
    """
    asked = os.environ.get("BRIGHTROOM_PRECISION", "auto").strip().lower() or "auto"
    if asked not in PRECISIONS:
        raise BrightroomError(f"BRIGHTROOM_PRECISION must be one of {', '.join(PRECISIONS)}, not '{asked}'.")
    if asked == "auto":
        return "bf16" if native_bf16() else "int8"
    return asked


@contextlib.contextmanager
def computing_in(precision: str):
    """Networks compute in ``precision`` (as ``BRIGHTROOM_PRECISION`` would say) while the block runs."""
    saved = os.environ.get("BRIGHTROOM_PRECISION")
    os.environ["BRIGHTROOM_PRECISION"] = precision
    inference_precision.cache_clear()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("BRIGHTROOM_PRECISION", None)
        else:
            os.environ["BRIGHTROOM_PRECISION"] = saved
        inference_precision.cache_clear()


def describe() -> str:
    """What frozen networks run on here, for benchmark reports.

    >>> describe().startswith(("bf16 on PyTorch", "int8 where calibrated", "fp32 on ONNX Runtime"))
    True
    """
    if inference_precision() == "bf16":
        return f"bf16 on PyTorch {torch.__version__}"
    import onnxruntime

    engine = f"on ONNX Runtime {onnxruntime.__version__}"
    return f"int8 where calibrated, else fp32, {engine}" if inference_precision() == "int8" else f"fp32 {engine}"


@contextlib.contextmanager
def inference_mode():
    """No gradients, and bf16 autocast when :func:`inference_precision` says so."""
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=inference_precision() == "bf16"):
        yield


@dataclass
class _Frozen:
    """A frozen network: which part of its model it is, its model's int8 ranges, its sessions."""

    part: str
    ranges: dict
    sessions: dict = field(default_factory=dict)  # (input count, constants, int8) -> ONNX Runtime session


_FROZEN: weakref.WeakKeyDictionary[torch.nn.Module, _Frozen] = weakref.WeakKeyDictionary()
_RECORDING: list[list] = []  # while calibrating: [(network, part, constants, feeds)]


def freeze(net: torch.nn.Module, int8_ranges: dict | None = None) -> torch.nn.Module:
    """Declare that ``net``'s weights will not change, so :func:`run` may use an exported copy of
    it or of any of its parts; ``int8_ranges`` are its model's shipped activation ranges
    (:func:`.quantize.load_ranges`), for int8.

    >>> from brightroom.nn.denoiser import NoiseLevelUNet
    >>> net = freeze(NoiseLevelUNet(1, (8, 16, 32), 1).eval())
    >>> run(net, torch.zeros(1, 1, 16, 24), torch.zeros(1, 1, 16, 24)).shape
    torch.Size([1, 1, 16, 24])
    """
    for part, module in net.eval().named_modules():
        _FROZEN.setdefault(module, _Frozen(part, int8_ranges or {}))
    return net


@contextlib.contextmanager
def recording_inputs():
    """Collect what frozen networks are fed while the block runs: a list of (network, part,
    constants, list of feeds), one entry per exported network, for measuring int8 ranges."""
    seen: list = []
    _RECORDING.append(seen)
    try:
        yield seen
    finally:
        _RECORDING.remove(seen)


def run(net: torch.nn.Module, *inputs: torch.Tensor, **constants) -> torch.Tensor:
    """``net(*inputs, **constants)`` for inference, on the fastest engine this machine has.

    ``inputs`` are N x C x H x W tensors, any H and W; ``constants`` are plain values (an SR
    network's scale) fixed in an export, one exported copy per value.
    """
    frozen = _FROZEN.get(net)
    if _RECORDING and frozen is not None:
        _record(net, frozen.part, constants, _feeds(inputs))
    if inference_precision() == "bf16" or frozen is None:
        # oneDNN's convolutions are fastest on channels-last tensors
        inputs = tuple(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in inputs)
        with inference_mode():
            return net(*inputs, **constants)
    from .quantize import network_key

    ranges = frozen.ranges.get(network_key(frozen.part, constants)) if inference_precision() == "int8" else None
    key = (len(inputs), tuple(sorted(constants.items())), bool(ranges))
    if key not in frozen.sessions:
        frozen.sessions[key] = _onnx_session(net, inputs, constants, ranges)
    return torch.from_numpy(frozen.sessions[key].run(None, _feeds(inputs))[0])


def _feeds(inputs: tuple[torch.Tensor, ...]) -> dict[str, np.ndarray]:
    return {f"input{i}": np.ascontiguousarray(tensor.detach().float().numpy()) for i, tensor in enumerate(inputs)}


def _record(net: torch.nn.Module, part: str, constants: dict, feeds: dict) -> None:
    for seen in _RECORDING:
        entry = next((e for e in seen if e[0] is net and e[2] == constants), None)
        if entry is None:
            entry = (net, part, dict(constants), [])
            seen.append(entry)
        entry[3].append(feeds)


TRACE_SIZE = 64  # a multiple of every network's size multiple


class _Bound(torch.nn.Module):
    """A network with its constant arguments filled in, for export."""

    def __init__(self, net: torch.nn.Module, constants: dict):
        super().__init__()
        self.net, self.constants = net, constants

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.net(*inputs, **self.constants)


def onnx_bytes(net: torch.nn.Module, inputs: tuple[torch.Tensor, ...], constants: dict | None = None,
               names: list[str] | None = None) -> bytes:
    """``net`` (with ``constants`` fixed) as an ONNX model with free height and width, in memory.

    >>> from brightroom.nn.denoiser import NoiseLevelUNet
    >>> len(onnx_bytes(NoiseLevelUNet(1, (8, 16, 32), 1).eval(), (torch.zeros(1, 1, 16, 16),) * 2)) > 1000
    True
    """
    names = names or [f"input{i}" for i in range(len(inputs))]
    # traced on a corner of the inputs: the graph takes any height and width, and tracing runs the
    # network once (on a 12 MP photo's first 912 x 912 tile that cost 4 s of a cold start)
    example = tuple((tensor[..., :TRACE_SIZE, :TRACE_SIZE] if tensor.dim() == 4 else tensor).detach().float().contiguous()
                    for tensor in inputs)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        # eval(): the exporter restores the wrapper's mode afterwards, and with it the network's
        torch.onnx.export(_Bound(net, constants or {}).eval(), example, buffer, input_names=names,
                          output_names=["output"], dynamic_axes={name: {2: "height", 3: "width"} for name in names},
                          opset_version=17, dynamo=False)
    return buffer.getvalue()


def _onnx_session(net: torch.nn.Module, inputs: tuple[torch.Tensor, ...], constants: dict,
                  int8_ranges: dict | None = None):
    import onnxruntime

    model = onnx_bytes(net, inputs, constants)
    if int8_ranges:
        from .quantize import quantise

        model = quantise(model, int8_ranges)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
