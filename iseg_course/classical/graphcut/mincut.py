"""The Boykov–Jolly graph and its minimum S/T cut, with two backends that give the same cut value.

* networkx (:func:`build_graph_networkx`, :func:`min_cut_networkx`): every node and edge is a Python object
  you can print and draw; the teaching path, for crops up to about 100 x 100 pixels.
* PyMaxflow (:func:`build_graph_maxflow`, :func:`min_cut_maxflow`): the Boykov–Kolmogorov max-flow
  algorithm in C++ (IEEE TPAMI 2004) on a grid graph, for full images.

:func:`segmentation_energy` computes the capacity of the cut any labelling defines, to check both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...segmenter import check_mask
from .nlinks import NLinks, NLinksLike, _check_nlinks_shape, _edge_list, _pair_slices

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = [
    "build_graph_networkx",
    "min_cut_networkx",
    "build_graph_maxflow",
    "min_cut_maxflow",
    "segmentation_energy",
]


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
# networkx: the teaching path
# ----------------------------------------------------------------------------------------------------------


def build_graph_networkx(source_caps: np.ndarray, sink_caps: np.ndarray, nlinks: NLinksLike) -> "nx.DiGraph":
    """The Boykov–Jolly graph as a ``networkx.DiGraph`` (for teaching and small images).

    Nodes: the pixel indices ``0 .. H*W-1`` (row-major) and the terminals ``"S"`` (object) and ``"T"``
    (background). Edges carry a ``capacity`` attribute: ``S -> p`` (``source_caps``), ``p -> T``
    (``sink_caps``) and, for every n-link, both ``p -> q`` and ``q -> p`` with ``B_{p,q}``. Edges of capacity
    0 are left out (they never change a cut).

    Args:
        source_caps, sink_caps: ``(H, W)`` t-link capacities, >= 0.
        nlinks: :class:`NLinks` or ``(edges (E, 2), weights (E,))``.

    Used in lesson 02.
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

    Used in lesson 02.
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


# ----------------------------------------------------------------------------------------------------------
# PyMaxflow: full images
# ----------------------------------------------------------------------------------------------------------


def build_graph_maxflow(source_caps: np.ndarray, sink_caps: np.ndarray, nlinks: NLinksLike):
    """The same graph in PyMaxflow: ``(graph, nodeids)`` with ``nodeids`` an ``(H, W)`` array of node ids.

    An :class:`NLinks` is added one direction at a time with ``add_grid_edges`` (a 3x3 ``structure`` with a
    single 1 at the neighbour's position, the direction's weight map, ``symmetric=True`` for ``p -> q``
    and ``q -> p``); an edge list with ``add_edges``. t-links use ``add_grid_tedges``.

    Used by :func:`min_cut_maxflow` (lesson 02).
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

    Used in lesson 02.
    """
    g, nodeids = build_graph_maxflow(source_caps, sink_caps, nlinks)
    flow = g.maxflow()
    return float(flow), ~g.get_grid_segments(nodeids)


# ----------------------------------------------------------------------------------------------------------
# the energy of a labelling
# ----------------------------------------------------------------------------------------------------------


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

    Used in lesson 02.
    """
    source_caps, sink_caps = _check_caps(source_caps, sink_caps)
    mask = check_mask(mask, source_caps.shape, "mask")
    energy = float(sink_caps[mask].sum() + source_caps[~mask].sum())
    _check_nlinks_shape(nlinks, mask.shape)
    if isinstance(nlinks, NLinks):
        for offset, weights in zip(nlinks.offsets, nlinks.weights):
            sp, sq = _pair_slices(mask.shape, offset)
            energy += float(weights[sp][mask[sp] != mask[sq]].sum())
    else:
        edges, weights = _edge_list(nlinks)
        flat = mask.ravel()
        energy += float(weights[flat[edges[:, 0]] != flat[edges[:, 1]]].sum())
    return energy
