"""The SAM-style model as a Segmenter: the encoder runs once in ``set_image``, each click runs the decoder.

Kirillov et al., "Segment Anything", ICCV 2023 (the interactive use of ``SamPredictor``): clicks become
point prompts (positive / negative), a box becomes its two corner prompts, and the previous prediction's
low-resolution logits are fed back as the mask prompt. A single click (no box, no previous mask) is
ambiguous, so the model answers with **3 candidate masks** and their predicted IoUs (the session shows the
best-scored one; the widget lets the user pick another); later prompts get one mask.

**Zoom-In** (RITM's, on by default): from the second click on, the model looks at a window around the
previous mask and the clicks (:func:`~iseg_course.guidance.zoom_in_box`), encoded once at the model's input
size and reused while later windows overlap it (IoU >= 0.5, every click inside), as RITM's ``ZoomIn`` does.
A small object then fills the 384 px input and the 96 x 96 low-resolution mask, which matters most on
photos where the object covers a few percent of the image.

**A negative click removes a whole wrong piece** (on by default, :func:`remove_rejected_parts`): when the
newest click is negative and lands on a piece of the previous mask (a connected component of the mask prompt)
that holds no positive click, that piece leaves the mask prompt before the decoder runs. Without it the model,
trained on salient-object masks, treats a negative click as a local correction: after a first click that
covered three statues, each negative click on a wrong statue carved out a small disc around itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...guidance import zoom_in_box
from ...interactions import Box, Click, Interactions
from ...segmenter import BaseSegmenter, Prediction
from .model import SamStyleModel, resize_longest
from .prompt import BOX_BOTTOM_RIGHT, BOX_TOP_LEFT, NEGATIVE, POSITIVE

#: The shipped checkpoint, relative to the data folder.
DEFAULT_SAM_CHECKPOINT = "models/sam_style.pt"


def prompts_from(interactions: Interactions, scale: float,
                 origin: tuple[float, float] = (0.0, 0.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """Clicks and the latest box -> ``(coords (1, N, 2) float32, labels (1, N) long)`` in the model's frame.

    ``scale``: input pixels per image pixel (:func:`~.model.resize_longest`); ``origin``: the image pixel
    ``(x, y)`` at the frame's top-left corner (a Zoom-In window's; ``(0, 0)`` for the whole image). Clicks keep
    their order; a box adds its corners (top-left, bottom-right) after them, as SAM concatenates box corners
    after points. Raises ValueError when there is neither a click nor a box.
    """
    ox, oy = origin
    coords, labels = [], []
    for item in interactions:
        if isinstance(item, Click):
            coords.append(((item.x - ox) * scale, (item.y - oy) * scale))
            labels.append(POSITIVE if item.positive else NEGATIVE)
    boxes = [item for item in interactions if isinstance(item, Box)]
    if boxes:
        b = boxes[-1]
        coords += [((b.x0 - ox) * scale, (b.y0 - oy) * scale), ((b.x1 - ox) * scale, (b.y1 - oy) * scale)]
        labels += [BOX_TOP_LEFT, BOX_BOTTOM_RIGHT]
    if not coords:
        raise ValueError("expected at least one click or a box")
    return torch.tensor([coords], dtype=torch.float32), torch.tensor([labels], dtype=torch.long)


#: The logit a removed piece gets in the mask prompt (sigmoid 4.5e-5: background).
REJECTED_LOGIT = -10.0


def remove_rejected_parts(mask_logits: torch.Tensor, coords: torch.Tensor, labels: torch.Tensor,
                          stride: int = 4) -> torch.Tensor:
    """Take the piece a negative click rejects out of the mask prompt.

    ``mask_logits``: the previous low-resolution logits ``(1, 1, h, w)``; ``coords (1, N, 2)`` float
    ``(x, y)`` in input pixels and ``labels (1, N)`` as :func:`prompts_from` gives them (clicks in the order
    they were made, box corners after them); ``stride``: input pixels per mask pixel (4). If the newest click
    is negative and lies on a connected component (4-connectivity) of ``mask_logits > 0`` that contains no
    positive click, that component is set to :data:`REJECTED_LOGIT`; otherwise the logits come back unchanged
    (the same tensor). A click outside the mask's grid lies on no component. Returns ``(1, 1, h, w)`` like the
    input. Raises ValueError when the shapes do not match.

    The course's rule on top of SAM's mask prompt (Kirillov et al., ICCV 2023), measured with
    ``benchmarks/sam_style.py`` (NoC@90 of the shipped model without -> with the rule): GrabCut 4.92 -> 4.76,
    Berkeley 8.15 -> 7.87, COCO_MVal cats 7.90 -> 7.6, 100 other cats 2.98 -> 2.96, DUTS test 12.36 -> 12.34.
    Chosen on the model trained without instance targets (GrabCut 5.76 -> 5.08, Berkeley 9.12 -> 8.83).
    """
    from scipy import ndimage

    if mask_logits.ndim != 4 or mask_logits.shape[:2] != (1, 1) or coords.shape[:1] != (1,) \
            or coords.shape[:2] != labels.shape or coords.shape[-1] != 2:
        raise ValueError(f"expected mask logits (1, 1, h, w), coords (1, N, 2) and labels (1, N), got "
                         f"{tuple(mask_logits.shape)}, {tuple(coords.shape)} and {tuple(labels.shape)}")
    lab = labels[0].cpu().numpy()
    is_click = (lab == POSITIVE) | (lab == NEGATIVE)
    if not is_click.any() or lab[np.flatnonzero(is_click)[-1]] != NEGATIVE:
        return mask_logits
    fg = (mask_logits[0, 0] > 0).cpu().numpy()
    parts, _ = ndimage.label(fg)
    h, w = fg.shape
    xy = np.floor(coords[0].cpu().numpy() / stride).astype(int)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    at = np.where(inside, parts[np.clip(xy[:, 1], 0, h - 1), np.clip(xy[:, 0], 0, w - 1)], 0)
    rejected = at[np.flatnonzero(is_click)[-1]]
    if rejected == 0 or rejected in at[lab == POSITIVE]:
        return mask_logits
    out = mask_logits.clone()
    out[0, 0][torch.from_numpy(parts == rejected).to(out.device)] = REJECTED_LOGIT
    return out


class _Frame:
    """A region of the image encoded once: rows ``y0:y1``, columns ``x0:x1`` (end exclusive), its scale,
    valid size in the model's frame, image embedding and skip features."""

    def __init__(self, window: tuple[int, int, int, int], scale: float, valid_hw: tuple[int, int], embedding, skips):
        self.window, self.scale, self.valid_hw = window, scale, valid_hw
        self.embedding, self.skips = embedding, skips

    def contains(self, clicks) -> bool:
        y0, y1, x0, x1 = self.window
        return all(x0 <= c.x < x1 and y0 <= c.y < y1 for c in clicks)

    def iou(self, window: tuple[int, int, int, int]) -> float:
        a, b = self.window, window
        ih = max(0, min(a[1], b[1]) - max(a[0], b[0]))
        iw = max(0, min(a[3], b[3]) - max(a[2], b[2]))
        inter = ih * iw
        area = lambda r: (r[1] - r[0]) * (r[3] - r[2])  # noqa: E731
        return inter / (area(a) + area(b) - inter)


