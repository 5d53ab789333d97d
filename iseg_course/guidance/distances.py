"""Distance kernels for guidance maps: nearest-seed Euclidean distances and geodesic distances.

The Euclidean and geodesic maps encode the distance to the *whole* seed set, so a new click changes the
map everywhere and it is recomputed in full (unlike the local Gaussian and disk maps, see
:class:`~iseg_course.guidance.incremental.IncrementalGuidance`).

* :func:`_nearest_sq_distance`: squared Euclidean distance to the nearest seed index (outer sums for
  few seeds, a k-d tree for many). It works on a grid of any number of dimensions.
* :func:`gradient_cost` and :func:`geodesic_distance`: the local cost of the image and our own raster-scan
  solver of the minimal path cost (vectorised with numpy, checked against scikit-image's
  ``MCP_Geometric``). The solver is written for one plane: :func:`geodesic_distance` checks its input
  and hands it to the 2-D kernel :func:`_geodesic_2d`. The kernel's parts -- the edge weights of one
  orientation (:func:`_edge_weights`), the exact 1-D relaxation along a line (:func:`_row_relax`), and
  the bookkeeping of lines to revisit (:class:`_LineBook`, :func:`_scan_rows`) -- are line-wise, so a
  volume form would add scans along the third axis and a ``_geodesic_3d`` chosen by ``cost.ndim``.
* :func:`raster_scan_distance`: the plain two-pass raster scan of Toivanen (1996) and GeoS (forward and
  backward passes over the rows, repeated), as lesson 04's exercise writes it: the reference for that
  exercise, slower to converge than :func:`geodesic_distance`.
* :func:`geodesic_distance_map` and :func:`exp_geodesic_map`: the two geodesic guidance maps.

References: Criminisi, Sharp & Blake, "GeoS: Geodesic Image Segmentation", ECCV 2008; Toivanen, "New geodesic
distance transforms for gray-scale images", Pattern Recognition Letters 1996 (raster scans); Wang et al.,
"DeepIGeoS", IEEE TPAMI 2019 (geodesic maps as CNN input).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

from ..validate import integer, number
from .seeds import _check_image, _check_shape, seed_mask

__all__ = ["gradient_cost", "geodesic_distance", "raster_scan_distance", "geodesic_distance_map", "exp_geodesic_map"]

_SQRT2 = math.sqrt(2.0)


def _nearest_sq_distance(idx: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``float64`` squared Euclidean distance (pixels^2) from every grid point to the nearest seed.

    ``idx``: ``(N, D) int`` seed indices (``(row, col)`` for an image); ``shape``: the grid's ``D`` sides.
    Few seeds: the exact minimum over seeds of the sum of squared index differences (an outer sum per
    seed); many seeds (a scribble): the exact nearest neighbour from a k-d tree. ``+inf`` everywhere when
    there is no seed.
    """
    shape = tuple(int(n) for n in shape)
    if len(idx) == 0:
        return np.full(shape, np.inf)
    if len(idx) <= 48:
        ndim = len(shape)
        axes = [np.arange(n, dtype=np.float64).reshape([n if a == k else 1 for a in range(ndim)])
                for k, n in enumerate(shape)]
        d2 = np.full(shape, np.inf)
        for p in idx:
            sq = (axes[0] - p[0]) ** 2
            for ax, q in zip(axes[1:], p[1:]):
                sq = sq + (ax - q) ** 2
            np.minimum(d2, sq, out=d2)
        return d2
    tree = cKDTree(idx.astype(np.float64))
    grid = np.indices(shape).reshape(len(shape), -1).T
    dist, _ = tree.query(grid, k=1)
    # round-trip through the exact integer squares so that the result matches the brute-force path
    return np.rint(dist.reshape(shape) ** 2)


