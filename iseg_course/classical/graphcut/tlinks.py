"""The regional term and the hard seeds of the graph cut: t-link capacities to ``S`` and ``T``.

Colour models ``Pr(I_p | O)`` and ``Pr(I_p | B)`` are smoothed joint RGB histograms (Boykov & Jolly, ICCV
2001, Sec. 3); the regional penalties ``R_p(L) = -ln Pr(I_p | L)`` become the t-links of the free pixels,
and the hard seeds get the capacity ``K`` (:func:`~iseg_course.classical.graphcut.hard_seed_capacity`).
"""

from __future__ import annotations

import numpy as np

from ...segmenter import check_mask
from ...validate import integer, number
from .nlinks import hard_seed_capacity, nlink_grid

__all__ = ["colour_bin_index", "colour_likelihood", "regional_term", "tlinks_from_regional", "tlink_weights"]


def colour_bin_index(image: np.ndarray, bins: int = 16) -> np.ndarray:
    """Joint colour-histogram bin of every pixel: ``(H, W) int64`` in ``[0, bins**3)``.

    Each RGB channel (0..255) is cut into ``bins`` equal intervals; the bin of a pixel is
    ``(r_bin * bins + g_bin) * bins + b_bin``. Raises ValueError unless ``image`` is ``(H, W, 3) uint8``
    and ``2 <= bins <= 256``.

    Used by :func:`regional_term` and :class:`~iseg_course.classical.graphcut.GraphCutSegmenter` (lesson 02).
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            "expected an RGB image (H, W, 3) uint8, got "
            f"{getattr(image, 'shape', type(image).__name__)} {getattr(image, 'dtype', '')}"
        )
    bins = integer(bins, "bins", 2, 256)
    q = (image.astype(np.int64) * bins) // 256
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

    Used by :func:`regional_term` (lesson 02).
    """
    from scipy.ndimage import gaussian_filter

    model_pixels = check_mask(model_pixels, bin_index.shape, "model_pixels")
    if not model_pixels.any():
        raise ValueError("cannot estimate a colour model from an empty set of pixels")
    floor = number(floor, "floor", 0, strict=True)
    if floor >= 1:
        raise ValueError(f"expected floor < 1, got {floor}")
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

    Used in lesson 02.
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

    Used in lesson 02.
    """
    r_obj = np.asarray(r_obj, dtype=np.float64)
    r_bkg = np.asarray(r_bkg, dtype=np.float64)
    if r_obj.ndim != 2 or r_obj.shape != r_bkg.shape:
        raise ValueError(f"expected r_obj and r_bkg as (H, W) arrays of equal shape, got {r_obj.shape}, {r_bkg.shape}")
    fg = check_mask(fg_seeds, r_obj.shape, "fg_seeds")
    bg = check_mask(bg_seeds, r_obj.shape, "bg_seeds")
    if np.any(fg & bg):
        raise ValueError(f"{int(np.sum(fg & bg))} pixel(s) are both object and background seeds")
    lam = number(lam, "lam", 0)
    K = number(K, "K", 0, strict=True)
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

    Used in lesson 02.
    """
    r_obj, r_bkg = regional_term(image, fg_seeds, bg_seeds, bins=bins)
    if K is None:
        K = hard_seed_capacity(nlink_grid(image))
    return tlinks_from_regional(r_obj, r_bkg, fg_seeds, bg_seeds, lam, K)
