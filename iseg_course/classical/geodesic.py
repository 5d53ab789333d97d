"""Geodesic segmentation: every pixel takes the label of the geodesically nearest seed.

The geodesic distance from a set of seeds to a pixel is the cost of the cheapest path between them, where
a step costs its length times the local image cost (:func:`iseg_course.guidance.gradient_cost`: about 1 in
flat regions, large across edges). Two distance maps are computed, ``D_obj`` from the object seeds and
``D_bkg`` from the background seeds; a pixel is object when ``D_obj < D_bkg``. Paths that must cross an
edge get expensive, so the boundary between the two labels settles on image edges — the same intuition as
graph cut's n-links, with a shortest-path computation instead of a minimum cut.

This is the principle of Bai & Sapiro's geodesic matting (the "geodesic matting" row of the classical NoC
tables) and of GeoS (Criminisi et al.): ours measures the path cost on the image gradient (as GeoS does),
while Bai & Sapiro measure it on the gradient of a colour-likelihood map learnt from the seeds.

References:
    X. Bai and G. Sapiro, "Geodesic matting: a framework for fast interactive image and video segmentation
    and matting", IJCV 82(2), 2009 (ICCV 2007).
    A. Criminisi, T. Sharp and A. Blake, "GeoS: Geodesic image segmentation", ECCV 2008.
"""

from __future__ import annotations

import numpy as np

from ..guidance import geodesic_distance, gradient_cost
from ..interactions import Interactions, rasterize_seeds
from ..segmenter import BaseSegmenter
from ..validate import number

__all__ = ["GeodesicSegmenter"]


class GeodesicSegmenter(BaseSegmenter):
    """Label each pixel by its geodesically nearest seed (object vs background) — a :class:`Segmenter`.

    * ``set_image`` computes the cost image once (:func:`~iseg_course.guidance.gradient_cost`).
    * ``predict`` turns the interactions into seed masks with
      :func:`~iseg_course.interactions.rasterize_seeds` (clicks: disks of ``seed_radius`` pixels,
      scribbles: thick lines, a box: everything outside it is background), computes ``D_obj`` and ``D_bkg``
      with :func:`~iseg_course.guidance.geodesic_distance` and returns the soft label
      ``D_bkg / (D_obj + D_bkg)`` as ``(H, W) float32`` in ``[0, 1]`` (above 0.5 exactly where the object
      seeds are nearer).

    The image border always counts as background too (except where an object seed covers it): objects
    rarely fill the frame, and without it the first positive click would have nothing to compete with.
    Keeping it after the first negative click matters: on GrabCut (20 images, RITM robot user) dropping it
    then made NoC@90 worse (17.4 against 15.9). Without any object seed the prediction is all zeros.
    ``prev_mask`` is not used.

    Args:
        gamma: edge contrast of the cost image (``gradient_cost``'s ``gamma``; 0 gives Euclidean distances).
        sigma: Gaussian scale in pixels of the image gradient.
        seed_radius: radius in pixels of the seed disk around each click (and half-width of scribbles).

    Raises:
        ValueError: on invalid parameters (at construction) or interactions outside the image (predict).

    Used in lessons 04, 06 (the ``geodesic`` method of iseg_course.methods).
    """

    def __init__(self, gamma: float = 150.0, sigma: float = 1.0, seed_radius: int = 5):
        gamma = number(gamma, "gamma", 0)
        sigma = number(sigma, "sigma", 0, strict=True, unit="pixels")
        if int(seed_radius) != seed_radius or seed_radius < 0:
            raise ValueError(f"seed_radius must be an integer >= 0 (pixels), got {seed_radius!r}")
        self.gamma = gamma
        self.sigma = sigma
        self.seed_radius = int(seed_radius)
        self.cost: np.ndarray | None = None

    def set_image(self, image: np.ndarray) -> None:
        """Store the image and compute its ``(H, W) float64`` cost image (>= 1)."""
        super().set_image(image)
        self.cost = gradient_cost(self.image, gamma=self.gamma, sigma=self.sigma)

    def seeds(self, interactions: Interactions) -> tuple[np.ndarray, np.ndarray]:
        """``(object seeds, background seeds)``, ``(H, W) bool`` each: the user's seeds, plus the image border as background."""
        if self.image is None:
            raise RuntimeError("call set_image(image) first")
        fg, bg = rasterize_seeds(interactions, self.image.shape[:2], radius=self.seed_radius)
        bg[0, :] = bg[-1, :] = bg[:, 0] = bg[:, -1] = True
        return fg, bg & ~fg

    def distances(self, interactions: Interactions) -> tuple[np.ndarray, np.ndarray]:
        """``(D_obj, D_bkg)``: ``(H, W) float64`` geodesic distances to the object and background seeds."""
        return self._distances(*self.seeds(interactions))

    def _distances(self, fg: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return geodesic_distance(self.cost, fg), geodesic_distance(self.cost, bg)

    def _predict(self, interactions: Interactions, prev_mask: np.ndarray | None) -> np.ndarray:
        fg, bg = self.seeds(interactions)
        if not fg.any():
            return np.zeros(self.image.shape[:2], dtype=np.float32)
        d_obj, d_bkg = self._distances(fg, bg)  # both finite: bg always holds the image border
        with np.errstate(invalid="ignore"):
            prob = d_bkg / (d_obj + d_bkg)
        prob[fg] = 1.0
        prob[bg] = 0.0
        return prob.astype(np.float32)
