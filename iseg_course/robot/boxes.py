"""Box robots: the ground truth's bounding box (perfect, relaxed, perturbed), its extreme points, and
:class:`BoxThenClicks`, a session that starts with a box and goes on with clicks."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..interactions import Box, Click, ExtremePoints, Interaction
from ..segmenter import check_ground_truth
from ..validate import integer, number
from .base import RandomState, as_generator, sample_generator
from .click_robot import ClickRobot
from .regions import _any_error


def perfect_box(gt: np.ndarray) -> Box:
    """The tight bounding box of the ground truth: ``Box(x_min, y_min, x_max, y_max)``, inclusive pixels.

    The "perfect" box robot of the lecture; box robots are usually non-iterative (one prediction step).

    Raises:
        ValueError: empty or non-binary ground truth.

    Used in lessons 03, 05.
    """
    gt, _ = check_ground_truth(gt)
    rows = np.flatnonzero(gt.any(axis=1))
    cols = np.flatnonzero(gt.any(axis=0))
    return Box(int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1]))


def relaxed_box(gt: np.ndarray, margin_px: float = 10.0) -> Box:
    """The perfect box grown by ``margin_px`` pixels on every side, clipped to the image.

    "Relaxed" boxes include some context around the object (DEXTR and many box-prompted models crop a
    relaxed box). Raises ValueError for ``margin_px < 0`` and for the errors of :func:`perfect_box`.

    Used in lessons 03, 05.
    """
    margin_px = number(margin_px, "margin_px", minimum=0.0)
    b = perfect_box(gt)
    h, w = np.shape(gt)
    return Box(max(b.x0 - margin_px, 0), max(b.y0 - margin_px, 0),
               min(b.x1 + margin_px, w - 1), min(b.y1 + margin_px, h - 1))


def perturbed_box(gt: np.ndarray, max_shift_px: float = 10.0, rng: RandomState = None) -> Box:
    """The perfect box with each side shifted independently by a random integer in ``[-max_shift_px, +max_shift_px]``.

    Simulates a user's imprecise box (and regularises training: SAM adds such noise to its box prompts,
    Kirillov et al., ICCV 2023). Sides are clipped to the image and kept at least 1 pixel apart, so the
    box may miss part of the object — the point of the exercise.

    Raises:
        ValueError: ``max_shift_px < 0``, plus the errors of :func:`perfect_box`; TypeError: bad ``rng``.

    Used in lesson 05.
    """
    max_shift_px = number(max_shift_px, "max_shift_px", minimum=0.0)
    gen = as_generator(rng)
    b = perfect_box(gt)
    h, w = np.shape(gt)
    m = int(np.floor(max_shift_px))
    s = gen.integers(-m, m + 1, size=4)
    x0, x1 = np.clip([b.x0 + s[0], b.x1 + s[2]], 0, w - 1)
    y0, y1 = np.clip([b.y0 + s[1], b.y1 + s[3]], 0, h - 1)
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    if x1 - x0 < 1:
        x0, x1 = (x0, x0 + 1) if x0 + 1 <= w - 1 else (x1 - 1, x1)
    if y1 - y0 < 1:
        y0, y1 = (y0, y0 + 1) if y0 + 1 <= h - 1 else (y1 - 1, y1)
    return Box(int(x0), int(y0), int(x1), int(y1))


def extreme_points(gt: np.ndarray, jitter_px: float = 0.0, rng: RandomState = None) -> ExtremePoints:
    """The left-most, top-most, right-most and bottom-most object pixels (Papadopoulos et al., ICCV 2017).

    Where several pixels share the extreme coordinate (a flat side), the middle one is taken (the
    ``(n - 1) // 2``-th in order along that side). ``jitter_px > 0`` adds a random integer shift in
    ``[-jitter_px, jitter_px]`` to each coordinate (clipped into the image), as DEXTR does in training
    (Maninis et al., CVPR 2018). Returns ``ExtremePoints((left, top, right, bottom))`` as ``(x, y)``.

    Raises:
        ValueError: ``jitter_px < 0``, empty or non-binary ground truth.

    Used in lessons 03, 05.
    """
    jitter_px = number(jitter_px, "jitter_px", minimum=0.0)
    gen = as_generator(rng)
    gt, _ = check_ground_truth(gt)
    rows, cols = np.nonzero(gt)  # row-major: sorted by row, then column

    def middle(sel: np.ndarray, order: np.ndarray) -> tuple[int, int]:
        i = np.flatnonzero(sel)
        i = i[np.argsort(order[i], kind="stable")]
        j = i[(len(i) - 1) // 2]
        return int(cols[j]), int(rows[j])

    pts = [
        middle(cols == cols.min(), rows),
        middle(rows == rows.min(), cols),
        middle(cols == cols.max(), rows),
        middle(rows == rows.max(), cols),
    ]
    if jitter_px > 0:
        h, w = gt.shape
        m = int(np.floor(jitter_px))
        shifts = gen.integers(-m, m + 1, size=(4, 2))
        pts = [(int(np.clip(x + dx, 0, w - 1)), int(np.clip(y + dy, 0, h - 1)))
               for (x, y), (dx, dy) in zip(pts, shifts)]
    return ExtremePoints(pts)


class BoxThenClicks:
    """A robot user that draws a box first, then clicks: ``robot(gt, pred, ignore, previous) -> Box | Click``.

    Picklable, and fits the :class:`~iseg_course.robot.Robot` protocol (None when nothing is left to correct):
    the box-then-correct sessions of box-prompted models (SAM, Kirillov et al., ICCV 2023; GrabCut's
    rectangle, Rother et al., SIGGRAPH 2004):

    * while ``previous`` holds no :class:`Box`: the ground truth's bounding box, perfect
      (``max_shift_px = 0``, :func:`perfect_box`) or with each side shifted by up to ``max_shift_px``
      pixels (:func:`perturbed_box`, drawing from a Generator seeded from ``(seed, the mask)``, so the
      same sample always gets the same box);
    * then: the clicks of a :class:`~iseg_course.robot.ClickRobot` (default ``"ritm"``), which reads only
      the ``Click`` items of ``previous``;
    * None when the prediction has no error left outside ``ignore``.

    Args:
        seed: int >= 0, for the box and the click robot.
        max_shift_px: largest shift of a box side in pixels (>= 0).
        clicker: name of the click robot (see ``CLICK_ROBOTS``); ``**click_kw`` are its options.

    Used by :func:`~iseg_course.robot.make_robot` (``"box_then_clicks"``); not used in a lesson yet.
    """

    def __init__(self, seed: int = 0, *, max_shift_px: float = 0.0, clicker: str = "ritm", **click_kw) -> None:
        self.seed = integer(seed, "seed", minimum=0)
        self.max_shift_px = number(max_shift_px, "max_shift_px", minimum=0.0)
        self.clicker = ClickRobot(clicker, self.seed, **click_kw)

    def __call__(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        ignore: np.ndarray | None = None,
        previous: Sequence[Interaction] = (),
    ) -> Box | Click | None:
        if any(isinstance(p, Box) for p in previous):
            return self.clicker(gt, pred, ignore, previous)
        if not _any_error(gt, pred, ignore):
            return None
        return perturbed_box(gt, self.max_shift_px, rng=sample_generator(self.seed, gt))

    def __repr__(self) -> str:
        return f"BoxThenClicks(seed={self.seed}, max_shift_px={self.max_shift_px}, clicker={self.clicker!r})"
