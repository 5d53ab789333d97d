"""The click model of the cat working example: a small U-Net fed with the image, the clicks and its last answer.

Input (the lecture's "image + guidance signal G + previous prediction"), at the model's working size
``S x S`` pixels:

====  ==========================================================  ==============
ch.   what                                                        values
====  ==========================================================  ==============
0-2   RGB image, resized to ``S x S``                             [0, 1]
3     positive clicks as disks (or Gaussian heatmaps)             [0, 1]
4     negative clicks, same encoding                              [0, 1]
5     previous prediction (object probability; 0 before click 1)  [0, 1]
====  ==========================================================  ==============

Output: one logit per pixel, ``(N, 1, S, S)``; ``sigmoid`` gives the object probability.

The network is a U-Net (Ronneberger et al., MICCAI 2015) with four levels, group norm (Wu & He, ECCV 2018)
and ReLU, and
``Dropout2d`` in the bottleneck and the decoder (off at ``eval()``; switched back on for MC dropout in the
active-learning lesson). Feeding the previous mask back follows Mahadevan et al. (BMVC 2018) and RITM
(Sofiiuk et al., 2022); disk click maps follow Benenson et al. (CVPR 2019).

:class:`ClickSegmenter` wraps a trained model as a Segmenter: image and clicks in image pixels, the
probability map back at the image's own size.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..interactions import Box, Click, Interactions
from ..segmenter import BaseSegmenter

#: The checkpoint this project trained on the cat working example (lesson 07's full configuration),
#: relative to the data folder (see :func:`iseg_course.data.data_root`).
DEFAULT_CHECKPOINT = "models/cat_click_unet.pt"
IN_CHANNELS = 6
GUIDANCE_KINDS = ("disk", "gaussian")


def _norm(c: int) -> nn.Module:
    # Group norm, not batch norm: the same image is seen after click 1 (no previous mask) and after click 10
    # (a good one); batch statistics of such different inputs, averaged into one running estimate, made the
    # first-click prediction collapse in eval() mode. Group norm behaves the same in train() and eval().
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


def click_maps(clicks: list[Click] | Interactions, shape: tuple[int, int], kind: str = "disk",
               radius: float = 5.0) -> np.ndarray:
    """Positive and negative click maps, ``(2, H, W) float32`` in [0, 1] (channel 0 positive, 1 negative).

    ``kind`` ``"disk"``: 1 within ``radius`` pixels of a click; ``"gaussian"``: a Gaussian heatmap with
    ``sigma = radius`` pixels. Both come from :func:`iseg_course.guidance.guidance_maps`. Raises ValueError
    for another kind or a click outside ``shape``.
    """
    from ..guidance import guidance_maps

    if kind not in GUIDANCE_KINDS:
        raise ValueError(f"unknown click encoding {kind!r}; expected one of {GUIDANCE_KINDS}")
    inter = clicks if isinstance(clicks, Interactions) else Interactions(list(clicks))
    kw = {"radius": radius} if kind == "disk" else {"sigma": radius}
    return guidance_maps(inter, shape, kind, **kw)


def model_input(image: np.ndarray, clicks: list[Click] | Interactions, prev: np.ndarray | None = None,
                kind: str = "disk", radius: float = 5.0) -> np.ndarray:
    """The model's 6-channel input for one image at its working size, ``(6, S, S) float32``.

    Args:
        image: ``(S, S, 3) uint8`` RGB (already resized to the working size).
        clicks: clicks in working-size pixels.
        prev: ``(S, S)`` previous object probability in [0, 1], or None (zeros: no prediction yet).
        kind, radius: click encoding (see :func:`click_maps`), radius in working-size pixels.

    Raises ValueError for a wrong image shape/dtype or a ``prev`` of another size.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (S, S, 3) uint8 image, got shape {image.shape} dtype {image.dtype}")
    h, w = image.shape[:2]
    out = np.zeros((IN_CHANNELS, h, w), np.float32)
    out[:3] = image.transpose(2, 0, 1) / np.float32(255)
    out[3:5] = click_maps(clicks, (h, w), kind, radius)
    if prev is not None:
        prev = np.asarray(prev, dtype=np.float32)
        if prev.shape != (h, w):
            raise ValueError(f"expected prev of shape {(h, w)}, got {prev.shape}")
        out[5] = prev
    return out


def _plain_meta(meta: dict) -> dict:
    """``meta`` as plain JSON types (NumPy numbers and arrays become Python ones, paths strings), so that
    :func:`load_checkpoint` can read it with ``weights_only=True``. Raises TypeError for other objects."""
    import json

    def plain(o):
        if isinstance(o, (np.generic, np.ndarray)):
            return o.tolist()
        if isinstance(o, os.PathLike):
            return os.fspath(o)
        raise TypeError(f"checkpoint meta cannot hold a {type(o).__name__}; use numbers, strings, lists, dicts")

    return json.loads(json.dumps(meta, default=plain))


