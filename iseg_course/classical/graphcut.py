"""Interactive graph cut (Boykov & Jolly, ICCV 2001), built step by step.

The image becomes a graph: one node per pixel plus two **terminals**, the source ``S`` ("object") and the
sink ``T`` ("background"). Two kinds of edges carry capacities:

* **n-links** join neighbouring pixels ``p, q`` (4- or 8-connected) with the boundary weight

  .. math:: B_{p,q} = \\exp\\left(-\\frac{\\lVert I_p - I_q \\rVert^2}{2\\sigma^2}\\right) \\cdot \\frac{1}{\\mathrm{dist}(p,q)}

  large between similar pixels (expensive to cut) and small across an edge in the image (cheap to cut);
* **t-links** join every pixel to both terminals. A pixel the user marked as object (a hard seed) gets
  capacity ``K`` to ``S`` and 0 to ``T``, a background seed the reverse, where
  ``K = 1 + max_p sum_q B_{p,q}`` is larger than anything a cut could save, so seeds are never cut off
  their terminal ("infinite" in the paper). Any other pixel gets the **regional term**
  ``lam * R_p("bkg")`` to ``S`` and ``lam * R_p("obj")`` to ``T`` with ``R_p(L) = -ln Pr(I_p | L)``, the
  colour likelihoods estimated from the seed pixels.

A cut separating ``S`` from ``T`` labels every pixel still connected to ``S`` as object. Its cost is the
energy of that labelling,

.. math:: E(L) = \\lambda \\sum_p R_p(L_p) + \\sum_{\\{p,q\\}} B_{p,q} [L_p \\ne L_q],

so the **minimum cut** is the labelling of least energy that respects the seeds (Greig, Porteous &
Seheult 1989; Boykov & Jolly 2001). We compute it twice, with the same graph: with ``networkx`` (readable,
for small crops) and with PyMaxflow (the Boykov–Kolmogorov max-flow algorithm in C++, for full images).

Pixels are numbered row-major: pixel ``(row r, column c)`` of an ``(H, W)`` image is node ``r * W + c``.

References:
    Y. Boykov and M.-P. Jolly, "Interactive graph cuts for optimal boundary & region segmentation of objects
    in N-D images", ICCV 2001.
    Y. Boykov and V. Kolmogorov, "An experimental comparison of min-cut/max-flow algorithms for energy
    minimization in vision", IEEE TPAMI 26(9), 2004 (the algorithm inside PyMaxflow).
    C. Rother, V. Kolmogorov and A. Blake, "GrabCut", SIGGRAPH 2004 (sigma from the mean squared
    neighbour difference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import numpy as np

from ..interactions import Box, ExtremePoints, Interactions, rasterize_seeds
from ..segmenter import BaseSegmenter, check_mask

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = [
    "OFFSETS_4",
    "OFFSETS_8",
    "NLinks",
    "estimate_sigma",
    "nlink_map",
    "nlink_grid",
    "nlink_weights",
    "hard_seed_capacity",
    "colour_bin_index",
    "colour_likelihood",
    "regional_term",
    "tlinks_from_regional",
    "tlink_weights",
    "build_graph_networkx",
    "min_cut_networkx",
    "build_graph_maxflow",
    "min_cut_maxflow",
    "segmentation_energy",
    "GraphCutSegmenter",
]

#: Neighbour offsets ``(dy, dx)`` that list every 4-connected pair once (right, down).
OFFSETS_4: tuple[tuple[int, int], ...] = ((0, 1), (1, 0))
#: ... and every 8-connected pair once (right, down, down-right, down-left).
OFFSETS_8: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))


# ----------------------------------------------------------------------------------------------------------
# input checks
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


def _check_caps(source_caps: np.ndarray, sink_caps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    source_caps = np.asarray(source_caps, dtype=np.float64)
    sink_caps = np.asarray(sink_caps, dtype=np.float64)
    if source_caps.ndim != 2 or source_caps.shape != sink_caps.shape:
        raise ValueError(
            f"expected source and sink capacities as two (H, W) arrays of equal shape, got "
            f"{source_caps.shape} and {sink_caps.shape}"
        )
    for name, caps in (("source", source_caps), ("sink", sink_caps)):
        if not np.all(np.isfinite(caps)) or caps.min(initial=0.0) < 0:
            raise ValueError(f"{name} capacities must be finite and >= 0")
    return source_caps, sink_caps


# ----------------------------------------------------------------------------------------------------------
# n-links (boundary term)
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
    """
    img = _as_float_image(image)
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
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
    """
    offsets = _offsets(connectivity)
    if not (np.isfinite(smoothness) and smoothness >= 0):
        raise ValueError(f"smoothness must be a number >= 0, got {smoothness!r}")
    if sigma is None:
        sigma = estimate_sigma(image, connectivity)
    weights = np.stack([nlink_map(image, sigma, off) for off in offsets]) * float(smoothness)
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
    """
    return nlink_grid(image, sigma, connectivity, smoothness).edge_list()


