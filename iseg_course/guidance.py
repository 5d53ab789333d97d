"""Guidance signals: how user interactions are presented to a segmentation model.

The lecture (after Marinov et al., "Deep Interactive Segmentation of Medical Images: A Systematic Review
and Taxonomy", IEEE TPAMI 2024) calls a *guidance signal* the form in which the interactions reach the
model. **Explicit** signals are extra input maps computed deterministically from the interactions (and
perhaps the image); **implicit** signals act on the model's training or input instead (a loss that weighs
pixels near the clicks more, a crop around a box).

Explicit maps in this module, each ``f(points, shape, ...) -> (H, W) float32``:

=========================  ======================================  ================================
map                        definition (d = distance to the seeds)  range
=========================  ======================================  ================================
``gaussian_heatmap``       ``exp(-d^2 / (2 sigma^2))``             [0, 1], 1 at the seeds
``disk_map``               ``d <= radius``                         {0, 1}
``euclidean_distance_map`` ``min(d, truncate)`` (pixels)           [0, truncate] (or [0, 1])
``geodesic_distance_map``  minimal path cost on a gradient cost     [0, inf) (cost x pixels)
``exp_geodesic_map``       ``exp(-d_geo / tau)``                   [0, 1], 1 at the seeds
``location_prior``         ``255 - 10 x (edges crossed)``          [0, 255]
``attraction_field``       ``sum_i q_i eps^2 / (eps^2 + r_i^2)``   [-n_neg, n_pos]
=========================  ======================================  ================================

``points`` may be an :class:`~iseg_course.interactions.Interactions` log, a single interaction, a list of
interactions, or an array-like of ``(x, y)`` pixel coordinates. Every point is snapped to its pixel
(``Click.rc``: rounded); a scribble counts as *all* pixels of its rasterised polyline; extreme points are
four positive points; boxes and polygons are area prompts, not point seeds, and are skipped (see
:func:`box_crop` for the box as an implicit signal). :func:`guidance_maps` splits the interactions into a
positive (channel 0) and a negative (channel 1) map.

The Euclidean and geodesic maps encode the distance to the *whole* seed set, so a new click changes the
map everywhere and it is recomputed in full; Gaussian heatmaps and disks are local, so a new click is just
pasted on top (:class:`IncrementalGuidance`).

References: Xu et al., "Deep Interactive Object Selection", CVPR 2016 (Euclidean maps, truncated at 255);
Maninis et al., "Deep Extreme Cut (DEXTR)", CVPR 2018 (Gaussian heatmaps, box crop); Benenson et al.,
"Large-scale interactive object segmentation with human annotators", CVPR 2019 (disks vs Gaussians);
Criminisi et al., "GeoS: Geodesic Image Segmentation", ECCV 2008; Toivanen, "New geodesic distance
transforms for gray-scale images", Pattern Recognition Letters 1996 (raster scans); Wang et al.,
"DeepIGeoS", IEEE TPAMI 2019 (geodesic maps as CNN input); Sun et al., "A point says a lot", MLMI 2017
(location prior); Aresta et al., "iW-Net", Scientific Reports 2019 (attraction field).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from .interactions import Box, Click, ExtremePoints, Interactions, Polygon, Scribble, polyline_pixels

__all__ = [
    "KINDS",
    "seed_points",
    "seed_mask",
    "gaussian_heatmap",
    "disk_map",
    "euclidean_distance_map",
    "gradient_cost",
    "geodesic_distance",
    "geodesic_distance_map",
    "exp_geodesic_map",
    "canny_edges",
    "location_prior",
    "attraction_field",
    "guidance_maps",
    "click_weight_map",
    "weighted_bce",
    "CropWindow",
    "box_crop",
    "box_uncrop",
    "IncrementalGuidance",
]

#: The kinds of explicit map :func:`guidance_maps` knows.
KINDS = ("gaussian", "disk", "euclidean", "geodesic", "exp_geodesic", "location_prior", "attraction")

_SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------------------


def _check_shape(shape: Any) -> tuple[int, int]:
    """``(H, W)`` from a shape ``(H, W)`` or ``(H, W, C)``; ValueError/TypeError otherwise."""
    try:
        dims = tuple(int(s) for s in shape)
    except TypeError as e:
        raise TypeError(f"shape must be a tuple (H, W) or (H, W, C) of ints, got {shape!r}") from e
    if len(dims) not in (2, 3) or any(s != float(v) for s, v in zip(dims, shape)):
        raise ValueError(f"shape must be (H, W) or (H, W, C) with integer sizes, got {shape!r}")
    if dims[0] < 1 or dims[1] < 1:
        raise ValueError(f"shape must have H >= 1 and W >= 1, got {shape!r}")
    return dims[0], dims[1]


def _check_positive(value: float, name: str) -> float:
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number (pixels), got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number (pixels), got {value}")
    return float(value)


def _items(points: Any) -> list:
    """The interactions in ``points`` as a list; raw ``(x, y)`` coordinates become positive Clicks."""
    if isinstance(points, Interactions):
        return list(points)
    if isinstance(points, (Click, Scribble, ExtremePoints)):
        return [points]
    if isinstance(points, (Box, Polygon)):
        raise TypeError(
            f"a {type(points).__name__} is an area prompt, not a set of point seeds; use box_crop() for boxes "
            "or Polygon.to_mask() for polygons"
        )
    if isinstance(points, (str, bytes, dict)) or not hasattr(points, "__iter__"):
        raise TypeError(f"expected (x, y) points or interactions, got {type(points).__name__}")
    items = [points] if isinstance(points, np.ndarray) else list(points)
    if any(isinstance(i, (Click, Scribble, ExtremePoints, Box, Polygon)) for i in items):
        return items
    if not items:
        return []
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"expected an (N, 2) array of (x, y) points or interactions, got {points!r}") from e
    if arr.ndim == 1 and arr.size == 2:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"points must be an (N, 2) array of (x, y) pixel coordinates, got shape {arr.shape}")
    return [Click(float(x), float(y), True) for x, y in arr]


def _collect(points: Any, shape: tuple[int, int], positive: bool | None) -> list[tuple[int, int, int, bool]]:
    """``(row, col, interaction index, positive)`` of every seed pixel in ``points``.

    Validates every interaction against ``shape`` (ValueError when outside); skips boxes and polygons.
    """
    out: list[tuple[int, int, int, bool]] = []
    for k, it in enumerate(_items(points)):
        if isinstance(it, (Box, Polygon)):
            continue  # area prompts are not point seeds (documented)
        if not isinstance(it, (Click, Scribble, ExtremePoints)):
            raise TypeError(f"expected Click, Scribble or ExtremePoints, got {type(it).__name__}")
        it.validate(shape)  # ValueError for a point outside the image
        pos = bool(it.positive)
        if positive is not None and pos != positive:
            continue
        if isinstance(it, Click):
            r, c = it.rc
            out.append((r, c, k, pos))
        elif isinstance(it, Scribble):
            out.extend((int(r), int(c), k, pos) for r, c in polyline_pixels(it.points))
        else:
            out.extend((int(round(y)), int(round(x)), k, pos) for x, y in it.points)
    return out


def seed_points(points: Any, shape: tuple[int, ...], positive: bool | None = None) -> np.ndarray:
    """The seed pixels of ``points`` as an ``(N, 2) int64`` array of unique ``(row, col)`` indices.

    ``points``: an :class:`Interactions` log, one interaction, a list of interactions, or an array-like
    of ``(x, y)`` pixel coordinates (rounded to the nearest pixel). Scribbles give all pixels of their
    rasterised polyline, extreme points their four points; boxes and polygons are skipped.
    ``positive``: keep only positive (True) or negative (False) interactions; None keeps all (raw
    coordinates count as positive).

    Raises ValueError for a point outside an image of ``shape``, TypeError for an unsupported input.
    """
    hw = _check_shape(shape)
    seeds = _collect(points, hw, positive)
    if not seeds:
        return np.zeros((0, 2), dtype=np.int64)
    rc = np.array([(r, c) for r, c, _, _ in seeds], dtype=np.int64)
    return np.unique(rc, axis=0)


def seed_mask(points: Any, shape: tuple[int, ...], positive: bool | None = None) -> np.ndarray:
    """``(H, W) bool`` mask of the seed pixels of ``points`` (see :func:`seed_points`)."""
    h, w = _check_shape(shape)
    mask = np.zeros((h, w), dtype=bool)
    rc = seed_points(points, (h, w), positive)
    mask[rc[:, 0], rc[:, 1]] = True
    return mask


def _nearest_sq_distance(rc: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``(H, W) float64`` squared Euclidean distance (pixels^2) from every pixel to the nearest seed.

    Few seeds: the exact minimum over seeds of ``dy^2 + dx^2`` (an outer sum per seed); many seeds (a
    scribble): the exact nearest neighbour from a k-d tree. ``+inf`` everywhere when there is no seed.
    """
    h, w = shape
    if len(rc) == 0:
        return np.full((h, w), np.inf)
    if len(rc) <= 48:
        rows = np.arange(h, dtype=np.float64)
        cols = np.arange(w, dtype=np.float64)
        d2 = np.full((h, w), np.inf)
        for r, c in rc:
            np.minimum(d2, (rows[:, None] - r) ** 2 + (cols[None, :] - c) ** 2, out=d2)
        return d2
    tree = cKDTree(rc.astype(np.float64))
    grid = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij"), axis=-1).reshape(-1, 2)
    dist, _ = tree.query(grid, k=1)
    # round-trip through the exact integer squares so that the result matches the brute-force path
    return np.rint(dist.reshape(h, w) ** 2)


