"""Active contours ("snakes"): our own semi-implicit solver after Kass, Witkin & Terzopoulos (1988).

A snake is a closed (or open) curve ``v(s) = (x(s), y(s))`` that moves to minimise

.. math::

    E_{snake} = \\int_0^1 E_{int}(v(s)) + E_{image}(v(s)) + E_{con}(v(s)) \\, ds

* **internal energy** ``E_int = (alpha |v_s|^2 + beta |v_ss|^2) / 2``: *elasticity* ``alpha`` penalises
  stretching (the snake shrinks), *rigidity* ``beta`` penalises bending (the snake stays smooth);
* **image energy** ``E_image = -(w_line * I + w_edge * |grad(G_sigma * I)|)``: low on bright lines
  (``w_line > 0``) and on edges of the smoothed image (``w_edge > 0``), so the snake is pulled to edges;
* **constraint energy** ``E_con = sum_k w_k / 2 * |v_{i_k} - p_k|^2``: user springs that pull chosen snake
  points ``i_k`` towards dragged positions ``p_k`` (the "magnetic lasso" idea).

Discretised with ``n`` points ``v_i`` (equal parameter steps, spacing 1), the Euler-Lagrange equation
``-alpha v'' + beta v'''' + grad E_ext = 0`` becomes ``A v + grad E_ext(v) = 0`` with the pentadiagonal
(cyclic for a closed snake) matrix ``A`` of :func:`internal_energy_matrix`. Kass et al. treat the internal
term implicitly and the image term explicitly (a *semi-implicit* Euler step with viscosity ``gamma``)::

    (gamma I + A) v_t = gamma v_{t-1} + f(v_{t-1}),   f = -grad E_image   (sampled at the snake points)

The constraint springs are quadratic in ``v`` like ``E_int``, so we treat them implicitly too (any spring
weight is then stable): ``(gamma I + A + W) v_t = gamma v_{t-1} + f + W p`` with ``W = diag(w)``.

Conventions: snakes are ``(N, 2) float64`` arrays of **(x, y) = (column, row)** pixel coordinates, the
course convention (:mod:`iseg_course.interactions`). ``skimage.segmentation.active_contour`` uses
``(row, col)``: swap the columns (``snake[:, ::-1]``) when comparing. A closed snake lists each point
once (the last point is *not* a copy of the first).

Relation to scikit-image: this solver follows the same scheme as ``skimage.segmentation.active_contour``
-- the same matrix ``A`` for closed snakes, the same Sobel edge map, the same ``tanh`` cap of
``max_px_move`` pixels per iteration (a stabiliser that is not in Kass et al.; ``max_px_move=None`` gives
the plain Kass step) and the same stopping rule. By default we read the force between pixels by
bilinear sampling of central-difference gradients; scikit-image differentiates a quadratic spline of the
energy. With ``interpolation="spline"`` (:class:`SplineForce`) our snake equals scikit-image's on the same
smoothed grey image to round-off; with the default they end 0.2 px apart on average on a clear contour
(lesson 01's doll), 3 px apart for the median GrabCut image, and tens of pixels apart where a snake falls
to another edge. Other differences: we turn colour images to grey (scikit-image sums the channels' edge
maps) and smooth them ourselves (``sigma``); we keep the points inside the image; open snakes use the
exact natural boundary conditions of the discrete energy; the springs (``constraints``) are ours.

The parts, one module each (every name is importable from this package):

* :mod:`.energy`: ``E_int`` (:func:`internal_energy_matrix`, :func:`internal_energy`), ``E_image``
  (:func:`smooth_image`, :func:`image_energy`) and the image force (:func:`force_field`,
  :func:`bilinear_sample`, :func:`external_force`, :class:`SplineForce`);
* :mod:`.constraints`: ``E_con``, the user springs (:class:`Spring`, :func:`spring_terms`);
* :mod:`.solver`: the semi-implicit solver (:func:`semi_implicit_inverse`, :func:`snake_step`,
  :func:`snake_iterations`) and :func:`active_contour`, which runs it on an image;
* :mod:`.contours`: initial contours and masks (:func:`circle_contour`, :func:`ellipse_contour`,
  :func:`box_contour`, :func:`resample_contour`, :func:`snake_to_mask`);
* :mod:`.segmenter`: :class:`SnakeSegmenter`, the snake as an interactive Segmenter.

References:
    M. Kass, A. Witkin, D. Terzopoulos, "Snakes: Active contour models", IJCV 1(4):321-331, 1988.
    C. Xu, J. L. Prince, "Snakes, shapes, and gradient vector flow", IEEE TIP 7(3):359-369, 1998 (limits).
"""

from __future__ import annotations

from .constraints import Spring, spring_terms
from .contours import box_contour, circle_contour, ellipse_contour, resample_contour, snake_to_mask
from .energy import (SplineForce, bilinear_sample, external_force, force_field, image_energy, internal_energy,
                     internal_energy_matrix, smooth_image)
from .segmenter import SnakeSegmenter
from .solver import BOUNDARY_CONDITIONS, active_contour, semi_implicit_inverse, snake_iterations, snake_step

# the private helpers stay importable from here, as from the former single module snakes.py
from ._checks import _check_image_array, _check_inside, _check_snake  # noqa: F401
from .constraints import _as_springs  # noqa: F401
from .energy import _difference_matrices  # noqa: F401
from .solver import _check_boundary  # noqa: F401

__all__ = [
    "BOUNDARY_CONDITIONS",
    "Spring",
    "internal_energy_matrix",
    "internal_energy",
    "smooth_image",
    "image_energy",
    "force_field",
    "bilinear_sample",
    "external_force",
    "SplineForce",
    "spring_terms",
    "semi_implicit_inverse",
    "snake_step",
    "snake_iterations",
    "active_contour",
    "snake_to_mask",
    "circle_contour",
    "ellipse_contour",
    "box_contour",
    "resample_contour",
    "SnakeSegmenter",
]
