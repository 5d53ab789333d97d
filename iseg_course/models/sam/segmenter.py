"""The SAM-style model as a Segmenter: the encoder runs once in ``set_image``, each click runs the decoder.

Kirillov et al., "Segment Anything", ICCV 2023 (the interactive use of ``SamPredictor``): clicks become
point prompts (positive / negative), a box becomes its two corner prompts, and the previous prediction's
low-resolution logits are fed back as the mask prompt. A single click (no box, no previous mask) is
ambiguous, so the model answers with **3 candidate masks** and their predicted IoUs (the session shows the
best-scored one; the widget lets the user pick another); later prompts get one mask.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...interactions import Box, Click, Interactions
from ...segmenter import BaseSegmenter, Prediction
from .model import SamStyleModel, resize_longest
from .prompt import BOX_BOTTOM_RIGHT, BOX_TOP_LEFT, NEGATIVE, POSITIVE

#: The shipped checkpoint, relative to the data folder.
DEFAULT_SAM_CHECKPOINT = "models/sam_style.pt"


def prompts_from(interactions: Interactions, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Clicks and the latest box -> ``(coords (1, N, 2) float32, labels (1, N) long)`` in the model's frame.

    ``scale``: input pixels per image pixel (:func:`~.model.resize_longest`). Clicks keep their order; a box
    adds its corners (top-left, bottom-right) first, as SAM concatenates box corners after points.
    Raises ValueError when there is neither a click nor a box.
    """
    coords, labels = [], []
    for item in interactions:
        if isinstance(item, Click):
            coords.append((item.x * scale, item.y * scale))
            labels.append(POSITIVE if item.positive else NEGATIVE)
    boxes = [item for item in interactions if isinstance(item, Box)]
    if boxes:
        b = boxes[-1]
        coords += [(b.x0 * scale, b.y0 * scale), (b.x1 * scale, b.y1 * scale)]
        labels += [BOX_TOP_LEFT, BOX_BOTTOM_RIGHT]
    if not coords:
        raise ValueError("expected at least one click or a box")
    return torch.tensor([coords], dtype=torch.float32), torch.tensor([labels], dtype=torch.long)


class SamSegmenter(BaseSegmenter):
    """Clicks, a box and a previous mask -> K candidate masks with predicted IoUs (:class:`Prediction`).

    Args:
        model: a :class:`~.model.SamStyleModel`; default: loaded from ``checkpoint``.
        checkpoint: a checkpoint file (default ``$ISEG_SAM_STYLE_CHECKPOINT`` or the shipped
            ``data/models/sam_style.pt``).
        multimask: answer an ambiguous single click with 3 candidates (SAM's rule); False: always 1.
        device: ``"cpu"`` or ``"cuda"``.

    ``set_image`` (``(H, W, 3) uint8``) runs the encoder and neck once; ``predict`` runs prompt encoder +
    mask decoder only and returns masks ``(K, H, W) float32`` (sigmoid of the logits upsampled to the image),
    scores ``(K,)`` (predicted IoU) and ``low_res_logits (K, S/4, S/4)``. Errors as :class:`BaseSegmenter`
    (clicks outside the image, unsupported kinds, predict before set_image).
    """

    accepts = frozenset({"click", "box", "mask"})
    takes_previous = True

    def __init__(self, model: SamStyleModel | None = None, checkpoint: str | os.PathLike | None = None,
                 multimask: bool = True, device: str = "cpu"):
        if model is None:
            from ..checkpoint import load_checkpoint

            if checkpoint is None:
                from ...data import data_root

                checkpoint = os.environ.get("ISEG_SAM_STYLE_CHECKPOINT") or data_root() / DEFAULT_SAM_CHECKPOINT
            model, self.meta = load_checkpoint(Path(checkpoint), device=device)
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.multimask = multimask
        self.embedding = self.skips = None

    @torch.no_grad()
    def set_image(self, image: np.ndarray) -> None:
        super().set_image(image)
        x, self.scale = resize_longest(self.image, self.model.size)
        h, w = self.image.shape[:2]
        self.valid_hw = (max(1, round(h * self.scale)), max(1, round(w * self.scale)))
        self.embedding, self.skips = self.model.embed(self.model.encode(x.to(self.device)))

    def _mask_prompt(self, prev_mask, previous: Prediction | None):
        if previous is not None and previous.low_res_logits is not None:
            low = np.asarray(previous.low_res_logits)[previous.chosen]
            return torch.from_numpy(np.ascontiguousarray(low, np.float32))[None, None].to(self.device)
        if prev_mask is None:
            return None
        # a mask from elsewhere (a user's, another method's): probabilities -> logits at the low resolution
        s = self.model.size
        p = torch.zeros(1, 1, s, s)
        h, w = self.valid_hw
        m = torch.from_numpy(np.asarray(prev_mask, np.float32))[None, None]
        p[..., :h, :w] = nn.functional.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
        p = nn.functional.avg_pool2d(p, 4).clamp(1e-4, 1 - 1e-4)
        return torch.logit(p).to(self.device)

    @torch.no_grad()
    def _predict_previous(self, interactions: Interactions, prev_mask, previous: Prediction | None):
        coords, labels = prompts_from(interactions, self.scale)
        mask_in = self._mask_prompt(prev_mask, previous)
        n_clicks = int((labels >= 0).sum())
        ambiguous = self.multimask and mask_in is None and n_clicks == 1 and not any(
            isinstance(i, Box) for i in interactions)
        low, iou = self.model.decode(self.embedding, self.skips, coords.to(self.device), labels.to(self.device),
                                     mask_in, multimask=ambiguous)
        masks = self.upsample(low)
        return Prediction(torch.sigmoid(masks).cpu().numpy()[0], iou.clamp(0, 1).cpu().numpy()[0],
                          low.cpu().numpy()[0])

    def upsample(self, low: torch.Tensor) -> torch.Tensor:
        """Low-resolution logits ``(B, K, S/4, S/4)`` -> ``(B, K, H, W)`` logits on the image (padding cut off)."""
        s = self.model.size
        h, w = self.valid_hw
        up = nn.functional.interpolate(low, size=(s, s), mode="bilinear", align_corners=False)[..., :h, :w]
        return nn.functional.interpolate(up, size=self.image.shape[:2], mode="bilinear", align_corners=False)

    def _predict(self, interactions: Interactions, prev_mask):
        return self._predict_previous(interactions, prev_mask, None)


def sam_style_model() -> SamSegmenter:
    """The shipped SAM-style model (``data/models/sam_style.pt``; ``ISEG_SAM_STYLE_CHECKPOINT`` for another).

    Used by the methods registry (``iseg-course evaluate --method sam``).
    """
    return SamSegmenter()