# --------------------------------------------------------------------------------------------------------
# local maps: Gaussian heatmaps and disks
# --------------------------------------------------------------------------------------------------------


def _gaussian_from_d2(d2: np.ndarray, sigma: float, truncate: float | None) -> np.ndarray:
    g = np.exp(-d2 / (2.0 * sigma * sigma))
    if truncate is not None:
        g[d2 > (truncate * sigma) ** 2] = 0.0
    return g.astype(np.float32)


def gaussian_heatmap(points: Any, shape: tuple[int, ...], sigma: float = 10.0, *, truncate: float | None = 4.0,
                     positive: bool | None = None) -> np.ndarray:
    """Gaussian heatmap of the seeds: ``exp(-d^2 / (2 sigma^2))`` with ``d`` the distance to the nearest seed.

    The maximum over the seeds of one Gaussian per seed (equal to the Gaussian of the nearest-seed
    distance). ``sigma`` in pixels; values farther than ``truncate * sigma`` pixels are set to 0 (as
    ``scipy.ndimage.gaussian_filter`` does; they are below ``exp(-truncate^2 / 2)``, 3.4e-4 for 4), which
    makes the map local so that :class:`IncrementalGuidance` can paste clicks on; ``truncate=None`` keeps
    the full support. DEXTR (Maninis et al., CVPR 2018) uses such heatmaps on the extreme points.

    Returns ``(H, W) float32`` in [0, 1]: 1 at the seed pixels, ``exp(-1/2)`` at ``sigma`` pixels, all 0
    without seeds. Raises ValueError for ``sigma <= 0``, a wrong shape or a point outside the image.
    """
    sigma = _check_positive(sigma, "sigma")
    if truncate is not None:
        truncate = _check_positive(truncate, "truncate")
    h, w = _check_shape(shape)
    return _gaussian_from_d2(_nearest_sq_distance(seed_points(points, (h, w), positive), (h, w)), sigma, truncate)


def disk_map(points: Any, shape: tuple[int, ...], radius: float = 5.0, *, positive: bool | None = None) -> np.ndarray:
    """Binary disks of ``radius`` pixels around the seeds: 1 where the distance to a seed is ``<= radius``.

    Benenson et al. (CVPR 2019) found disks encode clicks at least as well as Gaussians.
    Returns ``(H, W) float32`` in {0, 1}. Raises ValueError for ``radius <= 0``.
    """
    radius = _check_positive(radius, "radius")
    h, w = _check_shape(shape)
    d2 = _nearest_sq_distance(seed_points(points, (h, w), positive), (h, w))
    return (d2 <= radius * radius).astype(np.float32)


# --------------------------------------------------------------------------------------------------------
# global maps: Euclidean and geodesic distances
# --------------------------------------------------------------------------------------------------------


def euclidean_distance_map(points: Any, shape: tuple[int, ...], *, truncate: float | None = 255.0,
                           normalize: bool = False, positive: bool | None = None) -> np.ndarray:
    """Euclidean distance (pixels) from every pixel to the nearest seed pixel.

    Xu et al. (DIOS, CVPR 2016) feed one such map per click type to the network, truncated at 255.
    ``truncate``: cap in pixels (None: no cap). ``normalize=True`` divides by ``truncate`` (by the image
    diagonal when ``truncate`` is None) so the map lies in [0, 1].

    Returns ``(H, W) float32`` in [0, truncate] (0 at the seeds). Without seeds every pixel is "far":
    ``truncate`` (``+inf`` when ``truncate`` is None; 1 when normalised).
    Equal to ``scipy.ndimage.distance_transform_edt(~seed_mask)`` capped at ``truncate``.
    """
    if truncate is not None:
        truncate = _check_positive(truncate, "truncate")
    h, w = _check_shape(shape)
    d = np.sqrt(_nearest_sq_distance(seed_points(points, (h, w), positive), (h, w)))
    if truncate is not None:
        np.minimum(d, truncate, out=d)
    if normalize:
        scale = truncate if truncate is not None else math.hypot(h, w)
        d = np.minimum(d / scale, 1.0)
    return d.astype(np.float32)


