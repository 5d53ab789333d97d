"""The click model's network: a small U-Net fed with the image, the click maps and its last answer.

The network is a U-Net (Ronneberger et al., "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015) with four levels, group norm (Wu & He, "Group Normalization", ECCV 2018) and
ReLU, and ``Dropout2d`` in the bottleneck and the decoder (off at ``eval()``; switched back on for MC
dropout in the active-learning lesson). Its input channels are described in
:mod:`iseg_course.models.encoding`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .encoding import IN_CHANNELS

__all__ = ["ClickUNet"]


def _norm(c: int) -> nn.Module:
    # group norm: it behaves the same in train() and eval() mode, whatever the click count of the batch
    return nn.GroupNorm(min(8, c // 2), c)


class _Block(nn.Sequential):
    """Two 3x3 conv + group norm + ReLU layers, then optional ``Dropout2d``."""

    def __init__(self, c_in: int, c_out: int, dropout: float):
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), _norm(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), _norm(c_out), nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        super().__init__(*layers)


class ClickUNet(nn.Module):
    """U-Net for click-based interactive segmentation.

    Args:
        in_channels: input channels (6: RGB, positive map, negative map, previous prediction).
        base: channels of the first level; level ``i`` has ``base * 2**i`` (default 16 -> 16/32/64/128).
        levels: resolution levels (the input side must be divisible by ``2**(levels-1)``).
        dropout: ``Dropout2d`` probability in the bottleneck and decoder blocks (0 disables them).

    ``forward(x)``: ``x`` is ``(N, in_channels, H, W) float32``, image channels in [0, 1]; returns logits
    ``(N, 1, H, W)``. Raises ValueError for a wrong number of channels or a side not divisible by
    ``2**(levels-1)``.

    Used in lesson 07; also by iseg_course.training.
    """

    def __init__(self, in_channels: int = IN_CHANNELS, base: int = 16, levels: int = 4, dropout: float = 0.1):
        super().__init__()
        if levels < 2:
            raise ValueError(f"expected levels >= 2, got {levels}")
        self.config = {"in_channels": int(in_channels), "base": int(base), "levels": int(levels),
                       "dropout": float(dropout)}
        ch = [base * 2**i for i in range(levels)]
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.down = nn.ModuleList()
        c_prev = in_channels
        for i, c in enumerate(ch):
            self.down.append(_Block(c_prev, c, dropout if i == levels - 1 else 0.0))
            c_prev = c
        self.up = nn.ModuleList(_Block(ch[i + 1] + ch[i], ch[i], dropout) for i in reversed(range(levels - 1)))
        self.head = nn.Conv2d(ch[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_in, levels = self.config["in_channels"], self.config["levels"]
        if x.ndim != 4 or x.shape[1] != n_in:
            raise ValueError(f"expected input of shape (N, {n_in}, H, W), got {tuple(x.shape)}")
        k = 2 ** (levels - 1)
        if x.shape[2] % k or x.shape[3] % k:
            raise ValueError(f"expected H and W divisible by {k}, got {tuple(x.shape[2:])}")
        x = torch.cat([(x[:, :3] - self.mean) / self.std, x[:, 3:]], dim=1)
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)
