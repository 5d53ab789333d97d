"""Box robots: the ground truth's bounding box (perfect, relaxed, perturbed), its extreme points, and
:class:`BoxThenClicks`, a session that starts with a box and goes on with clicks.

The three box robots of the lecture (after Marinov et al., "Deep Interactive Segmentation of Medical
Images: A Systematic Review and Taxonomy", TPAMI 2024): perfect (the ground truth's box), relaxed (grown by
a margin, for context) and perturbed (each side shifted at random, a user's imprecision)."""

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
    ``x_min`` is the left-most object column, ``y_max`` the bottom-most object row (integers stored as
    floats by ``Box``). A one-pixel-wide (or -high) object gives a box without area (``x_min == x_max``),
    which ``Box.validate`` refuses; :func:`relaxed_box` and :func:`perturbed_box` always give an area.

    Args:
        gt: ``(H, W)`` ground-truth mask (bool, {0, 1} or {0, 255}).

    Returns:
        ``Box(x_min, y_min, x_max, y_max)`` in pixels.

    Raises:
        ValueError: empty or non-binary ground truth.

    Used in lessons 03, 05.
    """
    gt, _ = check_ground_truth(gt)
    rows = np.flatnonzero(gt.any(axis=1))
    cols = np.flatnonzero(gt.any(axis=0))
    return Box(int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1]))


def _box_around(gt: np.ndarray, margin_px: float, shifts: Sequence[int]) -> Box:
    """The tight box of ``gt`` grown by ``margin_px``, its sides ``(x0, y0, x1, y1)`` moved by ``shifts``,
    clipped to the image and kept at least one pixel apart (the rules of :func:`perturbed_box`)."""
    b = perfect_box(gt)
    h, w = np.shape(gt)
    if h < 2 or w < 2:
        raise ValueError(f"a box needs an image at least 2 x 2 pixels (H x W), got {h} x {w}")
    x0, x1 = sorted(np.clip([b.x0 - margin_px + shifts[0], b.x1 + margin_px + shifts[2]], 0, w - 1))
    y0, y1 = sorted(np.clip([b.y0 - margin_px + shifts[1], b.y1 + margin_px + shifts[3]], 0, h - 1))
    if x1 - x0 < 1:
        x0, x1 = (x0, x0 + 1) if x0 + 1 <= w - 1 else (x1 - 1, x1)
    if y1 - y0 < 1:
        y0, y1 = (y0, y0 + 1) if y0 + 1 <= h - 1 else (y1 - 1, y1)
    return Box(float(x0), float(y0), float(x1), float(y1))


def relaxed_box(gt: np.ndarray, margin_px: float = 10.0) -> Box:
    """The perfect box grown by ``margin_px`` pixels on every side, clipped to the image.

    "Relaxed" boxes include some context around the object (the lecture's relaxed box robot, after
    Marinov et al., TPAMI 2024; DEXTR, Maninis et al., CVPR 2018, and many box-prompted models crop a
    relaxed box). ``Box(x0 - m, y0 - m, x1 + m, y1 + m)`` for the tight box ``(x0, y0, x1, y1)`` of
    :func:`perfect_box` and ``m = margin_px``, each corner clipped into ``[0, W - 1] x [0, H - 1]``. The
    corners are pixel coordinates (inclusive); a fractional margin gives fractional corners (``Box``
    stores floats). Like :func:`perturbed_box`, the result always has an area: two sides closer than one
    pixel (a one-pixel-wide object with ``margin_px < 0.5``) are moved one pixel apart.

    Args:
        gt: ``(H, W)`` ground-truth mask (bool, {0, 1} or {0, 255}), ``H, W >= 2``.
        margin_px: pixels added on every side, ``>= 0``.

    Returns:
        ``Box(x0, y0, x1, y1)`` in pixels, ``0 <= x0 < x1 <= W - 1``, ``0 <= y0 < y1 <= H - 1``.

    Raises:
        ValueError: ``margin_px < 0``, an image smaller than 2 x 2, and the errors of :func:`perfect_box`;
        TypeError: ``margin_px`` not a number.

    Used in lessons 03, 05.
    """
    margin_px = number(margin_px, "margin_px", minimum=0.0, unit="pixels")
    return _box_around(gt, margin_px, (0, 0, 0, 0))


def perturbed_box(gt: np.ndarray, max_shift_px: float = 10.0, rng: RandomState = None, *,
                  margin_px: float = 0.0) -> Box:
    """The perfect (or relaxed) box with each side shifted by its own random integer in ``[-m, m]`` pixels.

    Simulates a user's imprecise box: the lecture's perturbed box robot, "randomly shifted in x and y"
    (after Marinov et al., TPAMI 2024); box noise also regularises training (SAM adds such noise to its
    box prompts, Kirillov et al., ICCV 2023). The rules, in order:

    1. the tight box ``(x0, y0, x1, y1)`` of :func:`perfect_box` (inclusive pixels), grown by
       ``margin_px`` on every side (``margin_px = 0``: the perfect box; see :func:`relaxed_box`);
    2. ``m = floor(max_shift_px)``; four shifts from one call ``gen.integers(-m, m + 1, size=4)`` (``gen``
       from :func:`as_generator`: a Generator is used as it is, an int seeds ``np.random.default_rng``),
       added to ``x0, y0, x1, y1`` in this order;
    3. each corner clipped into ``[0, W - 1] x [0, H - 1]``; sides that crossed are swapped (``Box`` sorts
       its corners);
    4. two sides less than one pixel apart are moved apart: ``x1 = x0 + 1``, or ``x0 = x1 - 1`` when
       ``x0 + 1`` lies outside the image (the same for ``y``), so the box always has an area.

    So the box may miss part of the object, which GrabCut then treats as sure background (lesson 03).
    With ``max_shift_px = 0`` it equals :func:`relaxed_box` ``(gt, margin_px)``.

    Args:
        gt: ``(H, W)`` ground-truth mask (bool, {0, 1} or {0, 255}), ``H, W >= 2``.
        max_shift_px: largest shift of a side in pixels, ``>= 0`` (only its integer part is used).
        rng: ``numpy.random.Generator``, int seed (>= 0) or None (see :func:`as_generator`).
        margin_px: pixels added on every side before the shifts, ``>= 0``.

    Returns:
        ``Box(x0, y0, x1, y1)`` in pixels (integers when ``margin_px`` is), ``0 <= x0 < x1 <= W - 1``,
        ``0 <= y0 < y1 <= H - 1``.

    Raises:
        ValueError: ``max_shift_px < 0`` or ``margin_px < 0``, an image smaller than 2 x 2, a negative
        seed, and the errors of :func:`perfect_box` (empty or non-binary ground truth);
        TypeError: a bad ``rng``, or a size that is not a number.

    Used in lessons 03, 05.
    """
    max_shift_px = number(max_shift_px, "max_shift_px", minimum=0.0, unit="pixels")
    margin_px = number(margin_px, "margin_px", minimum=0.0, unit="pixels")
    gen = as_generator(rng)
    perfect_box(gt)  # the errors of an empty or non-binary ground truth before any draw
    m = int(np.floor(max_shift_px))
    return _box_around(gt, margin_px, [int(v) for v in gen.integers(-m, m + 1, size=4)])


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
