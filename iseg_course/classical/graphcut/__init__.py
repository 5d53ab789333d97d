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

The parts, one module each (every name is importable from this package):

* :mod:`.nlinks`: the boundary term: :func:`estimate_sigma`, :func:`nlink_map`, :class:`NLinks`,
  :func:`nlink_grid`, :func:`nlink_weights`, :func:`hard_seed_capacity`;
* :mod:`.tlinks`: the regional term and the hard seeds: :func:`colour_bin_index`,
  :func:`colour_likelihood`, :func:`regional_term`, :func:`tlinks_from_regional`, :func:`tlink_weights`;
* :mod:`.mincut`: the graph and its minimum cut, two backends: :func:`build_graph_networkx`,
  :func:`min_cut_networkx` (teaching path, small crops), :func:`build_graph_maxflow`,
  :func:`min_cut_maxflow` (PyMaxflow, full images), and :func:`segmentation_energy`;
* :mod:`.segmenter`: :class:`GraphCutSegmenter` (one graph per image, flow reused between clicks).

References:
    Y. Boykov and M.-P. Jolly, "Interactive graph cuts for optimal boundary & region segmentation of objects
    in N-D images", ICCV 2001.
    Y. Boykov and V. Kolmogorov, "An experimental comparison of min-cut/max-flow algorithms for energy
    minimization in vision", IEEE TPAMI 26(9), 2004 (the algorithm inside PyMaxflow).
    C. Rother, V. Kolmogorov and A. Blake, "GrabCut", SIGGRAPH 2004 (sigma from the mean squared
    neighbour difference).
    P. Kohli and P. H. S. Torr, "Efficiently solving dynamic Markov random fields using graph cuts",
    ICCV 2005 (reusing the flow between clicks).
"""

from __future__ import annotations

from .mincut import build_graph_maxflow, build_graph_networkx, min_cut_maxflow, min_cut_networkx, segmentation_energy
from .nlinks import (OFFSETS_4, OFFSETS_8, NLinks, estimate_sigma, hard_seed_capacity, nlink_grid, nlink_map,
                     nlink_weights)
from .segmenter import GraphCutSegmenter
from .tlinks import colour_bin_index, colour_likelihood, regional_term, tlink_weights, tlinks_from_regional

# the type alias and the private helpers stay importable from here, as from the former single module graphcut.py
from .nlinks import NLinksLike  # noqa: F401
from .mincut import _add_nlinks_maxflow, _check_caps  # noqa: F401
from .nlinks import _as_float_image, _check_nlinks_shape, _edge_list, _offsets, _pair_slices  # noqa: F401
from .tlinks import _mixture, _regional_from_bins  # noqa: F401

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