def hard_seed_capacity(nlinks: Union[NLinks, tuple[np.ndarray, np.ndarray]], n_pixels: int | None = None) -> float:
    """The "infinite" t-link capacity of a hard seed: ``K = 1 + max_p sum_q B_{p,q}`` (Boykov & Jolly 2001).

    Cutting a seed's t-link would cost more than cutting all of that pixel's n-links, so a minimum cut
    never does it.

    Args:
        nlinks: an :class:`NLinks`, or ``(edges, weights)`` as returned by :func:`nlink_weights`.
        n_pixels: number of pixels ``H * W``; needed only for an edge list (defaults to ``edges.max() + 1``).
    """
    if isinstance(nlinks, NLinks):
        return 1.0 + float(nlinks.degree().max())
    edges, weights = nlinks
    edges = np.asarray(edges, dtype=np.int64)
    n = int(n_pixels) if n_pixels is not None else int(edges.max()) + 1
    deg = np.bincount(edges[:, 0], weights, minlength=n) + np.bincount(edges[:, 1], weights, minlength=n)
    return 1.0 + float(deg.max())


# ----------------------------------------------------------------------------------------------------------
# t-links (regional term + hard seeds)
# ----------------------------------------------------------------------------------------------------------


def colour_bin_index(image: np.ndarray, bins: int = 16) -> np.ndarray:
    """Joint colour-histogram bin of every pixel: ``(H, W) int64`` in ``[0, bins**3)``.

    Each RGB channel (0..255) is cut into ``bins`` equal intervals; the bin of a pixel is
    ``(r_bin * bins + g_bin) * bins + b_bin``. Raises ValueError unless ``image`` is ``(H, W, 3) uint8``
    and ``2 <= bins <= 256``.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            "expected an RGB image (H, W, 3) uint8, got "
            f"{getattr(image, 'shape', type(image).__name__)} {getattr(image, 'dtype', '')}"
        )
    if not (2 <= int(bins) <= 256):
        raise ValueError(f"bins must be between 2 and 256, got {bins}")
    q = (image.astype(np.int64) * int(bins)) // 256
    return (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]


def colour_likelihood(
    bin_index: np.ndarray, model_pixels: np.ndarray, bins: int = 16, blur: float = 1.0, floor: float = 0.01
) -> np.ndarray:
    """A smoothed colour histogram ``Pr(colour | model)`` estimated from some pixels, looked up everywhere.

    The joint RGB histogram of ``model_pixels`` is blurred with a Gaussian of ``blur`` bins (nearby colours
    are similar), normalised, and mixed with a uniform distribution of weight ``floor`` so that no colour
    has probability 0 (no ``log 0`` in the regional term).

    Args:
        bin_index: ``(H, W) int`` from :func:`colour_bin_index` with the same ``bins``.
        model_pixels: ``(H, W) bool``, the pixels that define the model (e.g. the object seeds); not empty.
        bins: bins per channel.
        blur: Gaussian sigma in bins (0 for none).
        floor: weight of the uniform component, in ``(0, 1)``.

    Returns:
        ``(H, W) float64`` probabilities ``Pr(I_p | model)`` of each pixel's colour bin (a probability mass
        over the ``bins**3`` bins, so the values are > 0 and < 1).

    Raises:
        ValueError: empty ``model_pixels``, shapes that differ, ``floor`` outside ``(0, 1)``.
    """
    from scipy.ndimage import gaussian_filter

    model_pixels = check_mask(model_pixels, bin_index.shape, "model_pixels")
    if not model_pixels.any():
        raise ValueError("cannot estimate a colour model from an empty set of pixels")
    if not (0 < floor < 1):
        raise ValueError(f"floor must be in (0, 1), got {floor}")
    nb = int(bins) ** 3
    counts = np.bincount(bin_index[model_pixels], minlength=nb).astype(np.float64)
    if blur > 0:
        counts = gaussian_filter(counts.reshape(bins, bins, bins), sigma=blur, mode="constant").ravel()
    hist = (1.0 - floor) * counts / counts.sum() + floor / nb
    return hist[bin_index]


def _mixture(bin_index, regions, bins, blur, floor) -> np.ndarray:
    """Equal mixture of the colour likelihoods of the non-empty ``regions``."""
    regions = [r for r in regions if r is not None and r.any()]
    return sum(colour_likelihood(bin_index, r, bins, blur, floor) for r in regions) / len(regions)


def _regional_from_bins(
    bin_index: np.ndarray,
    fg_pixels: np.ndarray,
    bg_pixels: np.ndarray,
    bins: int,
    blur: float,
    floor: float,
    inside: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(R_obj, R_bkg)`` from precomputed colour bins; see :func:`regional_term` for the models."""
    if inside is not None and not inside.any():
        inside = None
    if not fg_pixels.any() and inside is None:
        raise ValueError("the regional term needs at least one object (foreground) seed pixel or a box")
    object_evidence = fg_pixels if inside is None else (fg_pixels | inside)
    rest = ~object_evidence if not object_evidence.all() else np.ones_like(fg_pixels)
    p_obj = _mixture(bin_index, (fg_pixels, inside), bins, blur, floor)
    p_bkg = _mixture(bin_index, (rest, bg_pixels), bins, blur, floor)
    return -np.log(p_obj), -np.log(p_bkg)


