"""A compact multi-scale super-resolution network, sized for a CPU.

In the EDSR-baseline / IMDN class: every convolution runs at the low resolution,
a stack of residual blocks with a long skip forms one body shared by all scales
(as MDSR shares it), and each scale has its own pixel-shuffle tail. The network
adds its output to a bicubic enlargement of the input, so it learns only the
missing detail. Colour in, colour out: RGB all the way.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import residual_stage


class MultiScaleSR(nn.Module):
    """Super-resolution for several integer scales with one shared body.

    Args:
        channels: image channels (3 for RGB).
        width: feature channels.
        blocks: residual blocks in the body.
        scales: the scales that get a tail.

    >>> net = MultiScaleSR(width=8, blocks=1, scales=(2, 3))
    >>> net(torch.rand(1, 3, 10, 12), 3).shape
    torch.Size([1, 3, 30, 36])
    """

    multiple = 1

    def __init__(self, channels: int = 3, width: int = 48, blocks: int = 8, scales: tuple[int, ...] = (2, 3, 4)):
        super().__init__()
        self.channels = channels
        self.scales = tuple(int(s) for s in scales)
        self.head = nn.Conv2d(channels, width, 3, padding=1)
        self.body = residual_stage(width, blocks)
        self.body_end = nn.Conv2d(width, width, 3, padding=1)
        self.tails = nn.ModuleDict(
            {str(s): nn.Sequential(nn.Conv2d(width, channels * s * s, 3, padding=1), nn.PixelShuffle(s)) for s in self.scales}
        )

    def forward(self, low: torch.Tensor, scale: int) -> torch.Tensor:
        if scale not in self.scales:
            raise ValueError(f"this network upscales by {self.scales}, not {scale}")
        features = self.head(low)
        features = features + self.body_end(self.body(features))
        detail = self.tails[str(scale)](features)
        return detail + F.interpolate(low, scale_factor=scale, mode="bicubic", align_corners=False)
