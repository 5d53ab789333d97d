"""Graph cut as an interactive Segmenter: one graph per image, the flow reused from click to click."""

from __future__ import annotations

import numpy as np

from ...interactions import Box, ExtremePoints, Interactions, rasterize_seeds
from ...segmenter import BaseSegmenter
from ...validate import integer, number
from .mincut import _add_nlinks_maxflow, min_cut_maxflow, min_cut_networkx
from .nlinks import NLinks, _offsets, hard_seed_capacity, nlink_grid
from .tlinks import _regional_from_bins, colour_bin_index, tlinks_from_regional

__all__ = ["GraphCutSegmenter"]


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

    Used in lessons 00, 02, 03, 04, 05, 06, 07 (the ``graphcut`` method of iseg_course.methods and the CLI).
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
        lam = number(lam, "lam", 0)
        if sigma is not None:
            sigma = number(sigma, "sigma", 0, strict=True, unit="intensity units")
        _offsets(connectivity)
        if backend not in ("maxflow", "networkx"):
            raise ValueError(f"backend must be 'maxflow' or 'networkx', got {backend!r}")
        if int(seed_radius) != seed_radius or seed_radius < 0:
            raise ValueError(f"seed_radius must be an integer >= 0 (pixels), got {seed_radius!r}")
        bins = integer(bins, "bins", 2, 256)
        self.lam = lam
        self.sigma = sigma
        self.connectivity = int(connectivity)
        self.backend = backend
        self.seed_radius = int(seed_radius)
        self.bins = bins
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
