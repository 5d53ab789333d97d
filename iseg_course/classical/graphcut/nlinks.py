"""The boundary term of the graph cut: n-links ``B_{p,q}`` between neighbouring pixels, and ``K``.

``B_{p,q} = exp(-||I_p - I_q||**2 / (2 sigma**2)) / dist(p, q)`` (Boykov & Jolly, ICCV 2001, eq. (4)), with
``sigma`` estimated from the image as in GrabCut (Rother et al., SIGGRAPH 2004). The hard-seed capacity
``K = 1 + max_p sum_q B_{p,q}`` is read off the n-links too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from ...validate import number

__all__ = [
    "OFFSETS_4",
    "OFFSETS_8",
    "NLinks",
    "NLinksLike",
    "estimate_sigma",
    "nlink_map",
    "nlink_grid",
    "nlink_weights",
    "hard_seed_capacity",
]

#: Neighbour offsets ``(dy, dx)`` that list every 4-connected pair once (right, down).
OFFSETS_4: tuple[tuple[int, int], ...] = ((0, 1), (1, 0))
#: ... and every 8-connected pair once (right, down, down-right, down-left).
OFFSETS_8: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))


# ----------------------------------------------------------------------------------------------------------
# input checks and pixel pairs
# ----------------------------------------------------------------------------------------------------------


def _as_float_image(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` or ``(H, W, C)`` numeric array -> ``(H, W, C) float64``; TypeError/ValueError otherwise."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected an image as a NumPy array (H, W, 3) or (H, W), got {type(image).__name__}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"expected an image of shape (H, W, C) or (H, W) with H, W >= 2, got {image.shape}")
    if not (np.issubdtype(image.dtype, np.number) or image.dtype == bool):
        raise TypeError(f"expected a numeric image, got dtype {image.dtype}")
    out = image.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError("the image holds NaN or infinite values")
    return out


def _offsets(connectivity: int) -> tuple[tuple[int, int], ...]:
    if connectivity == 4:
        return OFFSETS_4
    if connectivity == 8:
        return OFFSETS_8
    raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")


def _pair_slices(shape: tuple[int, int], offset: tuple[int, int]):
    """Slices ``(sp, sq)`` such that ``image[sp]`` and ``image[sq]`` are the pixel pairs ``q = p + offset``."""
    h, w = shape
    dy, dx = offset
    if dy < 0 or (dy == 0 and dx <= 0):
        raise ValueError(f"offset must point right or down (dy > 0, or dy == 0 and dx > 0), got {offset}")
    rows_p, rows_q = slice(0, h - dy), slice(dy, h)
    if dx >= 0:
        cols_p, cols_q = slice(0, w - dx), slice(dx, w)
    else:
        cols_p, cols_q = slice(-dx, w), slice(0, w + dx)
    return (rows_p, cols_p), (rows_q, cols_q)


# ----------------------------------------------------------------------------------------------------------
# n-link weights
# ----------------------------------------------------------------------------------------------------------


def estimate_sigma(image: np.ndarray, connectivity: int = 8) -> float:
    """The colour scale ``sigma`` of the n-link weights, estimated from the image.

    ``sigma**2`` is the mean of ``||I_p - I_q||**2`` over all neighbouring pairs, so that
    ``exp(-||I_p - I_q||**2 / (2 sigma**2))`` equals GrabCut's ``exp(-beta ||I_p - I_q||**2)`` with
    ``beta = 1 / (2 <||I_p - I_q||**2>)`` (Rother et al., SIGGRAPH 2004): a typical neighbour difference
    then gives a weight of ``exp(-1/2)``, whatever the image's contrast.

    Args:
        image: ``(H, W, 3)`` (or ``(H, W)``) image, any numeric dtype; uint8 images are used in 0..255 units.
        connectivity: 4 or 8.

    Returns:
        ``sigma`` in intensity units (0..255 for uint8); 1.0 for a constant image (no contrast to measure).

    Raises:
        TypeError, ValueError: for a non-array, a wrong shape, NaNs, or a connectivity other than 4 or 8.

    Used in lesson 02.
    """
    img = _as_float_image(image)
    total, count = 0.0, 0
    for offset in _offsets(connectivity):
        sp, sq = _pair_slices(img.shape[:2], offset)
        d2 = np.sum((img[sp] - img[sq]) ** 2, axis=-1)
        total += float(d2.sum())
        count += d2.size
    mean = total / count
    return float(np.sqrt(mean)) if mean > 0 else 1.0


def nlink_map(image: np.ndarray, sigma: float, offset: tuple[int, int]) -> np.ndarray:
    """n-link weights ``B_{p,q}`` between every pixel ``p`` and its neighbour ``q = p + offset``.

    ``B_{p,q} = exp(-||I_p - I_q||**2 / (2 sigma**2)) / dist(p, q)`` with ``dist`` the Euclidean distance
    between the pixel centres (1 for horizontal/vertical, sqrt(2) for diagonal neighbours); colour
    differences use all channels. Boykov & Jolly, ICCV 2001, eq. (4) and Sec. 2.

    Args:
        image: ``(H, W, 3)`` (or ``(H, W)``) image; uint8 values in 0..255.
        sigma: colour scale in the image's units, > 0 (see :func:`estimate_sigma`).
        offset: ``(dy, dx)`` pointing right or down: ``(0, 1)``, ``(1, 0)``, ``(1, 1)`` or ``(1, -1)``.

    Returns:
        ``(H, W) float64``: entry ``[r, c]`` is the weight between pixel ``(r, c)`` and ``(r + dy, c + dx)``;
        0 where that neighbour falls outside the image.

    Raises:
        ValueError: ``sigma <= 0`` or an offset that does not point right/down.

    Used in lesson 02.
    """
    img = _as_float_image(image)
    sigma = number(sigma, "sigma", 0, strict=True, unit="intensity units")
    offset = (int(offset[0]), int(offset[1]))
    if max(abs(offset[0]), abs(offset[1])) != 1:
        raise ValueError(f"offset must be a unit step such as (0, 1), (1, 0), (1, 1), (1, -1); got {offset}")
    sp, sq = _pair_slices(img.shape[:2], offset)
    out = np.zeros(img.shape[:2], dtype=np.float64)
    d2 = np.sum((img[sp] - img[sq]) ** 2, axis=-1)
    out[sp] = np.exp(-d2 / (2.0 * sigma**2)) / np.hypot(*offset)
    return out


@dataclass(frozen=True)
class NLinks:
    """All n-links of an image grid, one weight map per neighbour direction.

    Attributes:
        offsets: the ``D`` directions ``(dy, dx)`` (each unordered pair is listed once, see ``OFFSETS_8``).
        weights: ``(D, H, W) float64``; ``weights[d, r, c]`` is the n-link between ``(r, c)`` and
            ``(r, c) + offsets[d]`` (0 where the neighbour is outside the image).
        sigma: the colour scale used.

    Used in lesson 02 (what :func:`nlink_grid` returns; ``edge_list`` feeds the networkx exercise).
    """

    offsets: tuple[tuple[int, int], ...]
    weights: np.ndarray
    sigma: float

    @property
    def shape(self) -> tuple[int, int]:
        """The image grid ``(H, W)``."""
        return int(self.weights.shape[1]), int(self.weights.shape[2])

    def edge_list(self) -> tuple[np.ndarray, np.ndarray]:
        """``(edges, weights)``: ``(E, 2) int64`` node pairs ``(p, q)`` (row-major indices) and ``(E,) float64``."""
        h, w = self.shape
        index = np.arange(h * w, dtype=np.int64).reshape(h, w)
        edges, weights = [], []
        for d, offset in enumerate(self.offsets):
            sp, sq = _pair_slices((h, w), offset)
            edges.append(np.stack([index[sp].ravel(), index[sq].ravel()], axis=1))
            weights.append(self.weights[d][sp].ravel())
        return np.concatenate(edges), np.concatenate(weights)

    def degree(self) -> np.ndarray:
        """``(H, W) float64``: for every pixel the sum of the n-links touching it, ``sum_q B_{p,q}``."""
        h, w = self.shape
        deg = np.zeros((h, w), dtype=np.float64)
        for d, offset in enumerate(self.offsets):
            sp, sq = _pair_slices((h, w), offset)
            deg[sp] += self.weights[d][sp]
            deg[sq] += self.weights[d][sp]
        return deg


#: n-links either as an :class:`NLinks` or as an edge list ``(edges (E, 2), weights (E,))``
NLinksLike = Union[NLinks, tuple[np.ndarray, np.ndarray]]


def nlink_grid(
    image: np.ndarray, sigma: float | None = None, connectivity: int = 8, smoothness: float = 1.0
) -> NLinks:
    """Compute all n-links of ``image`` as per-direction weight maps (vectorised, no Python loop over pixels).

    Args:
        image: ``(H, W, 3)`` (or ``(H, W)``) image; uint8 values in 0..255.
        sigma: colour scale; None estimates it with :func:`estimate_sigma`.
        connectivity: 4 (right/down neighbours) or 8 (also the two diagonals, weighted 1/sqrt(2)).
        smoothness: a factor multiplying every ``B_{p,q}`` (1 in the paper, where ``lam`` alone sets the
            balance between the regional and the boundary term), >= 0.

    Returns:
        :class:`NLinks` with ``weights`` of shape ``(2 or 4, H, W)``.

    Raises:
        ValueError: connectivity not 4 or 8, ``sigma <= 0``, ``smoothness < 0``, bad image.

    Used in lesson 02.
    """
    offsets = _offsets(connectivity)
    smoothness = number(smoothness, "smoothness", 0)
    if sigma is None:
        sigma = estimate_sigma(image, connectivity)
    weights = np.stack([nlink_map(image, sigma, off) for off in offsets]) * smoothness
    return NLinks(offsets=offsets, weights=weights, sigma=float(sigma))


def nlink_weights(
    image: np.ndarray, sigma: float | None = None, connectivity: int = 8, smoothness: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """All n-links of ``image`` as an edge list (what a general graph library wants).

    Args: as :func:`nlink_grid`.

    Returns:
        ``edges``: ``(E, 2) int64`` pixel index pairs ``(p, q)`` (row-major, ``p = r * W + c``), each unordered
        neighbour pair once; ``E = (H-1)W + H(W-1)`` for 4-connectivity, plus ``2 (H-1)(W-1)`` for 8.
        ``weights``: ``(E,) float64`` ``B_{p,q}``.

    Used in lesson 02.
    """
    return nlink_grid(image, sigma, connectivity, smoothness).edge_list()


def hard_seed_capacity(nlinks: NLinksLike, n_pixels: int | None = None) -> float:
    """The "infinite" t-link capacity of a hard seed: ``K = 1 + max_p sum_q B_{p,q}`` (Boykov & Jolly 2001).

    Cutting a seed's t-link would cost more than cutting all of that pixel's n-links, so a minimum cut
    never does it.

    Args:
        nlinks: an :class:`NLinks`, or ``(edges, weights)`` as returned by :func:`nlink_weights`.
        n_pixels: number of pixels ``H * W``; needed only for an edge list (defaults to ``edges.max() + 1``).

    Used in lesson 02.
    """
    if isinstance(nlinks, NLinks):
        return 1.0 + float(nlinks.degree().max())
    edges, weights = nlinks
    edges = np.asarray(edges, dtype=np.int64)
    n = int(n_pixels) if n_pixels is not None else int(edges.max()) + 1
    deg = np.bincount(edges[:, 0], weights, minlength=n) + np.bincount(edges[:, 1], weights, minlength=n)
    return 1.0 + float(deg.max())


# ----------------------------------------------------------------------------------------------------------
# n-links as an edge list (shared by the min-cut backends and the energy)
# ----------------------------------------------------------------------------------------------------------


def _edge_list(nlinks: NLinksLike) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(nlinks, NLinks):
        return nlinks.edge_list()
    if not (isinstance(nlinks, tuple) and len(nlinks) == 2):
        raise TypeError("expected n-links as an NLinks or an (edges, weights) tuple")
    edges = np.asarray(nlinks[0], dtype=np.int64)
    weights = np.asarray(nlinks[1], dtype=np.float64)
    if edges.ndim != 2 or edges.shape[1] != 2 or weights.shape != (edges.shape[0],):
        raise ValueError(f"expected edges (E, 2) and weights (E,), got {edges.shape} and {weights.shape}")
    if not np.all(np.isfinite(weights)) or weights.min(initial=0.0) < 0:
        raise ValueError("n-link weights must be finite and >= 0")
    return edges, weights


def _check_nlinks_shape(nlinks: NLinksLike, shape: tuple[int, int]) -> None:
    if isinstance(nlinks, NLinks):
        if nlinks.shape != tuple(shape):
            raise ValueError(f"n-links are for a {nlinks.shape} grid but the capacities are {tuple(shape)}")
    else:
        edges = np.asarray(nlinks[0])
        if edges.size and (edges.min() < 0 or edges.max() >= shape[0] * shape[1]):
            raise ValueError(f"edge indices must lie in [0, {shape[0] * shape[1]}) for a {tuple(shape)} grid")
