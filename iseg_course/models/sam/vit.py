"""A tiny Vision Transformer image encoder, trained from scratch: SAM's encoder idea at lesson size.

Segment Anything's image encoder is a ViT (Dosovitskiy et al., "An Image Is Worth 16x16 Words", ICLR 2021;
ViT-H pretrained as a masked autoencoder, He et al., CVPR 2022). The steps, all here in a few lines each:

1. **Patch embedding.** The image is cut into 16x16-pixel patches; each patch is flattened and projected
   linearly to ``D`` numbers (one strided convolution does both): 256 px -> 16x16 = 256 **tokens**.
2. **Positional embedding.** Attention ignores order, so a learned vector per patch position (absolute
   positional embedding) is added to each token.
3. **Transformer blocks.** Each block: layer norm, multi-head self-attention (every token attends to every
   other: ``softmax(Q K^T / sqrt(d)) V``), a residual add; layer norm, an MLP, a residual add.
4. **Neck** (as SAM's): the tokens go back to a ``(D, S/16, S/16)`` map, then 1x1 conv, LayerNorm, 3x3 conv,
   LayerNorm: the image embedding.

The SAM-style model's mask decoder also wants stride-4 and stride-8 features for sharp boundaries (SAM 2's
high-resolution features); a ViT has none below its patch size, so a small strided-convolution **stem** on
the image supplies them. :class:`TinyViTEncoder` thus returns exactly what the EfficientNet backbone + neck
return, ``(embedding (B, D, S/16, S/16), (s4 (B, D/8, S/4, S/4), s8 (B, D/4, S/8, S/8)))``, and
:func:`sam_style_vit_model` puts it in a :class:`~.model.SamStyleModel` for the lesson's comparison row.
No pretrained weights: with a few hundred training images it shows why SAM's encoder is pretrained.
"""

from __future__ import annotations

import torch
from torch import nn

from .encoder import LayerNorm2d, normalise


class Attention(nn.Module):
    """Multi-head self-attention: ``(B, N, D)`` tokens -> ``(B, N, D)``; ``heads`` must divide ``D``."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"heads ({heads}) must divide dim ({dim})")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        x = nn.functional.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(d_head)) v, per head
        return self.proj(x.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(LN(x))``, then ``x + MLP(LN(x))`` (MLP ``D -> mlp_ratio*D -> D``)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def _conv_ln_gelu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False), LayerNorm2d(c_out), nn.GELU())


class TinyViTEncoder(nn.Module):
    """Image -> ``(embedding, (s4, s8))``, the interface of the EfficientNet backbone + :class:`~.encoder.Neck`.

    Args:
        size: the square input size ``S`` in pixels (a multiple of ``patch``); the positional embedding is
            learned for ``(S/patch)^2`` positions and interpolated for another input size.
        dim: token / embedding channels ``D`` (divisible by 8 and by ``heads``).
        depth: transformer blocks. heads: attention heads. mlp_ratio: MLP width / ``D``.
        patch: patch side in pixels (16, as SAM's ViT).

    ``forward(images)``: ``(B, 3, S, S)`` float in ``[0, 1]`` -> ``(embedding (B, D, S/16, S/16),
    (s4 (B, D/8, S/4, S/4), s8 (B, D/4, S/8, S/8)))``. ``tokens(images)``: ``(B, (S/16)^2, D)`` after the blocks.
    Raises ValueError for sizes that do not divide, in the constructor and for an input not a multiple of 16.
    """

    def __init__(self, size: int = 256, dim: int = 128, depth: int = 4, heads: int = 4, mlp_ratio: float = 4.0,
                 patch: int = 16):
        super().__init__()
        if patch != 16:
            raise ValueError(f"the SAM-style decoder expects stride-16 embeddings; got patch={patch}")
        if size % patch or dim % 8:
            raise ValueError(f"expected size divisible by {patch} and dim by 8, got size={size}, dim={dim}")
        self.size, self.dim, self.patch = size, dim, patch
        self.grid = size // patch
        self.patch_embed = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)  # flatten + linear, per patch
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid * self.grid, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.neck = nn.Sequential(nn.Conv2d(dim, dim, 1, bias=False), LayerNorm2d(dim),
                                  nn.Conv2d(dim, dim, 3, padding=1, bias=False), LayerNorm2d(dim))
        # high-resolution skips for the decoder's upsampling: stride 2 -> 4 (D/8 channels) -> 8 (D/4)
        self.stem4 = nn.Sequential(_conv_ln_gelu(3, dim // 8), _conv_ln_gelu(dim // 8, dim // 8))
        self.stem8 = _conv_ln_gelu(dim // 8, dim // 4)

    def _pos(self, h: int, w: int) -> torch.Tensor:
        pos = self.pos_embed
        if (h, w) != (self.grid, self.grid):
            grid = pos.reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
            pos = nn.functional.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
            pos = pos.permute(0, 2, 3, 1).reshape(1, h * w, -1)
        return pos

    def tokens(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """``(B, 3, H, W)`` -> ``(tokens (B, H/16 * W/16, D), (H/16, W/16))``: patches, positions, blocks."""
        if images.shape[-1] % self.patch or images.shape[-2] % self.patch:
            raise ValueError(f"expected an input whose sides are multiples of {self.patch}, got {tuple(images.shape)}")
        x = self.patch_embed(normalise(images))  # (B, D, H/16, W/16)
        h, w = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2) + self._pos(h, w)  # (B, N, D) tokens, row-major patch order
        for block in self.blocks:
            x = block(x)
        return self.norm(x), (h, w)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        x, (h, w) = self.tokens(images)
        embedding = self.neck(x.transpose(1, 2).reshape(x.shape[0], self.dim, h, w))
        s4 = self.stem4(normalise(images))
        return embedding, (s4, self.stem8(s4))


def sam_style_vit_model(size: int = 256, dim: int = 128, vit_depth: int = 4, vit_heads: int = 4, **kwargs):
    """A :class:`~.model.SamStyleModel` whose image encoder is a :class:`TinyViTEncoder` (trained from scratch).

    The EfficientNet backbone becomes an identity (``encode(images)`` returns the images) and the neck the ViT,
    so ``model.embed(model.encode(images))`` gives the same ``(embedding, (s4, s8))`` and ``decode`` works
    unchanged; the whole encoder is trainable. ``kwargs`` go to ``SamStyleModel`` (``depth``, ``heads``,
    ``mlp_dim``, ``sigma`` of the decoder). Such a model trains on images, not on the EfficientNet feature
    cache, and ``load_checkpoint`` cannot rebuild it (it builds the EfficientNet model from ``config``): keep
    its ``state_dict`` yourself and load it into a fresh ``sam_style_vit_model`` with the same arguments.
    """
    from .model import SamStyleModel

    model = SamStyleModel(size=size, dim=dim, pretrained=False, **kwargs)
    model.backbone = nn.Identity()
    model.neck = TinyViTEncoder(size, dim, vit_depth, vit_heads)
    model.encoder_config = {"encoder": "tiny_vit", "vit_depth": vit_depth, "vit_heads": vit_heads}
    return model
