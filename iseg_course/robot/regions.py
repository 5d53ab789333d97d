"""Error regions: where the prediction is wrong, and the geometry robot users read from it.

Shared by the click, scribble and box robots: the false negatives / false positives of a prediction
(:func:`error_regions`), the largest 8-connected error region (:func:`largest_error_region`), the
interior-most pixels of a region (:func:`interior_distance`), the distance to the object's boundary
(:func:`distance_to_boundary`) and a region's principal axis (:func:`principal_axis`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage as ndi
from scipy.ndimage import distance_transform_edt

from ..interactions import Click, Interaction
from ..segmenter import check_ground_truth, check_mask
from .base import clicks_of

_EIGHT = np.ones((3, 3), dtype=bool)  # 8-connectivity for connected error regions


def interior_distance(region: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance of each pixel of ``region`` to the nearest pixel outside it.

    The image border counts as outside (1-pixel zero padding, as RITM does), so a region touching the
    border is not treated as extending beyond it. ``region``: ``(H, W)`` bool; returns ``(H, W) float64``
    in pixels (0 outside the region).

    Only the region's bounding box (plus the 1-pixel frame) is transformed: the nearest outside pixel of
    any region pixel lies in that frame or inside the box (moving a point outside the box onto the box's
    frame brings it nearer), so the result equals the transform of the whole padded image, much faster
    for small error regions.

    Used in lesson 05.
    """
    region = np.asarray(region, dtype=bool)
    out = np.zeros(region.shape, dtype=np.float64)
    rows = np.flatnonzero(region.any(axis=1))
    if rows.size == 0:
        return out
    cols = np.flatnonzero(region.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    out[r0:r1, c0:c1] = distance_transform_edt(np.pad(region[r0:r1, c0:c1], 1))[1:-1, 1:-1]
    return out


def error_regions(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Interaction] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """False negatives and false positives of ``pred``, without ignored and already-clicked pixels.

    ``FN = gt & ~pred`` (object pixels the prediction misses: they call for a positive interaction) and
    ``FP = pred & ~gt`` (background predicted as object: a negative interaction), both ``(H, W) bool``.
    ``clicked`` is the history of interactions (any types); the pixels of its ``Click`` items are removed.

    Raises:
        ValueError: shapes differ, a mask is not binary, or the ground truth is empty.

    Used in lesson 05.
    """
    gt, valid = check_ground_truth(gt, ignore)
    pred = check_mask(pred, gt.shape, name="predicted mask")
    fn = gt & ~pred & valid
    fp = pred & ~gt & valid
    for c in clicks_of(clicked):
        r, col = c.rc
        if 0 <= r < gt.shape[0] and 0 <= col < gt.shape[1]:
            fn[r, col] = fp[r, col] = False
    return fn, fp


def largest_error_region(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Interaction] = (),
) -> tuple[np.ndarray, bool] | None:
    """The largest connected error region and the label a correction of it gets.

    The error is split into 8-connected regions of false negatives and of false positives
    (:func:`error_regions`); the region with the most pixels wins (on a tie between a false-negative and a
    false-positive region, the false positive -- the side the RITM clicker takes on a tie of depths; among
    regions of one kind, the one met first in row-major order). With an empty prediction the error is the ground truth itself, so the
    first interaction lands on the (largest part of the) object.

    Returns:
        ``(region, positive)``: ``(H, W) bool`` mask of the region, True for a false-negative region
        (a positive correction); None when no error pixel is left.

    Used in lesson 05.
    """
    fn, fp = error_regions(gt, pred, ignore, clicked)
    best = None
    for region, positive in ((fp, False), (fn, True)):  # FP first: an FN region must be strictly larger
        labels, n = ndi.label(region, structure=_EIGHT)
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel())[1:]
        i = int(np.argmax(sizes))
        if best is None or sizes[i] > best[0]:
            best = (sizes[i], labels == i + 1, positive)
    return None if best is None else (best[1], best[2])


def distance_to_boundary(gt: np.ndarray) -> np.ndarray:
    """Unsigned distance of every pixel to the object's boundary, measured from its own side (pixels).

    Inside the object: distance to the nearest background pixel; outside: distance to the nearest object
    pixel. The image border is not part of the object's boundary here (where the frame cuts the object
    off, nobody would click "near the boundary"), unless the object fills the whole image. ``(H, W) float64``.

    Used by :func:`~iseg_course.robot.boundary_click` (lesson 05).
    """
    gt = check_mask(gt, name="ground-truth mask")
    if not gt.any():
        raise ValueError("the ground-truth mask is empty: there is no object boundary")
    inside = interior_distance(gt) if gt.all() else distance_transform_edt(gt)
    return np.where(gt, inside, distance_transform_edt(~gt))


def principal_axis(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centroid ``(x, y)`` and unit direction ``(dx, dy)`` of the longest axis of a region (PCA).

    The direction is the eigenvector of the largest eigenvalue of the covariance of the pixel
    coordinates, signed so that ``dx > 0`` (or ``dy > 0`` when ``dx == 0``). ``region``: ``(H, W)`` bool,
    not empty.

    Used by :func:`~iseg_course.robot.long_axis_click` (lesson 05).
    """
    rows, cols = np.nonzero(region)
    if len(rows) == 0:
        raise ValueError("expected a non-empty region")
    xy = np.stack([cols, rows], axis=1).astype(float)
    centre = xy.mean(axis=0)
    if len(xy) == 1:
        return centre, np.array([1.0, 0.0])
    evals, evecs = np.linalg.eigh(np.cov((xy - centre).T))
    v = evecs[:, int(np.argmax(evals))]
    if v[0] < -1e-12 or (abs(v[0]) <= 1e-12 and v[1] < 0):
        v = -v
    return centre, v / np.linalg.norm(v)


def _click_at(flat_index: int, shape: tuple[int, int], positive: bool) -> Click:
    """The Click at a row-major flat pixel index of an image of ``shape``."""
    r, c = np.unravel_index(int(flat_index), shape)
    return Click(int(c), int(r), bool(positive))


def _any_error(gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None) -> bool:
    """Whether ``pred`` differs from ``gt`` outside ``ignore`` (masks checked as by :func:`error_regions`)."""
    fn, fp = error_regions(gt, pred, ignore)
    return bool(fn.any() or fp.any())
