"""Click robots: ``f(gt, pred, ignore=None, clicked=(), *, rng=None) -> Click | None``.

The default clicker, :func:`ritm_click`, follows the protocol of RITM (Sofiiuk, Petrov & Konushin,
"Reviving Iterative Training with Mask Guidance for Interactive Segmentation", ICIP 2022), itself the
protocol of Xu et al., "Deep Interactive Object Selection", CVPR 2016: of the false-negative and the
false-positive errors, the one whose region holds the pixel farthest from its own border wins (the deepest
error), and the click lands at that pixel -- not necessarily in the region with the most pixels. The others
work on the largest error region (false negative -> positive click,
false positive -> negative; :func:`~iseg_course.robot.largest_error_region`): :func:`centre_click`,
:func:`random_click`, :func:`uniform_click` (all error pixels at once), :func:`dt_prior_click`,
:func:`boundary_click`, :func:`long_axis_click`. ``clicked`` may hold interactions of any type; only its
clicks are read. Seeded, named robots are in :mod:`iseg_course.robot.click_robot`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..interactions import Click, Interaction
from ..segmenter import check_mask
from ..validate import integer, number
from .base import RandomState, as_generator
from .regions import (_click_at, distance_to_boundary, error_regions, interior_distance, largest_error_region,
                      principal_axis)


def ritm_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Interaction] = (),
) -> Click | None:
    """The next click of the RITM robot user.

    1. False negatives ``FN = gt & ~pred`` and false positives ``FP = pred & ~gt``, with ignored pixels removed.
    2. Distance transform of each (:func:`interior_distance`: exact EDT with 1-pixel zero padding); pixels
       already clicked get distance 0.
    3. The click goes to the larger maximum distance: positive in FN, negative in FP; on a tie, negative.
       Its position is the first pixel (row-major) reaching that maximum.

    Args:
        gt: ``(H, W)`` ground-truth mask (bool or {0, 1}/{0, 255}).
        pred: ``(H, W)`` current binary prediction (threshold probabilities at 0.5 first).
        ignore: optional ``(H, W)`` bool mask of pixels never clicked and not counted as errors.
        clicked: earlier interactions (any types); the positions of its clicks are excluded.

    Returns:
        ``Click(x, y, positive)`` in pixels, or None when no error pixel is left to click.

    Raises:
        ValueError: masks of different shapes or non-binary values, or an empty ground truth.

    Used in lessons 00, 02, 03, 04, 05, 06, 07; the default robot of iseg_course.evaluation and .training.
    """
    fn, fp = error_regions(gt, pred, ignore, clicked)
    d_fn, d_fp = interior_distance(fn), interior_distance(fp)
    fn_max, fp_max = d_fn.max(), d_fp.max()
    if fn_max == 0 and fp_max == 0:
        return None
    positive = bool(fn_max > fp_max)
    d, m = (d_fn, fn_max) if positive else (d_fp, fp_max)
    return _click_at(np.flatnonzero(d.ravel() == m)[0], d.shape, positive)


def centre_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Interaction] = (),
    *,
    rng: RandomState = None,
) -> Click | None:
    """Click at the centre of the largest error region ("centre of GT / centre of error").

    The centre is the region's interior-most pixel: the maximum of its exact Euclidean distance transform
    (:func:`interior_distance`, image border counted as outside), the first such pixel in row-major order.
    With an empty prediction this is the centre of the ground truth. Unlike :func:`ritm_click`, which
    clicks at the deepest error pixel anywhere (so a long, thick sliver can win over a large blob), this
    robot first picks the region with the most pixels (:func:`largest_error_region`), the "(R1) centre
    click" of Marinov et al., MICCAI 2024. Deterministic: ``rng`` is accepted for a common signature and
    not used.

    Args:
        gt: ``(H, W)`` ground-truth mask (bool, {0, 1} or {0, 255}); must not be empty.
        pred: ``(H, W)`` current binary prediction.
        ignore: optional ``(H, W)`` bool mask of pixels never clicked and not counted as errors.
        clicked: earlier interactions (any types); the positions of its clicks are excluded.

    Returns:
        ``Click(x, y, positive)`` (integer pixels; positive for a false negative), or None if no error is left.

    Raises:
        ValueError: wrong shapes, non-binary masks, an empty ground truth.

    Used in lesson 05.
    """
    found = largest_error_region(gt, pred, ignore, clicked)
    if found is None:
        return None
    region, positive = found
    return _click_at(int(np.argmax(interior_distance(region))), region.shape, positive)


def random_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Interaction] = (),
    *,
    rng: RandomState = None,
) -> Click | None:
    """Click at a uniformly random pixel of the largest error region ("random click in GT / error").

    The region is chosen as in :func:`centre_click` (most pixels, ties negative); within it, every pixel
    is equally likely, the boundary included. Random positive clicks in the object were part of the click
    simulation of Xu et al., "Deep Interactive Object Selection", CVPR 2016.

    Compare :func:`uniform_click`, which draws from *all* error pixels at once.

    Args: as :func:`centre_click`, plus ``rng`` (Generator, int seed or None; see :func:`as_generator`).
    Returns: a ``Click`` (positive in a false-negative region) or None when no error is left.
    Raises: ValueError as :func:`centre_click`; TypeError for a bad ``rng``.

    Used in lesson 05.
    """
    gen = as_generator(rng)
    found = largest_error_region(gt, pred, ignore, clicked)
    if found is None:
        return None
    region, positive = found
    idx = np.flatnonzero(region)
    return _click_at(idx[gen.integers(len(idx))], region.shape, positive)


def uniform_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Interaction] = (),
    *,
    rng: RandomState = None,
) -> Click | None:
    """Click at a pixel drawn uniformly from *all* error pixels, false negatives and false positives together.

    The label follows the pixel: positive on a false negative, negative on a false positive. So an error
    region is hit with probability proportional to its area, and small regions are clicked now and then
    too — the difference from :func:`random_click`, which always works on the largest region. This is how
    SAM simulates its corrective points during training (Kirillov et al., "Segment Anything", ICCV 2023:
    "selected uniformly from the error region") and the "(R4) uniform" robot of Marinov et al., MICCAI 2024.

    Args / Returns / Raises: as :func:`random_click`.

    Used in lesson 05.
    """
    gen = as_generator(rng)
    fn, fp = error_regions(gt, pred, ignore, clicked)
    idx = np.flatnonzero(fn | fp)
    if len(idx) == 0:
        return None
    i = idx[gen.integers(len(idx))]
    return _click_at(i, fn.shape, bool(fn.ravel()[i]))


def dt_prior_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Interaction] = (),
    *,
    rng: RandomState = None,
    power: float = 1.0,
) -> Click | None:
    """Sample a click with the distance transform as prior: ``P(pixel) ∝ EDT(pixel) ** power``.

    Inside the largest error region (as :func:`centre_click`), a pixel's probability grows with its
    distance to the region's border (:func:`interior_distance`): clicks land near the centre but not
    exactly on it, which regularises training and is closer to what a person does. ``power = 0`` gives
    :func:`random_click`; a large ``power`` approaches :func:`centre_click`.

    Args:
        power: exponent ``p >= 0`` of the distance prior (default 1).
        others as :func:`random_click`.

    Raises:
        ValueError: ``power`` negative or not finite, plus those of :func:`centre_click`.

    Used in lesson 05.
    """
    power = number(power, "power", minimum=0.0)
    gen = as_generator(rng)
    found = largest_error_region(gt, pred, ignore, clicked)
    if found is None:
        return None
    region, positive = found
    idx = np.flatnonzero(region)
    w = interior_distance(region).ravel()[idx] ** power
    return _click_at(idx[gen.choice(len(idx), p=w / w.sum())], region.shape, positive)


def _stratum_pick(values: np.ndarray, n_strata: int, lo: float, hi: float, gen: np.random.Generator) -> int:
    """Index into ``values``: choose one of ``n_strata`` equal bins of [lo, hi] uniformly among the
    non-empty ones, then a value in that bin uniformly (stratified sampling)."""
    if hi <= lo:
        return int(gen.integers(len(values)))
    bins = np.minimum(((values - lo) / (hi - lo) * n_strata).astype(int), n_strata - 1)
    occupied = np.unique(bins)
    b = occupied[gen.integers(len(occupied))]
    members = np.flatnonzero(bins == b)
    return int(members[gen.integers(len(members))])


def boundary_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Interaction] = (),
    *,
    rng: RandomState = None,
    band_px: tuple[float, float] = (3.0, 15.0),
    n_strata: int = 8,
) -> Click | None:
    """Stratified boundary sampling: a click in a band of distance from the object's boundary.

    After the click simulation of Xu et al., "Deep Interactive Object Selection", CVPR 2016, where clicks
    are placed at a margin of some pixels from the object boundary (negative clicks in a band around the
    object). Here:

    1. take the largest error region (as :func:`centre_click`);
    2. keep its pixels whose distance to the ground-truth boundary (:func:`distance_to_boundary`:
       from inside for a false negative, from outside for a false positive) lies in
       ``[band_px[0], band_px[1]]``; if none does, the pixels closest to that band;
    3. stratify along the boundary: split the candidates into ``n_strata`` equal sectors of the angle
       around the object's centroid, pick a non-empty sector uniformly, then a pixel in it uniformly — so
       every part of the outline is equally likely, however thick the band is there.

    Args:
        band_px: ``(d_min, d_max)`` in pixels, ``0 <= d_min <= d_max``.
        n_strata: number of angular sectors (>= 1).
        others as :func:`random_click`.

    Raises:
        ValueError: a bad band or ``n_strata``, plus those of :func:`centre_click`.

    Used in lesson 05.
    """
    if not isinstance(band_px, (tuple, list)) or len(band_px) != 2:
        raise ValueError(f"expected band_px as (d_min, d_max) in pixels, got {band_px!r}")
    lo = number(band_px[0], "band_px[0]", minimum=0.0)
    hi = number(band_px[1], "band_px[1]", minimum=0.0)
    if hi < lo:
        raise ValueError(f"expected band_px with d_min <= d_max, got {band_px!r}")
    n_strata = integer(n_strata, "n_strata", minimum=1)
    gen = as_generator(rng)
    found = largest_error_region(gt, pred, ignore, clicked)
    if found is None:
        return None
    region, positive = found
    gtb = check_mask(gt, name="ground-truth mask")
    idx = np.flatnonzero(region)
    d = distance_to_boundary(gtb).ravel()[idx]
    gap = np.maximum(lo - d, 0) + np.maximum(d - hi, 0)
    idx = idx[gap <= gap.min()]
    rows, cols = np.unravel_index(idx, region.shape)
    cy, cx = np.argwhere(gtb).mean(axis=0)
    angle = np.arctan2(rows - cy, cols - cx)
    k = _stratum_pick(angle, n_strata, -np.pi, np.pi, gen)
    return _click_at(idx[k], region.shape, positive)


def long_axis_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Interaction] = (),
    *,
    rng: RandomState = None,
    n_strata: int = 5,
    width_px: float = 2.0,
) -> Click | None:
    """Stratified long-axis sampling: a click along the principal axis of the largest error region.

    After the "stratified long axis sampling" the lecture shows from UCP-Net (Dupont, Ouakrim & Pham,
    IEEE SMC 2021): points spread along the object's longest axis, so that elongated objects get clicks
    from end to end rather than only at their centre.

    1. take the largest error region (as :func:`centre_click`) and its principal axis
       (:func:`principal_axis`: centroid + first principal direction of the pixel coordinates);
    2. candidates are region pixels within ``width_px`` of the axis line (if none, the region pixels
       closest to it — a curved region may not contain its own axis);
    3. split the candidates' positions along the axis into ``n_strata`` equal segments, pick a non-empty
       segment uniformly, then a pixel in it uniformly.

    Args:
        n_strata: number of segments along the axis (>= 1).
        width_px: half-width of the band around the axis, pixels (> 0).
        others as :func:`random_click`.

    Raises:
        ValueError: bad ``n_strata``/``width_px``, plus those of :func:`centre_click`.

    Used in lesson 05.
    """
    n_strata = integer(n_strata, "n_strata", minimum=1)
    width_px = number(width_px, "width_px", minimum=0.0, strict=True)
    gen = as_generator(rng)
    found = largest_error_region(gt, pred, ignore, clicked)
    if found is None:
        return None
    region, positive = found
    centre, v = principal_axis(region)
    idx = np.flatnonzero(region)
    rows, cols = np.unravel_index(idx, region.shape)
    rel = np.stack([cols, rows], axis=1) - centre
    along = rel @ v
    across = np.abs(rel @ np.array([-v[1], v[0]]))
    near = across <= max(width_px, across.min() + 1e-9)
    idx, along = idx[near], along[near]
    k = _stratum_pick(along, n_strata, along.min(), along.max(), gen)
    return _click_at(idx[k], region.shape, positive)
