"""Robot users: simulated annotators that place the next interaction from the ground truth.

"A simulated model that mimics the behaviour of a real human annotator. The robot user leverages
ground-truth labels to simulate user interactions at plausible locations" (Marinov et al., "Deep
Interactive Segmentation of Medical Images: A Systematic Review and Taxonomy", TPAMI 2024). Robot users
place the interactions in training (far too many for real people: 100,000 images need at least 100,000
clicks) and in evaluation (NoC@90 and friends).

The default clicker follows the protocol of RITM (Sofiiuk, Petrov & Konushin, "Reviving Iterative Training
with Mask Guidance for Interactive Segmentation", ICIP 2022), itself the protocol of Xu et al., "Deep
Interactive Object Selection", CVPR 2016: click at the interior-most pixel of the larger error region.

The other robots, all seeded and deterministic (the random ones take ``rng``: a ``numpy.random.Generator``,
an int seed, or None, see :func:`as_generator`):

* clicks ``f(gt, pred, ignore=None, clicked=(), *, rng=None) -> Click | None`` on the largest error
  region (false negative -> positive click, false positive -> negative; :func:`largest_error_region`):
  :func:`centre_click`, :func:`random_click`, :func:`uniform_click` (all error pixels at once),
  :func:`dt_prior_click`, :func:`boundary_click`, :func:`long_axis_click`; :func:`perturb_click` adds
  position noise; :func:`make_click_robot` / ``CLICK_ROBOTS`` pick one by name;
* scribbles: :func:`skeleton_scribble`, :func:`error_scribble`, :func:`boundary_scribble`,
  :func:`broken_skeleton`, :func:`warped_scribble`;
* boxes: :func:`perfect_box`, :func:`perturbed_box`, :func:`relaxed_box`, :func:`extreme_points`;
* polygons: :func:`mask_to_polygon`, :func:`vertex_errors`, :func:`worst_vertex_correction`.
"""

from __future__ import annotations

import zlib
from typing import Callable, Sequence, Union

import numpy as np
from scipy import ndimage as ndi
from scipy.ndimage import distance_transform_edt
from scipy.spatial import cKDTree
from skimage.measure import approximate_polygon, find_contours
from skimage.morphology import skeletonize

from .interactions import Box, Click, ExtremePoints, Polygon, Scribble
from .segmenter import check_ground_truth, check_mask