class SamSegmenter(BaseSegmenter):
    """Clicks, a box and a previous mask -> K candidate masks with predicted IoUs (:class:`Prediction`).

    Args:
        model: a :class:`~.model.SamStyleModel`; default: loaded from ``checkpoint``.
        checkpoint: a checkpoint file (default ``$ISEG_SAM_STYLE_CHECKPOINT`` or the shipped
            ``data/models/sam_style.pt``).
        multimask: answer an ambiguous single click with 3 candidates (SAM's rule); False: always 1.
        device: ``"cpu"`` or ``"cuda"``.
        zoom_in: RITM's Zoom-In from the second click on (see the module's text); False: the whole image
            always (one encoder pass per image, every click costs the decoder only).
        zoom_expand, zoom_min: the window's enlargement and smallest side (fraction of the image side), as
            :func:`~iseg_course.guidance.zoom_in_box` (defaults 1.4 and 0.2).
        reject_parts: a negative click on a piece of the previous mask without a positive click removes that
            whole piece (:func:`remove_rejected_parts`; see the module's text); False: SAM's prompts only.
        input_size: the side ``S`` in pixels of the square the encoder sees (the image or Zoom-In window is
            resized so its longest side is ``S``, then padded); a multiple of 16. Default: 1.5 times the size
            the model was trained at, rounded to a multiple of 16 (384 for the shipped model, trained at
            256): see below.

    **A larger input than in training.** The encoder is convolutional and the prompt encoder and mask decoder
    work on positions normalised to ``[0, 1]`` (:meth:`SamStyleModel.decode <.model.SamStyleModel.decode>`),
    so the model trained at 256 px runs at 384 px unchanged, with a 24 x 24 embedding and 96 x 96
    low-resolution masks: finer boundaries for the same object. Touvron et al. ("Fixing the train-test
    resolution discrepancy", NeurIPS 2019) found that CNNs classify better at a test resolution above the
    training one. Here (``benchmarks/sam_style.py``, NoC@90, Zoom-In, 256 -> 384 px) the shipped model needs
    5.66 -> 4.76 clicks on GrabCut, 9.49 -> 7.87 on Berkeley, 3.48 -> 2.96 on lesson 07's 100 other cats
    and 6.1 -> 7.6 on the 10 COCO_MVal cats; the click stays under 15 ms. (The course's earlier model gained
    nothing more on Berkeley at 448 or 512 px.)

    ``set_image`` (``(H, W, 3) uint8``) runs the encoder and neck once; ``predict`` runs prompt encoder +
    mask decoder only (plus one encoder pass when Zoom-In moves to a new window) and returns masks
    ``(K, H, W) float32`` (sigmoid of the logits upsampled to the image; 0 outside a Zoom-In window), scores
    ``(K,)`` (predicted IoU) and ``low_res_logits (K, S/4, S/4)`` (in the frame named by the Prediction's
    ``state``). Errors as :class:`BaseSegmenter` (clicks outside the image, unsupported kinds, predict before
    set_image); ValueError for a bad ``zoom_expand`` / ``zoom_min`` or an ``input_size`` that is not a
    positive multiple of 16.
    """

    accepts = frozenset({"click", "box", "mask"})
    takes_previous = True

    def __init__(self, model: SamStyleModel | None = None, checkpoint: str | os.PathLike | None = None,
                 multimask: bool = True, device: str = "cpu", zoom_in: bool = True, zoom_expand: float = 1.4,
                 zoom_min: float = 0.2, input_size: int | None = None, reject_parts: bool = True):
        if model is None:
            from ..checkpoint import load_checkpoint

            if checkpoint is None:
                from ...data import data_root

                checkpoint = os.environ.get("ISEG_SAM_STYLE_CHECKPOINT") or data_root() / DEFAULT_SAM_CHECKPOINT
            model, self.meta = load_checkpoint(Path(checkpoint), device=device)
        if input_size is None:
            input_size = 16 * round(1.5 * model.size / 16)
        if isinstance(input_size, bool) or not isinstance(input_size, (int, np.integer)) or input_size <= 0 \
                or input_size % 16:
            raise ValueError(f"expected input_size to be a positive multiple of 16 pixels, got {input_size!r}")
        self.input_size = int(input_size)
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.multimask = multimask
        zoom_in_box((2, 2), [], None, expand=zoom_expand, min_fraction=zoom_min)  # validates both
        self.zoom_in, self.zoom_expand, self.zoom_min = bool(zoom_in), float(zoom_expand), float(zoom_min)
        self.reject_parts = bool(reject_parts)
        self.full = self.frame = None

    @torch.no_grad()
    def _encode(self, window: tuple[int, int, int, int]) -> _Frame:
        y0, y1, x0, x1 = window
        x, scale = resize_longest(self.image[y0:y1, x0:x1], self.input_size)
        h, w = y1 - y0, x1 - x0
        valid_hw = (max(1, round(h * scale)), max(1, round(w * scale)))
        embedding, skips = self.model.embed(self.model.encode(x.to(self.device)))
        return _Frame(window, scale, valid_hw, embedding, skips)

    def set_image(self, image: np.ndarray) -> None:
        super().set_image(image)
        h, w = self.image.shape[:2]
        self.full = self.frame = self._encode((0, h, 0, w))

    # the whole image's frame (the automatic mask generator and lesson 10 read these)
    scale = property(lambda self: self.full.scale, doc="input pixels per image pixel of the whole image")
    valid_hw = property(lambda self: self.full.valid_hw, doc="the image's size in the model's input frame")
    embedding = property(lambda self: None if self.full is None else self.full.embedding,
                         doc="the whole image's embedding ``(1, D, h, w)``, None before set_image")
    skips = property(lambda self: self.full.skips, doc="the whole image's stride-4/8 skip features")

    def _frame_for(self, interactions: Interactions, prev_mask) -> _Frame:
        """The whole image, or the Zoom-In window for these clicks (reusing the last window while it fits)."""
        clicks = interactions.clicks
        if not self.zoom_in or any(isinstance(i, Box) for i in interactions):
            return self.full
        box = zoom_in_box(self.image.shape, clicks, prev_mask, expand=self.zoom_expand, min_fraction=self.zoom_min)
        if box is None:
            return self.full
        window = (int(box.y0), int(box.y1) + 1, int(box.x0), int(box.x1) + 1)
        last = self.frame
        if last is not None and last is not self.full and last.iou(window) >= 0.5 and last.contains(clicks):
            return last
        return self._encode(window)

    def _mask_prompt(self, frame: _Frame, prev_mask, previous: Prediction | None):
        if previous is not None and previous.low_res_logits is not None and previous.state == frame.window:
            low = np.asarray(previous.low_res_logits)[previous.chosen]
            return torch.from_numpy(np.ascontiguousarray(low, np.float32))[None, None].to(self.device)
        if prev_mask is None:
            return None
        # a mask from elsewhere (a user's, another method's, another window's): probabilities -> logits at
        # the low resolution of this frame
        s = self.input_size
        y0, y1, x0, x1 = frame.window
        p = torch.zeros(1, 1, s, s)
        h, w = frame.valid_hw
        m = torch.from_numpy(np.ascontiguousarray(np.asarray(prev_mask, np.float32)[y0:y1, x0:x1]))[None, None]
        p[..., :h, :w] = nn.functional.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
        p = nn.functional.avg_pool2d(p, 4).clamp(1e-4, 1 - 1e-4)
        return torch.logit(p).to(self.device)

    @torch.no_grad()
    def _predict_previous(self, interactions: Interactions, prev_mask, previous: Prediction | None,
                          decode=None):
        """The prediction for these prompts. ``decode``: an alternative to :meth:`SamStyleModel.decode
        <.model.SamStyleModel.decode>` with the extra keyword arguments ``frame`` and ``clicks`` (f-BRS on the
        image embedding, :class:`~iseg_course.models.refine.RefinedSamSegmenter`, passes one)."""
        if prev_mask is None and previous is not None:
            prev_mask = previous.probabilities
        frame = self._frame_for(interactions, prev_mask)
        y0, _, x0, _ = frame.window
        coords, labels = prompts_from(interactions, frame.scale, origin=(x0, y0))
        mask_in = self._mask_prompt(frame, prev_mask, previous)
        if mask_in is not None and self.reject_parts:
            mask_in = remove_rejected_parts(mask_in, coords, labels)
        n_clicks = int((labels >= 0).sum())
        ambiguous = self.multimask and mask_in is None and n_clicks == 1 and not any(
            isinstance(i, Box) for i in interactions)
        args = (frame.embedding, frame.skips, coords.to(self.device), labels.to(self.device), mask_in)
        if decode is None:
            low, iou = self.model.decode(*args, multimask=ambiguous)
        else:
            low, iou = decode(*args, multimask=ambiguous, frame=frame, clicks=interactions.clicks)
        self.frame = frame
        masks = self.upsample(low, frame)
        return Prediction(torch.sigmoid(masks).cpu().numpy()[0], iou.clamp(0, 1).cpu().numpy()[0],
                          low.cpu().numpy()[0], state=frame.window)

    def upsample(self, low: torch.Tensor, frame: _Frame | None = None) -> torch.Tensor:
        """Low-resolution logits ``(B, K, S/4, S/4)`` of ``frame`` (default: the whole image) -> ``(B, K, H, W)``
        logits on the image (padding cut off; ``-inf`` outside a Zoom-In window)."""
        frame = frame or self.full
        s = self.input_size
        h, w = frame.valid_hw
        y0, y1, x0, x1 = frame.window
        up = nn.functional.interpolate(low, size=(s, s), mode="bilinear", align_corners=False)[..., :h, :w]
        up = nn.functional.interpolate(up, size=(y1 - y0, x1 - x0), mode="bilinear", align_corners=False)
        if frame is self.full:
            return up
        out = torch.full((*up.shape[:2], *self.image.shape[:2]), float("-inf"), dtype=up.dtype, device=up.device)
        out[..., y0:y1, x0:x1] = up
        return out

    def _predict(self, interactions: Interactions, prev_mask):
        return self._predict_previous(interactions, prev_mask, None)


def sam_style_model() -> SamSegmenter:
    """The shipped SAM-style model (``data/models/sam_style.pt``; ``ISEG_SAM_STYLE_CHECKPOINT`` for another).

    Used by the methods registry (``iseg-course evaluate --method sam``).
    """
    return SamSegmenter()
