"""The SAM 2 idea, hands on: carry a mask through a video by prompting each frame with the previous frame's mask.

Ravi et al., "SAM 2: Segment Anything in Images and Videos", 2024. SAM 2 conditions each frame on a *memory* of
earlier frames' features and masks through memory attention; here the idea is reduced to its simplest form
with the image model as it is: frame 0 is segmented from the user's clicks, and every later frame ``t`` gets

* the mask of frame ``t - 1`` as the **mask prompt** (its low-resolution logits, or its probability map), and
* one positive **click at the previous mask's centre** (:func:`mask_centre_click`): the pixel farthest from its
  border (the maximum of the Euclidean distance transform, ``scipy.ndimage.distance_transform_edt`` via
  :func:`iseg_course.robot.interior_distance`).

No click is asked of the user after frame 0. The baseline, :func:`click_every_frame`, segments every frame
afresh with robot-user clicks (the RITM robot's first click lands at the centre of the *true* object), so it
costs a click per frame; :func:`iou_per_frame` and :func:`plot_iou_per_frame` compare the two.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ...interactions import Click, Interactions
from ...metrics import iou
from ...robot import interior_distance, ritm_click
from ...segmenter import as_prediction

#: What :func:`propagate` feeds back as the mask prompt.
MASK_PROMPTS = ("logits", "probabilities", None)


def mask_centre_click(mask: np.ndarray) -> Click | None:
    """A positive click at the pixel of ``mask`` farthest from the mask's border, or None for an empty mask.

    ``mask``: ``(H, W)`` bool. The image border counts as outside (as the robot users' distance transform);
    on a tie the first pixel in row-major order wins. Returns ``Click(x, y, True)`` in integer pixels.
    """
    d = interior_distance(np.asarray(mask, dtype=bool))
    if d.max() <= 0:
        return None
    row, col = np.unravel_index(int(np.argmax(d)), d.shape)
    return Click(int(col), int(row), True)


def propagate(segmenter, frames: Sequence[np.ndarray], first_prompt_interactions,
              mask_prompt: str | None = "logits", threshold: float = 0.5) -> list[np.ndarray]:
    """Segment a video from clicks on its first frame only, each frame prompted by the previous frame's mask.

    Args:
        segmenter: a Segmenter that accepts clicks and a mask prompt (a :class:`~.segmenter.SamSegmenter`, the
            :class:`~.official.OfficialSamSegmenter`; one with ``takes_previous`` gets the previous
            :class:`~iseg_course.segmenter.Prediction` back, so its low-resolution logits).
        frames: ``T`` images ``(H, W, 3) uint8``, in order (e.g. ``[s.image for s in load_dataset("davis_bear")]``).
        first_prompt_interactions: the clicks (or box) on frame 0, any iterable of interactions.
        mask_prompt: ``"logits"``: the previous prediction's low-resolution logits (SAM's own feedback; falls
            back to the probabilities for a segmenter without them); ``"probabilities"``: the previous
            ``(H, W)`` probability map as ``prev_mask`` (converted by the segmenter); None: no mask prompt
            (the centre click alone, an ablation).
        threshold: probability at or above which a pixel belongs to the mask.

    Returns:
        ``T`` masks, ``(H, W) bool`` each. Every later frame gets one positive click at the previous mask's
        centre (:func:`mask_centre_click`) besides the mask prompt. When a frame's mask is empty the object is
        lost: there is no centre to click, and every later mask is empty too -- the failure SAM 2's memory of
        several frames is there to avoid.

    Raises:
        ValueError: no frames or an unknown ``mask_prompt`` (and whatever the segmenter raises).
    """
    if mask_prompt not in MASK_PROMPTS:
        raise ValueError(f"expected mask_prompt in {MASK_PROMPTS}, got {mask_prompt!r}")
    if len(frames) == 0:
        raise ValueError("expected at least one frame")
    feeds_back = mask_prompt == "logits" and getattr(segmenter, "takes_previous", False)

    segmenter.set_image(frames[0])
    prediction = as_prediction(segmenter.predict(Interactions(list(first_prompt_interactions))))
    masks = [prediction.probabilities >= threshold]
    for frame in frames[1:]:
        click = mask_centre_click(masks[-1])
        if click is None:  # lost: nothing to prompt with
            masks.append(np.zeros(np.shape(frame)[:2], bool))
            continue
        segmenter.set_image(frame)
        log = Interactions([click])
        kw = {}
        if mask_prompt is not None:
            kw["prev_mask"] = prediction.probabilities.copy()
            if feeds_back:
                kw["previous"] = prediction
        prediction = as_prediction(segmenter.predict(log, **kw))
        masks.append(prediction.probabilities >= threshold)
    return masks


def click_every_frame(segmenter, frames: Sequence[np.ndarray], gts: Sequence[np.ndarray],
                      robot: Callable = ritm_click, n_clicks: int = 1, threshold: float = 0.5) -> list[np.ndarray]:
    """The baseline: segment every frame afresh with ``n_clicks`` robot-user clicks, no memory of other frames.

    Args:
        segmenter: any Segmenter.
        frames: ``T`` images ``(H, W, 3) uint8``; gts: their ``T`` ground-truth masks ``(H, W)`` bool.
        robot: ``robot(gt, pred, ignore, previous) -> Interaction | None`` (default: the RITM clicker, whose
            first click lands at the centre of the true object).
        n_clicks: clicks per frame (costs ``T * n_clicks`` clicks in all).

    Returns ``T`` masks, ``(H, W) bool``: each frame's mask after its last click
    (:func:`iseg_course.evaluation.simulate_clicks`). Raises ValueError when frames and gts differ in number.
    """
    from ...data import Sample
    from ...evaluation import simulate_clicks

    if len(frames) != len(gts):
        raise ValueError(f"expected one ground truth per frame, got {len(frames)} frames and {len(gts)} masks")
    out = []
    for t, (frame, gt) in enumerate(zip(frames, gts)):
        run = simulate_clicks(segmenter, Sample(f"frame{t}", frame, np.asarray(gt, bool)), n_clicks, robot,
                              threshold=threshold)
        out.append(run.masks[-1])
    return out


def iou_per_frame(masks: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> np.ndarray:
    """``(T,) float64``: the IoU of each frame's mask with its ground truth (:func:`iseg_course.metrics.iou`).

    Raises ValueError when the two sequences differ in length (and whatever ``iou`` raises for a pair).
    """
    if len(masks) != len(gts):
        raise ValueError(f"expected as many masks as ground truths, got {len(masks)} and {len(gts)}")
    return np.array([iou(m, g) for m, g in zip(masks, gts)], dtype=np.float64)


def plot_iou_per_frame(curves: dict[str, Sequence[float]], ax=None, frame_numbers: Sequence[int] | None = None):
    """Line plot of IoU per frame, one line per entry of ``curves`` (label -> ``T`` IoUs); returns ``ax``.

    ``frame_numbers``: the x values (e.g. the DAVIS frame numbers 0, 2, 4, ...); default 0 .. T-1.
    """
    import matplotlib.pyplot as plt

    from ...plotting import FONT_SIZE

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
    for label, values in curves.items():
        x = np.arange(len(values)) if frame_numbers is None else np.asarray(frame_numbers)[: len(values)]
        ax.plot(x, values, marker="o", markersize=3, label=f"{label} (mean {np.mean(values):.3f})")
    ax.set_xlabel("frame", fontsize=FONT_SIZE)
    ax.set_ylabel("IoU", fontsize=FONT_SIZE)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT_SIZE - 1)
    return ax