def interior_distance(region: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance of each pixel of ``region`` to the nearest pixel outside it.

    The image border counts as outside (1-pixel zero padding, as RITM does), so a region touching the
    border is not treated as extending beyond it. ``region``: ``(H, W)`` bool; returns ``(H, W) float64``
    in pixels (0 outside the region).

    Only the region's bounding box (plus the 1-pixel frame) is transformed: the nearest outside pixel of
    any region pixel lies in that frame or inside the box (moving a point outside the box onto the box's
    frame brings it nearer), so the result equals the transform of the whole padded image, much faster
    for small error regions.
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


def ritm_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: list[Click] | tuple[Click, ...] = (),
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
        clicked: earlier clicks, excluded as positions.

    Returns:
        ``Click(x, y, positive)`` in pixels, or None when no error pixel is left to click.

    Raises:
        ValueError: masks of different shapes or non-binary values, or an empty ground truth.
    """
    fn, fp = error_regions(gt, pred, ignore, clicked)
    d_fn, d_fp = interior_distance(fn), interior_distance(fp)
    fn_max, fp_max = d_fn.max(), d_fp.max()
    if fn_max == 0 and fp_max == 0:
        return None
    positive = bool(fn_max > fp_max)
    d, m = (d_fn, fn_max) if positive else (d_fp, fp_max)
    r, col = np.unravel_index(np.flatnonzero(d.ravel() == m)[0], d.shape)
    return Click(int(col), int(r), positive)


# ----------------------------------------------------------------------------------------------------------
# Shared helpers
# ----------------------------------------------------------------------------------------------------------

_EIGHT = np.ones((3, 3), dtype=bool)  # 8-connectivity for connected error regions

RandomState = Union[np.random.Generator, int, None]


def as_generator(rng: RandomState) -> np.random.Generator:
    """Turn ``rng`` into a NumPy ``Generator``.

    * a ``Generator`` is used as it is (its state advances);
    * an ``int`` (>= 0) seeds a new ``Generator`` (the same int always gives the same draws);
    * ``None`` seeds a new ``Generator`` from NumPy's global (legacy) random state, as scikit-learn's
      ``random_state=None`` does: reproducible after ``iseg_course.setup()`` / ``np.random.seed``, and a
      different draw on each call.

    Raises:
        TypeError: anything else (a float, a string, a legacy ``RandomState``...).
        ValueError: a negative seed.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(int(np.random.randint(0, 2**31 - 1)))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"expected a seed >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"expected rng as a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def _number(value, name: str, minimum: float | None = 0.0, strict: bool = False) -> float:
    """A finite real number ``>= minimum`` (``> minimum`` when ``strict``), else ValueError/TypeError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"expected {name} as a number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"expected a finite {name}, got {value}")
    if minimum is not None and (v <= minimum if strict else v < minimum):
        raise ValueError(f"expected {name} {'>' if strict else '>='} {minimum}, got {value}")
    return v


def _integer(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"expected {name} as an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"expected {name} >= {minimum}, got {value}")
    return int(value)


def error_regions(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Click] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """False negatives and false positives of ``pred``, without ignored and already-clicked pixels.

    ``FN = gt & ~pred`` (object pixels the prediction misses: they call for a positive interaction) and
    ``FP = pred & ~gt`` (background predicted as object: a negative interaction), both ``(H, W) bool``.

    Raises:
        ValueError: shapes differ, a mask is not binary, or the ground truth is empty.
    """
    gt, valid = check_ground_truth(gt, ignore)
    pred = check_mask(pred, gt.shape, name="predicted mask")
    fn = gt & ~pred & valid
    fp = pred & ~gt & valid
    for c in clicked:
        r, col = c.rc
        if 0 <= r < gt.shape[0] and 0 <= col < gt.shape[1]:
            fn[r, col] = fp[r, col] = False
    return fn, fp


def largest_error_region(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Click] = (),
) -> tuple[np.ndarray, bool] | None:
    """The largest connected error region and the label a correction of it gets.

    The error is split into 8-connected regions of false negatives and of false positives
    (:func:`error_regions`); the region with the most pixels wins (on a tie between a false-negative and a
    false-positive region, the false positive, as in RITM's tie rule; among regions of one kind, the one
    met first in row-major order). With an empty prediction the error is the ground truth itself, so the
    first interaction lands on the (largest part of the) object.

    Returns:
        ``(region, positive)``: ``(H, W) bool`` mask of the region, True for a false-negative region
        (a positive correction); None when no error pixel is left.
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


def _click_at(flat_index: int, shape: tuple[int, int], positive: bool) -> Click:
    r, c = np.unravel_index(int(flat_index), shape)
    return Click(int(c), int(r), bool(positive))


# ----------------------------------------------------------------------------------------------------------
# Click robots: f(gt, pred, ignore=None, clicked=(), *, rng=None) -> Click | None
# ----------------------------------------------------------------------------------------------------------


def centre_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Click] = (),
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
        clicked: earlier clicks, excluded as positions.

    Returns:
        ``Click(x, y, positive)`` (integer pixels; positive for a false negative), or None if no error is left.

    Raises:
        ValueError: wrong shapes, non-binary masks, an empty ground truth.
    """
    found = largest_error_region(gt, pred, ignore, clicked)
    if found is None:
        return None
    region, positive = found
    d = interior_distance(region)
    return _click_at(int(np.argmax(d)), region.shape, positive)


def random_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Click] = (),
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
    clicked: Sequence[Click] = (),
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
    clicked: Sequence[Click] = (),
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
    """
    power = _number(power, "power", 0.0)
    gen = as_generator(rng)
    found = largest_error_region(gt, pred, ignore, clicked)
    if found is None:
        return None
    region, positive = found
    idx = np.flatnonzero(region)
    w = interior_distance(region).ravel()[idx] ** power
    return _click_at(idx[gen.choice(len(idx), p=w / w.sum())], region.shape, positive)


def distance_to_boundary(gt: np.ndarray) -> np.ndarray:
    """Unsigned distance of every pixel to the object's boundary, measured from its own side (pixels).

    Inside the object: distance to the nearest background pixel; outside: distance to the nearest object
    pixel. The image border is not part of the object's boundary here (where the frame cuts the object
    off, nobody would click "near the boundary"), unless the object fills the whole image. ``(H, W) float64``.
    """
    gt = check_mask(gt, name="ground-truth mask")
    if not gt.any():
        raise ValueError("the ground-truth mask is empty: there is no object boundary")
    inside = interior_distance(gt) if gt.all() else distance_transform_edt(gt)
    return np.where(gt, inside, distance_transform_edt(~gt))


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
    clicked: Sequence[Click] = (),
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
    """
    if not isinstance(band_px, (tuple, list)) or len(band_px) != 2:
        raise ValueError(f"expected band_px as (d_min, d_max) in pixels, got {band_px!r}")
    lo, hi = _number(band_px[0], "band_px[0]", 0.0), _number(band_px[1], "band_px[1]", 0.0)
    if hi < lo:
        raise ValueError(f"expected band_px with d_min <= d_max, got {band_px!r}")
    n_strata = _integer(n_strata, "n_strata", 1)
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


def principal_axis(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centroid ``(x, y)`` and unit direction ``(dx, dy)`` of the longest axis of a region (PCA).

    The direction is the eigenvector of the largest eigenvalue of the covariance of the pixel
    coordinates, signed so that ``dx > 0`` (or ``dy > 0`` when ``dx == 0``). ``region``: ``(H, W)`` bool,
    not empty.
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


def long_axis_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Click] = (),
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
    """
    n_strata = _integer(n_strata, "n_strata", 1)
    width_px = _number(width_px, "width_px", 0.0, strict=True)
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


