"""Contours: the initial snake (circle, ellipse, box, resampled polygon) and the mask inside a snake."""

from __future__ import annotations

import numpy as np

from ...interactions import Box
from ...validate import number
from ._checks import _check_snake

__all__ = ["snake_to_mask", "circle_contour", "ellipse_contour", "box_contour", "resample_contour"]


def snake_to_mask(snake: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Rasterise the inside of a closed snake: pixels whose centre lies inside the polygon.

    Scan-line fill with the even-odd rule: for each image row ``y`` the polygon edges crossing that row
    are intersected with it, and the columns between consecutive crossings (``x_a <= x < x_b``) are
    filled. The half-open rule keeps the filled area unbiased (a pixel centre exactly on a right or
    bottom border is outside, on a left or top border inside). Away from such ties it equals
    ``matplotlib.path.Path.contains_points`` and ``skimage.draw.polygon`` (which also counts centres on
    the border in). Cost: O(rows x N), milliseconds for a 200-point snake.

    Args:
        snake: ``(N, 2)`` closed contour, ``(x, y)`` pixels, N >= 3 (the first point is not repeated).
        shape: ``(H, W)`` or ``(H, W, C)`` of the image.

    Returns:
        ``(H, W) bool`` mask (parts of the polygon outside the image are cut off).

    Used in lesson 01.
    """
    v = _check_snake(snake)
    if len(shape) < 2 or int(shape[0]) < 1 or int(shape[1]) < 1:
        raise ValueError(f"expected an image shape (H, W[, C]) with H, W >= 1, got {shape}")
    h, w = int(shape[0]), int(shape[1])
    mask = np.zeros((h, w), dtype=bool)
    x0, y0 = v[:, 0], v[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    r_lo, r_hi = max(int(np.ceil(y0.min())), 0), min(int(np.floor(y0.max())), h - 1)
    if r_lo > r_hi:
        return mask
    rows = np.arange(r_lo, r_hi + 1, dtype=np.float64)[:, None]  # (R, 1) pixel-centre rows
    crosses = (y0 > rows) != (y1 > rows)  # (R, N): the edge spans this row (half-open in y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = x0 + (rows - y0) * (x1 - x0) / (y1 - y0)
    xc = np.sort(np.where(crosses, xc, np.inf), axis=1)  # crossings left to right, then inf padding
    k = xc.shape[1] // 2  # rows cross an even number of edges: pair them up
    starts, ends = xc[:, 0 : 2 * k : 2], xc[:, 1 : 2 * k : 2]
    valid = np.isfinite(starts) & np.isfinite(ends)
    r_idx = np.broadcast_to(np.arange(len(rows))[:, None], starts.shape)[valid]
    c_start = np.clip(np.ceil(starts[valid]), 0, w).astype(int)  # first column with x >= x_a
    c_end = np.clip(np.ceil(ends[valid]), 0, w).astype(int)  # first column with x >= x_b (excluded)
    diff = np.zeros((len(rows), w + 1), dtype=np.int32)
    np.add.at(diff, (r_idx, c_start), 1)
    np.add.at(diff, (r_idx, c_end), -1)
    mask[r_lo : r_hi + 1] = np.cumsum(diff[:, :w], axis=1) > 0
    return mask


def ellipse_contour(center: tuple[float, float], radii: tuple[float, float], n: int = 200) -> np.ndarray:
    """``n`` points on an axis-aligned ellipse, ``(x, y)``, counter-clockwise on screen, no repeated end point.

    Used in lesson 01.
    """
    if n < 3:
        raise ValueError(f"a contour needs at least 3 points, got n={n}")
    cx, cy = (float(c) for c in center)
    rx, ry = (number(r, "radius", 0, strict=True, unit="pixels") for r in radii)
    t = np.linspace(0, 2 * np.pi, int(n), endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def circle_contour(center: tuple[float, float], radius: float, n: int = 200) -> np.ndarray:
    """``n`` points on a circle of ``radius`` pixels around ``center`` ``(x, y)``; shape ``(n, 2)``.

    Used in lesson 01.
    """
    return ellipse_contour(center, (radius, radius), n)


def resample_contour(points: np.ndarray, n: int, closed: bool = True) -> np.ndarray:
    """Resample a polyline / polygon to ``n`` points equally spaced by arc length; ``(n, 2)`` (x, y).

    Raises ValueError when it has fewer than 2 points or zero length.

    Used by :func:`box_contour` and :class:`~iseg_course.classical.snakes.SnakeSegmenter` (lesson 01).
    """
    p = _check_snake(points, "contour", min_points=2)
    if n < 3:
        raise ValueError(f"a contour needs at least 3 points, got n={n}")
    if closed and not np.allclose(p[0], p[-1]):
        p = np.vstack([p, p[:1]])
    seg = np.hypot(*np.diff(p, axis=0).T)
    length = float(seg.sum())
    if length <= 0:
        raise ValueError("the contour has zero length")
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, length, int(n), endpoint=not closed)
    return np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], axis=1)


def box_contour(box: Box, n: int = 200) -> np.ndarray:
    """The border of a :class:`~iseg_course.interactions.Box` as ``n`` equally spaced ``(x, y)`` points.

    Used in lesson 01.
    """
    corners = [(box.x0, box.y0), (box.x1, box.y0), (box.x1, box.y1), (box.x0, box.y1)]
    return resample_contour(np.asarray(corners), n, closed=True)
