"""Scribble robots: strokes along the skeleton of the object or of an error, or along its boundary.

:func:`skeleton_scribble`, :func:`error_scribble`, :func:`boundary_scribble`, the augmentations
:func:`broken_skeleton` and :func:`warped_scribble` (after ScribblePrompt, Wong et al., arXiv 2312.07381,
2023), and :class:`ScribbleRobot`, which drives a whole session with scribbles.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage as ndi
from scipy.ndimage import distance_transform_edt
from skimage.measure import approximate_polygon, find_contours

from ..interactions import Interaction, Scribble
from ..segmenter import check_ground_truth
from ..validate import integer, number
from .base import RandomState, _cumulative_length, _image_hw, as_generator, sample_generator
from .regions import _any_error, interior_distance, largest_error_region
from .skeleton import _path_length, skeleton_paths


def _to_scribble(rc: np.ndarray, positive: bool, simplify_px: float) -> Scribble:
    """A Scribble through ``(row, col)`` points, thinned out with Douglas-Peucker when ``simplify_px > 0``."""
    rc = np.asarray(rc, dtype=float)
    if simplify_px > 0 and len(rc) > 2:
        rc = approximate_polygon(rc, tolerance=simplify_px)
    return Scribble([(float(c), float(r)) for r, c in rc], positive)


def _longest_first(paths, positive: bool, simplify_px: float) -> list[Scribble]:
    return sorted((_to_scribble(p, positive, simplify_px) for p in paths), key=lambda s: -s.length)


def _scribbles_from_paths(paths, positive, min_length_px, simplify_px) -> list[Scribble]:
    """Scribbles of the paths at least ``min_length_px`` long (else of the longest path), longest first."""
    if not paths:
        return []
    lengths = [_path_length(p) for p in paths]
    keep = [p for p, n in zip(paths, lengths) if n >= min_length_px]
    if not keep:  # everything is short: keep the longest piece, so the annotator still scribbles something
        keep = [paths[int(np.argmax(lengths))]]
    return _longest_first(keep, positive, simplify_px)


def _check_scribble_opts(min_length_px, simplify_px) -> tuple[float, float]:
    return number(min_length_px, "min_length_px", minimum=0.0), number(simplify_px, "simplify_px", minimum=0.0)


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

    Used in lessons 03, 04, 05.
    """
    min_length_px, simplify_px = _check_scribble_opts(min_length_px, simplify_px)
    gt, valid = check_ground_truth(gt, ignore)
    paths = skeleton_paths(gt & valid, smooth_px)
    return _scribbles_from_paths(paths, bool(positive), min_length_px, simplify_px)


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

    Used in lesson 05.
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

    Used in lessons 03, 05.
    """
    offset_px = number(offset_px, "offset_px")
    if offset_px == 0:
        raise ValueError("expected offset_px != 0: > 0 for a scribble inside the object, < 0 outside it")
    min_length_px, simplify_px = _check_scribble_opts(min_length_px, simplify_px)
    gt, valid = check_ground_truth(gt, ignore)
    inside, outside = gt & valid, ~gt & valid
    sd = np.where(inside, interior_distance(inside), 0.0) - np.where(outside, distance_transform_edt(outside), 0.0)
    sd[~valid] = 0.0
    contours = find_contours(sd, offset_px)
    paths = [c for c in contours if _path_length(c) >= min_length_px]
    return _longest_first(paths, offset_px > 0, simplify_px)


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
    consecutive kept pieces of a polyline stay one scribble. Broken, partial scribbles are one of the
    augmentations of ScribblePrompt (Wong et al., 2023).

    Args:
        keep: probability of keeping a piece, in ``(0, 1]``.
        piece_px: arc length of a piece in pixels (> 0).
        rng: Generator, int seed or None (:func:`as_generator`).
        others as :func:`skeleton_scribble`.

    Returns:
        list of positive Scribbles, longest first.

    Used in lesson 05.
    """
    keep = number(keep, "keep", minimum=0.0, maximum=1.0, strict=True)
    piece_px = number(piece_px, "piece_px", minimum=0.0, strict=True)
    min_length_px, simplify_px = _check_scribble_opts(min_length_px, simplify_px)
    gen = as_generator(rng)
    gt, valid = check_ground_truth(gt, ignore)
    paths = skeleton_paths(gt & valid, smooth_px)
    long = [p for p in paths if _path_length(p) >= min_length_px] or [max(paths, key=_path_length)]
    pieces, kept = [], []
    for p in long:
        which = np.floor(_cumulative_length(p) / piece_px).astype(int)
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
    return _longest_first(kept, True, simplify_px)


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

    Used in lesson 05.
    """
    single = isinstance(scribble, Scribble)
    items = [scribble] if single else list(scribble)
    for s in items:
        if not isinstance(s, Scribble):
            raise TypeError(f"expected Scribble objects, got {type(s).__name__}")
    h, w = _image_hw(shape)
    amplitude_px = number(amplitude_px, "amplitude_px", minimum=0.0)
    spacing_px = number(spacing_px, "spacing_px", minimum=0.0, strict=True)
    gen = as_generator(rng)
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


class ScribbleRobot:
    """A robot user that corrects with scribbles: ``robot(gt, pred, ignore=None, previous=()) -> Scribble | None``.

    Fits the :class:`~iseg_course.robot.Robot` protocol, so a whole session can be driven by scribbles:

    * first scribble (no :class:`Scribble` among ``previous`` yet): the longest positive skeleton
      scribble of the ground truth (:func:`skeleton_scribble`);
    * then: the longest scribble along the skeleton of the largest error region, positive on missed object
      pixels, negative on background taken as object (:func:`error_scribble`);
    * None when the prediction has no error left outside ``ignore``.

    With ``warp_px > 0`` every scribble is bent by :func:`warped_scribble` (a shaky hand), drawing from a
    Generator seeded from ``(seed, the mask, len(previous))`` (:func:`~iseg_course.robot.sample_generator`):
    the same session always gets the same scribbles, in any order and any worker process. With
    ``warp_px = 0`` (default) the robot is deterministic and the seed is not used. Picklable.

    Args:
        seed: int >= 0.
        warp_px: amplitude of the warp in pixels (>= 0; 0: straight skeleton scribbles).
        spacing_px: grid spacing of the warp (> 0).
        min_length_px, simplify_px, smooth_px: as :func:`skeleton_scribble`.

    Used by :func:`~iseg_course.robot.make_robot` (``"scribble"``); not used in a lesson yet.
    """

    def __init__(self, seed: int = 0, *, warp_px: float = 0.0, spacing_px: float = 40.0,
                 min_length_px: float = 10.0, simplify_px: float = 1.0, smooth_px: float = 2.0) -> None:
        self.seed = integer(seed, "seed", minimum=0)
        self.warp_px = number(warp_px, "warp_px", minimum=0.0)
        self.spacing_px = number(spacing_px, "spacing_px", minimum=0.0, strict=True)
        min_length_px, simplify_px = _check_scribble_opts(min_length_px, simplify_px)
        smooth_px = number(smooth_px, "smooth_px", minimum=0.0)
        self.options = {"min_length_px": min_length_px, "simplify_px": simplify_px, "smooth_px": smooth_px}

    def __call__(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        ignore: np.ndarray | None = None,
        previous: Sequence[Interaction] = (),
    ) -> Scribble | None:
        if any(isinstance(p, Scribble) for p in previous):
            found = error_scribble(gt, pred, ignore, **self.options)
        elif _any_error(gt, pred, ignore):
            found = skeleton_scribble(gt, ignore, **self.options)
        else:
            found = []
        if not found:
            return None
        if self.warp_px == 0:
            return found[0]
        rng = sample_generator(self.seed, gt, len(previous))
        return warped_scribble(found[0], np.shape(gt), amplitude_px=self.warp_px, spacing_px=self.spacing_px,
                               rng=rng)

    def __repr__(self) -> str:
        return f"ScribbleRobot(seed={self.seed}, warp_px={self.warp_px})"