def gradient_cost(image: np.ndarray, *, gamma: float = 150.0, sigma: float = 1.0) -> np.ndarray:
    """Local cost for geodesic distances: ``sqrt(1 + gamma^2 |grad I|^2)`` per pixel.

    ``image``: ``(H, W, 3)`` or ``(H, W)``; uint8 is scaled to [0, 1], floats are used as given (expected
    in [0, 1]). ``|grad I|`` is the Gaussian-derivative gradient magnitude (``sigma`` pixels, scipy),
    combined over colour channels as the root of the sum of squares. A path's cost is the integral of
    this cost along it, so crossing an edge is expensive: the discrete form of the GeoS distance
    ``integral sqrt(1 + gamma^2 (grad I . u)^2) ds`` (Criminisi et al., ECCV 2008) with the gradient
    magnitude in place of its component along the path. ``gamma = 0`` gives a constant cost of 1 (the
    geodesic distance becomes a Euclidean-like chamfer distance).

    Returns ``(H, W) float64``, all values >= 1. Raises ValueError/TypeError for a bad image or parameter.
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)) or img.size == 0:
        raise ValueError(f"image must be (H, W) or (H, W, 3), got shape {img.shape}")
    if img.dtype == bool or not np.issubdtype(img.dtype, np.number):
        raise TypeError(f"image must be numeric (uint8 or float), got dtype {img.dtype}")
    if not (isinstance(gamma, (int, float, np.number)) and math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma}")
    sigma = _check_positive(sigma, "sigma")
    f = img.astype(np.float64)
    if img.dtype == np.uint8:
        f /= 255.0
    if f.ndim == 2:
        f = f[..., None]
    f = f[..., :3]
    g2 = np.zeros(f.shape[:2])
    for ch in range(f.shape[2]):
        g2 += ndi.gaussian_gradient_magnitude(f[..., ch], sigma) ** 2
    return np.sqrt(1.0 + gamma * gamma * g2)


def _edge_weights(c: np.ndarray):
    """Edge costs of the 8-connected grid for the row scans and the column scans, as MCP_Geometric
    defines them: ``length * (c[p] + c[q]) / 2`` (length 1 for the 4 axial, sqrt(2) for the diagonal
    neighbours).

    For the rows: ``S`` (H, W), the cumulative horizontal cost along each row (``S[i, j] - S[i, k]`` is
    the cost of walking from column k to column j), ``wv`` (H-1, W): (i, j)-(i+1, j), ``wd`` (H-1, W-1):
    (i, j)-(i+1, j+1), ``wa`` (H-1, W-1): (i, j+1)-(i+1, j). For the columns the same four arrays of the
    transposed image (its diagonal edges are the transposed ``wd`` and ``wa``).
    """
    wh = 0.5 * (c[:, :-1] + c[:, 1:])
    wv = 0.5 * (c[:-1] + c[1:])
    wd = (0.5 * _SQRT2) * (c[:-1, :-1] + c[1:, 1:])
    wa = (0.5 * _SQRT2) * (c[:-1, 1:] + c[1:, :-1])
    S = np.zeros_like(c)
    np.cumsum(wh, axis=1, out=S[:, 1:])
    St = np.zeros((c.shape[1], c.shape[0]))
    np.cumsum(wv.T, axis=1, out=St[:, 1:])
    rows = (S, wv, wd, wa)
    cols = (St, np.ascontiguousarray(wh.T), np.ascontiguousarray(wd.T), np.ascontiguousarray(wa.T))
    return rows, cols


def _row_relax(cand: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Exact 1-D geodesic distance along one row, in place, given starting values ``cand``.

    Left to right: ``d[j] = min_{k <= j} (d[k] + S[j] - S[k]) = S[j] + cummin(d - S)[j]``; right to left:
    ``d[j] = min_{k >= j} (d[k] + S[k] - S[j]) = reverse-cummin(d + S)[j] - S[j]``. Two vectorised prefix
    minima replace the sequential left/right scans of the classic raster-scan algorithm.
    """
    cand -= s
    np.minimum.accumulate(cand, out=cand)
    cand += s
    cand += s
    rev = cand[::-1]
    np.minimum.accumulate(rev, out=rev)
    cand -= s
    return cand


class _LineBook:
    """Which lines (rows, or columns in the transposed view) need another look during the scans.

    ``stamp[i]``: clock of line i's last change; ``seen_down[i]`` / ``seen_up[i]``: clock when line i was
    last relaxed against its predecessor in a downward / upward pass; ``relaxed[i]``: the stamp line i
    had when it was last relaxed along itself (it needs that again once it changes in the other
    orientation's scans). A line whose neighbour and itself
    are unchanged since then already satisfies those relaxations (distances only decrease, and a decrease
    of line i never breaks ``d[i] <= d[i-1] + w``), so it is skipped; the final pass that certifies
    convergence is then almost free.
    """

    def __init__(self, n: int):
        self.clock = 1
        self.stamp = np.ones(n, dtype=np.int64)
        self.seen_down = np.zeros(n, dtype=np.int64)
        self.seen_up = np.zeros(n, dtype=np.int64)
        self.relaxed = np.ones(n, dtype=np.int64)  # callers start from lines relaxed along themselves

    def touch(self, changed: np.ndarray) -> None:
        if changed.any():
            self.clock += 1
            self.stamp[changed] = self.clock