def gradient_cost(image: np.ndarray, *, gamma: float = 150.0, sigma: float = 1.0) -> np.ndarray:
    """Local cost for geodesic distances: ``sqrt(1 + gamma^2 |grad I|^2)`` per pixel.

    ``image``: ``(H, W, 3)`` or ``(H, W)``; uint8 is scaled to [0, 1], floats are used as given (expected
    in [0, 1]). ``|grad I|`` is the Gaussian-derivative gradient magnitude (``sigma`` pixels, scipy),
    combined over colour channels as the root of the sum of squares. A path's cost is the integral of
    this cost along it, so crossing an edge is expensive: the discrete form of the GeoS distance
    ``integral sqrt(1 + gamma^2 (grad I . u)^2) ds`` (Criminisi, Sharp & Blake, ECCV 2008) with the gradient
    magnitude in place of its component along the path. ``gamma = 0`` gives a constant cost of 1 (the
    geodesic distance becomes a Euclidean-like chamfer distance).

    Returns ``(H, W) float64``, all values >= 1. Raises ValueError/TypeError for a bad image or parameter.

    Used in lesson 04; also by iseg_course.classical.geodesic (lessons 04, 06).
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)) or img.size == 0:
        raise ValueError(f"image must be (H, W) or (H, W, 3), got shape {img.shape}")
    if img.dtype == bool or not np.issubdtype(img.dtype, np.number):
        raise TypeError(f"image must be numeric (uint8 or float), got dtype {img.dtype}")
    gamma = number(gamma, "gamma", minimum=0)
    sigma = number(sigma, "sigma", minimum=0, strict=True, unit="pixels")
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


def _check_cost_seeds(cost: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Checked input of the geodesic solvers: ``(H, W)`` contiguous ``float64`` costs (finite, >= 0) and a
    bool seed mask of the same shape."""
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
    return c, s


def geodesic_distance(cost: np.ndarray, seeds: np.ndarray, *, max_rounds: int | None = None,
                      rtol: float = 1e-12) -> np.ndarray:
    """Geodesic distance from every pixel to the nearest seed on a local ``cost`` image (our own solver).

    The distance is the minimum, over 8-connected pixel paths from a seed, of the summed step costs
    ``length(p, q) * (cost[p] + cost[q]) / 2`` (length 1 for axial, sqrt(2) for diagonal steps) — exactly
    the definition of ``skimage.graph.MCP_Geometric`` (``find_costs``), against which the tests check it.

    Algorithm: raster scans in the spirit of Toivanen (1996) and GeoS (Criminisi, Sharp & Blake, ECCV 2008),
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

    Used in lesson 04; also by iseg_course.classical.geodesic (lessons 04, 06).
    """
    c, s = _check_cost_seeds(cost, seeds)
    if max_rounds is not None:
        max_rounds = integer(max_rounds, "max_rounds", minimum=1)
    return _geodesic_2d(c, s, max_rounds, float(rtol))


