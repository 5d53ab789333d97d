"""The prompt encoder of the SAM-style model: points and boxes as Fourier features, a mask as a dense embedding.

Kirillov et al., "Segment Anything", ICCV 2023, §3 and appendix A. A point ``(x, y)`` is encoded by *random
Fourier features* (Tancik et al., NeurIPS 2020): normalise to ``[0, 1]``, map to ``[-1, 1]``, multiply by a
fixed Gaussian matrix ``B`` (``2 x D/2``, entries ``N(0, sigma^2)``), and take ``sin`` and ``cos`` of
``2*pi*v B``: ``D`` numbers that vary smoothly with the position at frequencies set by ``sigma``. A learned
embedding is added for the point's **type**: positive point, negative point, box top-left corner, box
bottom-right corner, or "not a point" (padding). The image embedding gets the same encoding of every grid
cell's centre as its positional encoding, so points and image cells live in one space.

A previous mask (low-resolution logits, 4x the embedding's size) is encoded by strided convolutions into a
``D``-channel map added to the image embedding; without a mask a learned **no-mask** embedding is added.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .encoder import LayerNorm2d

#: Point labels as the model reads them (SAM's convention): -1 padding, 0 negative, 1 positive, 2/3 box corners.
PAD, NEGATIVE, POSITIVE, BOX_TOP_LEFT, BOX_BOTTOM_RIGHT = -1, 0, 1, 2, 3


class FourierFeatures(nn.Module):
    """Random Fourier features of 2-D positions (SAM's ``PositionEmbeddingRandom``).

    Args:
        dim: output channels ``D`` (even).
        sigma: standard deviation of the Gaussian matrix (SAM: 1.0); larger -> higher frequencies, finer
            spatial detail but less smooth.
        seed: the matrix is a fixed buffer drawn with this seed (not trained), so results are reproducible.

    ``forward(coords)``: ``(..., 2)`` float positions normalised to ``[0, 1]`` (x, y) -> ``(..., D)``.
    ``grid(h, w)``: ``(D, h, w)`` encoding of every cell centre of an ``h x w`` grid.
    Raises ValueError for an odd ``dim`` or ``sigma <= 0``.
    """

    def __init__(self, dim: int = 128, sigma: float = 1.0, seed: int = 0):
        super().__init__()
        if dim % 2 or dim <= 0:
            raise ValueError(f"expected an even positive dim, got {dim}")
        if not sigma > 0:
            raise ValueError(f"expected sigma > 0, got {sigma}")
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("matrix", sigma * torch.randn(2, dim // 2, generator=g))
        self.sigma = float(sigma)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        v = (2 * coords - 1) @ self.matrix.to(coords.dtype)
        v = 2 * math.pi * v
        return torch.cat([torch.sin(v), torch.cos(v)], dim=-1)

    def grid(self, h: int, w: int) -> torch.Tensor:
        device = self.matrix.device
        y = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
        x = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
        yy, xx = torch.meshgrid(y, x, indexing="ij")
        return self(torch.stack([xx, yy], dim=-1)).permute(2, 0, 1)


class PromptEncoder(nn.Module):
    """Sparse prompts (points, box corners) -> tokens; a mask prompt -> a dense embedding.

    Args:
        dim: token / embedding channels ``D``.
        grid: the image embedding's size ``(h, w)`` (16x16 at 256 px); the mask prompt is ``(4h, 4w)``.
        sigma: :class:`FourierFeatures`' sigma.

    ``forward(coords, labels, mask_logits, input_size)``:
        coords: ``(B, N, 2)`` float pixel positions ``(x, y)`` in the model's input frame (``input_size``
        pixels square); labels: ``(B, N)`` long in {-1, 0, 1, 2, 3} (see :data:`PAD` ...); mask_logits:
        ``(B, 1, 4h, 4w)`` float or None; grid: the embedding's ``(h, w)`` when it differs from ``grid`` above
        (an input larger than the training size). Returns ``(sparse (B, N, D), dense (B, D, h, w))``.
    """

    def __init__(self, dim: int = 128, grid: tuple[int, int] = (16, 16), sigma: float = 1.0):
        super().__init__()
        self.dim, self.grid = dim, tuple(grid)
        self.pe = FourierFeatures(dim, sigma)
        # 0 negative, 1 positive, 2 box top-left, 3 box bottom-right; padding has its own
        self.point_embeddings = nn.Embedding(4, dim)
        self.not_a_point = nn.Embedding(1, dim)
        c = dim // 4
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, c // 4, 2, stride=2), LayerNorm2d(c // 4), nn.GELU(),
            nn.Conv2d(c // 4, c, 2, stride=2), LayerNorm2d(c), nn.GELU(),
            nn.Conv2d(c, dim, 1))
        self.no_mask = nn.Embedding(1, dim)

    def image_pe(self, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """``(1, D, h, w)``: the positional encoding of the image embedding's cells (``grid``: ``(h, w)``,
        default the size the encoder was built for)."""
        return self.pe.grid(*(grid or self.grid))[None]

    def forward(self, coords: torch.Tensor, labels: torch.Tensor, mask_logits: torch.Tensor | None,
                input_size: int, grid: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        pts = (coords + 0.5) / input_size  # pixel centres, as SAM shifts by half a pixel
        tokens = self.pe(pts)
        pad = labels == PAD
        tokens = torch.where(pad[..., None], torch.zeros_like(tokens), tokens)
        type_emb = self.point_embeddings(labels.clamp(min=0))
        type_emb = torch.where(pad[..., None], self.not_a_point.weight[0].expand_as(type_emb), type_emb)
        sparse = tokens + type_emb
        b = coords.shape[0]
        if mask_logits is None:
            dense = self.no_mask.weight.view(1, -1, 1, 1).expand(b, -1, *(grid or self.grid))
        else:
            dense = self.mask_downscaling(mask_logits)
        return sparse, dense


class FineClickEncoder(nn.Module):
    """Clicks and the previous mask drawn at the low-resolution mask size -> features for the decoder's last
    upsampling stage (an addition to SAM, off by default: ``SamStyleModel(fine_clicks=True)``).

    SAM sees a click only as a token and the previous mask only at the embedding's 16 x 16 cells, so a
    correction cannot be finer than a cell and the previous mask's fine boundary is re-predicted from scratch
    every round. Click models encode clicks as maps at the image's resolution instead (disks: Xu et al., CVPR
    2016 used distance maps; Sofiiuk et al., "Reviving Iterative Training with Mask Guidance for Interactive
    Segmentation" (RITM), ICIP 2022, disks plus the previous mask). This module draws four ``h x w`` maps --
    positive clicks, negative clicks (cones ``max(0, 1 - d / radius)``, ``d`` in low-resolution pixels), the
    previous mask's probability and a has-a-previous-mask flag -- and maps them by three small convolutions
    to ``out_channels`` features that :meth:`SamStyleModel.decode <.model.SamStyleModel.decode>` adds to the
    stride-4 skip. The last convolution starts at zero, so a trained model gains the path without changing.

    Args:
        out_channels: the stride-4 skip's channels (``D/8``). radius: cone radius in low-resolution pixels
            (4 input pixels each). hidden: channels of the hidden convolutions.

    ``forward(coords, labels, mask_logits, input_size, hw)``: coords ``(B, N, 2)`` float ``(x, y)`` input
    pixels; labels ``(B, N)`` long (only POSITIVE / NEGATIVE draw); mask_logits ``(B, 1, h, w)`` or None;
    ``hw`` the map size -> ``(B, out_channels, h, w)``. :meth:`maps` returns the ``(B, 4, h, w)`` input maps.
    """

    def __init__(self, out_channels: int = 16, radius: float = 3.0, hidden: int = 16):
        super().__init__()
        if not radius > 0:
            raise ValueError(f"expected radius > 0, got {radius}")
        self.radius = float(radius)
        self.net = nn.Sequential(nn.Conv2d(4, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, out_channels, 1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def maps(self, coords: torch.Tensor, labels: torch.Tensor, mask_logits: torch.Tensor | None,
             input_size: int, hw: tuple[int, int]) -> torch.Tensor:
        h, w = hw
        b = coords.shape[0]
        cell = input_size / w  # input pixels per map pixel
        dev = coords.device
        ys = (torch.arange(h, device=dev, dtype=coords.dtype) + 0.5) * cell - 0.5
        xs = (torch.arange(w, device=dev, dtype=coords.dtype) + 0.5) * cell - 0.5
        dy = (ys.view(1, 1, h, 1) - coords[..., 1].view(b, -1, 1, 1)) / cell
        dx = (xs.view(1, 1, 1, w) - coords[..., 0].view(b, -1, 1, 1)) / cell
        cone = (1 - torch.sqrt(dx * dx + dy * dy) / self.radius).clamp(min=0)  # (B, N, h, w)
        out = []
        for kind in (POSITIVE, NEGATIVE):
            keep = (labels == kind).to(cone.dtype).view(b, -1, 1, 1)
            out.append((cone * keep).amax(1) if cone.shape[1] else cone.new_zeros(b, h, w))
        if mask_logits is None:
            prev, flag = cone.new_zeros(b, h, w), cone.new_zeros(b, h, w)
        else:
            prev, flag = torch.sigmoid(mask_logits[:, 0]), cone.new_ones(b, h, w)
        return torch.stack([*out, prev, flag], dim=1)

    def forward(self, coords, labels, mask_logits, input_size: int, hw: tuple[int, int]) -> torch.Tensor:
        return self.net(self.maps(coords, labels, mask_logits, input_size, hw))
