"""A blind JPEG artifact remover: a compression-strength estimator and a strength-conditioned U-Net.

The design follows FBCNN (Jiang et al., ICCV 2021): the restorer is told how strongly the image
was compressed (the "level", ``1 - quality / 100``), so a user can turn it up or down, and a
small estimator reads that level from the pixels when nobody knows it. JPEG codes the image as
separate planes (luminance at full resolution, the two colour planes at half resolution with
4:2:0), each cut into 8 x 8 blocks and quantised on its own table, so the network restores one
plane at a time: a second map channel says whether the plane is a colour one (coarser tables,
blocks twice as large). The restorer is :class:`~brightroom.nn.denoiser.NoiseLevelUNet` on one
channel, fine-tuned from the gray denoiser.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import in_float32, residual_stage, with_detail
from .denoiser import NoiseLevelUNet


def quality_to_level(quality: float) -> float:
    """A libjpeg quality (1-100) as the restorer's level: 0 for no loss, near 1 for quality 1.

    >>> quality_to_level(30), level_to_quality(0.7)
    (0.7, 30.0)
    """
    return (100.0 - float(quality)) / 100.0


def level_to_quality(level: float) -> float:
    """The inverse of :func:`quality_to_level`."""
    return 100.0 - 100.0 * float(level)


class QualityEstimator(nn.Module):
    """One JPEG plane (N x 1 x H x W, [0, 1]) -> compression level N x 1 x H x W in (0, 1), read
    per 8 x 8 cell.

    It works on 8 x 8 cells (a pixel-unshuffle), so every cell sees its pixels at their place in
    the block grid, whatever the grid's phase; the detail magnitude is given as well
    (:func:`~brightroom.nn.blocks.with_detail`, as the real-photo noise estimator is given it).

    >>> QualityEstimator(width=8)(torch.rand(2, 1, 32, 48)).shape
    torch.Size([2, 1, 32, 48])
    """

    multiple = 8

    def __init__(self, width: int = 32, blocks: int = 2):
        super().__init__()
        self.head = nn.Conv2d(2 * 64, width, 3, padding=1)
        self.body = residual_stage(width, blocks)
        self.tail = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, plane: torch.Tensor) -> torch.Tensor:
        cells = F.pixel_unshuffle(with_detail(plane), 8)
        levels = torch.sigmoid(self.tail(F.relu(self.body(F.relu(in_float32(self.head, cells))))).float())
        return F.interpolate(levels, scale_factor=8, mode="nearest")


class JPEGRestorer(nn.Module):
    """The estimator and the restorer; ``forward(plane, levels=None)`` restores one plane with the
    given maps (N x 2 x H x W: the level, and 1 on a colour plane, 0 on luminance) or, without
    them, as luminance at its own estimated level.

    In training it needs the true maps: it returns (restored, estimation loss) and conditions the
    restorer on the true level for half of the batches and on its own (detached) estimate for the
    others, as :class:`~brightroom.nn.real.RealPhotoDenoiser` does.

    >>> net = JPEGRestorer(widths=(8, 16, 32), blocks=1, estimator_width=8).eval()
    >>> net(torch.rand(1, 1, 32, 32)).shape
    torch.Size([1, 1, 32, 32])
    """

    multiple = 8

    def __init__(self, widths: tuple[int, int, int] = (32, 64, 128), blocks=2, estimator_width: int = 32,
                 estimator_blocks: int = 2):
        super().__init__()
        self.estimator = QualityEstimator(estimator_width, estimator_blocks)
        self.restorer = NoiseLevelUNet(channels=1, widths=widths, blocks=blocks, map_channels=2)

    def forward(self, plane: torch.Tensor, levels: torch.Tensor | None = None):
        if not self.training:
            if levels is None:
                levels = torch.cat([self.estimator(plane), torch.zeros_like(plane)], dim=1)
            return self.restorer(plane, levels)
        estimate = self.estimator(plane)
        # the estimator learns from luminance planes only: it is asked of them alone
        luma = 1.0 - levels[:, 1:]
        estimation_loss = (torch.abs(estimate - levels[:, :1]) * luma).sum() / luma.sum().clamp(min=1.0)
        if torch.rand(()) < 0.5:  # colour planes keep the true level: in use they get the luminance's estimate
            level = luma * estimate.detach() + (1.0 - luma) * levels[:, :1]
            levels = torch.cat([level, levels[:, 1:]], dim=1)
        return self.restorer(plane, levels), estimation_loss
