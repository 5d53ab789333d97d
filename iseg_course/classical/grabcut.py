"""GrabCut (Rother, Kolmogorov & Blake, SIGGRAPH 2004) as a Segmenter, via OpenCV's ``cv2.grabCut``.

GrabCut is an *iterated* graph cut: the user gives a box (everything outside is background, everything
inside is "probably object"); colour models become Gaussian mixtures (5 components each) instead of
histograms; then it alternates

1. fit the two GMMs to the pixels currently labelled object / background,
2. solve a Boykov–Jolly graph cut with those GMMs as the regional term (n-links as in
   :mod:`iseg_course.classical.graphcut`, ``beta = 1 / (2 <||I_p - I_q||^2>)``),

for a few iterations. Extra clicks or scribbles become hard seeds and the loop runs again.

How interactions become OpenCV's mask labels (``GC_BGD`` = 0 sure background, ``GC_FGD`` = 1 sure object,
``GC_PR_BGD`` = 2 probably background, ``GC_PR_FGD`` = 3 probably object):

* a box (or extreme points' box): inside ``GC_PR_FGD``, outside ``GC_BGD``. A single box and nothing else is
  handed to OpenCV as a rectangle (``GC_INIT_WITH_RECT``), exactly as in the paper.
* positive clicks / scribbles (disks of ``seed_radius``): ``GC_FGD``; negative ones: ``GC_BGD``.
* with clicks but no box (our choice; the paper always starts from a box): every pixel starts as
  ``GC_PR_BGD`` and a disk of ``prior_radius`` around each positive click or scribble point becomes
  ``GC_PR_FGD``, so the object GMM has a neighbourhood to learn from and the graph cut is free to grow or
  shrink it.
* no positive click, scribble, polygon or box: nothing marks the object, the prediction is all zeros.

Everything but the box goes through ``GC_INIT_WITH_MASK``. OpenCV's random generator (used by the k-means
that initialises the GMMs) is reseeded before every call with ``cv2.setRNGSeed(seed)``, so predictions are
deterministic.
"""

from __future__ import annotations

import numpy as np

from ..interactions import Box, Click, Interactions, Scribble, rasterize_seeds
from ..segmenter import BaseSegmenter
from ..validate import number

__all__ = ["GrabCutSegmenter", "grabcut_init_mask", "GC_BGD", "GC_FGD", "GC_PR_BGD", "GC_PR_FGD"]

# OpenCV's GrabCutClasses (kept here so that the module documents them without importing cv2)
GC_BGD, GC_FGD, GC_PR_BGD, GC_PR_FGD = 0, 1, 2, 3


def grabcut_init_mask(
    interactions: Interactions, shape: tuple[int, ...], seed_radius: int = 5, prior_radius: float | None = None
) -> np.ndarray | None:
    """The initial OpenCV GrabCut mask for ``interactions`` (the rules are in the module docstring).

    Args:
        interactions: the interaction log (validated against ``shape``).
        shape: the image's ``(H, W[, C])``.
        seed_radius: radius in pixels of the hard-seed disk around each click (half-width of scribbles).
        prior_radius: radius in pixels of the "probably object" disk around positive clicks when there is
            no box; None uses ``0.1 * min(H, W)``.

    Returns:
        ``(H, W) uint8`` with values in ``{GC_BGD, GC_FGD, GC_PR_BGD, GC_PR_FGD}``, or None when nothing marks
        the object (no positive click/scribble/polygon/extreme points and no box).

    Raises:
        ValueError: an interaction outside the image, or a negative radius.

    Used by :meth:`GrabCutSegmenter.init_mask` (lessons 02, 03, 04, 05, 06).
    """
    h, w = int(shape[0]), int(shape[1])
    number(seed_radius, "seed_radius", 0, unit="pixels")
    if prior_radius is not None:
        number(prior_radius, "prior_radius", 0, unit="pixels")
    fg, bg = rasterize_seeds(interactions, (h, w), radius=int(seed_radius))
    boxes = Interactions(list(interactions)).boxes  # boxes and the boxes spanned by extreme points
    if not boxes and not fg.any():
        return None
    if boxes:
        mask = np.full((h, w), GC_BGD, dtype=np.uint8)
        for box in boxes:
            mask[box.slices()] = GC_PR_FGD
    else:
        from scipy.ndimage import distance_transform_edt

        r = 0.1 * min(h, w) if prior_radius is None else float(prior_radius)
        centres = np.ones((h, w), dtype=bool)
        for it in interactions:
            if isinstance(it, Click) and it.positive:
                centres[it.rc] = False
            elif isinstance(it, Scribble) and it.positive:
                for x, y in it.points:
                    centres[int(round(y)), int(round(x))] = False
        mask = np.full((h, w), GC_PR_BGD, dtype=np.uint8)
        if not centres.all():
            mask[distance_transform_edt(centres) <= r] = GC_PR_FGD
    mask[bg] = GC_BGD
    mask[fg] = GC_FGD
    return mask


