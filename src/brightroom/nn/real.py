"""A blind denoiser for real photos: a small noise estimator and a noise-map-conditioned U-Net.

The design follows CBDNet (Guo et al., CVPR 2019): a cheap sub-network reads the photo and
estimates the local strength of its noise, and the denoiser is conditioned on that estimate,
so the user can turn it up or down. Real camera noise differs in luminance and colour (a
camera's processing smooths colour noise more), so the map has two channels: luminance and
colour levels, each on the scale on which white Gaussian noise of sigma s reads s (see
``brightroom.degrade.noise_components``). The estimator works at a quarter of the resolution
and its map is upsampled; the denoiser is :class:`~brightroom.nn.denoiser.NoiseLevelUNet`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import in_float32, residual_stage, with_detail
from .denoiser import NoiseLevelUNet


class NoiseEstimator(nn.Module):
    """Noisy RGB (N x 3 x H x W, [0, 1]) -> noise levels N x 2 x H x W ([0, 1] scale, >= 0).

    >>> NoiseEstimator(width=8)(torch.rand(1, 3, 32, 48)).shape
    torch.Size([1, 2, 32, 48])
    """

    multiple = 4
    level_scale = 0.05  # softplus outputs of about 1 mean sigma 13 (0-255 scale)

    def __init__(self, width: int = 32, blocks: int = 2):
        super().__init__()
        self.head = nn.Conv2d(6 * 16, width, 3, padding=1)
        self.body = residual_stage(width, blocks)
        self.tail = nn.Conv2d(width, 2, 3, padding=1)

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        quarter = F.pixel_unshuffle(with_detail(noisy), 4)
        levels = F.softplus(self.tail(F.relu(self.body(F.relu(in_float32(self.head, quarter)))))) * self.level_scale
        return F.interpolate(levels.float(), size=noisy.shape[-2:], mode="bilinear", align_corners=False)


class RealPhotoDenoiser(nn.Module):
    """The estimator and the denoiser; ``forward(noisy, levels=None)`` denoises with the given
    noise map (N x 2 x H x W, [0, 1] scale) or, without one, with its own estimate.

    In training it also needs the true map: it returns (denoised, estimation loss) and feeds the
    denoiser the true map for half of the batches, its own (detached) estimate for the others,
    so the denoiser obeys the map (the user's strength scales it) and tolerates estimation error.

    >>> net = RealPhotoDenoiser(widths=(8, 16, 32), blocks=1, estimator_width=8).eval()
    >>> net(torch.rand(1, 3, 32, 32)).shape
    torch.Size([1, 3, 32, 32])
    """

    multiple = 8

    def __init__(self, widths: tuple[int, int, int] = (48, 96, 192), blocks=2, estimator_width: int = 32,
                 estimator_blocks: int = 2):
        super().__init__()
        self.estimator = NoiseEstimator(estimator_width, estimator_blocks)
        self.denoiser = NoiseLevelUNet(channels=3, widths=widths, blocks=blocks, map_channels=2)

    def forward(self, noisy: torch.Tensor, levels: torch.Tensor | None = None):
        if not self.training:
            return self.denoiser(noisy, self.estimator(noisy) if levels is None else levels)
        estimate = self.estimator(noisy)
        # on a log scale (sigma + 1 on 0-255): a clean photo read as sigma 8 is as wrong as a noisy one
        # read as 8 times its noise, where a plain L1 would let the noisiest patches rule
        floor = 1 / 255
        estimation_loss = F.l1_loss(torch.log(estimate.float() + floor), torch.log(levels + floor))
        use_truth = torch.rand(()) < 0.5
        condition = levels if use_truth else estimate.detach()
        return self.denoiser(noisy, condition), estimation_loss