def _scan_rows(d: np.ndarray, S: np.ndarray, wv: np.ndarray, wd: np.ndarray, wa: np.ndarray,
               rtol: float, book: _LineBook) -> bool:
    """One top-to-bottom and one bottom-to-top raster pass over the rows of ``d`` (in place).

    Each row first takes the best of its three neighbours in the previous row (vectorised over the
    columns), then is relaxed along itself in both directions (:func:`_row_relax`). A row is skipped
    when neither it nor the row it comes from changed since it was last processed in this direction
    (see :class:`_LineBook`); a row that changed elsewhere is always relaxed along itself again.
    Returns whether any value decreased by more than the relative tolerance ``rtol`` (a pass returning
    False has checked every pixel against all 8 neighbours: the distances have converged).
    """
    h, w = d.shape
    changed = False
    # plain lists: scalar bookkeeping in the row loop is much cheaper than on numpy arrays
    stamp, relaxed = book.stamp.tolist(), book.relaxed.tolist()
    clock = book.clock
    cand = np.empty(w)
    rev = cand[::-1]
    buf = np.empty(w)
    tmp = np.empty(w - 1)
    flags = np.empty(w, dtype=bool)
    S2 = 2.0 * S
    grow = 1.0 + rtol
    for down in (True, False):
        seen = (book.seen_down if down else book.seen_up).tolist()
        rows = range(1, h) if down else range(h - 2, -1, -1)
        for i in rows:
            j = i - 1 if down else i + 1  # the neighbouring row the scan comes from
            vert = stamp[j] > seen[i]
            horiz = stamp[i] > relaxed[i]
            if not (vert or horiz):
                continue
            seen[i] = clock
            row = d[i]
            improve = False
            if vert:
                prev = d[j]
                k = i - 1 if down else i
                np.add(prev, wv[k], out=cand)
                if down:  # from (i-1, j-1) and (i-1, j+1)
                    np.minimum(cand[1:], np.add(prev[:-1], wd[k], out=tmp), out=cand[1:])
                    np.minimum(cand[:-1], np.add(prev[1:], wa[k], out=tmp), out=cand[:-1])
                else:  # from (i+1, j+1) and (i+1, j-1)
                    np.minimum(cand[:-1], np.add(prev[1:], wd[k], out=tmp), out=cand[:-1])
                    np.minimum(cand[1:], np.add(prev[:-1], wa[k], out=tmp), out=cand[1:])
                improve = np.less(cand, row, out=flags).any()
            if not (improve or horiz):
                continue
            if improve:
                np.minimum(row, cand, out=cand)
            else:
                cand[:] = row
            # relax along the row in both directions (see _row_relax), with prefix minima
            si = S[i]
            cand -= si
            np.minimum.accumulate(cand, out=cand)
            cand += S2[i]
            np.minimum.accumulate(rev, out=rev)
            cand -= si
            significant = np.less(np.multiply(cand, grow, out=buf), row, out=flags).any()
            row[:] = cand
            if significant:
                clock += 1
                stamp[i] = seen[i] = clock
                changed = True
            relaxed[i] = stamp[i]
        (book.seen_down if down else book.seen_up)[:] = seen
    book.stamp[:] = stamp
    book.relaxed[:] = relaxed
    book.clock = clock
    return changed


def geodesic_distance(cost: np.ndarray, seeds: np.ndarray, *, max_rounds: int | None = None,
                      rtol: float = 1e-12) -> np.ndarray:
    """Geodesic distance from every pixel to the nearest seed on a local ``cost`` image (our own solver).

    The distance is the minimum, over 8-connected pixel paths from a seed, of the summed step costs
    ``length(p, q) * (cost[p] + cost[q]) / 2`` (length 1 for axial, sqrt(2) for diagonal steps) — exactly
    the definition of ``skimage.graph.MCP_Geometric`` (``find_costs``), against which the tests check it.

    Algorithm: raster scans in the spirit of Toivanen (1996) and GeoS (Criminisi et al., ECCV 2008),
    vectorised with numpy. A pass walks the rows top to bottom, each row taking the best of its three
    upper neighbours and then being relaxed along itself in both directions at once with prefix minima
    (:func:`_row_relax`); a second pass walks bottom to top; then the same on the columns (the
    transposed image). Passes repeat until no distance decreases (relative ``rtol``): the fixed point
    of these relaxations is the shortest-path distance, and a pass that changes nothing proves it has
    been reached. Rows and columns whose neighbours did not change since they were last looked at are
    skipped (:class:`_LineBook`). Shortest paths in natural images turn back rarely, so 2-4 rounds
    suffice: about 60-150 ms of CPU at 480 x 640 with :func:`gradient_cost` (``benchmarks/guidance.py``),
    on a par with scikit-image's compiled Dijkstra; noise-like costs need more rounds.

    ``cost``: ``(H, W)`` finite, >= 0. ``seeds``: ``(H, W)`` bool, distance 0 there. ``max_rounds``: stop
    after this many rounds (None: until converged).

    Returns ``(H, W) float64``; ``+inf`` everywhere when there is no seed.
    Raises ValueError for mismatched shapes, non-finite or negative costs; TypeError for non-bool seeds.
    """
    c = np.asarray(cost)
    if c.ndim != 2 or c.size == 0:
        raise ValueError(f"cost must be a non-empty (H, W) array, got shape {c.shape}")
    if not np.issubdtype(c.dtype, np.number) or c.dtype == bool:
        raise TypeError(f"cost must be numeric, got dtype {c.dtype}")
    c = np.ascontiguousarray(c, dtype=np.float64)
    if not np.all(np.isfinite(c)) or c.min() < 0:
        raise ValueError("cost must be finite and >= 0 everywhere")
    s = np.asarray(seeds)
    if s.dtype != bool:
        raise TypeError(f"seeds must be an (H, W) bool mask, got dtype {s.dtype}")
    if s.shape != c.shape:
        raise ValueError(f"seeds has shape {s.shape}, cost has shape {c.shape}; expected the same (H, W)")
    if max_rounds is not None and int(max_rounds) < 1:
        raise ValueError(f"max_rounds must be >= 1 or None, got {max_rounds}")
    d = np.where(s, 0.0, np.inf)
    if not s.any():
        return d
    w_rows, w_cols = _edge_weights(c)
    # start: relax every row along itself once
    for i in range(d.shape[0]):
        if s[i].any():
            d[i] = _row_relax(d[i].copy(), w_rows[0][i])
    # A pass over rows (or columns) that changes nothing certifies convergence: it checked every pixel
    # against all 8 neighbours (3 above, 3 below, 2 along the row) without finding a shorter path.
    rows_book, cols_book = _LineBook(d.shape[0]), _LineBook(d.shape[1])
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        rounds += 1
        before = d.copy()
        if not _scan_rows(d, *w_rows, rtol=rtol, book=rows_book):
            break
        cols_book.touch(np.any(d * (1.0 + rtol) < before, axis=0))  # columns with a real change
        dt = np.ascontiguousarray(d.T)
        before = dt.copy()
        changed = _scan_rows(dt, *w_cols, rtol=rtol, book=cols_book)
        rows_book.touch(np.any(dt * (1.0 + rtol) < before, axis=0))
        d = np.ascontiguousarray(dt.T)
        if not changed:
            break
    return d


def _check_image(image: np.ndarray | None, hw: tuple[int, int], what: str) -> np.ndarray:
    if image is None:
        raise ValueError(f"{what} needs the image (H, W, 3) (or a precomputed cost/edge map)")
    img = np.asarray(image)
    if img.shape[:2] != hw:
        raise ValueError(f"image has shape {img.shape}, expected {hw} (+ channels) to match shape")
    return img