def perturb_click(click: Click, sigma_px: float, shape: tuple[int, ...], rng: RandomState = None) -> Click:
    """Add Gaussian position noise to a click: a user never hits the exact centre.

    ``x' = round(x + N(0, sigma_px^2))``, ``y'`` likewise, clipped into the image ``shape`` ``(H, W[, C])``;
    the label is kept, so a perturbed click may land on the wrong side of the boundary (a user error on
    purpose). ``sigma_px = 0`` returns the click unchanged. Used as data augmentation in training
    (the lecture's "random X, Y shift") and to test a model's robustness to sloppy clicks.

    Raises:
        TypeError: ``click`` is not a Click or ``rng`` is not valid.
        ValueError: ``sigma_px < 0`` or a bad ``shape``.
    """
    if not isinstance(click, Click):
        raise TypeError(f"expected a Click, got {type(click).__name__}")
    sigma_px = _number(sigma_px, "sigma_px", 0.0)
    if not isinstance(shape, (tuple, list)) or len(shape) < 2 or min(int(shape[0]), int(shape[1])) < 1:
        raise ValueError(f"expected an image shape (H, W[, C]), got {shape!r}")
    gen = as_generator(rng)
    if sigma_px == 0:
        return click
    dx, dy = gen.normal(0.0, sigma_px, size=2)
    h, w = int(shape[0]), int(shape[1])
    x = int(np.clip(round(click.x + dx), 0, w - 1))
    y = int(np.clip(round(click.y + dy), 0, h - 1))
    return Click(x, y, click.positive)


CLICK_ROBOTS: dict[str, Callable[..., Click | None]] = {
    "ritm": ritm_click,
    "centre": centre_click,
    "random": random_click,
    "uniform": uniform_click,
    "dt_prior": dt_prior_click,
    "boundary": boundary_click,
    "long_axis": long_axis_click,
}
"""The click robot users by name: ``f(gt, pred, ignore=None, clicked=(), *, rng=None) -> Click | None``
(``ritm_click`` takes no ``rng``: it is deterministic)."""


class ClickRobot:
    """A named, seeded click robot: ``robot(gt, pred, ignore=None, clicked=()) -> Click | None``.

    Made by :func:`make_click_robot`. The random strategies draw from a ``Generator`` that is re-seeded
    at the first click of every sample (a call with no earlier clicks) from ``(seed, a checksum of the
    ground-truth mask)``. So the clicks on a sample depend only on the seed, the sample and the
    predictions, not on which samples were evaluated before it or in which worker process — a whole
    evaluation is reproducible, in any order. Picklable (for multi-process evaluation).

    Attributes: ``name``, ``seed``, ``kwargs`` (passed to the strategy), ``perturb_px``.
    """

    def __init__(self, name: str, seed: int = 0, perturb_px: float = 0.0, **kwargs) -> None:
        if name not in CLICK_ROBOTS:
            raise ValueError(f"unknown click robot {name!r}; expected one of {sorted(CLICK_ROBOTS)}")
        self.name = name
        self.seed = _integer(seed, "seed", 0)
        self.perturb_px = _number(perturb_px, "perturb_px", 0.0)
        if name == "ritm" and kwargs:
            raise TypeError(f"the ritm robot takes no options, got {sorted(kwargs)}")
        self.kwargs = dict(kwargs)
        self.rng = np.random.default_rng(self.seed)

    def reseed(self, gt: np.ndarray | None = None) -> None:
        """Re-seed the Generator from ``seed`` (and the mask ``gt`` when given)."""
        key = [self.seed]
        if gt is not None:
            key.append(zlib.crc32(np.packbits(np.asarray(gt, dtype=bool)).tobytes()))
        self.rng = np.random.default_rng(key)

    def __call__(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        ignore: np.ndarray | None = None,
        clicked: Sequence[Click] = (),
    ) -> Click | None:
        if len(clicked) == 0:
            self.reseed(check_mask(gt, name="ground-truth mask"))
        fn = CLICK_ROBOTS[self.name]
        if self.name == "ritm":
            click = fn(gt, pred, ignore, clicked)
        else:
            click = fn(gt, pred, ignore, clicked, rng=self.rng, **self.kwargs)
        if click is not None and self.perturb_px > 0:
            click = perturb_click(click, self.perturb_px, np.shape(gt), self.rng)
        return click

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        pert = f", perturb_px={self.perturb_px}" if self.perturb_px else ""
        return f"ClickRobot({self.name!r}, seed={self.seed}{pert}{opts})"


