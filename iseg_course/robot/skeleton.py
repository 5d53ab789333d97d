"""Skeletons as polylines: the medial axis of a region, cut into paths between its ends and junctions.

The scribble robots (:mod:`iseg_course.robot.scribbles`) draw along these paths.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from ..segmenter import check_mask
from ..validate import number
from .base import _cumulative_length


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
    """Length in pixels of a polyline of ``(row, col)`` (or ``(x, y)``) points."""
    return float(_cumulative_length(rc)[-1])


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

    Used in lesson 05 (through the skeleton scribble robots).
    """
    region = check_mask(region, name="region")
    smooth_px = number(smooth_px, "smooth_px", minimum=0.0)
    if smooth_px > 0:
        smooth = ndi.gaussian_filter(region.astype(float), smooth_px) > 0.5
        if smooth.any():
            return _skeleton_paths(skeletonize(smooth) & region)
    return _skeleton_paths(skeletonize(region))