def save_checkpoint(path: str | os.PathLike, model, meta: dict | None = None, overwrite: bool = False) -> Path:
    """Save a click model (weights + its constructor arguments + ``meta``, e.g. the training config and
    loss history) to ``path`` with ``torch.save``. Returns the path.

    ``meta`` is stored as JSON types (dict keys become strings, tuples lists).
    Raises FileExistsError if ``path`` exists and ``overwrite`` is False (a trained model is never lost),
    TypeError if ``meta`` holds something JSON cannot represent.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = _plain_meta(meta or {})
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"format": "iseg-course click model v1", "config": dict(model.config), "state_dict": state,
                "meta": meta}, path)
    return path


def load_checkpoint(path: str | os.PathLike | None = None, device: str = "cpu"):
    """Load a click model saved by :func:`save_checkpoint`; ``None`` loads the shipped cat model.

    Returns ``(model, meta)``: the model in ``eval()`` mode on ``device`` and the saved ``meta`` dict.
    Raises FileNotFoundError for a missing file, ValueError for a file that is not such a checkpoint.
    """
    if path is None:
        from ..data import data_root

        path = data_root() / DEFAULT_CHECKPOINT
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path} (train one with `iseg-course train cats --out {path}`)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling error means "not our checkpoint"
        raise ValueError(f"cannot read checkpoint {path}: {e}") from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != "iseg-course click model v1":
        raise ValueError(f"{path} is not an iseg-course click-model checkpoint")
    model = ClickUNet(**ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device).eval(), ckpt.get("meta", {})


def clicked_components(prob: np.ndarray, clicks: list[Click], threshold: float = 0.5) -> np.ndarray:
    """Keep only the predicted regions that hold a positive click: ``(H, W) float32``.

    Pixels at or above ``threshold`` in a connected component (8-connected) without a positive click are
    set to 0; the rest of ``prob`` is unchanged. With no positive click inside the predicted object the map
    is returned as it is. The user clicked the object, so a blob elsewhere is a false positive the robot
    user (or a person) would otherwise spend a negative click on.
    """
    from scipy import ndimage as ndi

    fg = prob >= threshold
    labels, n = ndi.label(fg, structure=np.ones((3, 3), bool))
    keep = {int(labels[c.rc]) for c in clicks if c.positive} - {0}
    if n <= 1 or not keep:
        return prob
    out = prob.copy()
    out[fg & ~np.isin(labels, sorted(keep))] = 0.0
    return out


class ClickSegmenter(BaseSegmenter):
    """A trained click model as a Segmenter: clicks in image pixels -> ``(H, W) float32`` probabilities.

    ``set_image`` keeps the image; ``predict`` picks a window of the image, resizes it to the working size
    ``size x size`` (the size the model was trained at), scales the clicks into it and encodes them as in
    training, feeds the previous probabilities back (``prev_mask``, cropped and resized; zeros when None),
    runs one forward pass and resizes the logits back to the window (bilinear).

    * The window is the whole image for the first click. With ``zoom_in``, later clicks zoom in: the window
      is the box around the previous mask and all clicks, enlarged ``zoom_expand`` times (at least
      ``zoom_min`` of each image side), cropped with :func:`iseg_course.guidance.box_crop` -- the box crop
      of lesson 04 as an implicit guidance signal; outside the window the probability is 0. This is RITM's
      Zoom-In (Sofiiuk et al., f-BRS, CVPR 2020; RITM, ICIP 2022): the 128 px model then sees the object's
      boundary at a higher resolution.
    * With ``keep_clicked``, predicted regions without a positive click are removed
      (:func:`clicked_components`).

    Both were chosen on training cats, not the test cats (NoC@90 on 30 training cats: 7.1 without either,
    6.6 with both; COCO_MVal cats 15.8 -> 15.9, i.e. no change).

    Args:
        model: a ``ClickUNet``; if None, loaded from ``checkpoint``.
        checkpoint: path of a checkpoint; None = the shipped cat model (:data:`DEFAULT_CHECKPOINT`).
        size: working size in pixels (default: the checkpoint's training size, else 128).
        kind, radius: click encoding (default: the checkpoint's; radius in working-size pixels).
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cuda"``, ``"mps"`` or ``"cpu"``.
        zoom_in, zoom_expand, zoom_min: see above (defaults True, 1.4, 0.2).
        keep_clicked: remove predicted regions without a positive click (default True).
        threads: CPU threads for one prediction (default 1: a single 128 px forward pass gains little from
            more threads, and on a busy machine extra threads wait on each other; None keeps PyTorch's
            setting). The previous setting is restored after each prediction.
        meta: with ``model``, the training details it came with (``InteractiveTrainer.meta()``), for the
            defaults above (a checkpoint brings its own).

    Only clicks are understood: ``predict`` raises ValueError with no click or with another interaction
    (scribble, box, ...), and RuntimeError before ``set_image``.
    """

    def __init__(self, model=None, checkpoint: str | os.PathLike | None = None, size: int | None = None,
                 kind: str | None = None, radius: float | None = None, device: str = "cpu",
                 zoom_in: bool = True, zoom_expand: float = 1.4, zoom_min: float = 0.2,
                 keep_clicked: bool = True, threads: int | None = 1, meta: dict | None = None):
        from ..device import best_device

        self.device = best_device(device)
        meta = dict(meta or {})
        if model is None:
            model, meta = load_checkpoint(checkpoint, self.device)
        self.model = model.to(self.device).eval()
        train = meta.get("train_config", {})
        self.size = int(size or train.get("size", 128))
        k = 2 ** (self.model.config["levels"] - 1)
        if self.size % k:
            raise ValueError(f"working size {self.size} must be divisible by {k}")
        if zoom_expand < 1 or not (0 < zoom_min <= 1):
            raise ValueError(f"expected zoom_expand >= 1 and 0 < zoom_min <= 1, got {zoom_expand}, {zoom_min}")
        self.kind = kind or train.get("kind", "disk")
        self.radius = float(radius or train.get("radius", 5.0))
        self.zoom_in, self.zoom_expand, self.zoom_min = bool(zoom_in), float(zoom_expand), float(zoom_min)
        self.keep_clicked = bool(keep_clicked)
        self.threads = threads
        self.meta = meta

    def zoom_window(self, clicks: list[Click], prev_mask: np.ndarray | None) -> Box | None:
        """The Zoom-In box (inclusive corners, inside the image) for these clicks and previous
        probabilities, or None for the whole image (first click, empty previous mask, or zoom off)."""
        if not self.zoom_in or prev_mask is None or len(clicks) < 2:
            return None
        ys, xs = np.nonzero(prev_mask >= 0.5)
        if ys.size == 0:
            return None
        h, w = self.image.shape[:2]
        ys = np.r_[ys, [c.y for c in clicks]]
        xs = np.r_[xs, [c.x for c in clicks]]
        cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
        half_h = max((ys.max() - ys.min() + 1) * self.zoom_expand, self.zoom_min * h) / 2
        half_w = max((xs.max() - xs.min() + 1) * self.zoom_expand, self.zoom_min * w) / 2
        y0, y1 = max(0, int(np.floor(cy - half_h))), min(h - 1, int(np.ceil(cy + half_h)))
        x0, x1 = max(0, int(np.floor(cx - half_w))), min(w - 1, int(np.ceil(cx + half_w)))
        if (y0, x0, y1, x1) == (0, 0, h - 1, w - 1):
            return None
        return Box(x0, y0, x1, y1)

    def _predict(self, interactions: Interactions, prev_mask: np.ndarray | None) -> np.ndarray:
        from ..guidance import box_crop

        others = [type(i).__name__ for i in interactions if not isinstance(i, Click)]
        if others:
            raise ValueError(f"the click model takes clicks only, got {sorted(set(others))}")
        clicks = interactions.clicks
        if not clicks:
            raise ValueError("the click model needs at least one click")
        h, w = self.image.shape[:2]
        s = self.size
        prev = None if prev_mask is None else np.clip(np.asarray(prev_mask, np.float32), 0, 1)
        box = self.zoom_window(clicks, prev)
        if box is None:
            box = Box(0, 0, w - 1, h - 1)
        image, win = box_crop(self.image, box, margin=0, size=s, interpolation="area")
        if prev is not None:
            prev = np.clip(box_crop(prev, box, margin=0, size=s, interpolation="area")[0], 0, 1)
        sy, sx = s / (win.y1 - win.y0), s / (win.x1 - win.x0)
        scaled = [Click(float(np.clip((c.x - win.x0 + 0.5) * sx - 0.5, 0, s - 1)),
                        float(np.clip((c.y - win.y0 + 0.5) * sy - 0.5, 0, s - 1)), c.positive) for c in clicks]
        x = torch.from_numpy(model_input(image, scaled, prev, self.kind, self.radius))[None].to(self.device)
        threads = torch.get_num_threads()
        if self.threads and self.device == "cpu":
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                logits = F.interpolate(self.model(x), size=(win.y1 - win.y0, win.x1 - win.x0), mode="bilinear",
                                       align_corners=False)
                window_prob = torch.sigmoid(logits)[0, 0].float().cpu().numpy()
        finally:
            torch.set_num_threads(threads)
        prob = np.zeros((h, w), np.float32)
        prob[win.slices] = window_prob
        return clicked_components(prob, clicks) if self.keep_clicked else prob


def cat_click_model() -> ClickSegmenter:
    """The shipped cat click model on the best device: ``iseg-course evaluate --method
    iseg_course.models:cat_click_model``. Set ``ISEG_CHECKPOINT`` to evaluate another checkpoint."""
    return ClickSegmenter(checkpoint=os.environ.get("ISEG_CHECKPOINT") or None, device="auto")