def make_click_robot(name: str, seed: int = 0, **kw) -> ClickRobot:
    """A click robot user by name, with its own seeded random generator.

    Args:
        name: one of ``CLICK_ROBOTS``: "ritm", "centre", "random", "uniform", "dt_prior", "boundary",
            "long_axis".
        seed: int >= 0; see :class:`ClickRobot` for how it is used per sample.
        **kw: options of the strategy (e.g. ``power=2`` for "dt_prior", ``band_px=(2, 8)`` for
            "boundary"), and ``perturb_px`` (default 0): Gaussian position noise added to every click
            (:func:`perturb_click`).

    Returns:
        ``robot(gt, pred, ignore=None, clicked=()) -> Click | None``, the signature
        :func:`iseg_course.evaluation.simulate_clicks` and ``evaluate`` expect.

    Raises:
        ValueError: an unknown name or a bad seed; TypeError: options for a strategy that takes none.

    >>> robot = make_click_robot("dt_prior", seed=1, power=2)
    >>> robot
    ClickRobot('dt_prior', seed=1, power=2)
    """
    return ClickRobot(name, seed, **kw)


# ----------------------------------------------------------------------------------------------------------
# Scribbles
# ----------------------------------------------------------------------------------------------------------


def _skeleton_paths(skel: np.ndarray) -> list[np.ndarray]:
    """Decompose a 1-pixel-wide skeleton into polylines of ``(row, col)`` pixels.

    Pixels are linked with m-adjacency (4-neighbours, plus diagonal neighbours that share no 4-neighbour
    in the skeleton) so a staircase line does not form little triangles. A path runs between two pixels
    that are not simple line pixels (ends or junctions, degree != 2); closed loops become closed paths
    (first pixel repeated at the end); an isolated pixel is a path of one pixel.
    """
    h, w = skel.shape
    coords = np.argwhere(skel)
    n = len(coords)
    if n == 0:
        return []
    index = -np.ones((h + 2, w + 2), dtype=np.int64)
    index[coords[:, 0] + 1, coords[:, 1] + 1] = np.arange(n)
    on = index >= 0
    nbrs: list[list[int]] = [[] for _ in range(n)]
    r, c = coords[:, 0] + 1, coords[:, 1] + 1
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)):
        j = index[r + dr, c + dc]
        ok = j >= 0
        if dr and dc:  # diagonal: only when no 4-neighbour bridges the two pixels
            ok &= ~on[r + dr, c] & ~on[r, c + dc]
        for a, b in zip(np.flatnonzero(ok).tolist(), j[ok].tolist()):
            nbrs[a].append(b)
    deg = np.array([len(v) for v in nbrs])
    used: set[tuple[int, int]] = set()
    paths = []

    def walk(start: int, nxt: int) -> list[int]:
        path = [start, nxt]
        used.add((start, nxt))
        used.add((nxt, start))
        prev, cur = start, nxt
        while deg[cur] == 2 and cur != start:
            step = nbrs[cur][0] if nbrs[cur][0] != prev else nbrs[cur][1]
            if (cur, step) in used:
                break
            used.add((cur, step))
            used.add((step, cur))
            path.append(step)
            prev, cur = cur, step
        return path

    for s in np.flatnonzero(deg != 2).tolist():
        if deg[s] == 0:
            paths.append([s])
        for t in nbrs[s]:
            if (s, t) not in used:
                paths.append(walk(s, t))
    for s in np.flatnonzero(deg == 2).tolist():  # loops with no end or junction
        for t in nbrs[s]:
            if (s, t) not in used:
                paths.append(walk(s, t))
    return [coords[p] for p in paths]


def _path_length(rc: np.ndarray) -> float:
    return float(np.hypot(*np.diff(rc, axis=0).T).sum()) if len(rc) > 1 else 0.0


def _to_scribble(rc: np.ndarray, positive: bool, simplify_px: float) -> Scribble:
    rc = np.asarray(rc, dtype=float)
    if simplify_px > 0 and len(rc) > 2:
        rc = approximate_polygon(rc, tolerance=simplify_px)
    return Scribble([(float(c), float(r)) for r, c in rc], positive)


def _scribbles_from_paths(paths, positive, min_length_px, simplify_px) -> list[Scribble]:
    if not paths:
        return []
    lengths = [_path_length(p) for p in paths]
    keep = [p for p, n in zip(paths, lengths) if n >= min_length_px]
    if not keep:  # everything is short: keep the longest piece, so the annotator still scribbles something
        keep = [paths[int(np.argmax(lengths))]]
    return sorted((_to_scribble(p, positive, simplify_px) for p in keep), key=lambda s: -s.length)


def _check_scribble_opts(min_length_px, simplify_px) -> tuple[float, float]:
    return _number(min_length_px, "min_length_px", 0.0), _number(simplify_px, "simplify_px", 0.0)


