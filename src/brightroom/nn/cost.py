"""What a network costs: multiply-accumulates (MACs) of its convolutions per pass, counted by
running it once on a small input, so the benchmark can put achieved GMAC/s beside MP/s and say
how close a model runs to the machine's limit.
"""

from __future__ import annotations

import torch
from torch import nn


def gmacs(net: nn.Module, *inputs, **constants) -> float:
    """Billions of multiply-accumulates in the convolutions (plain and transposed) and linear layers
    of one ``net(*inputs, **constants)``; the elementwise work (activations, additions) is not counted.

    >>> gmacs(nn.Conv2d(4, 8, 3, padding=1), torch.zeros(1, 4, 100, 100))  # 100 * 100 * 8 * 4 * 9
    0.00288
    """
    total = 0

    def count(layer: nn.Module, args: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(layer, nn.ConvTranspose2d):
            kernel = layer.kernel_size[0] * layer.kernel_size[1]
            total += args[0].numel() * layer.out_channels // layer.groups * kernel
        elif isinstance(layer, nn.Conv2d):
            kernel = layer.kernel_size[0] * layer.kernel_size[1]
            total += output.numel() * layer.in_channels // layer.groups * kernel
        elif isinstance(layer, nn.Linear):
            total += output.numel() * layer.in_features

    handles = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    try:
        with torch.no_grad():
            net(*inputs, **constants)
    finally:
        for handle in handles:
            handle.remove()
    return total / 1e9