class GrabCutSegmenter(BaseSegmenter):
    """GrabCut (Rother, Kolmogorov & Blake, SIGGRAPH 2004) through ``cv2.grabCut``, as a Segmenter.

    Args:
        iterations: GrabCut iterations (GMM re-estimation + graph cut) per prediction, >= 1.
        seed_radius: radius in pixels of the hard seeds around clicks (half-width of scribbles).
        prior_radius: "probably object" radius around positive clicks when there is no box (None:
            ``0.1 * min(H, W)``); see :func:`grabcut_init_mask`.
        seed: OpenCV RNG seed set before each call (determinism).
        use_prev_mask: when True and a ``prev_mask`` is passed to ``predict``, it replaces the "probable"
            labels (object where ``prev_mask > 0.5``) under the hard constraints, so corrections refine the
            previous result instead of starting again.

    ``predict`` returns ``(H, W) float32`` in ``{0, 1}`` (OpenCV's ``GC_FGD`` and ``GC_PR_FGD`` are object).

    Used in lessons 02, 03, 04, 05, 06 (the ``grabcut`` method of iseg_course.methods).
    """

    #: every interaction kind, and the previous mask (it seeds the next GrabCut run)
    accepts = frozenset({"click", "scribble", "box", "extreme_points", "polygon", "mask"})

    def __init__(
        self,
        iterations: int = 5,
        seed_radius: int = 5,
        prior_radius: float | None = None,
        seed: int = 0,
        use_prev_mask: bool = False,
    ):
        if int(iterations) != iterations or iterations < 1:
            raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
        if int(seed_radius) != seed_radius or seed_radius < 0:
            raise ValueError(f"seed_radius must be an integer >= 0 (pixels), got {seed_radius!r}")
        if prior_radius is not None:
            number(prior_radius, "prior_radius", 0, unit="pixels")
        self.iterations = int(iterations)
        self.seed_radius = int(seed_radius)
        self.prior_radius = prior_radius
        self.seed = int(seed)
        self.use_prev_mask = bool(use_prev_mask)
        self.last_gc_mask: np.ndarray | None = None
        self._bgr: np.ndarray | None = None

    def set_image(self, image: np.ndarray) -> None:
        """Store the image (and its BGR copy, OpenCV's channel order)."""
        super().set_image(image)
        self._bgr = np.ascontiguousarray(self.image[:, :, ::-1])

    def init_mask(self, interactions: Interactions, prev_mask: np.ndarray | None = None) -> np.ndarray | None:
        """The OpenCV label mask handed to ``cv2.grabCut`` (see :func:`grabcut_init_mask`), or None."""
        mask = grabcut_init_mask(interactions, self.image.shape, self.seed_radius, self.prior_radius)
        if mask is None or prev_mask is None or not self.use_prev_mask:
            return mask
        prev = np.asarray(prev_mask) > 0.5
        probable = (mask == GC_PR_BGD) | (mask == GC_PR_FGD)
        if prev.any() and not prev.all():
            mask[probable & prev] = GC_PR_FGD
            mask[probable & ~prev] = GC_PR_BGD
        return mask

    def _predict(self, interactions: Interactions, prev_mask: np.ndarray | None) -> np.ndarray:
        import cv2

        h, w = self.image.shape[:2]
        mask = self.init_mask(interactions, prev_mask)
        if mask is None:
            self.last_gc_mask = None
            return np.zeros((h, w), dtype=np.float32)
        is_fg = (mask == GC_FGD) | (mask == GC_PR_FGD)
        if not (~is_fg).any():  # no background sample at all (e.g. a box covering the whole image)
            border = np.zeros((h, w), dtype=bool)
            border[[0, -1], :] = border[:, [0, -1]] = True
            mask[border & (mask != GC_FGD)] = GC_PR_BGD
            if not ((mask == GC_BGD) | (mask == GC_PR_BGD)).any():
                self.last_gc_mask = mask
                return np.ones((h, w), dtype=np.float32)
        only_box = len(interactions) == 1 and isinstance(interactions[0], Box)
        bgd_model = np.zeros((1, 65), np.float64)
        fgd_model = np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(self.seed)
        if only_box and (mask == GC_BGD).any():
            box = interactions[0]
            rows, cols = box.slices()
            rect = (cols.start, rows.start, min(cols.stop, w) - cols.start, min(rows.stop, h) - rows.start)
            out = np.zeros((h, w), np.uint8)
            out, _, _ = cv2.grabCut(self._bgr, out, rect, bgd_model, fgd_model, self.iterations, cv2.GC_INIT_WITH_RECT)
        else:
            out, _, _ = cv2.grabCut(self._bgr, mask, None, bgd_model, fgd_model, self.iterations, cv2.GC_INIT_WITH_MASK)
        self.last_gc_mask = out
        return ((out == GC_FGD) | (out == GC_PR_FGD)).astype(np.float32)