def skeleton_scribble(
    gt: np.ndarray,
    ignore: np.ndarray | None = None,
    *,
    min_length_px: float = 10.0,
    simplify_px: float = 1.0,
    smooth_px: float = 2.0,
    positive: bool = True,
) -> list[Scribble]:
    """Scribbles along the skeleton (medial axis) of the ground truth: the most common scribble robot.

    The skeleton is the set of object pixels that are maximally far from the boundary (the lecture's
    definition), computed with ``skimage.morphology.skeletonize`` on ``gt & ~ignore``; it is cut into
    polylines between its end points and junctions (see :func:`skeleton_paths`, which also explains
    ``smooth_px``), and each polyline becomes a :class:`Scribble`. See Wong et al., "ScribblePrompt",
    arXiv 2312.07381 (2023) and Marinov et al., TPAMI 2024 for skeleton-based scribble simulation.

    Args:
        gt: ``(H, W)`` ground-truth mask, not empty.
        ignore: optional ``(H, W)`` bool mask of pixels no scribble may touch.
        min_length_px: drop polylines shorter than this (the skeleton's many short spurs); when all are
            shorter, the longest one is kept.
        simplify_px: Douglas-Peucker tolerance for thinning out the points (``approximate_polygon``;
            0 keeps one point per pixel).
        smooth_px: sigma (pixels) of the Gaussian smoothing of the mask before skeletonising (0: none).
        positive: label of the scribbles.

    Returns:
        list of Scribbles, longest first, points as ``(x, y)`` pixel coordinates.

    Raises:
        ValueError: empty ground truth, wrong shapes, non-binary masks, negative options.
    """
    min_length_px, simplify_px = _check_scribble_opts(min_length_px, simplify_px)
    gt, valid = check_ground_truth(gt, ignore)
    paths = skeleton_paths(gt & valid, smooth_px)
    return _scribbles_from_paths(paths, bool(positive), min_length_px, simplify_px)


def skeleton_paths(region: np.ndarray, smooth_px: float = 0.0) -> list[np.ndarray]:
    """The skeleton of ``region`` (``(H, W)`` bool) as a list of ``(N, 2)`` int arrays of ``(row, col)`` pixels.

    ``skimage.morphology.skeletonize``, then split into polylines between ends and junctions
    (m-adjacency; closed loops repeat their first pixel at the end).

    A ragged outline (every step of a staircase boundary) sends a skeleton branch deep into the object.
    ``smooth_px > 0`` therefore skeletonises a smoothed region first — Gaussian blur with that sigma in
    pixels, thresholded at 0.5 — and keeps only skeleton pixels inside the original region; if smoothing
    erases the region (thinner than a few pixels), the region itself is used.

    Raises:
        ValueError: a non-binary region or a negative ``smooth_px``.
    """
    region = check_mask(region, name="region")
    smooth_px = _number(smooth_px, "smooth_px", 0.0)
    if smooth_px > 0:
        smooth = ndi.gaussian_filter(region.astype(float), smooth_px) > 0.5
        if smooth.any():
            return _skeleton_paths(skeletonize(smooth) & region)
    return _skeleton_paths(skeletonize(region))


def error_scribble(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    *,
    min_length_px: float = 10.0,
    simplify_px: float = 1.0,
    smooth_px: float = 2.0,
) -> list[Scribble]:
    """Corrective scribbles along the skeleton of the largest error region.

    The region is chosen as for the click robots (:func:`largest_error_region`); the scribbles are
    positive on a false-negative region and negative on a false-positive one. With an empty prediction this
    is :func:`skeleton_scribble` of the (largest part of the) object. Options as :func:`skeleton_scribble`.

    Returns:
        list of Scribbles, longest first (empty when no error is left).

    Raises:
        ValueError: as :func:`skeleton_scribble`.
    """
    min_length_px, simplify_px = _check_scribble_opts(min_length_px, simplify_px)
    found = largest_error_region(gt, pred, ignore)
    if found is None:
        return []
    region, positive = found
    return _scribbles_from_paths(skeleton_paths(region, smooth_px), positive, min_length_px, simplify_px)