def _cost_for(image, hw, cost, gamma, sigma) -> np.ndarray:
    if cost is not None:
        c = np.asarray(cost, dtype=np.float64)
        if c.shape != hw:
            raise ValueError(f"cost has shape {c.shape}, expected {hw}")
        return c
    return gradient_cost(_check_image(image, hw, "a geodesic map"), gamma=gamma, sigma=sigma)


def geodesic_distance_map(points: Any, shape: tuple[int, ...], image: np.ndarray | None = None, *,
                          cost: np.ndarray | None = None, gamma: float = 150.0, sigma: float = 1.0,
                          truncate: float | None = None, normalize: bool = False,
                          positive: bool | None = None) -> np.ndarray:
    """Geodesic distance map of the seeds on the image (the lecture's "Euclidean + appearance distance").

    The cost is :func:`gradient_cost` of ``image`` (``gamma``, ``sigma``) unless ``cost`` is given; the
    distance is :func:`geodesic_distance` (units: cost x pixels; equal to the 8-connected chamfer
    distance in pixels on a constant image). ``truncate`` caps the values; ``normalize`` divides by
    ``truncate`` (or by the largest finite value) into [0, 1]. DeepIGeoS (Wang et al., TPAMI 2019) feeds
    such maps to a CNN.

    Returns ``(H, W) float32`` in [0, inf) (0 at the seeds); without seeds ``+inf`` (``truncate`` if set,
    1 if normalised).
    """
    h, w = _check_shape(shape)
    if truncate is not None:
        truncate = _check_positive(truncate, "truncate")
    c = _cost_for(image, (h, w), cost, gamma, sigma)
    d = geodesic_distance(c, seed_mask(points, (h, w), positive))
    if truncate is not None:
        np.minimum(d, truncate, out=d)
    if normalize:
        finite = d[np.isfinite(d)]
        scale = truncate if truncate is not None else (finite.max() if finite.size and finite.max() > 0 else 1.0)
        d = np.minimum(d / scale, 1.0)
    return d.astype(np.float32)


def exp_geodesic_map(points: Any, shape: tuple[int, ...], image: np.ndarray | None = None, *, tau: float = 100.0,
                     cost: np.ndarray | None = None, gamma: float = 150.0, sigma: float = 1.0,
                     positive: bool | None = None) -> np.ndarray:
    """Exponential geodesic map ``exp(-d_geo / tau)`` (``tau`` in the distance's units, cost x pixels).

    A geodesic counterpart of the Gaussian heatmap: 1 at the seeds, decaying fast across image edges.
    Returns ``(H, W) float32`` in [0, 1]; all 0 without seeds. Raises ValueError for ``tau <= 0``.
    """
    tau = _check_positive(tau, "tau")
    h, w = _check_shape(shape)
    c = _cost_for(image, (h, w), cost, gamma, sigma)
    d = geodesic_distance(c, seed_mask(points, (h, w), positive))
    return np.exp(-d / tau).astype(np.float32)


# --------------------------------------------------------------------------------------------------------
# location prior (Sun et al. 2017) and attraction field (Aresta et al. 2019)
# --------------------------------------------------------------------------------------------------------


def canny_edges(image: np.ndarray, *, sigma: float = 3.0, thicken: bool = True) -> np.ndarray:
    """Canny edges of the image's grey levels (scikit-image), ``(H, W) bool``.

    ``thicken`` dilates them with a 3 x 3 square, so that a digital ray stepping diagonally cannot slip
    between two diagonal neighbours of a one-pixel edge without touching it.
    """
    from skimage.color import rgb2gray
    from skimage.feature import canny
    from skimage.util import img_as_float

    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.size == 0:
        raise ValueError(f"image must be (H, W) or (H, W, 3), got shape {img.shape}")
    grey = img_as_float(img)
    if grey.ndim == 3:
        grey = rgb2gray(grey[..., :3])
    edges = canny(grey, sigma=_check_positive(sigma, "sigma"))
    if thicken:
        edges = ndi.binary_dilation(edges, structure=np.ones((3, 3), bool))
    return edges


def _ray_crossings(edges: np.ndarray, r0: int, c0: int) -> np.ndarray:
    """Number of edges crossed on the digital straight ray from ``(r0, c0)`` to every pixel.

    Pixels are visited ring by ring (Chebyshev distance L = 1, 2, ... from the seed); the predecessor of a
    pixel is its 8-neighbour one step back towards the seed (the unit direction to the seed, rounded),
    which lies on ring L - 1, so ``count[p] = count[pred] + (p enters an edge: edge[p] and not
    edge[pred])``.
    """
    h, w = edges.shape
    count = np.zeros((h, w), dtype=np.int32)
    for L in range(1, max(r0, h - 1 - r0, c0, w - 1 - c0) + 1):
        top, bottom, left, right = r0 - L, r0 + L, c0 - L, c0 + L
        cols = np.arange(max(left, 0), min(right, w - 1) + 1)
        rows_side = np.arange(max(top + 1, 0), min(bottom - 1, h - 1) + 1)
        rr, cc = [], []
        if top >= 0:
            rr.append(np.full(cols.size, top)); cc.append(cols)
        if bottom <= h - 1:
            rr.append(np.full(cols.size, bottom)); cc.append(cols)
        if left >= 0:
            rr.append(rows_side); cc.append(np.full(rows_side.size, left))
        if right <= w - 1:
            rr.append(rows_side); cc.append(np.full(rows_side.size, right))
        r = np.concatenate(rr)
        c = np.concatenate(cc)
        dy, dx = (r - r0).astype(np.float64), (c - c0).astype(np.float64)
        norm = np.hypot(dy, dx)
        pr = r - np.rint(dy / norm).astype(np.int64)
        pc = c - np.rint(dx / norm).astype(np.int64)
        count[r, c] = count[pr, pc] + (edges[r, c] & ~edges[pr, pc])
    return count


def _line_crossings(edges: np.ndarray, r0: int, c0: int, direction: str) -> np.ndarray:
    """Edges crossed walking along each row (``horizontal``) or column (``vertical``) from the click's
    column (row) to the pixel: rising edge transitions counted with a cumulative sum."""
    e = edges if direction == "horizontal" else edges.T
    start = c0 if direction == "horizontal" else r0
    enter_right = np.zeros(e.shape, dtype=np.int32)  # walking rightwards, entering an edge at j
    enter_right[:, 1:] = e[:, 1:] & ~e[:, :-1]
    enter_left = np.zeros(e.shape, dtype=np.int32)  # walking leftwards, entering an edge at j
    enter_left[:, :-1] = e[:, :-1] & ~e[:, 1:]
    right = np.cumsum(enter_right, axis=1)
    left = np.cumsum(enter_left[:, ::-1], axis=1)[:, ::-1]
    j = np.arange(e.shape[1])
    count = np.where(j[None, :] >= start, right - right[:, start:start + 1], left - left[:, start:start + 1])
    return count if direction == "horizontal" else count.T


