"""Polygon robots: the ground truth's outline as a polygon, and worst-vertex corrections of a polygon."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from skimage.measure import find_contours

from ..interactions import Polygon
from ..segmenter import check_ground_truth
from ..validate import integer
from .base import _cumulative_length


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

    Used in lessons 03, 05.
    """
    n_vertices = integer(n_vertices, "n_vertices", minimum=3)
    gt, _ = check_ground_truth(gt)
    h, w = gt.shape

    def area(c):
        x, y = c[:, 0], c[:, 1]
        return abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2

    c = max(_gt_contours(gt), key=area)
    if not np.allclose(c[0], c[-1]):
        c = np.vstack([c, c[:1]])
    s = _cumulative_length(c)
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

    Used in lesson 05.
    """
    if not isinstance(polygon, Polygon):
        raise TypeError(f"expected a Polygon, got {type(polygon).__name__}")
    gt, _ = check_ground_truth(gt)
    contours = _gt_contours(gt)
    # each contour polyline resampled 10x more densely (points <= 0.1 px apart): distances to the
    # polyline itself, not only to find_contours' grid crossings
    t = np.linspace(0.0, 1.0, 10, endpoint=False)[:, None, None]
    boundary = np.concatenate([(c[:-1] + t * (c[1:] - c[:-1])).transpose(1, 0, 2).reshape(-1, 2)
                               for c in contours if len(c) > 1] + contours)
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

    Used in lesson 05.
    """
    k = integer(k, "k", minimum=0)
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
