"""A snake as an interactive Segmenter: a contour interaction starts it, clicks drag it ("magnetic lasso")."""

from __future__ import annotations

import numpy as np

from ...interactions import Box, ExtremePoints, Interactions, Polygon, Scribble
from ...segmenter import BaseSegmenter
from ...validate import integer, number
from .constraints import Spring
from .contours import box_contour, resample_contour, snake_to_mask
from .energy import force_field, image_energy
from .solver import snake_iterations

__all__ = ["SnakeSegmenter"]


class SnakeSegmenter(BaseSegmenter):
    """A snake as an interactive :class:`~iseg_course.segmenter.Segmenter` ("magnetic lasso").

    Interactions, in order of the log:

    * the newest ``Polygon``, ``Box``, ``ExtremePoints`` or ``Scribble`` (>= 3 points, read as a closed
      curve) gives the **initial contour** (resampled to ``n_points``); the snake is fitted from it;
    * every ``Click`` (positive or negative: for a snake both mean "the boundary passes here") becomes a
      **constraint spring** that pulls the point of the current snake nearest to the click (the user
      "drags" that point there); the snake is refitted from its current state with all springs so far;
    * with no contour interaction, three or more clicks span the initial polygon (ordered by angle around
      their centroid); fewer give an empty mask.

    ``set_image`` computes the image force field once. ``predict`` returns the filled snake as
    ``(H, W) float32`` in {0, 1}; the final contour is kept in ``last_snake`` ``(n_points, 2)`` (x, y)
    and the snake before the springs in ``last_free_snake``.

    Used in lesson 01.
    """

    def __init__(
        self,
        alpha: float = 0.01,
        beta: float = 0.1,
        gamma: float = 0.01,
        w_line: float = 0.0,
        w_edge: float = 1.0,
        sigma: float = 3.0,
        n_points: int = 200,
        max_iterations: int = 1000,
        convergence: float = 0.1,
        spring_weight: float = 1.0,
        max_px_move: float | None = 1.0,
    ) -> None:
        self.alpha = number(alpha, "alpha", 0)
        self.beta = number(beta, "beta", 0)
        self.gamma = number(gamma, "gamma", 0, strict=True)
        self.w_line, self.w_edge = float(w_line), float(w_edge)
        self.sigma = number(sigma, "sigma", 0, unit="pixels")
        self.n_points = integer(n_points, "n_points", 3)
        self.max_iterations = int(max_iterations)
        self.convergence = number(convergence, "convergence", 0, unit="pixels")
        self.spring_weight = number(spring_weight, "spring_weight", 0, strict=True)
        self.max_px_move = max_px_move
        self.field: np.ndarray | None = None
        self.last_snake: np.ndarray | None = None
        self.last_free_snake: np.ndarray | None = None
        self._cache: dict = {}

    def set_image(self, image: np.ndarray) -> None:
        """Store the image and compute its force field ``-grad E_image`` once."""
        super().set_image(image)
        self.field = force_field(image_energy(self.image, self.sigma, self.w_line, self.w_edge))
        self._cache = {}
        self.last_snake = self.last_free_snake = None

    def _fit(self, init: np.ndarray, constraints=None) -> np.ndarray:
        snake = init
        for snake in snake_iterations(self.field, init, self.alpha, self.beta, self.gamma, self.max_iterations,
                                      self.convergence, constraints, "periodic", self.max_px_move):
            pass
        return snake

    def initial_contour(self, interactions: Interactions) -> np.ndarray | None:
        """The ``(n_points, 2)`` initial contour the interactions give, or None (see the class docs)."""
        n = self.n_points
        for item in reversed(list(interactions)):
            if isinstance(item, Polygon):
                return resample_contour(np.asarray(item.vertices), n)
            if isinstance(item, Box):
                return box_contour(item, n)
            if isinstance(item, ExtremePoints):
                return box_contour(item.box, n)
            if isinstance(item, Scribble) and len(item.points) >= 3:
                return resample_contour(np.asarray(item.points), n)
        clicks = np.array([(c.x, c.y) for c in interactions.clicks], dtype=float).reshape(-1, 2)
        if len(clicks) >= 3:
            centre = clicks.mean(axis=0)
            order = np.argsort(np.arctan2(clicks[:, 1] - centre[1], clicks[:, 0] - centre[0]))
            return resample_contour(clicks[order], n)
        return None

    def _predict(self, interactions: Interactions, prev_mask: np.ndarray | None) -> np.ndarray:
        shape = self.image.shape[:2]
        init = self.initial_contour(interactions)
        if init is None:
            self.last_snake = self.last_free_snake = None
            return np.zeros(shape, dtype=np.float32)
        has_contour = any(isinstance(i, (Polygon, Box, ExtremePoints)) or
                          (isinstance(i, Scribble) and len(i.points) >= 3) for i in interactions)
        clicks = [(c.x, c.y) for c in interactions.clicks] if has_contour else []
        # the states after 0, 1, 2, ... clicks are cached, so undo and the next click cost one refit only
        key = (init.tobytes(),)
        if key not in self._cache:
            self._cache = {key: (self._fit(init), [])}
        snake, springs = self._cache[key]
        self.last_free_snake = snake
        for click in clicks:
            key = key + (click,)
            if key not in self._cache:
                # "drag" the point of the current snake nearest to the click (one spring per point),
                # then refit from the current snake with all springs so far
                d = np.hypot(snake[:, 0] - click[0], snake[:, 1] - click[1])
                d[[sp.index for sp in springs]] = np.inf
                springs = springs + [Spring(int(np.argmin(d)), click, self.spring_weight)]
                self._cache[key] = (self._fit(snake, springs), springs)
            snake, springs = self._cache[key]
        self.last_snake = snake
        return snake_to_mask(snake, shape).astype(np.float32)