def raster_scan_distance(cost: np.ndarray, seeds: np.ndarray, *, rounds: int | None = None,
                         connectivity: int = 8, rtol: float = 1e-12,
                         return_rounds: bool = False) -> np.ndarray | tuple[np.ndarray, int]:
    """Geodesic distance by the classic two-pass raster scan (Toivanen 1996; GeoS, Criminisi, Sharp & Blake,
    ECCV 2008), one plain pass order, as written in lesson 04's exercise.

    The distance and step cost are those of :func:`geodesic_distance` and ``skimage.graph.MCP_Geometric``:
    a step between neighbours ``p`` and ``q`` costs ``|p - q| * (cost[p] + cost[q]) / 2`` (length 1 for
    the axial, sqrt(2) for the diagonal neighbours). One **round** is

    * a forward pass: rows top to bottom, each row left to right; every pixel takes
      ``min(d[p], d[q] + step(q, p))`` over its already visited neighbours ``q``: left, upper-left, upper,
      upper-right (``connectivity=8``) or left and upper (``connectivity=4``);
    * a backward pass: rows bottom to top, right to left, with the mirrored neighbours (right, lower-right,
      lower, lower-left; or right and lower).

    Starting from 0 on the seeds and ``+inf`` elsewhere, the values only decrease and never fall below
    the shortest-path distance; ``rounds=None`` repeats rounds until one changes no value by more than
    the relative ``rtol`` (then every pixel satisfies all its neighbour relaxations: the values are the
    shortest-path distances, equal to ``MCP_Geometric`` up to rounding). A fixed number of ``rounds``
    gives upper bounds, exact wherever the shortest path turns upwards fewer times than there are
    rounds. Each row is vectorised: the neighbours in the previous row at once, then the sequential
    left-to-right (right-to-left) update ``d[j] = min(d[j], d[j-1] + w[j-1])`` in closed form with a
    prefix minimum of cumulative step costs, so results equal the pixel-by-pixel loop up to rounding.

    Unlike :func:`geodesic_distance` (which also scans columns and skips unchanged lines) this solver
    needs one round per upward turn of the shortest paths: it is the reference for the plain algorithm.

    Args:
        cost: ``(H, W)`` real, finite, >= 0 (e.g. :func:`gradient_cost`).
        seeds: ``(H, W)`` bool, distance 0 there.
        rounds: number of rounds (>= 1); None: until converged.
        connectivity: 8 (as ``MCP_Geometric(cost)``) or 4 (as ``MCP_Geometric(cost, fully_connected=False)``).
        rtol: relative decrease below which a round counts as "no change" (rounding noise).
        return_rounds: also return the number of rounds run (the last, unchanging one included).

    Returns:
        ``(H, W) float64`` distances in cost x pixels (``+inf`` everywhere without a seed), or
        ``(distances, rounds_run)`` with ``return_rounds=True``.

    Raises:
        ValueError: mismatched shapes, non-finite or negative costs, ``rounds < 1``, connectivity not 4 or 8.
        TypeError: non-bool seeds or non-numeric costs.

    Used in lesson 04.
    """
    c, s = _check_cost_seeds(cost, seeds)
    if rounds is not None:
        rounds = integer(rounds, "rounds", minimum=1)
    connectivity = integer(connectivity, "connectivity")
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    rtol = number(rtol, "rtol", minimum=0)
    d = np.where(s, 0.0, np.inf)
    if not s.any():
        return (d, 0) if return_rounds else d
    h, w = c.shape
    wh = 0.5 * (c[:, :-1] + c[:, 1:])                               # (i, j) - (i, j+1)
    wv = 0.5 * (c[:-1] + c[1:])                                     # (i, j) - (i+1, j)
    wd = (0.5 * _SQRT2) * (c[:-1, :-1] + c[1:, 1:])                 # (i, j) - (i+1, j+1)
    wa = (0.5 * _SQRT2) * (c[:-1, 1:] + c[1:, :-1])                 # (i, j+1) - (i+1, j)
    S = np.zeros_like(c)
    np.cumsum(wh, axis=1, out=S[:, 1:])                             # cumulative cost along each row
    diagonal = connectivity == 8
    done = 0
    while rounds is None or done < rounds:
        done += 1
        before = d.copy()
        for down in (True, False):
            for i in (range(h) if down else range(h - 1, -1, -1)):
                cand = d[i].copy()
                if (down and i > 0) or (not down and i < h - 1):
                    k = i - 1 if down else i                        # index of the edges to the previous row
                    prev = d[i - 1] if down else d[i + 1]
                    np.minimum(cand, prev + wv[k], out=cand)
                    if diagonal:
                        if down:   # upper-left (i-1, j-1) and upper-right (i-1, j+1)
                            np.minimum(cand[1:], prev[:-1] + wd[k], out=cand[1:])
                            np.minimum(cand[:-1], prev[1:] + wa[k], out=cand[:-1])
                        else:      # lower-right (i+1, j+1) and lower-left (i+1, j-1)
                            np.minimum(cand[:-1], prev[1:] + wd[k], out=cand[:-1])
                            np.minimum(cand[1:], prev[:-1] + wa[k], out=cand[1:])
                if down:   # left to right: d[j] = min_{k <= j} (cand[k] + S[j] - S[k])
                    new = S[i] + np.minimum.accumulate(cand - S[i])
                else:      # right to left: d[j] = min_{k >= j} (cand[k] + S[k] - S[j])
                    new = np.minimum.accumulate((cand + S[i])[::-1])[::-1] - S[i]
                np.minimum(d[i], np.minimum(new, cand), out=d[i])  # never above the value it had
        if not np.any(d * (1.0 + rtol) < before):
            break
    return (d, done) if return_rounds else d


def _geodesic_2d(c: np.ndarray, s: np.ndarray, max_rounds: int | None, rtol: float) -> np.ndarray:
    """The raster-scan solver of :func:`geodesic_distance` on checked input: ``c`` contiguous ``float64``
    costs, ``s`` bool seeds of the same ``(H, W)`` shape."""
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

    Used in lesson 04 (as ``guidance_maps`` kind ``"geodesic"``).
    """
    h, w = _check_shape(shape)
    if truncate is not None:
        truncate = number(truncate, "truncate", minimum=0, strict=True, unit="cost x pixels")
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

    Used in lesson 04 (as ``guidance_maps`` kind ``"exp_geodesic"``).
    """
    tau = number(tau, "tau", minimum=0, strict=True, unit="cost x pixels")
    h, w = _check_shape(shape)
    c = _cost_for(image, (h, w), cost, gamma, sigma)
    d = geodesic_distance(c, seed_mask(points, (h, w), positive))
    return np.exp(-d / tau).astype(np.float32)


