"""Building blocks shared by the networks."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ResidualBlock(nn.Module):
    """conv-ReLU-conv with an identity shortcut, no normalisation, no bias."""

    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _fusable(x):
            return _fused_conv(self.conv2, _fused_conv(self.conv1, x, "relu"), "add", x)
        return x + self.conv2(F.relu(self.conv1(x), inplace=True))


def _fusable(x: torch.Tensor) -> bool:
    """Whether oneDNN's fused convolutions apply: bfloat16 channels-last inference on the CPU (no
    gradients, not being exported). Each fused convolution applies its ReLU or adds the shortcut
    as it writes its output, instead of another pass over the whole tensor: a residual block
    1.8 x faster (48 channels, 640 x 640, measured), the same values up to bfloat16 rounding."""
    return (x.dtype == torch.bfloat16 and x.device.type == "cpu" and not torch.is_grad_enabled()
            and not torch.jit.is_tracing() and x.is_contiguous(memory_format=torch.channels_last)
            and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _fused_conv(conv: nn.Conv2d, x: torch.Tensor, then: str, shortcut: torch.Tensor | None = None) -> torch.Tensor:
    """``conv(x)`` followed by ``then`` ('relu', or 'add' of ``shortcut``) in one oneDNN call."""
    weight = conv.weight.to(torch.bfloat16)
    bias = None if conv.bias is None else conv.bias.to(torch.bfloat16)
    geometry = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
    pointwise = torch.ops.mkldnn._convolution_pointwise
    if shortcut is None:
        return pointwise(x, weight, bias, *geometry, then, [], "")
    return pointwise.binary(x, shortcut, weight, bias, *geometry, then, 1.0, None, [], "")


def in_float32(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)`` computed in float32 even under bfloat16 autocast, for the layer that reads the
    image; its output joins the rest of the network in the autocast type.

    bfloat16 keeps 8 significant bits, so it would round a pixel value near 1 by up to half an
    8-bit level before the network sees it; the first layer is a small share of the work. Its
    output goes on in bfloat16: left in float32, every residual block after it would add in
    float32 and cast again for its convolutions (a fifth of the network's time, measured).

    >>> with torch.autocast("cpu", dtype=torch.bfloat16):
    ...     in_float32(nn.Conv2d(1, 2, 3), torch.rand(1, 1, 4, 4)).dtype
    torch.bfloat16
    """
    device = x.device.type
    with torch.autocast(device, enabled=False):
        out = layer(x.float())
    return out.to(torch.get_autocast_dtype(device)) if torch.is_autocast_enabled(device) else out


def with_detail(image: torch.Tensor, gain: float = 8.0) -> torch.Tensor:
    """The image and the magnitude of its detail (each pixel less its 3 x 3 mean, times ``gain``:
    small beside the pixels, brought to their scale), channels concatenated: what the estimators
    read. A plain CNN learns a noise or compression level only slowly from the pixels alone (its
    first layers must find high-pass filters under much larger content); given this too, in a few
    hundred steps (measured for the real-photo estimator).

    >>> with_detail(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 6, 8, 8])
    """
    mean = F.avg_pool2d(F.pad(image, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return torch.cat([image, (image - mean).abs() * gain], dim=1)


def residual_stage(width: int, blocks: int) -> nn.Sequential:
    """``blocks`` residual blocks of ``width`` channels in a row."""
    return nn.Sequential(*(ResidualBlock(width) for _ in range(blocks)))
