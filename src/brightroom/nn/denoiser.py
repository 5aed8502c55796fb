"""A small noise-level-conditioned U-Net denoiser, sized for a CPU.

The design follows FFDNet and DRUNet: the image is pixel-unshuffled to half
resolution first (four times fewer positions for every convolution), a
noise-level map is concatenated as an extra input channel (so sigma may vary
across the image), three scales of residual blocks give a wide receptive field
cheaply, and the network predicts the noise, which is subtracted (residual
learning). No normalisation layers and no attention.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import in_float32, residual_stage


class NoiseLevelUNet(nn.Module):
    """Denoiser taking a noisy image and a per-pixel noise level.

    Args:
        channels: 1 for gray, 3 for colour.
        widths: feature widths at 1/2, 1/4 and 1/8 of the input resolution.
        blocks: residual blocks per stage, one number for all five stages or one for each
            (encoder at 1/2, encoder at 1/4, middle at 1/8, decoder at 1/4, decoder at 1/2).
        map_channels: channels of the noise map (1: one level; 2: luminance and colour levels).
        unshuffle: work at half the input's resolution (a pixel-unshuffle first); False for an
            input that is at half resolution already (the packed Bayer planes of a RAW).
        full_width, full_blocks: a stage at the input's own resolution (0: none): residual
            blocks of ``full_width`` channels read the image before the U-Net (which gets their
            features unshuffled) and refine its noise after it (with its finest features
            shuffled back), for the fine detail the half-resolution U-Net smooths (the quality tier).

    Inputs are NCHW tensors in [0, 1]; ``sigma`` is N x map_channels x H x W on the same
    scale (sigma_255 / 255). H and W must be multiples of ``multiple``;
    :func:`brightroom.nn.inference.run_tiled` pads for you.

    >>> net = NoiseLevelUNet(channels=3, widths=(16, 32, 64), blocks=1)
    >>> x = torch.rand(1, 3, 32, 32)
    >>> net(x, torch.full((1, 1, 32, 32), 25 / 255)).shape
    torch.Size([1, 3, 32, 32])
    >>> NoiseLevelUNet(channels=3, widths=(16, 32, 64), blocks=1, full_width=8, full_blocks=1)(
    ...     x, torch.full((1, 1, 32, 32), 25 / 255)).shape
    torch.Size([1, 3, 32, 32])
    """

    multiple = 8
    # grown from a network without the full-resolution stage (train/warm_start.py), its layers
    # start like this; its residual blocks as the identity. The output's correction starts at zero.
    grown_layers = {"full_head": "fresh", "full_fuse": "fresh", "full_tail": "zero"}

    def __init__(self, channels: int = 3, widths: tuple[int, int, int] = (48, 96, 192),
                 blocks: int | tuple[int, int, int, int, int] = 2, map_channels: int = 1, unshuffle: bool = True,
                 full_width: int = 0, full_blocks: int = 0):
        super().__init__()
        if full_width and not unshuffle:
            raise ValueError("a full-resolution stage needs the U-Net at half resolution (unshuffle)")
        w0, w1, w2 = widths
        enc0, enc1, middle, dec1, dec0 = [blocks] * 5 if isinstance(blocks, int) else blocks
        self.channels = channels
        self.map_channels = map_channels
        self.unshuffle = unshuffle
        self.multiple = 8 if unshuffle else 4
        packed = 4 if unshuffle else 1
        self.full_width = full_width
        if full_width:
            self.full_head = nn.Conv2d(channels + map_channels, full_width, 3, padding=1, bias=False)
            self.full_enc = residual_stage(full_width, full_blocks)
        self.head = nn.Conv2d(channels * packed + map_channels + 4 * full_width, w0, 3, padding=1, bias=False)
        self.enc0 = residual_stage(w0, enc0)
        self.down0 = nn.Conv2d(w0, w1, 2, stride=2, bias=False)
        self.enc1 = residual_stage(w1, enc1)
        self.down1 = nn.Conv2d(w1, w2, 2, stride=2, bias=False)
        self.middle = residual_stage(w2, middle)
        self.up1 = nn.ConvTranspose2d(w2, w1, 2, stride=2, bias=False)
        self.dec1 = residual_stage(w1, dec1)
        self.up0 = nn.ConvTranspose2d(w1, w0, 2, stride=2, bias=False)
        self.dec0 = residual_stage(w0, dec0)
        self.tail = nn.Conv2d(w0, channels * packed, 3, padding=1, bias=False)
        if full_width:
            self.full_fuse = nn.Conv2d(full_width + w0 // 4, full_width, 3, padding=1, bias=False)
            self.full_dec = residual_stage(full_width, full_blocks)
            self.full_tail = nn.Conv2d(full_width, channels, 3, padding=1, bias=False)

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if self.unshuffle:
            half, sigma_half = F.pixel_unshuffle(noisy, 2), F.avg_pool2d(sigma, 2)
        else:
            half, sigma_half = noisy, sigma
        head = [half, sigma_half]
        if self.full_width:
            full = self.full_enc(in_float32(self.full_head, torch.cat([noisy, sigma], dim=1)))
            head.append(F.pixel_unshuffle(full, 2))
        x0 = self.enc0(in_float32(self.head, torch.cat(head, dim=1)))
        x1 = self.enc1(self.down0(x0))
        x2 = self.middle(self.down1(x1))
        y1 = self.dec1(self.up1(x2) + x1)
        y0 = self.dec0(self.up0(y1) + x0)
        noise = self.tail(y0)
        if self.full_width:
            refined = self.full_dec(self.full_fuse(torch.cat([full, F.pixel_shuffle(y0, 2)], dim=1)))
            return noisy - (F.pixel_shuffle(noise, 2) + self.full_tail(refined))
        return noisy - (F.pixel_shuffle(noise, 2) if self.unshuffle else noise)
