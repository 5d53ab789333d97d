"""Meta's official Segment Anything model as a course Segmenter, for users who have a checkpoint.

Kirillov et al., "Segment Anything", ICCV 2023; the ``segment_anything`` package (Apache-2.0) and its
``SamPredictor``. The course never downloads the weights (2.4 GB for ViT-H, 375 MB for ViT-B): get a checkpoint
yourself from the "Model Checkpoints" section of https://github.com/facebookresearch/segment-anything (e.g.
``sam_vit_b_01ec64.pth``) and point ``ISEG_SAM_CHECKPOINT`` at it; ``ISEG_SAM_MODEL_TYPE`` names its architecture
(``vit_b``, the default, ``vit_l`` or ``vit_h``). The adapter then plugs SAM into everything that speaks the
Segmenter protocol: the widget, the robot users, ``evaluate``, :func:`.video.propagate`.

As in SAM's interactive use: clicks become point prompts in image pixels ``(x, y)`` (``SamPredictor`` rescales
them itself), the latest box its ``box`` prompt, the previous prediction's low-resolution logits its
``mask_input``; a single click alone is ambiguous, so it gets **3 masks** (``multimask_output=True``) with SAM's
predicted IoUs as scores, every later prompt 1 mask.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...interactions import Box, Click, Interactions
from ...segmenter import BaseSegmenter, Prediction

#: Environment variables read when no model or checkpoint is given.
CHECKPOINT_ENV, MODEL_TYPE_ENV = "ISEG_SAM_CHECKPOINT", "ISEG_SAM_MODEL_TYPE"
MODEL_TYPES = ("vit_b", "vit_l", "vit_h")
_HOW_TO_GET = (
    "The course does not download SAM's weights. Download a checkpoint yourself from the 'Model Checkpoints' "
    "section of https://github.com/facebookresearch/segment-anything (e.g. sam_vit_b_01ec64.pth, 375 MB), then "
    f"set {CHECKPOINT_ENV}=/path/to/sam_vit_b_01ec64.pth and, for ViT-L or ViT-H weights, "
    f"{MODEL_TYPE_ENV}=vit_l or vit_h (default vit_b)."
)


def load_official_sam(checkpoint: str | os.PathLike | None = None, model_type: str | None = None,
                      device: str = "cpu") -> nn.Module:
    """Build ``segment_anything``'s ``Sam`` of ``model_type`` and load ``checkpoint`` into it; never downloads.

    Args:
        checkpoint: the ``.pth`` file; default ``$ISEG_SAM_CHECKPOINT``.
        model_type: ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``; default ``$ISEG_SAM_MODEL_TYPE`` or ``"vit_b"``.
        device: ``"cpu"`` or ``"cuda"``.

    Raises:
        FileNotFoundError: no checkpoint given and ``ISEG_SAM_CHECKPOINT`` unset, or the file missing; the
            message says where to get one and which variables to set.
        ValueError: an unknown model type.
        ImportError: the ``segment_anything`` package is not installed (``pip install segment-anything``).
    """
    checkpoint = checkpoint or os.environ.get(CHECKPOINT_ENV)
    model_type = (model_type or os.environ.get(MODEL_TYPE_ENV) or "vit_b").lower()
    if model_type not in MODEL_TYPES:
        raise ValueError(f"unknown SAM model type {model_type!r}; expected one of {MODEL_TYPES} "
                         f"(set {MODEL_TYPE_ENV} to match the checkpoint)")
    if not checkpoint:
        raise FileNotFoundError(f"no SAM checkpoint: {CHECKPOINT_ENV} is not set. {_HOW_TO_GET}")
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"SAM checkpoint not found: {path}. {_HOW_TO_GET}")
    try:
        from segment_anything import sam_model_registry
    except ImportError as err:
        raise ImportError("the official SAM adapter needs Meta's package: pip install segment-anything") from err
    return sam_model_registry[model_type](checkpoint=str(path)).to(device).eval()


class OfficialSamSegmenter(BaseSegmenter):
    """Official SAM (``segment_anything.SamPredictor``) behind the Segmenter protocol.

    Args:
        model: a ``segment_anything.modeling.Sam`` (tests build a tiny random one); default: loaded with
            :func:`load_official_sam` from ``checkpoint`` / ``model_type`` (or the environment variables).
        checkpoint, model_type: see :func:`load_official_sam`.
        multimask: answer a single click alone with SAM's 3 candidates; False: always 1.
        device: ``"cpu"`` or ``"cuda"``.

    ``set_image`` (``(H, W, 3) uint8`` RGB) runs SAM's image encoder once; ``predict`` returns a
    :class:`~iseg_course.segmenter.Prediction`: masks ``(K, H, W) float32`` (sigmoid of SAM's logits), scores
    ``(K,)`` (SAM's predicted IoU, clipped to ``[0, 1]``), ``low_res_logits (K, 256, 256)`` (fed back as
    ``mask_input`` on the next click). Accepts clicks, boxes and a mask prompt. Errors as
    :class:`~iseg_course.segmenter.BaseSegmenter`, plus those of :func:`load_official_sam`.
    """

    accepts = frozenset({"click", "box", "mask"})
    takes_previous = True

    def __init__(self, model: nn.Module | None = None, checkpoint: str | os.PathLike | None = None,
                 model_type: str | None = None, multimask: bool = True, device: str = "cpu"):
        if model is None:
            model = load_official_sam(checkpoint, model_type, device)
        from segment_anything import SamPredictor

        self.model = model.to(device).eval()
        self.predictor = SamPredictor(self.model)
        self.multimask = multimask

    def set_image(self, image: np.ndarray) -> None:
        super().set_image(image)
        self.predictor.set_image(self.image, image_format="RGB")

    def _mask_input(self, prev_mask, previous: Prediction | None) -> np.ndarray | None:
        """The ``(1, 256, 256)`` mask prompt: the previous logits, or a probability map converted to logits."""
        if previous is not None and previous.low_res_logits is not None:
            return np.asarray(previous.low_res_logits, np.float32)[previous.chosen][None]
        if prev_mask is None:
            return None
        # a mask from elsewhere: resize as SAM resizes the image, pad, average down 4x, probabilities -> logits
        size = self.model.image_encoder.img_size
        h, w = self.predictor.input_size
        m = torch.from_numpy(np.asarray(prev_mask, np.float32))[None, None]
        p = torch.zeros(1, 1, size, size)
        p[..., :h, :w] = nn.functional.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
        low = nn.functional.interpolate(p, size=tuple(self.model.prompt_encoder.mask_input_size), mode="area")
        return torch.logit(low.clamp(1e-4, 1 - 1e-4))[0].numpy()

    def _predict_previous(self, interactions: Interactions, prev_mask, previous: Prediction | None):
        clicks = [i for i in interactions if isinstance(i, Click)]
        boxes = [i for i in interactions if isinstance(i, Box)]
        if not clicks and not boxes:
            raise ValueError("expected at least one click or a box")
        coords = np.array([[c.x, c.y] for c in clicks], np.float32) if clicks else None
        labels = np.array([1 if c.positive else 0 for c in clicks], np.int64) if clicks else None
        box = np.array([boxes[-1].x0, boxes[-1].y0, boxes[-1].x1, boxes[-1].y1], np.float32) if boxes else None
        mask_input = self._mask_input(prev_mask, previous)
        ambiguous = self.multimask and len(clicks) == 1 and box is None and mask_input is None
        logits, scores, low = self.predictor.predict(point_coords=coords, point_labels=labels, box=box,
                                                     mask_input=mask_input, multimask_output=ambiguous,
                                                     return_logits=True)
        probs = torch.sigmoid(torch.as_tensor(logits, dtype=torch.float32)).numpy()
        return Prediction(probs, np.clip(np.asarray(scores, np.float32), 0.0, 1.0), np.asarray(low, np.float32))


def official_sam() -> OfficialSamSegmenter:
    """The official SAM from ``$ISEG_SAM_CHECKPOINT`` (``$ISEG_SAM_MODEL_TYPE``, default ``vit_b``).

    A factory for the methods registry / ``iseg-course evaluate --method iseg_course.models.sam.official:official_sam``.
    Raises FileNotFoundError (with how to get a checkpoint) when there is none.
    """
    return OfficialSamSegmenter()