def boundary_scribble(
    gt: np.ndarray,
    ignore: np.ndarray | None = None,
    *,
    offset_px: float = 2.0,
    min_length_px: float = 10.0,
    simplify_px: float = 1.0,
) -> list[Scribble]:
    """Scribbles along the object's boundary contour, ``offset_px`` inside (positive) or outside (negative).

    The lecture's second scribble simulation ("boundary contours: the 1-pixel-wide boundary of the GT
    mask"). A contour exactly on the boundary would be half object, half background once drawn with a
    brush, so the contour is taken at a signed distance: ``offset_px > 0`` runs that many pixels inside the
    object (a positive scribble), ``offset_px < 0`` outside it (a negative scribble). Iso-line of the
    signed distance (``skimage.measure.find_contours``, sub-pixel); with an ignore mask the distances are
    measured to the ignored band, so the scribble keeps clear of it.

    Args:
        offset_px: signed distance of the scribble from the boundary in pixels (not 0).
        min_length_px, simplify_px: as :func:`skeleton_scribble`.

    Returns:
        list of Scribbles (closed contours repeat their first point), longest first; may be empty when the
        object is thinner than ``2 * offset_px`` everywhere.

    Raises:
        ValueError: ``offset_px == 0``, plus those of :func:`skeleton_scribble`.
    """
    offset_px = _number(offset_px, "offset_px", None)
    if offset_px == 0:
        raise ValueError("expected offset_px != 0: > 0 for a scribble inside the object, < 0 outside it")
    min_length_px, simplify_px = _check_scribble_opts(min_length_px, simplify_px)
    gt, valid = check_ground_truth(gt, ignore)
    inside, outside = gt & valid, ~gt & valid
    sd = np.where(inside, interior_distance(inside), 0.0) - np.where(outside, distance_transform_edt(outside), 0.0)
    sd[~valid] = 0.0
    contours = find_contours(sd, offset_px)
    positive = offset_px > 0
    paths = [c for c in contours if _path_length(c) >= min_length_px]
    return sorted((_to_scribble(c, positive, simplify_px) for c in paths), key=lambda s: -s.length)


def broken_skeleton(
    gt: np.ndarray,
    ignore: np.ndarray | None = None,
    *,
    keep: float = 0.5,
    piece_px: float = 20.0,
    min_length_px: float = 10.0,
    simplify_px: float = 1.0,
    smooth_px: float = 2.0,
    rng: RandomState = None,
) -> list[Scribble]:
    """A skeleton scribble with random pieces left out: people rarely trace a whole medial axis.

    The skeleton polylines of :func:`skeleton_scribble` are cut into pieces of ``piece_px`` pixels of arc
    length and each piece is kept with probability ``keep`` (at least one piece is always kept);
    consecutive kept pieces of a polyline stay one scribble. Broken,
    partial scribbles are one of the augmentations of ScribblePrompt (Wong et al., 2023).

    Args:
        keep: probability of keeping a piece, in ``(0, 1]``.
        piece_px: arc length of a piece in pixels (> 0).
        rng: Generator, int seed or None (:func:`as_generator`).
        others as :func:`skeleton_scribble`.

    Returns:
        list of positive Scribbles, longest first.
    """
    keep = _number(keep, "keep", 0.0, strict=True)
    if keep > 1:
        raise ValueError(f"expected keep in (0, 1], got {keep}")
    piece_px = _number(piece_px, "piece_px", 0.0, strict=True)
    min_length_px, simplify_px = _check_scribble_opts(min_length_px, simplify_px)
    gen = as_generator(rng)
    gt, valid = check_ground_truth(gt, ignore)
    paths = skeleton_paths(gt & valid, smooth_px)
    long = [p for p in paths if _path_length(p) >= min_length_px] or [max(paths, key=_path_length)]
    pieces, kept = [], []
    for p in long:
        s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))]) if len(p) > 1 else np.zeros(1)
        which = np.floor(s / piece_px).astype(int)
        run = None  # [first, last] pixel index of the current run of kept pieces along this path
        for k in np.unique(which):
            members = np.flatnonzero(which == k)
            first, last = int(members[0]), min(int(members[-1]) + 1, len(p) - 1)  # pieces share an end pixel
            pieces.append(p[first: last + 1])
            if gen.random() < keep:
                run = [first, last] if run is None else [run[0], last]
            elif run is not None:
                kept.append(p[run[0]: run[1] + 1])
                run = None
        if run is not None:
            kept.append(p[run[0]: run[1] + 1])
    if not kept:
        kept = [pieces[int(gen.integers(len(pieces)))]]
    return sorted((_to_scribble(q, True, simplify_px) for q in kept), key=lambda s: -s.length)


def _densify(points: np.ndarray, step: float) -> np.ndarray:
    """Resample a polyline so consecutive points are at most ``step`` pixels apart (keeps the originals)."""
    if len(points) < 2:
        return points
    out = [points[:1]]
    for a, b in zip(points[:-1], points[1:]):
        n = max(int(np.ceil(np.hypot(*(b - a)) / step)), 1)
        t = np.arange(1, n + 1)[:, None] / n
        out.append(a + t * (b - a))
    return np.concatenate(out)


