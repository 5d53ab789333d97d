"""The click model as a Segmenter: image and clicks in image pixels in, object probabilities at the image's size out.

:class:`ClickSegmenter` wraps a trained :class:`~iseg_course.models.unet.ClickUNet`: it picks a window of
the image (the whole image, or RITM's Zoom-In box around the previous mask and the clicks), maps the image,
the clicks and the previous prediction into the model's working grid with a
:class:`~iseg_course.guidance.CropWindow`, runs one forward pass (input:
:func:`~iseg_course.models.encoding.model_input`) and maps the logits back with the same window.

References: Sofiiuk et al., "f-BRS: Rethinking Backpropagating Refinement for Interactive Segmentation",
CVPR 2020, and "Reviving Iterative Training with Mask Guidance for Interactive Segmentation" (RITM), ICIP
2022 (Zoom-In); Mahadevan et al., "Iteratively Trained Interactive Segmentation", BMVC 2018 (previous
mask as input).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
import torch

from ..guidance import CropWindow, zoom_in_box
from ..interactions import Box, Click, Interactions
from ..segmenter import BaseSegmenter
from ..validate import number
from .checkpoint import load_checkpoint
from .encoding import model_input

__all__ = ["clicked_components", "ClickSegmenter", "cat_click_model"]


def clicked_components(prob: np.ndarray, clicks: list[Click], threshold: float = 0.5) -> np.ndarray:
    """Keep only the predicted regions that hold a positive click: ``(H, W) float32``.

    Pixels at or above ``threshold`` in a connected component (8-connected) without a positive click are
    set to 0; the rest of ``prob`` is unchanged. With no positive click inside the predicted object the map
    is returned as it is. The user clicked the object, so a blob elsewhere is a false positive the robot
    user (or a person) would otherwise spend a negative click on.

    Used by iseg_course.models.click (:class:`ClickSegmenter` with ``keep_clicked``).
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
      ``zoom_min`` of each image side), cropped with :class:`iseg_course.guidance.CropWindow` -- the box
      crop of lesson 04 as an implicit guidance signal; outside the window the probability is 0. This is RITM's
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

    Used in lesson 07.
    """

    #: clicks, and the previous mask fed back as the sixth input channel
    accepts = frozenset({"click", "mask"})

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
        zoom_expand = number(zoom_expand, "zoom_expand", minimum=1)
        zoom_min = number(zoom_min, "zoom_min", minimum=0, maximum=1, strict=True, unit="fraction of each image side")
        self.kind = kind or train.get("kind", "disk")
        self.radius = float(radius or train.get("radius", 5.0))
        self.zoom_in, self.zoom_expand, self.zoom_min = bool(zoom_in), float(zoom_expand), float(zoom_min)
        self.keep_clicked = bool(keep_clicked)
        self.threads = threads
        self.meta = meta

    def zoom_window(self, clicks: list[Click], prev_mask: np.ndarray | None) -> Box | None:
        """The Zoom-In box (inclusive corners, inside the image) for these clicks and previous
        probabilities, or None for the whole image (first click, empty previous mask, or zoom off); see
        :func:`iseg_course.guidance.zoom_in_box`."""
        if not self.zoom_in:
            return None
        return zoom_in_box(self.image.shape, clicks, prev_mask, expand=self.zoom_expand, min_fraction=self.zoom_min)

    def window(self, clicks: list[Click], prev: np.ndarray | None, size: int | None = None) -> CropWindow:
        """The working window for these clicks and previous probabilities ``(H, W)`` (or None): the Zoom-In
        box (:meth:`zoom_window`) or the whole image, resized to ``size x size`` pixels (default: the
        working size; test-time augmentation asks for others)."""
        h, w = self.image.shape[:2]
        box = self.zoom_window(clicks, prev)
        if box is None:
            box = Box(0, 0, w - 1, h - 1)
        return CropWindow.around(box, (h, w), margin=0, size=size or self.size)

    def network_input(self, win: CropWindow, clicks: list[Click], prev: np.ndarray | None) -> torch.Tensor:
        """The network's input ``(1, C, size, size) float32`` on the model's device: the window's crop of the
        image, the clicks (image pixels) and the previous probabilities ``(H, W)`` (or None), encoded as in
        training (:func:`~iseg_course.models.encoding.model_input`). Used by :meth:`predict` and by what
        wraps the click model (iseg_course.models.refine, iseg_course.uncertainty)."""
        image = win.crop(self.image, interpolation="area")
        if prev is not None:
            prev = np.clip(win.crop(prev, interpolation="area"), 0, 1)
        scaled = [Click(*win.to_crop(c.x, c.y), c.positive) for c in clicks]
        return torch.from_numpy(model_input(image, scaled, prev, self.kind, self.radius))[None].to(self.device)

    @contextmanager
    def cpu_threads(self):
        """Run the block with ``threads`` PyTorch CPU threads (on the CPU, when set); the previous setting
        is restored afterwards."""
        threads = torch.get_num_threads()
        if self.threads and self.device == "cpu":
            torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def _predict(self, interactions: Interactions, prev_mask: np.ndarray | None) -> np.ndarray:
        # other interaction kinds were refused by BaseSegmenter.predict (``accepts``)
        clicks = interactions.clicks
        if not clicks:
            raise ValueError("the click model needs at least one click")
        prev = None if prev_mask is None else np.clip(np.asarray(prev_mask, np.float32), 0, 1)
        win = self.window(clicks, prev)
        x = self.network_input(win, clicks, prev)
        with self.cpu_threads(), torch.inference_mode():
            logits = win.uncrop_torch(self.model(x), fill=float("-inf"))  # sigmoid: 0 outside the window
            prob = torch.sigmoid(logits)[0, 0].float().cpu().numpy()
        return clicked_components(prob, clicks) if self.keep_clicked else prob


#: The cat model after lesson 08's active-learning rounds, relative to the data folder.
AL_CHECKPOINT = "models/cat_click_al.pt"


def cats_al_model() -> ClickSegmenter:
    """The cat click model after the active-learning rounds of lesson 08 (``data/models/cat_click_al.pt``: the
    final model of the best run of ``benchmarks/active_learning.py``, whose record is in the checkpoint's
    meta and in ``data/active_learning.json``), on the best device.

    Used by the methods registry (``iseg-course evaluate --method cats-al``) and lesson 08.
    Raises FileNotFoundError when the checkpoint is missing.
    """
    from ..data import data_root

    return ClickSegmenter(checkpoint=data_root() / AL_CHECKPOINT, device="auto")


def cat_click_model() -> ClickSegmenter:
    """The shipped cat click model on the best device: ``iseg-course evaluate --method
    iseg_course.models:cat_click_model``. Set ``ISEG_CHECKPOINT`` to evaluate another checkpoint.

    Used in lesson 07; also by iseg_course.cli (``--method click``).
    """
    return ClickSegmenter(checkpoint=os.environ.get("ISEG_CHECKPOINT") or None, device="auto")
