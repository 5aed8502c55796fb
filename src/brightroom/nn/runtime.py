"""How a network computes: PyTorch in bfloat16 where the CPU has it natively, else ONNX Runtime
in float32.

A shipped network is *frozen* (its weights never change), so it can be exported once per
process, in memory, to ONNX with free height and width, and run by ONNX Runtime. On AVX2 CPUs
(no native bfloat16) ONNX Runtime's float32 convolutions ran the shipped denoisers 1.1-1.3x
faster than PyTorch's on the same images. Networks being trained are never frozen and always
run in PyTorch. Nothing is written to disk.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import warnings
import weakref

import numpy as np
import torch

from ..errors import BrightroomError

PRECISIONS = ("auto", "fp32", "bf16")


@functools.cache
def native_bf16() -> bool:
    """Whether this machine computes bfloat16 natively (CUDA, or a CPU with AVX-512 BF16 or AMX)."""
    return torch.cuda.is_available() or torch.ops.mkldnn._is_mkldnn_bf16_supported()


@functools.cache
def inference_precision() -> str:
    """'bf16' or 'fp32': what networks compute in, from ``BRIGHTROOM_PRECISION`` (auto, fp32, bf16).

    ``auto`` takes bf16 where the CPU has native bfloat16 arithmetic (AVX-512 BF16 or AMX),
    where it roughly doubles the speed, and float32 elsewhere, where bf16 would be emulated.
    Weights stay float32; bf16 applies to the convolutions' arithmetic only.

    >>> inference_precision() in ("bf16", "fp32")
    True
    """
    asked = os.environ.get("BRIGHTROOM_PRECISION", "auto").strip().lower() or "auto"
    if asked not in PRECISIONS:
        raise BrightroomError(f"BRIGHTROOM_PRECISION must be one of {', '.join(PRECISIONS)}, not '{asked}'.")
    if asked == "auto":
        return "bf16" if native_bf16() else "fp32"
    return asked


def describe() -> str:
    """What frozen networks run on here, for benchmark reports.

    >>> describe().startswith(("bf16 on PyTorch", "fp32 on ONNX Runtime"))
    True
    """
    if inference_precision() == "bf16":
        return f"bf16 on PyTorch {torch.__version__}"
    import onnxruntime

    return f"fp32 on ONNX Runtime {onnxruntime.__version__}"


@contextlib.contextmanager
def inference_mode():
    """No gradients, and bf16 autocast when :func:`inference_precision` says so."""
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=inference_precision() == "bf16"):
        yield


# frozen network -> {(input count, constants): ONNX Runtime session}
_SESSIONS: weakref.WeakKeyDictionary[torch.nn.Module, dict] = weakref.WeakKeyDictionary()


def freeze(net: torch.nn.Module) -> torch.nn.Module:
    """Declare that ``net``'s weights will not change, so :func:`run` may use an exported copy.

    >>> from brightroom.nn.denoiser import NoiseLevelUNet
    >>> net = freeze(NoiseLevelUNet(1, (8, 16, 32), 1).eval())
    >>> run(net, torch.zeros(1, 1, 16, 24), torch.zeros(1, 1, 16, 24)).shape
    torch.Size([1, 1, 16, 24])
    """
    _SESSIONS.setdefault(net.eval(), {})
    return net


def run(net: torch.nn.Module, *inputs: torch.Tensor, **constants) -> torch.Tensor:
    """``net(*inputs, **constants)`` for inference, on the fastest engine this machine has.

    ``inputs`` are N x C x H x W tensors, any H and W; ``constants`` are plain values (an SR
    network's scale) fixed in an export, one exported copy per value.
    """
    if inference_precision() == "bf16" or net not in _SESSIONS:
        # oneDNN's convolutions are fastest on channels-last tensors
        inputs = tuple(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in inputs)
        with inference_mode():
            return net(*inputs, **constants)
    key = (len(inputs), tuple(sorted(constants.items())))
    sessions = _SESSIONS[net]
    if key not in sessions:
        sessions[key] = _onnx_session(net, inputs, constants)
    feeds = {f"input{i}": np.ascontiguousarray(tensor.detach().float().numpy()) for i, tensor in enumerate(inputs)}
    return torch.from_numpy(sessions[key].run(None, feeds)[0])


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
    example = tuple(tensor.detach().float().contiguous() for tensor in inputs)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        # eval(): the exporter restores the wrapper's mode afterwards, and with it the network's
        torch.onnx.export(_Bound(net, constants or {}).eval(), example, buffer, input_names=names,
                          output_names=["output"], dynamic_axes={name: {2: "height", 3: "width"} for name in names},
                          opset_version=17, dynamo=False)
    return buffer.getvalue()


def _onnx_session(net: torch.nn.Module, inputs: tuple[torch.Tensor, ...], constants: dict):
    import onnxruntime

    model = onnx_bytes(net, inputs, constants)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
