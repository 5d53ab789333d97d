"""Seeds: the pixels that user interactions mark, the common input of every guidance map.

``points`` may be an :class:`~iseg_course.interactions.Interactions` log, a single interaction, a list of
interactions, or an array-like of ``(x, y)`` pixel coordinates. Every point is snapped to its pixel
(``Click.rc``: rounded); a scribble counts as *all* pixels of its rasterised polyline; extreme points are
four positive points; boxes and polygons are area prompts, not point seeds, and are skipped (see
:func:`~iseg_course.guidance.implicit.box_crop` for the box as an implicit signal).

Seed pixels are ``(row, col)`` index pairs, the form the distance kernels
(:mod:`iseg_course.guidance.distances`) take.

References: Marinov et al., "Deep Interactive Segmentation of Medical Images: A Systematic Review and
Taxonomy", IEEE TPAMI 2024 (interaction types and guidance signals).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..interactions import Box, Click, ExtremePoints, Interactions, Polygon, Scribble, polyline_pixels

__all__ = ["seed_points", "seed_mask"]


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


def _check_image(image: np.ndarray | None, hw: tuple[int, int], what: str) -> np.ndarray:
    """``image`` as an array whose first two sides are ``hw``; ValueError when missing or of another size."""
    if image is None:
        raise ValueError(f"{what} needs the image (H, W, 3) (or a precomputed cost/edge map)")
    img = np.asarray(image)
    if img.shape[:2] != hw:
        raise ValueError(f"image has shape {img.shape}, expected {hw} (+ channels) to match shape")
    return img


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

    Used by iseg_course.guidance.explicit, iseg_course.guidance.distances and iseg_course.guidance.incremental.
    """
    hw = _check_shape(shape)
    seeds = _collect(points, hw, positive)
    if not seeds:
        return np.zeros((0, 2), dtype=np.int64)
    rc = np.array([(r, c) for r, c, _, _ in seeds], dtype=np.int64)
    return np.unique(rc, axis=0)


def seed_mask(points: Any, shape: tuple[int, ...], positive: bool | None = None) -> np.ndarray:
    """``(H, W) bool`` mask of the seed pixels of ``points`` (see :func:`seed_points`).

    Used in lesson 04.
    """
    h, w = _check_shape(shape)
    mask = np.zeros((h, w), dtype=bool)
    rc = seed_points(points, (h, w), positive)
    mask[rc[:, 0], rc[:, 1]] = True
    return mask