def warped_scribble(
    scribble: Scribble | Sequence[Scribble],
    shape: tuple[int, ...],
    *,
    amplitude_px: float = 5.0,
    spacing_px: float = 40.0,
    rng: RandomState = None,
) -> Scribble | list[Scribble]:
    """Bend scribbles with a smooth random displacement field: a shaky hand instead of a perfect skeleton.

    A random displacement ``(dx, dy) ~ N(0, amplitude_px^2)`` is drawn at the nodes of a grid spaced
    ``spacing_px`` apart over the image and interpolated between them with cubic splines
    (``scipy.ndimage.map_coordinates``), an elastic deformation as used to augment simulated scribbles in
    ScribblePrompt (Wong et al., 2023). The polylines are first resampled every 2 pixels so that they bend
    smoothly; points are clipped into the image; labels are kept. All scribbles of one call share one field.

    Args:
        scribble: a Scribble or a sequence of them.
        shape: image shape ``(H, W[, C])``.
        amplitude_px: standard deviation of the displacement at the grid nodes, pixels (>= 0).
        spacing_px: grid spacing, pixels (> 0): larger = smoother, longer waves.
        rng: Generator, int seed or None.

    Returns:
        a Scribble, or a list of them when a sequence was given.

    Raises:
        TypeError: not Scribbles; ValueError: bad ``shape``/``amplitude_px``/``spacing_px``.
    """
    single = isinstance(scribble, Scribble)
    items = [scribble] if single else list(scribble)
    for s in items:
        if not isinstance(s, Scribble):
            raise TypeError(f"expected Scribble objects, got {type(s).__name__}")
    if not isinstance(shape, (tuple, list)) or len(shape) < 2 or min(int(shape[0]), int(shape[1])) < 1:
        raise ValueError(f"expected an image shape (H, W[, C]), got {shape!r}")
    amplitude_px = _number(amplitude_px, "amplitude_px", 0.0)
    spacing_px = _number(spacing_px, "spacing_px", 0.0, strict=True)
    gen = as_generator(rng)
    h, w = int(shape[0]), int(shape[1])
    gh, gw = int(np.ceil((h - 1) / spacing_px)) + 4, int(np.ceil((w - 1) / spacing_px)) + 4
    field = gen.normal(0.0, 1.0, size=(2, gh, gw)) * amplitude_px  # (dx, dy) at grid nodes; 1-node margin
    out = []
    for s in items:
        p = _densify(np.asarray(s.points, dtype=float), 2.0)
        coords = np.stack([p[:, 1] / spacing_px + 1.0, p[:, 0] / spacing_px + 1.0])
        dx = ndi.map_coordinates(field[0], coords, order=3, mode="nearest")
        dy = ndi.map_coordinates(field[1], coords, order=3, mode="nearest")
        x = np.clip(p[:, 0] + dx, 0, w - 1)
        y = np.clip(p[:, 1] + dy, 0, h - 1)
        out.append(Scribble(list(zip(x.tolist(), y.tolist())), s.positive))
    return out[0] if single else out


# ----------------------------------------------------------------------------------------------------------
# Boxes and extreme points
# ----------------------------------------------------------------------------------------------------------


def perfect_box(gt: np.ndarray) -> Box:
    """The tight bounding box of the ground truth: ``Box(x_min, y_min, x_max, y_max)``, inclusive pixels.

    The "perfect" box robot of the lecture; box robots are usually non-iterative (one prediction step).

    Raises:
        ValueError: empty or non-binary ground truth.
    """
    gt, _ = check_ground_truth(gt)
    rows = np.flatnonzero(gt.any(axis=1))
    cols = np.flatnonzero(gt.any(axis=0))
    return Box(int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1]))


def relaxed_box(gt: np.ndarray, margin_px: float = 10.0) -> Box:
    """The perfect box grown by ``margin_px`` pixels on every side, clipped to the image.

    "Relaxed" boxes include some context around the object (DEXTR and many box-prompted models crop a
    relaxed box). Raises ValueError for ``margin_px < 0`` and for the errors of :func:`perfect_box`.
    """
    margin_px = _number(margin_px, "margin_px", 0.0)
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
    """
    max_shift_px = _number(max_shift_px, "max_shift_px", 0.0)
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
    """
    jitter_px = _number(jitter_px, "jitter_px", 0.0)
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


# ----------------------------------------------------------------------------------------------------------
# Polygons
# ----------------------------------------------------------------------------------------------------------


def _gt_contours(gt: np.ndarray) -> list[np.ndarray]:
    """All iso-0.5 contours of the mask as ``(N, 2)`` arrays of ``(x, y)``; the image border closes them."""
    cs = find_contours(np.pad(gt, 1).astype(float), 0.5)
    return [c[:, ::-1] - 1.0 for c in cs]


