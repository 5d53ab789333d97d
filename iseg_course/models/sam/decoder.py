"""The mask decoder of the SAM-style model: a two-way transformer and hypernetwork mask heads.

Kirillov et al., "Segment Anything", ICCV 2023, §3 and appendix A (Fig. 14). Output tokens -- one **IoU
token** and four **mask tokens** -- are concatenated with the prompt tokens. Each of the two-way transformer's
layers runs (1) self-attention of the tokens, (2) cross-attention from the tokens to the image embedding,
(3) an MLP on the tokens, (4) cross-attention from the image embedding to the tokens, so the image embedding
is updated by the prompts too. Positional encodings are re-added to the queries and keys at every attention
(the image's Fourier encoding, and the prompt tokens' own values), and the cross-attentions work in
``D / downsample_rate`` channels to save compute. A final token-to-image attention follows the layers.

The image embedding is then upsampled 4x by transposed convolutions (here with the encoder's stride-8 and
stride-4 features added, as SAM 2 does); each mask token passes a 3-layer MLP (a **hypernetwork**) whose
output is dotted with every upsampled pixel's features: one mask per token. The IoU token's MLP predicts each
mask's IoU with its target. SAM's multimask rule: an ambiguous prompt (one point) returns the masks of tokens
1-3 with their predicted IoUs; otherwise the mask of token 0.
"""

from __future__ import annotations

import torch
from torch import nn

from .encoder import LayerNorm2d


class Attention(nn.Module):
    """Multi-head attention whose q/k/v projections map ``D`` to ``D / downsample_rate`` channels (SAM's)."""

    def __init__(self, dim: int, heads: int, downsample_rate: int = 1):
        super().__init__()
        inner = dim // downsample_rate
        if inner % heads:
            raise ValueError(f"heads ({heads}) must divide dim / downsample_rate ({inner})")
        self.heads = heads
        self.q, self.k, self.v = nn.Linear(dim, inner), nn.Linear(dim, inner), nn.Linear(dim, inner)
        self.out = nn.Linear(inner, dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.q(q)), self._split(self.k(k)), self._split(self.v(v))
        x = nn.functional.scaled_dot_product_attention(q, k, v)
        b, h, n, c = x.shape
        return self.out(x.transpose(1, 2).reshape(b, n, h * c))


class MLP(nn.Module):
    """``layers`` linear layers with ReLU between them."""

    def __init__(self, dim_in: int, hidden: int, dim_out: int, layers: int):
        super().__init__()
        dims = [dim_in] + [hidden] * (layers - 1) + [dim_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


class TwoWayBlock(nn.Module):
    """One layer of the two-way transformer: token self-attention, token->image, MLP, image->token."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, downsample_rate: int = 2, skip_first_pe: bool = False):
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.cross_t2i = Attention(dim, heads, downsample_rate)
        self.cross_i2t = Attention(dim, heads, downsample_rate)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.ReLU(), nn.Linear(mlp_dim, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(4))
        self.skip_first_pe = skip_first_pe

    def forward(self, tokens, image, token_pe, image_pe):
        if self.skip_first_pe:
            tokens = self.self_attn(tokens, tokens, tokens)
        else:
            q = tokens + token_pe
            tokens = tokens + self.self_attn(q, q, tokens)
        tokens = self.norms[0](tokens)
        tokens = self.norms[1](tokens + self.cross_t2i(tokens + token_pe, image + image_pe, image))
        tokens = self.norms[2](tokens + self.mlp(tokens))
        image = self.norms[3](image + self.cross_i2t(image + image_pe, tokens + token_pe, tokens))
        return tokens, image


class TwoWayTransformer(nn.Module):
    """``depth`` :class:`TwoWayBlock` layers and a final token->image attention.

    ``forward(image (B, D, h, w), image_pe (1 or B, D, h, w), tokens (B, N, D))`` -> ``(tokens (B, N, D),
    image (B, h*w, D))``.
    """

    def __init__(self, dim: int = 128, depth: int = 2, heads: int = 8, mlp_dim: int = 512, downsample_rate: int = 2):
        super().__init__()
        self.layers = nn.ModuleList(TwoWayBlock(dim, heads, mlp_dim, downsample_rate, skip_first_pe=(i == 0))
                                    for i in range(depth))
        self.final = Attention(dim, heads, downsample_rate)
        self.norm = nn.LayerNorm(dim)

    def forward(self, image: torch.Tensor, image_pe: torch.Tensor, tokens: torch.Tensor):
        b = image.shape[0]
        image = image.flatten(2).transpose(1, 2)
        image_pe = image_pe.flatten(2).transpose(1, 2).expand(b, -1, -1)
        token_pe = tokens
        for layer in self.layers:
            tokens, image = layer(tokens, image, token_pe, image_pe)
        tokens = self.norm(tokens + self.final(tokens + token_pe, image + image_pe, image))
        return tokens, image


class MaskDecoder(nn.Module):
    """Image embedding + prompt tokens -> 4 mask logits at 4x the embedding's size + 4 predicted IoUs.

    Args:
        dim: channels ``D``; depth, heads, mlp_dim, downsample_rate: the :class:`TwoWayTransformer`'s.

    ``forward(image, image_pe, sparse, dense, skips, multimask)``:
        image ``(B, D, h, w)``, image_pe ``(1, D, h, w)``, sparse ``(B, N, D)``, dense ``(B, D, h, w)``,
        skips ``(s4 (B, D/8, 4h, 4w), s8 (B, D/4, 2h, 2w))`` -> ``(logits (B, K, 4h, 4w), iou (B, K))`` with
        ``K = 3`` (tokens 1-3) when ``multimask`` is True, ``K = 1`` (token 0) when False, and all ``K = 4``
        when None (training picks per sample).
    """

    n_masks = 4

    def __init__(self, dim: int = 128, depth: int = 2, heads: int = 8, mlp_dim: int = 512, downsample_rate: int = 2):
        super().__init__()
        self.transformer = TwoWayTransformer(dim, depth, heads, mlp_dim, downsample_rate)
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(self.n_masks, dim)
        self.up1 = nn.ConvTranspose2d(dim, dim // 4, 2, stride=2)
        self.up1_norm = LayerNorm2d(dim // 4)
        self.up2 = nn.ConvTranspose2d(dim // 4, dim // 8, 2, stride=2)
        self.hypernets = nn.ModuleList(MLP(dim, dim, dim // 8, 3) for _ in range(self.n_masks))
        self.iou_head = MLP(dim, 256, self.n_masks, 3)

    def forward(self, image, image_pe, sparse, dense, skips, multimask: bool):
        b, d, h, w = image.shape
        out = torch.cat([self.iou_token.weight, self.mask_tokens.weight], 0)[None].expand(b, -1, -1)
        tokens = torch.cat([out, sparse], dim=1)
        tokens, src = self.transformer(image + dense, image_pe, tokens)
        src = src.transpose(1, 2).reshape(b, d, h, w)
        s4, s8 = skips
        # SAM uses GELU here; ReLU gives the same masks at a fraction of the CPU time at 4x resolution
        x = torch.relu(self.up1_norm(self.up1(src) + s8))
        x = torch.relu(self.up2(x) + s4)
        weights = torch.stack([net(tokens[:, 1 + i]) for i, net in enumerate(self.hypernets)], dim=1)
        logits = (weights @ x.flatten(2)).view(b, self.n_masks, *x.shape[-2:])
        iou = self.iou_head(tokens[:, 0])
        if multimask is None:
            return logits, iou
        keep = slice(1, None) if multimask else slice(0, 1)
        return logits[:, keep], iou[:, keep]