def location_prior(points: Any, shape: tuple[int, ...], image: np.ndarray | None = None, *,
                   edges: np.ndarray | None = None, start: float = 255.0, step: float = 10.0,
                   direction: str = "ray", canny_sigma: float = 3.0, max_seeds: int = 16,
                   positive: bool | None = None) -> np.ndarray:
    """Location prior of Sun et al. (MLMI 2017): ``start`` at the click, minus ``step`` per edge crossed.

    Their two assumptions: a pixel close to the click is more likely the object, and one separated from
    the click by more boundaries is less likely. Edges are Canny edges (:func:`canny_edges`, or pass
    ``edges``). Our reading of "crossing an edge": walking from the seed to the pixel, every entry into an
    edge band counts once. ``direction="ray"`` (default) walks the straight digital line from the seed;
    the paper computes two maps, along the horizontal and the vertical direction, which we read as
    walking along the pixel's row from the seed's column (``"horizontal"``) or along its column from the
    seed's row (``"vertical"``). With several seeds the pixel keeps its best (largest) value; a scribble
    is subsampled to ``max_seeds`` evenly spaced seed pixels (each seed costs one pass over the image).

    Returns ``(H, W) float32`` in [0, start] (``max(start - step * crossings, 0)``); all 0 without seeds.
    """
    h, w = _check_shape(shape)
    if direction not in ("ray", "horizontal", "vertical"):
        raise ValueError(f"direction must be 'ray', 'horizontal' or 'vertical', got {direction!r}")
    step = _check_positive(step, "step")
    start = _check_positive(start, "start")
    if edges is None:
        edges = canny_edges(_check_image(image, (h, w), "the location prior"), sigma=canny_sigma)
    edges = np.asarray(edges)
    if edges.shape != (h, w) or edges.dtype != bool:
        raise ValueError(f"edges must be an (H, W) = {(h, w)} bool map, got {edges.shape} {edges.dtype}")
    rc = seed_points(points, (h, w), positive)
    out = np.zeros((h, w), dtype=np.float32)
    if len(rc) == 0:
        return out
    if len(rc) > max_seeds:
        rc = rc[np.linspace(0, len(rc) - 1, max_seeds).round().astype(int)]
    best = None
    for r0, c0 in rc:
        n = _ray_crossings(edges, r0, c0) if direction == "ray" else _line_crossings(edges, r0, c0, direction)
        best = n if best is None else np.minimum(best, n)
    return np.maximum(start - step * best, 0.0).astype(np.float32)


def attraction_field(points: Any, shape: tuple[int, ...], *, charges: Iterable[float] | None = None,
                     softening: float = 10.0, vector: bool = False, positive: bool | None = None) -> np.ndarray:
    """Attraction field of point charges at the seeds, after iW-Net (Aresta et al., Sci. Rep. 2019).

    Each seed is a point charge ``q`` whose field strength falls off as ``1 / r^2``; we soften it at
    the charge with ``softening`` = ``eps`` pixels and scale it so that a unit charge has strength 1 on
    itself: ``q * eps^2 / (eps^2 + r^2)``. The map is the superposition over the seeds. By default a
    positive interaction has total charge +1 and a negative one -1, spread evenly over its pixels (a
    scribble is a line charge); ``charges`` gives one charge per seed pixel of :func:`seed_points`
    instead (raw coordinates: +1 each).

    Returns ``(H, W) float32``, the signed strength, in [-n_neg, n_pos] (numbers of negative/positive
    interactions; a lone unit charge gives (0, 1]). ``vector=True`` returns the field itself, ``(2, H, W)``
    (x then y components) ``sum_i q_i eps^2 (p_i - x) / (eps^2 + r_i^2)^(3/2)``, pointing towards the
    positive charges (the pull felt by the object) with magnitude ~ ``q eps^2 / r^2`` far from a charge.
    """
    eps = _check_positive(softening, "softening")
    h, w = _check_shape(shape)
    seeds = _collect(points, (h, w), positive)
    if charges is not None:
        rc = seed_points(points, (h, w), positive)
        q = np.asarray(list(charges), dtype=np.float64)
        if q.shape != (len(rc),):
            raise ValueError(f"charges must have one value per seed pixel ({len(rc)}), got shape {q.shape}")
    else:
        # one unit of charge per interaction (sign = polarity), spread evenly over its unique pixels
        groups: dict[int, set] = {}
        sign: dict[int, float] = {}
        for r, c, k, pos in seeds:
            groups.setdefault(k, set()).add((r, c))
            sign[k] = 1.0 if pos else -1.0
        rc_list, q_list = [], []
        for k, pix in groups.items():
            for p in sorted(pix):
                rc_list.append(p)
                q_list.append(sign[k] / len(pix))
        rc = np.asarray(rc_list, dtype=np.int64).reshape(-1, 2)
        q = np.asarray(q_list, dtype=np.float64)
    rows = np.arange(h, dtype=np.float64)[:, None]
    cols = np.arange(w, dtype=np.float64)[None, :]
    e2 = eps * eps
    if vector:
        field = np.zeros((2, h, w))
        for (r, c), qi in zip(rc, q):
            dy, dx = r - rows, c - cols
            f = qi * e2 / (e2 + dx * dx + dy * dy) ** 1.5
            field[0] += f * dx
            field[1] += f * dy
        return field.astype(np.float32)
    strength = np.zeros((h, w))
    for (r, c), qi in zip(rc, q):
        strength += qi * e2 / (e2 + (rows - r) ** 2 + (cols - c) ** 2)
    return strength.astype(np.float32)


# --------------------------------------------------------------------------------------------------------
# positive / negative channels
# --------------------------------------------------------------------------------------------------------