def mask_to_polygon(gt: np.ndarray, n_vertices: int = 32) -> Polygon:
    """The outline of the ground truth as a polygon of ``n_vertices`` vertices, evenly spaced along it.

    The outer contour is the iso-line at 0.5 of the mask (``skimage.measure.find_contours``, sub-pixel,
    half-way between object and background pixel centres) with the largest enclosed area; it is resampled
    at ``n_vertices`` equal arc-length steps and clipped into the image. Vertices are ``(x, y)`` floats.

    Raises:
        ValueError: ``n_vertices < 3``, empty or non-binary ground truth; TypeError: non-int ``n_vertices``.
    """
    n_vertices = _integer(n_vertices, "n_vertices", 3)
    gt, _ = check_ground_truth(gt)
    h, w = gt.shape

    def area(c):
        x, y = c[:, 0], c[:, 1]
        return abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2

    c = max(_gt_contours(gt), key=area)
    if not np.allclose(c[0], c[-1]):
        c = np.vstack([c, c[:1]])
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(c, axis=0).T))])
    t = np.arange(n_vertices) * s[-1] / n_vertices
    x = np.clip(np.interp(t, s, c[:, 0]), 0, w - 1)
    y = np.clip(np.interp(t, s, c[:, 1]), 0, h - 1)
    return Polygon(list(zip(x.tolist(), y.tolist())))


def vertex_errors(polygon: Polygon, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each polygon vertex is from the ground-truth boundary.

    The boundary is every iso-0.5 contour of the mask (outer outline and holes, ``find_contours``),
    sampled every 0.1 pixel or closer, so distances are exact to within 0.05 pixel.

    Returns:
        ``(errors, nearest)``: ``(N,) float64`` Euclidean distance of each vertex to the nearest boundary
        point (pixels), and ``(N, 2) float64`` that point as ``(x, y)``.

    Raises:
        TypeError: ``polygon`` is not a Polygon; ValueError: empty or non-binary ground truth.
    """
    if not isinstance(polygon, Polygon):
        raise TypeError(f"expected a Polygon, got {type(polygon).__name__}")
    gt, _ = check_ground_truth(gt)
    # the contour polylines, resampled 10x more densely (points <= 0.1 px apart): distances to the
    # polyline itself, not only to find_contours' grid crossings, to within 0.05 px
    t = np.linspace(0.0, 1.0, 10, endpoint=False)[:, None, None]
    boundary = np.concatenate([(c[:-1] + t * (c[1:] - c[:-1])).transpose(1, 0, 2).reshape(-1, 2)
                               for c in _gt_contours(gt) if len(c) > 1] + _gt_contours(gt))
    v = np.asarray(polygon.vertices, dtype=float)
    d, i = cKDTree(boundary).query(v)
    return d.astype(np.float64), boundary[i]


def worst_vertex_correction(polygon: Polygon, gt: np.ndarray, k: int = 1, mode: str = "snap") -> Polygon:
    """One correction of a boundary polygon by the robot user: fix the worst vertex and its neighbours.

    Worst-vertex correction (Tian et al., "Graph-convolutional-network-based interactive prostate
    segmentation in MR images", Medical Physics 47(9), 2020; also Curve-GCN, Ling et al., CVPR 2019):

    1. the error of a vertex is its distance to the nearest ground-truth boundary point
       (:func:`vertex_errors`);
    2. the vertex with the largest error (the first one on a tie) is dragged onto its nearest boundary
       point;
    3. its ``k`` neighbours on each side (cyclically) follow. ``mode="snap"`` (default): each of them is
       moved onto its own nearest boundary point too, so after one step all ``2k + 1`` vertices lie on the
       boundary. ``mode="drag"``: they move with the dragged vertex, the ``m``-th neighbour by
       ``(1 - m / (k + 1))`` times its displacement (an elastic drag as in a drawing program).

    A polygon whose vertices all lie on the boundary is returned unchanged. Only vertices move (none are
    added), so the correction improves the outline only as far as ``len(vertices)`` allows.

    Args:
        polygon: the current :class:`Polygon` (``(x, y)`` vertices).
        gt: ``(H, W)`` ground-truth mask, not empty.
        k: number of neighbours corrected on each side (>= 0; more than ``N // 2`` means all vertices).
        mode: "snap" or "drag".

    Returns:
        a new Polygon with the same number of vertices.

    Raises:
        TypeError/ValueError: not a Polygon, bad ``k`` or ``mode``, empty or non-binary ground truth.
    """
    k = _integer(k, "k", 0)
    if mode not in ("snap", "drag"):
        raise ValueError(f"expected mode 'snap' or 'drag', got {mode!r}")
    err, nearest = vertex_errors(polygon, gt)
    v = np.asarray(polygon.vertices, dtype=float).copy()
    n = len(v)
    worst = int(np.argmax(err))
    if err[worst] == 0:
        return polygon
    shift = nearest[worst] - v[worst]
    v[worst] = nearest[worst]
    done = {worst}
    for m in range(1, k + 1):
        for j in ((worst - m) % n, (worst + m) % n):
            if j in done:
                continue
            done.add(j)
            if mode == "snap":
                v[j] = nearest[j]
            else:
                v[j] = v[j] + (1 - m / (k + 1)) * shift
    h, w = np.shape(gt)
    v[:, 0] = np.clip(v[:, 0], 0, w - 1)
    v[:, 1] = np.clip(v[:, 1], 0, h - 1)
    return Polygon([tuple(p) for p in v.tolist()])
