"""Explicit guidance signals: extra input maps computed deterministically from the interactions.

The lecture (after Marinov et al., "Deep Interactive Segmentation of Medical Images: A Systematic Review
and Taxonomy", IEEE TPAMI 2024) calls a *guidance signal* the form in which the interactions reach the
model. **Explicit** signals are extra input maps computed from the interactions (and perhaps the image);
implicit ones act on the model's training or input instead (:mod:`iseg_course.guidance.implicit`).

Explicit maps, each ``f(points, shape, ...) -> (H, W) float32``:

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

The two geodesic maps live in :mod:`iseg_course.guidance.distances` with their solver; ``points`` is
read by :mod:`iseg_course.guidance.seeds`. :func:`guidance_maps` splits the interactions into a positive
(channel 0) and a negative (channel 1) map of any of these kinds.

References: Xu et al., "Deep Interactive Object Selection", CVPR 2016 (Euclidean maps, truncated at 255);
Maninis et al., "Deep Extreme Cut (DEXTR)", CVPR 2018 (Gaussian heatmaps); Benenson et al., "Large-scale
interactive object segmentation with human annotators", CVPR 2019 (disks vs Gaussians); Sun et al., "A
point says a lot", MLMI 2017 (location prior); Aresta et al., "iW-Net", Scientific Reports 2019
(attraction field).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
from scipy import ndimage as ndi

from ..interactions import Box, Click, ExtremePoints, Interactions, Polygon, Scribble
from ..validate import integer, number
from .distances import _nearest_sq_distance, exp_geodesic_map, geodesic_distance_map, gradient_cost
from .seeds import _check_image, _check_shape, _collect, seed_points

__all__ = [
    "KINDS",
    "gaussian_heatmap",
    "disk_map",
    "euclidean_distance_map",
    "canny_edges",
    "location_prior",
    "attraction_field",
    "guidance_maps",
]

#: The kinds of explicit map :func:`guidance_maps` knows.
KINDS = ("gaussian", "disk", "euclidean", "geodesic", "exp_geodesic", "location_prior", "attraction")


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

    Used in lesson 04; also by iseg_course.models.encoding (lesson 07).
    """
    sigma = number(sigma, "sigma", minimum=0, strict=True, unit="pixels")
    if truncate is not None:
        truncate = number(truncate, "truncate", minimum=0, strict=True, unit="multiples of sigma")
    h, w = _check_shape(shape)
    return _gaussian_from_d2(_nearest_sq_distance(seed_points(points, (h, w), positive), (h, w)), sigma, truncate)


def disk_map(points: Any, shape: tuple[int, ...], radius: float = 5.0, *, positive: bool | None = None) -> np.ndarray:
    """Binary disks of ``radius`` pixels around the seeds: 1 where the distance to a seed is ``<= radius``.

    Benenson et al. (CVPR 2019) found disks encode clicks at least as well as Gaussians.
    Returns ``(H, W) float32`` in {0, 1}. Raises ValueError for ``radius <= 0``.

    Used in lesson 04; also by iseg_course.models.encoding (lesson 07).
    """
    radius = number(radius, "radius", minimum=0, strict=True, unit="pixels")
    h, w = _check_shape(shape)
    d2 = _nearest_sq_distance(seed_points(points, (h, w), positive), (h, w))
    return (d2 <= radius * radius).astype(np.float32)


# --------------------------------------------------------------------------------------------------------
# global map: Euclidean distance (the geodesic maps are in .distances)
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

    Used in lesson 04.
    """
    if truncate is not None:
        truncate = number(truncate, "truncate", minimum=0, strict=True, unit="pixels")
    h, w = _check_shape(shape)
    d = np.sqrt(_nearest_sq_distance(seed_points(points, (h, w), positive), (h, w)))
    if truncate is not None:
        np.minimum(d, truncate, out=d)
    if normalize:
        scale = truncate if truncate is not None else math.hypot(h, w)
        d = np.minimum(d / scale, 1.0)
    return d.astype(np.float32)


# --------------------------------------------------------------------------------------------------------
# location prior (Sun et al. 2017) and attraction field (Aresta et al. 2019)
# --------------------------------------------------------------------------------------------------------


def canny_edges(image: np.ndarray, *, sigma: float = 3.0, thicken: bool = True) -> np.ndarray:
    """Canny edges of the image's grey levels (scikit-image), ``(H, W) bool``.

    ``thicken`` dilates them with a 3 x 3 square, so that a digital ray stepping diagonally cannot slip
    between two diagonal neighbours of a one-pixel edge without touching it.

    Used in lesson 04.
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
    edges = canny(grey, sigma=number(sigma, "sigma", minimum=0, strict=True, unit="pixels"))
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

    Used in lesson 04.
    """
    h, w = _check_shape(shape)
    if direction not in ("ray", "horizontal", "vertical"):
        raise ValueError(f"direction must be 'ray', 'horizontal' or 'vertical', got {direction!r}")
    step = number(step, "step", minimum=0, strict=True)
    start = number(start, "start", minimum=0, strict=True)
    max_seeds = integer(max_seeds, "max_seeds", minimum=1)
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

    Used in lesson 04.
    """
    eps = number(softening, "softening", minimum=0, strict=True, unit="pixels")
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

    Used in lesson 04; also by iseg_course.models.encoding (lesson 07).
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