def guidance_maps(interactions: Any, shape: tuple[int, ...], kind: str, image: np.ndarray | None = None,
                  **kw: Any) -> np.ndarray:
    """Two-channel explicit guidance: ``(2, H, W) float32``, channel 0 from the positive interactions,
    channel 1 from the negative ones.

    ``kind``: one of :data:`KINDS` -- ``"gaussian"`` (:func:`gaussian_heatmap`), ``"disk"``
    (:func:`disk_map`), ``"euclidean"`` (:func:`euclidean_distance_map`), ``"geodesic"``
    (:func:`geodesic_distance_map`), ``"exp_geodesic"`` (:func:`exp_geodesic_map`), ``"location_prior"``
    (:func:`location_prior`), ``"attraction"`` (:func:`attraction_field`, both channels with positive
    charges so each lies in [0, n]). ``kw`` goes to that function (e.g. ``sigma=5``, ``radius=3``,
    ``truncate=255``). ``image`` is needed by the geodesic kinds and the location prior (unless ``cost``
    or ``edges`` is given); their cost (``gamma``, ``sigma`` of :func:`gradient_cost`) or edge map
    (``canny_sigma``) is computed once for both channels. Scribbles count as all their pixels; boxes and
    polygons are skipped.

    Raises ValueError for an unknown kind, a missing image, or an interaction outside the image.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown guidance kind {kind!r}; expected one of {KINDS}")
    h, w = _check_shape(shape)
    if isinstance(interactions, Interactions):
        log = interactions
    elif isinstance(interactions, (Click, Scribble, ExtremePoints)):
        log = Interactions([interactions])
    else:
        log = Interactions(list(interactions))
    log.validate((h, w))
    pos = [i for i in log if not isinstance(i, (Box, Polygon)) and i.positive]
    neg = [i for i in log if not isinstance(i, (Box, Polygon)) and not i.positive]
    kw = dict(kw)
    if kind in ("geodesic", "exp_geodesic") and kw.get("cost") is None:
        kw["cost"] = gradient_cost(_check_image(image, (h, w), f"kind={kind!r}"),
                                   gamma=kw.pop("gamma", 150.0), sigma=kw.pop("sigma", 1.0))
    if kind == "location_prior" and kw.get("edges") is None:
        kw["edges"] = canny_edges(_check_image(image, (h, w), "kind='location_prior'"),
                                  sigma=kw.pop("canny_sigma", 3.0))

    one_map = {"gaussian": gaussian_heatmap, "disk": disk_map, "euclidean": euclidean_distance_map,
               "geodesic": geodesic_distance_map, "exp_geodesic": exp_geodesic_map,
               "location_prior": location_prior}

    def one(items: list) -> np.ndarray:
        if kind == "attraction":  # each channel with positive unit charges
            return attraction_field(Interactions([_as_positive(i) for i in items]), (h, w), **kw)
        return one_map[kind](Interactions(items), (h, w), **kw)

    return np.stack([one(pos), one(neg)]).astype(np.float32)


def _as_positive(item):
    if isinstance(item, Click):
        return Click(item.x, item.y, True)
    if isinstance(item, Scribble):
        return Scribble(item.points, True)
    return item


# --------------------------------------------------------------------------------------------------------
# implicit signals: click-weighted loss, box crop
# --------------------------------------------------------------------------------------------------------


def click_weight_map(points: Any, shape: tuple[int, ...], *, weight: float = 4.0, sigma: float = 20.0,
                     positive: bool | None = None) -> np.ndarray:
    """Per-pixel loss weights that grow near the interactions: ``1 + weight * gaussian_heatmap(sigma)``.

    An *implicit* guidance signal: nothing is fed to the model, but mistakes near the clicks cost
    ``1 + weight`` times more in the training loss, which pushes the model to "listen" to them (the
    lecture's example; iW-Net uses its attraction field the same way). Use with :func:`weighted_bce`.

    Returns ``(H, W) float32`` in [1, 1 + weight] (all 1 without seeds). Raises ValueError for
    ``weight < 0`` or ``sigma <= 0``.
    """
    if not (isinstance(weight, (int, float, np.number)) and math.isfinite(weight) and weight >= 0):
        raise ValueError(f"weight must be a finite number >= 0, got {weight}")
    return (1.0 + weight * gaussian_heatmap(points, shape, sigma, positive=positive)).astype(np.float32)


def weighted_bce(prob: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None, *,
                 eps: float = 1e-6) -> float:
    """Weighted binary cross-entropy ``sum w * bce / sum w`` (a per-pixel loss weighted by a weight map).

    ``prob``: ``(H, W)`` probabilities in [0, 1]; ``target``: ``(H, W)`` bool/{0, 1}; ``weights``: ``(H, W)``
    >= 0 (None: all 1, the plain mean BCE). Probabilities are clipped to ``[eps, 1 - eps]``.
    Returns a float (nats per pixel). Raises ValueError for mismatched shapes or values out of range.
    """
    p = np.asarray(prob, dtype=np.float64)
    t = np.asarray(target).astype(np.float64)
    if p.shape != t.shape or p.ndim != 2:
        raise ValueError(f"prob {p.shape} and target {t.shape} must be the same (H, W) shape")
    if np.any((p < 0) | (p > 1)) or not np.all(np.isin(t, (0.0, 1.0))):
        raise ValueError("prob must lie in [0, 1] and target be binary")
    wm = np.ones_like(p) if weights is None else np.asarray(weights, dtype=np.float64)
    if wm.shape != p.shape or np.any(wm < 0) or wm.sum() <= 0:
        raise ValueError(f"weights must be an (H, W) = {p.shape} map of values >= 0 with a positive sum")
    p = np.clip(p, eps, 1 - eps)
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    return float((wm * bce).sum() / wm.sum())


@dataclass(frozen=True)
class CropWindow:
    """Where a crop came from: rows ``y0:y1`` and columns ``x0:x1`` (end exclusive) of an image of
    ``image_shape`` ``(H, W)``, resized to ``size`` ``(h, w)``."""

    y0: int
    y1: int
    x0: int
    x1: int
    image_shape: tuple[int, int]
    size: tuple[int, int]

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


def _size2(size: int | tuple[int, int]) -> tuple[int, int]:
    s = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(s) != 2 or any(int(v) != v or v < 1 for v in s):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return int(s[0]), int(s[1])


def box_crop(image: np.ndarray, box: Box, *, margin: float = 20.0, size: int | tuple[int, int] = 256,
             interpolation: str = "linear") -> tuple[np.ndarray, CropWindow]:
    """Crop the image around a box with a ``margin`` (pixels, each side; clipped at the image border)
    and resize the crop to ``size`` (``(h, w)`` or an int for a square): the box as an *implicit*
    guidance signal (the model only sees the region; DEXTR, CVPR 2018, crops around the extreme points'
    box relaxed by 50 pixels and resizes to 512 x 512).

    ``image``: ``(H, W)`` or ``(H, W, C)``; ``interpolation``: ``"linear"`` (images, probabilities),
    ``"area"`` (pixel-area averaging: no aliasing when the crop is shrunk) or ``"nearest"`` (label masks). Returns ``(crop, window)``: ``crop`` has shape ``size`` (+ channels) and
    the image's dtype; ``window`` (:class:`CropWindow`) undoes it with :func:`box_uncrop`.
    Raises ValueError for a box outside the image, a negative margin or a bad size.
    """
    import cv2

    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.size == 0:
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {img.shape}")
    if not isinstance(box, Box):
        raise TypeError(f"box must be a Box, got {type(box).__name__}")
    h, w = img.shape[:2]
    box.validate((h, w))
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number of pixels >= 0, got {margin}")
    if interpolation not in ("linear", "area", "nearest"):
        raise ValueError(f"interpolation must be 'linear', 'area' or 'nearest', got {interpolation!r}")
    oh, ow = _size2(size)
    y0 = max(int(math.floor(box.y0 - margin)), 0)
    x0 = max(int(math.floor(box.x0 - margin)), 0)
    y1 = min(int(math.ceil(box.y1 + margin)) + 1, h)
    x1 = min(int(math.ceil(box.x1 + margin)) + 1, w)
    region = img[y0:y1, x0:x1]
    flag = {"linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "nearest": cv2.INTER_NEAREST}[interpolation]
    src = region.astype(np.uint8) if region.dtype == bool else region
    crop = cv2.resize(np.ascontiguousarray(src), (ow, oh), interpolation=flag)
    if region.ndim == 3 and crop.ndim == 2:
        crop = crop[..., None]
    if region.dtype == bool:
        crop = crop.astype(bool)
    return crop, CropWindow(y0, y1, x0, x1, (h, w), (oh, ow))


def box_uncrop(prob: np.ndarray, window: CropWindow, *, interpolation: str = "linear") -> np.ndarray:
    """Paste a prediction made on a :func:`box_crop` crop back into the full image: ``(H, W) float32``,
    the crop resized back to the window and 0 outside it.

    ``prob``: ``(h, w)`` = ``window.size``, e.g. probabilities in [0, 1] (the range is kept).
    Raises ValueError for a shape that does not match the window.
    """
    import cv2

    p = np.asarray(prob)
    if not isinstance(window, CropWindow):
        raise TypeError(f"window must be the CropWindow returned by box_crop, got {type(window).__name__}")
    if p.shape != window.size:
        raise ValueError(f"prob has shape {p.shape}, expected the crop size {window.size}")
    if interpolation not in ("linear", "nearest"):
        raise ValueError(f"interpolation must be 'linear' or 'nearest', got {interpolation!r}")
    flag = cv2.INTER_LINEAR if interpolation == "linear" else cv2.INTER_NEAREST
    back = cv2.resize(p.astype(np.float32), (window.x1 - window.x0, window.y1 - window.y0), interpolation=flag)
    out = np.zeros(window.image_shape, dtype=np.float32)
    out[window.slices] = back
    return out


# --------------------------------------------------------------------------------------------------------
# incremental update
# --------------------------------------------------------------------------------------------------------


class IncrementalGuidance:
    """Two-channel Gaussian or disk guidance updated click by click.

    Local maps need no recomputation: a new click only changes the pixels within its reach
    (``truncate * sigma`` for Gaussians, ``radius`` for disks), so :meth:`add` computes the new click's
    map on that window and pastes it on with a pixel-wise maximum. The result equals the full
    recompute ``guidance_maps(interactions, shape, kind, sigma=..)`` (checked in the tests); distance
    maps (Euclidean, geodesic) have no such shortcut and are recomputed in full.

    >>> g = IncrementalGuidance((100, 120), kind="disk", radius=3)
    >>> window = g.add(Click(10, 20, positive=True))
    >>> g.maps.shape, float(g.maps[0].max()), window
    ((2, 100, 120), 1.0, (slice(17, 24, None), slice(7, 14, None)))

    Attributes: ``maps`` ``(2, H, W) float32`` (0 positive, 1 negative), ``interactions`` (the log).
    Raises ValueError for an unknown kind, non-positive sigma/radius, or a click outside the image.
    """

    def __init__(self, shape: tuple[int, ...], kind: str = "gaussian", *, sigma: float = 10.0,
                 radius: float = 5.0, truncate: float = 4.0):
        if kind not in ("gaussian", "disk"):
            raise ValueError(f"IncrementalGuidance supports kind 'gaussian' or 'disk' (local maps), got {kind!r}; "
                             "distance maps must be recomputed with guidance_maps()")
        self.shape = _check_shape(shape)
        self.kind = kind
        self.sigma = _check_positive(sigma, "sigma")
        self.radius = _check_positive(radius, "radius")
        self.truncate = _check_positive(truncate, "truncate")
        self.interactions = Interactions()
        self.maps = np.zeros((2, *self.shape), dtype=np.float32)

    @property
    def reach(self) -> int:
        """How far (pixels) one click's map reaches."""
        r = self.truncate * self.sigma if self.kind == "gaussian" else self.radius
        return int(math.floor(r))

    def _kwargs(self) -> dict:
        return {"sigma": self.sigma, "truncate": self.truncate} if self.kind == "gaussian" else {"radius": self.radius}

    def add(self, item: Click | Scribble) -> tuple[slice, slice]:
        """Paste one click (or scribble) onto its channel; returns the ``(rows, cols)`` window touched."""
        if not isinstance(item, (Click, Scribble)):
            raise TypeError(f"expected a Click or Scribble, got {type(item).__name__}")
        item.validate(self.shape)
        rc = seed_points(item, self.shape)
        h, w = self.shape
        R = self.reach
        r0, r1 = max(int(rc[:, 0].min()) - R, 0), min(int(rc[:, 0].max()) + R + 1, h)
        c0, c1 = max(int(rc[:, 1].min()) - R, 0), min(int(rc[:, 1].max()) + R + 1, w)
        local = _nearest_sq_distance(rc - [r0, c0], (r1 - r0, c1 - c0))
        if self.kind == "gaussian":
            patch = _gaussian_from_d2(local, self.sigma, self.truncate)
        else:
            patch = (local <= self.radius ** 2).astype(np.float32)
        ch = 0 if item.positive else 1
        window = (slice(r0, r1), slice(c0, c1))
        np.maximum(self.maps[ch][window], patch, out=self.maps[ch][window])
        self.interactions.add(item)
        return window

    def recompute(self) -> np.ndarray:
        """Full recompute from the log (what :meth:`add` avoids); stores and returns ``maps``."""
        self.maps = guidance_maps(self.interactions, self.shape, self.kind, **self._kwargs())
        return self.maps

    def undo(self) -> Click | Scribble | None:
        """Remove the newest interaction. A maximum cannot be un-pasted, so this recomputes in full."""
        item = self.interactions.undo()
        self.recompute()
        return item

    def reset(self) -> None:
        self.interactions.clear()
        self.maps[:] = 0.0