def regional_term(
    image: np.ndarray,
    fg_pixels: np.ndarray,
    bg_pixels: np.ndarray | None = None,
    bins: int = 16,
    blur: float = 1.0,
    floor: float = 0.01,
    inside: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The regional penalties ``R_p("obj") = -ln Pr(I_p | O)`` and ``R_p("bkg") = -ln Pr(I_p | B)``.

    ``Pr(. | O)`` and ``Pr(. | B)`` are colour histograms (see :func:`colour_likelihood`), as in Boykov &
    Jolly (ICCV 2001, Sec. 3), with two additions of ours for clicks and boxes:

    * the object model is the histogram of the object seed pixels ``fg_pixels``; with a box (``inside``,
      the pixels inside it), an equal mixture of the seeds' histogram and the box interior's (just the
      box's when there is no object seed);
    * the background model is an equal mixture of the histogram of the background seeds ``bg_pixels`` and
      the histogram of the "rest of the image" (every pixel that is neither an object seed nor inside the
      box); just the rest when there is no background seed. A click's seed disk holds a few dozen pixels,
      far too few to describe a whole background, while the rest of the image is a broad description of
      what the object is not.

    Args:
        image: ``(H, W, 3) uint8`` RGB.
        fg_pixels: ``(H, W) bool`` object seed pixels (may be empty only when ``inside`` is given).
        bg_pixels: ``(H, W) bool`` background seed pixels, or None (no background seed).
        bins, blur, floor: histogram settings, see :func:`colour_likelihood`.
        inside: ``(H, W) bool`` pixels inside the user's box (soft object evidence), or None.

    Returns:
        ``(R_obj, R_bkg)``, two ``(H, W) float64`` arrays of positive penalties (nats).

    Raises:
        ValueError: bad image, wrong mask shapes, or neither an object seed nor a box.
    """
    index = colour_bin_index(image, bins)
    fg_pixels = check_mask(fg_pixels, index.shape, "fg_pixels")
    bg_pixels = np.zeros_like(fg_pixels) if bg_pixels is None else check_mask(bg_pixels, index.shape, "bg_pixels")
    if inside is not None:
        inside = check_mask(inside, index.shape, "inside")
    return _regional_from_bins(index, fg_pixels, bg_pixels, bins, blur, floor, inside)


def tlinks_from_regional(
    r_obj: np.ndarray, r_bkg: np.ndarray, fg_seeds: np.ndarray, bg_seeds: np.ndarray, lam: float, K: float
) -> tuple[np.ndarray, np.ndarray]:
    """t-link capacities from the regional term and the hard seeds (Boykov & Jolly 2001, Table 1).

    ============================  ==================  ==================
    pixel ``p``                    edge ``{p, S}``      edge ``{p, T}``
    ============================  ==================  ==================
    object seed (``p in O``)       ``K``                0
    background seed (``p in B``)   0                    ``K``
    any other pixel                ``lam * R_p(bkg)``   ``lam * R_p(obj)``
    ============================  ==================  ==================

    (A pixel that stays connected to ``S`` is object, so the cut removes its ``{p, T}`` edge and pays
    ``lam * R_p("obj")``: the cost of calling it object.)

    Args:
        r_obj, r_bkg: ``(H, W) float`` regional penalties (>= 0), see :func:`regional_term`.
        fg_seeds, bg_seeds: ``(H, W) bool`` hard seeds; they must not overlap.
        lam: weight of the regional term relative to the boundary term, >= 0.
        K: the hard-seed capacity, > 0 (see :func:`hard_seed_capacity`).

    Returns:
        ``(source_caps, sink_caps)``: two ``(H, W) float64`` arrays.

    Raises:
        ValueError: shapes that differ, overlapping seeds, negative ``lam``/penalties, ``K <= 0``.
    """
    r_obj = np.asarray(r_obj, dtype=np.float64)
    r_bkg = np.asarray(r_bkg, dtype=np.float64)
    if r_obj.ndim != 2 or r_obj.shape != r_bkg.shape:
        raise ValueError(f"expected r_obj and r_bkg as (H, W) arrays of equal shape, got {r_obj.shape}, {r_bkg.shape}")
    fg = check_mask(fg_seeds, r_obj.shape, "fg_seeds")
    bg = check_mask(bg_seeds, r_obj.shape, "bg_seeds")
    if np.any(fg & bg):
        raise ValueError(f"{int(np.sum(fg & bg))} pixel(s) are both object and background seeds")
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a number >= 0, got {lam!r}")
    if not (np.isfinite(K) and K > 0):
        raise ValueError(f"K must be a positive number, got {K!r}")
    if min(r_obj.min(), r_bkg.min()) < 0:
        raise ValueError("regional penalties must be >= 0 (they are negative log-probabilities)")
    source = lam * r_bkg
    sink = lam * r_obj
    source[fg], sink[fg] = K, 0.0
    source[bg], sink[bg] = 0.0, K
    return source, sink


def tlink_weights(
    image: np.ndarray,
    fg_seeds: np.ndarray,
    bg_seeds: np.ndarray,
    lam: float,
    K: float | None = None,
    bins: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """t-link capacities for ``image`` with colour models estimated from the seeds themselves.

    Shorthand for :func:`regional_term` (models from ``fg_seeds`` / ``bg_seeds``) followed by
    :func:`tlinks_from_regional`.

    Args:
        image: ``(H, W, 3) uint8`` RGB.
        fg_seeds, bg_seeds: ``(H, W) bool`` hard seeds (``fg_seeds`` not empty; they must not overlap).
        lam: regional-term weight, >= 0.
        K: hard-seed capacity; None computes ``1 + max_p sum_q B_{p,q}`` from the 8-connected n-links with
            the estimated sigma (pass your own when you use other n-links).
        bins: histogram bins per channel.

    Returns:
        ``(source_caps, sink_caps)``, two ``(H, W) float64``.
    """
    r_obj, r_bkg = regional_term(image, fg_seeds, bg_seeds, bins=bins)
    if K is None:
        K = hard_seed_capacity(nlink_grid(image))
    return tlinks_from_regional(r_obj, r_bkg, fg_seeds, bg_seeds, lam, K)


# ----------------------------------------------------------------------------------------------------------
# the graph and its minimum cut
# ----------------------------------------------------------------------------------------------------------

NLinksLike = Union[NLinks, tuple[np.ndarray, np.ndarray]]


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


def build_graph_networkx(source_caps: np.ndarray, sink_caps: np.ndarray, nlinks: NLinksLike) -> "nx.DiGraph":
    """The Boykov–Jolly graph as a ``networkx.DiGraph`` (for teaching and small images).

    Nodes: the pixel indices ``0 .. H*W-1`` (row-major) and the terminals ``"S"`` (object) and ``"T"``
    (background). Edges carry a ``capacity`` attribute: ``S -> p`` (``source_caps``), ``p -> T``
    (``sink_caps``) and, for every n-link, both ``p -> q`` and ``q -> p`` with ``B_{p,q}``. Edges of capacity
    0 are left out (they never change a cut).

    Args:
        source_caps, sink_caps: ``(H, W)`` t-link capacities, >= 0.
        nlinks: :class:`NLinks` or ``(edges (E, 2), weights (E,))``.
    """
    import networkx as nx

    source_caps, sink_caps = _check_caps(source_caps, sink_caps)
    _check_nlinks_shape(nlinks, source_caps.shape)
    edges, weights = _edge_list(nlinks)
    src, snk = source_caps.ravel(), sink_caps.ravel()
    g = nx.DiGraph()
    g.add_nodes_from(range(src.size))
    g.add_nodes_from(("S", "T"))
    g.add_edges_from(("S", p, {"capacity": float(c)}) for p, c in enumerate(src) if c > 0)
    g.add_edges_from((p, "T", {"capacity": float(c)}) for p, c in enumerate(snk) if c > 0)
    keep = weights > 0
    for (p, q), w in zip(edges[keep].tolist(), weights[keep].tolist()):
        g.add_edge(p, q, capacity=w)
        g.add_edge(q, p, capacity=w)
    return g


def min_cut_networkx(
    source_caps: np.ndarray, sink_caps: np.ndarray, nlinks: NLinksLike
) -> tuple[float, np.ndarray]:
    """Minimum S/T cut with networkx (readable; fine up to about 100 x 100 pixels, about 1 s for 64 x 64).

    The graph is :func:`build_graph_networkx`; the maximum flow is networkx's push-relabel algorithm
    (``preflow_push``, Goldberg & Tarjan 1988), which in pure Python is much faster on these grid graphs
    than networkx's own Boykov–Kolmogorov implementation. The cut is read off the residual graph: the
    pixels that can still send flow to ``T`` through edges with residual capacity left are background, all
    others object. We do this ourselves, with a small tolerance, rather than calling
    ``networkx.minimum_cut``, whose exact ``flow == capacity`` test for saturated edges can fail with
    floating-point capacities and then return a partition that is not a minimum cut.

    Any max-flow algorithm gives the same cut value; when several cuts are minimal the mask may differ
    from PyMaxflow's, with the same energy.

    Returns:
        ``(cut_value, mask)``: the cut's total capacity (= the energy of the labelling) and the ``(H, W)
        bool`` object mask (pixels on the source side).
    """
    from networkx.algorithms.flow import preflow_push

    g = build_graph_networkx(source_caps, sink_caps, nlinks)
    h, w = np.shape(source_caps)
    residual = preflow_push(g, "S", "T", value_only=True)  # a maximum (pre)flow and its residual graph
    cut_value = float(residual.graph["flow_value"])
    # Background = the pixels that can still push flow to T along unsaturated edges (a reverse search from
    # T); everything else is cut off from T, i.e. on the source (object) side. "Unsaturated" allows for
    # floating-point rounding in the flows.
    tol = 1e-12 * max(1.0, float(np.max(source_caps)), float(np.max(sink_caps)))
    sink_side, stack = {"T"}, ["T"]
    while stack:
        v = stack.pop()
        for u, _, d in residual.in_edges(v, data=True):
            if u not in sink_side and d["capacity"] - d["flow"] > tol:
                sink_side.add(u)
                stack.append(u)
    mask = np.ones(h * w, dtype=bool)
    mask[[p for p in sink_side if p != "T"]] = False
    return cut_value, mask.reshape(h, w)


def build_graph_maxflow(source_caps: np.ndarray, sink_caps: np.ndarray, nlinks: NLinksLike):
    """The same graph in PyMaxflow: ``(graph, nodeids)`` with ``nodeids`` an ``(H, W)`` array of node ids.

    An :class:`NLinks` is added one direction at a time with ``add_grid_edges`` (a 3x3 ``structure`` with a
    single 1 at the neighbour's position, the direction's weight map, ``symmetric=True`` for ``p -> q``
    and ``q -> p``); an edge list with ``add_edges``. t-links use ``add_grid_tedges``.
    """
    import maxflow

    source_caps, sink_caps = _check_caps(source_caps, sink_caps)
    _check_nlinks_shape(nlinks, source_caps.shape)
    g = maxflow.Graph[float]()
    nodeids = g.add_grid_nodes(source_caps.shape)
    _add_nlinks_maxflow(g, nodeids, nlinks)
    g.add_grid_tedges(nodeids, source_caps, sink_caps)
    return g, nodeids


def _add_nlinks_maxflow(g, nodeids: np.ndarray, nlinks: NLinksLike) -> None:
    if isinstance(nlinks, NLinks):
        for (dy, dx), weights in zip(nlinks.offsets, nlinks.weights):
            structure = np.zeros((3, 3))
            structure[1 + dy, 1 + dx] = 1.0
            g.add_grid_edges(nodeids, weights=weights, structure=structure, symmetric=True)
    else:
        edges, weights = _edge_list(nlinks)
        flat = nodeids.ravel()
        g.add_edges(flat[edges[:, 0]], flat[edges[:, 1]], weights, weights)


def min_cut_maxflow(
    source_caps: np.ndarray, sink_caps: np.ndarray, nlinks: NLinksLike
) -> tuple[float, np.ndarray]:
    """Minimum S/T cut with PyMaxflow (Boykov–Kolmogorov, C++): the same graph as :func:`min_cut_networkx`.

    Returns:
        ``(cut_value, mask)``: the maximum flow (= minimum cut capacity = energy) and the ``(H, W) bool``
        object mask (``get_grid_segments`` is True on the sink side, so the object is its complement).
    """
    g, nodeids = build_graph_maxflow(source_caps, sink_caps, nlinks)
    flow = g.maxflow()
    return float(flow), ~g.get_grid_segments(nodeids)


def segmentation_energy(
    mask: np.ndarray, source_caps: np.ndarray, sink_caps: np.ndarray, nlinks: NLinksLike
) -> float:
    """The energy of a labelling = the capacity of the cut it defines.

    ``E = sum_{p object} sink_caps[p] + sum_{p background} source_caps[p] + sum_{p,q labelled differently} B_{p,q}``,
    i.e. ``lam * sum_p R_p(L_p) + sum B_{p,q} [L_p != L_q]`` away from the seeds (plus ``K`` for every
    seed on the wrong side).

    Args:
        mask: ``(H, W) bool`` labelling (True = object, the source side).
        source_caps, sink_caps: ``(H, W)`` t-link capacities.
        nlinks: :class:`NLinks` or ``(edges, weights)``.
    """
    source_caps, sink_caps = _check_caps(source_caps, sink_caps)
    mask = check_mask(mask, source_caps.shape, "mask")
    energy = float(sink_caps[mask].sum() + source_caps[~mask].sum())
    if isinstance(nlinks, NLinks):
        _check_nlinks_shape(nlinks, mask.shape)
        for offset, weights in zip(nlinks.offsets, nlinks.weights):
            sp, sq = _pair_slices(mask.shape, offset)
            energy += float(weights[sp][mask[sp] != mask[sq]].sum())
    else:
        _check_nlinks_shape(nlinks, mask.shape)
        edges, weights = _edge_list(nlinks)
        flat = mask.ravel()
        energy += float(weights[flat[edges[:, 0]] != flat[edges[:, 1]]].sum())
    return energy


# ----------------------------------------------------------------------------------------------------------
# the Segmenter
# ----------------------------------------------------------------------------------------------------------


class GraphCutSegmenter(BaseSegmenter):
    """Interactive graph cut (Boykov & Jolly, ICCV 2001) as a :class:`~iseg_course.segmenter.Segmenter`.

    * ``set_image`` computes the n-links, ``K`` and each pixel's colour bin once per image (and, for the
      PyMaxflow backend, the grid graph with its n-links).
    * ``predict`` turns the interactions into hard seeds with
      :func:`~iseg_course.interactions.rasterize_seeds` (clicks: disks of ``seed_radius`` pixels;
      scribbles: thick lines; a box: everything outside it is background), estimates the colour models
      (:func:`regional_term`), builds the t-links (:func:`tlinks_from_regional`) and returns the minimum
      cut as ``(H, W) float32`` in ``{0, 1}``. ``last_cut_value`` holds the cut's capacity (its energy).

    Colour models: see :func:`regional_term` (object seeds and the inside of a box describe the object;
    background seeds and the rest of the image the background; a box is soft evidence, never a hard
    object seed). Without any object seed and without a box nothing marks the object and the
    prediction is all zeros. ``prev_mask`` is not used: every prediction is the global optimum of the energy
    for the current interactions.

    Speed (``reuse_flow=True``, PyMaxflow backend): only the t-links change from one prediction to the
    next, so the graph is built once per image and every prediction changes the t-link capacities of the
    already solved graph and lets the max-flow continue from the previous flow ("dynamic graph cuts",
    Kohli & Torr, ICCV 2005). The minimum cut is the same as with a freshly built graph (the tests check
    it); ``reuse_flow=False`` rebuilds the graph for every prediction.

    Args:
        lam: regional-term weight ``lambda`` (>= 0); larger trusts the colour models more than the
            boundaries.
        sigma: n-link colour scale; None estimates it per image (:func:`estimate_sigma`).
        connectivity: 4 or 8.
        backend: ``"maxflow"`` (PyMaxflow, full images) or ``"networkx"`` (small crops only, slow).
        seed_radius: radius in pixels of the seed disk around each click (and half-width of scribbles).
        bins: colour-histogram bins per channel.
        reuse_flow: PyMaxflow backend only: keep one graph per image and update its t-links (see above).

    Raises:
        ValueError: on invalid parameters (at construction) or interactions outside the image (predict).
    """

    #: rebuild the reused graph after this many predictions (bounds the build-up of rounding errors)
    REBUILD_EVERY = 200

    def __init__(
        self,
        lam: float = 0.03,
        sigma: float | None = None,
        connectivity: int = 4,
        backend: str = "maxflow",
        seed_radius: int = 5,
        bins: int = 16,
        reuse_flow: bool = True,
    ):
        if not (np.isfinite(lam) and lam >= 0):
            raise ValueError(f"lam must be a number >= 0, got {lam!r}")
        if sigma is not None and not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be None or a positive number, got {sigma!r}")
        _offsets(connectivity)
        if backend not in ("maxflow", "networkx"):
            raise ValueError(f"backend must be 'maxflow' or 'networkx', got {backend!r}")
        if int(seed_radius) != seed_radius or seed_radius < 0:
            raise ValueError(f"seed_radius must be an integer >= 0 (pixels), got {seed_radius!r}")
        if not (2 <= int(bins) <= 256):
            raise ValueError(f"bins must be between 2 and 256, got {bins}")
        self.lam = float(lam)
        self.sigma = sigma
        self.connectivity = int(connectivity)
        self.backend = backend
        self.seed_radius = int(seed_radius)
        self.bins = int(bins)
        self.reuse_flow = bool(reuse_flow)
        self.nlinks: NLinks | None = None
        self.K: float | None = None
        self.last_cut_value: float | None = None
        self._bin_index: np.ndarray | None = None
        self._graph = None  # (maxflow graph, nodeids, source caps, sink caps, predictions so far)

    def set_image(self, image: np.ndarray) -> None:
        """Store the image and precompute its n-links, ``K``, colour bins (and the PyMaxflow grid graph)."""
        super().set_image(image)
        self.nlinks = nlink_grid(self.image, self.sigma, self.connectivity)
        self.K = hard_seed_capacity(self.nlinks)
        self._bin_index = colour_bin_index(self.image, self.bins)
        self._graph = None
        if self.backend == "maxflow" and self.reuse_flow:
            self._new_graph()

    def _new_graph(self) -> None:
        import maxflow

        g = maxflow.Graph[float]()
        nodeids = g.add_grid_nodes(self.image.shape[:2])
        _add_nlinks_maxflow(g, nodeids, self.nlinks)
        zeros = np.zeros(self.image.shape[:2])
        self._graph = [g, nodeids, zeros, zeros, 0]

    def seeds(self, interactions: Interactions) -> tuple[np.ndarray, np.ndarray]:
        """The hard seeds ``(fg, bg)``, ``(H, W) bool`` each, for ``interactions`` on the current image."""
        if self.image is None:
            raise RuntimeError("call set_image(image) first")
        return rasterize_seeds(interactions, self.image.shape[:2], radius=self.seed_radius)

    def tlinks(self, interactions: Interactions) -> tuple[np.ndarray, np.ndarray] | None:
        """``(source_caps, sink_caps)``, ``(H, W) float64``, for ``interactions``; None when nothing marks the object."""
        fg, bg = self.seeds(interactions)
        inside = None
        boxes = [b if isinstance(b, Box) else b.box for b in interactions if isinstance(b, (Box, ExtremePoints))]
        if boxes:
            inside = np.zeros_like(fg)
            for box in boxes:
                inside[box.slices()] = True
            inside &= ~bg
        if not fg.any() and (inside is None or not inside.any()):
            return None
        r_obj, r_bkg = _regional_from_bins(self._bin_index, fg, bg, self.bins, 1.0, 0.01, inside)
        return tlinks_from_regional(r_obj, r_bkg, fg, bg, self.lam, self.K)

    def _predict(self, interactions: Interactions, prev_mask: np.ndarray | None) -> np.ndarray:
        caps = self.tlinks(interactions)
        if caps is None:
            self.last_cut_value = None
            return np.zeros(self.image.shape[:2], dtype=np.float32)
        source, sink = caps
        if self.backend == "networkx":
            cut, mask = min_cut_networkx(source, sink, self.nlinks)
        elif not self.reuse_flow:
            cut, mask = min_cut_maxflow(source, sink, self.nlinks)
        else:
            if self._graph is None or self._graph[4] >= self.REBUILD_EVERY:
                self._new_graph()
            g, nodeids, old_source, old_sink, count = self._graph
            # change the t-links of the solved graph by the difference (BK's add_tweights accepts negative
            # changes: it adds a constant to both t-links of the node and subtracts it from the flow)
            g.add_grid_tedges(nodeids, source - old_source, sink - old_sink)
            cut = float(g.maxflow())
            mask = ~g.get_grid_segments(nodeids)
            self._graph = [g, nodeids, source, sink, count + 1]
        self.last_cut_value = cut
        return mask.astype(np.float32)
