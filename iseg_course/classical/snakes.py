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
smoothed grey image to round-off; with the default the two differ by a pixel or so where edges are clear
(more where the snake hesitates between edges). Other differences: we turn colour images to grey
(scikit-image sums the channels' edge maps) and smooth them ourselves (``sigma``); we keep the points
inside the image; open snakes use the exact natural boundary conditions of the discrete energy; the
springs (``constraints``) are ours.

References:
    M. Kass, A. Witkin, D. Terzopoulos, "Snakes: Active contour models", IJCV 1(4):321-331, 1988.
    C. Xu, J. L. Prince, "Snakes, shapes, and gradient vector flow", IEEE TIP 7(3):359-369, 1998 (limits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from ..interactions import Box, ExtremePoints, Interactions, Polygon, Scribble
from ..segmenter import BaseSegmenter

BOUNDARY_CONDITIONS = ("periodic", "free", "fixed")

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


# --------------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------------


def _check_nonneg(value: float, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"expected {name} to be a real number, got {value!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"expected {name} to be a finite number >= 0, got {value}")
    return value


def _check_positive(value: float, name: str) -> float:
    value = _check_nonneg(value, name)
    if value == 0:
        raise ValueError(f"expected {name} > 0, got 0")
    return value


def _check_snake(snake, name: str = "snake", min_points: int = 3) -> np.ndarray:
    """Return ``snake`` as an ``(N, 2) float64`` copy, or raise a clear error."""
    if isinstance(snake, (str, bytes)) or snake is None:
        raise TypeError(f"expected {name} as an (N, 2) array of (x, y) points, got {type(snake).__name__}")
    try:
        arr = np.array(snake, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"expected {name} as an (N, 2) array of (x, y) points, got {type(snake).__name__}") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"expected {name} of shape (N, 2) holding (x, y) points, got shape {arr.shape}")
    if arr.shape[0] < min_points:
        raise ValueError(f"{name} needs at least {min_points} points, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds non-finite coordinates (NaN or inf)")
    return arr


def _check_inside(points: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    h, w = int(shape[0]), int(shape[1])
    outside = (points[:, 0] < 0) | (points[:, 0] > w - 1) | (points[:, 1] < 0) | (points[:, 1] > h - 1)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{int(outside.sum())} point(s) of {name} lie outside the image, first at index {i}: "
            f"(x={points[i, 0]:.2f}, y={points[i, 1]:.2f}); expected 0 <= x <= {w - 1} and 0 <= y <= {h - 1} "
            f"for an image of height {h} and width {w} (points are (x, y) = (column, row))"
        )


def _check_image_array(image) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected an image as a NumPy array (H, W) or (H, W, 3), got {type(image).__name__}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"expected a grey (H, W) or RGB (H, W, 3) image, got shape {image.shape}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"expected an image of at least 2x2 pixels, got shape {image.shape}")
    if image.dtype == bool or not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise ValueError(f"expected an integer (uint8) or float image, got dtype {image.dtype}")
    if np.issubdtype(image.dtype, np.floating) and not np.all(np.isfinite(image)):
        raise ValueError("the image holds non-finite values (NaN or inf)")
    return image


def _check_boundary(boundary_condition: str) -> str:
    if boundary_condition not in BOUNDARY_CONDITIONS:
        raise ValueError(f"unknown boundary_condition {boundary_condition!r}; expected one of {BOUNDARY_CONDITIONS}")
    return boundary_condition


# --------------------------------------------------------------------------------------------------
# internal energy
# --------------------------------------------------------------------------------------------------


def _difference_matrices(n: int, closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """First and second difference operators ``D1`` and ``D2`` on ``n`` points (cyclic when closed)."""
    eye = np.eye(n)
    if closed:
        d1 = np.roll(eye, 1, axis=1) - eye  # (D1 v)_i = v_{i+1} - v_i
        d2 = np.roll(eye, 1, axis=1) - 2 * eye + np.roll(eye, -1, axis=1)  # v_{i+1} - 2 v_i + v_{i-1}
    else:
        d1 = eye[1:] - eye[:-1]  # (n-1, n)
        d2 = eye[2:] - 2 * eye[1:-1] + eye[:-2]  # (n-2, n)
    return d1, d2


def internal_energy_matrix(n: int, alpha: float, beta: float, closed: bool = True) -> np.ndarray:
    """The matrix ``A`` of the discretised internal force ``-alpha v'' + beta v''''`` (Kass et al. 1988).

    The discrete internal energy of ``n`` points ``v_i`` (parameter spacing 1) is

        E_int = 1/2 * sum_i alpha |v_{i+1} - v_i|^2 + beta |v_{i+1} - 2 v_i + v_{i-1}|^2,

    and its gradient is ``A v`` with ``A = alpha D1^T D1 + beta D2^T D2`` (``D1``, ``D2``: first and second
    difference operators). For a closed snake (``closed=True``) every row holds the cyclic stencil

        beta * [1, -4, 6, -4, 1]  +  alpha * [0, -1, 2, -1, 0]   (columns i-2 .. i+2, indices mod n),

    i.e. ``A[i, i] = 2 alpha + 6 beta``, ``A[i, i±1] = -alpha - 4 beta``, ``A[i, i±2] = beta``, the same
    matrix as scikit-image's. For an open snake (``closed=False``) the sums run over the ``n - 1`` segments
    and ``n - 2`` inner points only, which gives the natural (free-end) boundary rows.

    Args:
        n: number of snake points (>= 3).
        alpha: elasticity weight (>= 0); larger shrinks the snake faster.
        beta: rigidity weight (>= 0); larger keeps it smoother.
        closed: cyclic (closed contour) or open curve.

    Returns:
        ``(n, n) float64`` symmetric positive semi-definite matrix; each row sums to 0 (a shift costs nothing).

    Raises:
        TypeError: ``n`` is not an integer.
        ValueError: ``n < 3`` or a negative / non-finite weight.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"expected the number of points n as an int, got {type(n).__name__}")
    if n < 3:
        raise ValueError(f"a snake needs at least 3 points, got n={n}")
    alpha = _check_nonneg(alpha, "alpha")
    beta = _check_nonneg(beta, "beta")
    d1, d2 = _difference_matrices(int(n), bool(closed))
    return alpha * d1.T @ d1 + beta * d2.T @ d2


def internal_energy(snake: np.ndarray, alpha: float, beta: float, closed: bool = True) -> float:
    """The discrete internal energy ``1/2 tr(v^T A v)`` of a snake ``(N, 2)`` (pixels^2, unitless weights).

    Equals ``1/2 sum alpha |v_{i+1}-v_i|^2 + beta |v_{i+1}-2v_i+v_{i-1}|^2``; see :func:`internal_energy_matrix`.
    """
    v = _check_snake(snake)
    a = internal_energy_matrix(len(v), alpha, beta, closed)
    return float(0.5 * np.sum(v * (a @ v)))


# --------------------------------------------------------------------------------------------------
# image energy and external force
# --------------------------------------------------------------------------------------------------


def smooth_image(image: np.ndarray, sigma: float) -> np.ndarray:
    """Grey, float, Gaussian-smoothed version of ``image``: the ``G_sigma * I`` of the image energy.

    Args:
        image: ``(H, W)`` or ``(H, W, 3)`` array; integer images are scaled by their dtype's maximum
            (uint8: /255), float images are used as they are. RGB is turned to grey with
            ``skimage.color.rgb2gray`` (ITU-R BT.709 luma) -- float RGB is expected in ``[0, 1]``.
        sigma: standard deviation of the Gaussian in pixels (>= 0; 0 = no smoothing). Border: nearest.

    Returns:
        ``(H, W) float64``.

    Raises:
        TypeError / ValueError: not an array, wrong shape or dtype, non-finite values, negative sigma.
    """
    from skimage.color import rgb2gray
    from skimage.filters import gaussian
    from skimage.util import img_as_float64

    image = _check_image_array(image)
    sigma = _check_nonneg(sigma, "sigma")
    grey = img_as_float64(image) if np.issubdtype(image.dtype, np.integer) else image.astype(np.float64)
    if grey.ndim == 3:
        grey = rgb2gray(grey)
    if sigma > 0:
        grey = gaussian(grey, sigma=sigma, mode="nearest", preserve_range=True)
    return np.ascontiguousarray(grey, dtype=np.float64)


def image_energy(image: np.ndarray, sigma: float = 3.0, w_line: float = 0.0, w_edge: float = 1.0) -> np.ndarray:
    """Image energy ``E_image = -(w_line * I_s + w_edge * |grad I_s|)`` with ``I_s = G_sigma * I`` (grey).

    Low (negative) values attract the snake: edges of the smoothed image when ``w_edge > 0``, bright
    lines when ``w_line > 0`` (dark lines with ``w_line < 0``). ``|grad I_s|`` is scikit-image's Sobel
    magnitude (as in ``skimage.segmentation.active_contour``; Kass et al. use ``-|grad I|^2``).
    Signs follow scikit-image, so the same ``w_line``/``w_edge`` mean the same in both.

    Args:
        image: ``(H, W)`` or ``(H, W, 3)`` (see :func:`smooth_image`).
        sigma: Gaussian smoothing in pixels (>= 0); larger widens the capture range, blurs corners.
        w_line: weight of the intensity term (any finite number).
        w_edge: weight of the edge term (any finite number).

    Returns:
        ``(H, W) float64`` energy (unitless; intensities in [0, 1]).
    """
    from skimage.filters import sobel

    for value, name in ((w_line, "w_line"), (w_edge, "w_edge")):
        if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            raise ValueError(f"expected {name} to be a finite number, got {value!r}")
    grey = smooth_image(image, sigma)
    energy = np.zeros_like(grey)
    if w_line != 0:
        energy -= float(w_line) * grey
    if w_edge != 0:
        energy -= float(w_edge) * sobel(grey)
    return energy


def force_field(energy: np.ndarray) -> np.ndarray:
    """External force field ``f = -grad E`` of an energy image, by central differences (``np.gradient``).

    Args:
        energy: ``(H, W)`` float energy (e.g. from :func:`image_energy`).

    Returns:
        ``(H, W, 2) float64``; channel 0 is ``f_x = -dE/dx`` (along columns), channel 1 ``f_y = -dE/dy``
        (along rows), in energy units per pixel.
    """
    energy = np.asarray(energy, dtype=np.float64)
    if energy.ndim != 2 or min(energy.shape) < 2:
        raise ValueError(f"expected an (H, W) energy image with H, W >= 2, got shape {energy.shape}")
    d_row, d_col = np.gradient(energy)
    return np.stack([-d_col, -d_row], axis=-1)


def bilinear_sample(array: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of ``array`` at sub-pixel ``(x, y)`` points (clamped to the image).

    For ``x = j + a``, ``y = i + b`` (``0 <= a, b < 1``) the value is
    ``(1-a)(1-b) F[i, j] + a(1-b) F[i, j+1] + (1-a) b F[i+1, j] + a b F[i+1, j+1]``.

    Args:
        array: ``(H, W)`` or ``(H, W, C)`` values on the pixel grid.
        points: ``(N, 2)`` ``(x, y)`` coordinates in pixels; points outside are clamped to the border.

    Returns:
        ``(N,)`` or ``(N, C) float64``.
    """
    array = np.asarray(array, dtype=np.float64)
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) array to sample, got shape {array.shape}")
    pts = _check_snake(points, "points", min_points=1)
    h, w = array.shape[:2]
    x = np.clip(pts[:, 0], 0, w - 1)
    y = np.clip(pts[:, 1], 0, h - 1)
    j0 = np.clip(np.floor(x).astype(int), 0, max(w - 2, 0))
    i0 = np.clip(np.floor(y).astype(int), 0, max(h - 2, 0))
    a = x - j0
    b = y - i0
    j1 = np.minimum(j0 + 1, w - 1)
    i1 = np.minimum(i0 + 1, h - 1)
    if array.ndim == 3:
        a, b = a[:, None], b[:, None]
    return (
        (1 - a) * (1 - b) * array[i0, j0]
        + a * (1 - b) * array[i0, j1]
        + (1 - a) * b * array[i1, j0]
        + a * b * array[i1, j1]
    )


def external_force(field: np.ndarray, snake: np.ndarray) -> np.ndarray:
    """Force ``f(v) = -grad E_image(v)`` at the snake points: :func:`bilinear_sample` of :func:`force_field`.

    Args:
        field: ``(H, W, 2)`` force field (``f_x``, ``f_y``).
        snake: ``(N, 2)`` ``(x, y)`` points.

    Returns:
        ``(N, 2) float64`` forces ``(f_x, f_y)``.
    """
    field = np.asarray(field)
    if field.ndim != 3 or field.shape[2] != 2:
        raise ValueError(f"expected an (H, W, 2) force field, got shape {field.shape}")
    return bilinear_sample(field, snake)


class SplineForce:
    """Force ``-grad E`` read from an interpolating quadratic spline of the energy (scikit-image's way).

    scikit-image's ``active_contour`` fits ``scipy.interpolate.RectBivariateSpline`` (degree 2, no
    smoothing) to the energy and differentiates the spline at the snake points. Use it to reproduce
    scikit-image exactly; the default of this module is the simpler :func:`force_field` +
    :func:`bilinear_sample`.

    Args:
        energy: ``(H, W)`` energy image (e.g. :func:`image_energy`), H, W >= 3.

    Attributes:
        shape: ``(H, W)``.

    Calling it with ``(N, 2)`` ``(x, y)`` points returns the ``(N, 2) float64`` forces ``(f_x, f_y)``.
    """

    def __init__(self, energy: np.ndarray) -> None:
        from scipy.interpolate import RectBivariateSpline

        energy = np.asarray(energy, dtype=np.float64)
        if energy.ndim != 2 or min(energy.shape) < 3:
            raise ValueError(f"expected an (H, W) energy image with H, W >= 3, got shape {energy.shape}")
        self.shape = energy.shape
        h, w = energy.shape
        self._spline = RectBivariateSpline(np.arange(w), np.arange(h), energy.T, kx=2, ky=2, s=0)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        p = _check_snake(points, "points", min_points=1)
        fx = -self._spline(p[:, 0], p[:, 1], dx=1, grid=False)
        fy = -self._spline(p[:, 0], p[:, 1], dy=1, grid=False)
        return np.stack([fx, fy], axis=1)


# --------------------------------------------------------------------------------------------------
# user constraints (springs)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spring:
    """A user constraint spring ``E_con = weight / 2 * |v_index - target|^2``.

    ``index`` is the snake point it pulls, ``target`` the ``(x, y)`` position the user dragged it to
    (pixels), ``weight`` its stiffness (> 0, compare with ``gamma``: ``weight >> gamma`` pins the point).
    """

    index: int
    target: tuple[float, float]
    weight: float = 1.0


def _as_springs(constraints, n: int, shape: tuple[int, ...] | None) -> list[Spring]:
    springs = []
    for k, c in enumerate(constraints or ()):
        if not isinstance(c, Spring):
            try:
                index, target, *rest = c
            except (TypeError, ValueError):
                raise TypeError(
                    f"constraint {k}: expected a Spring or a tuple (index, (x, y), weight), got {c!r}"
                ) from None
            if len(rest) > 1:
                raise TypeError(f"constraint {k}: expected (index, (x, y)[, weight]), got {len(rest) + 2} items")
            c = Spring(index, tuple(target), rest[0] if rest else 1.0)
        if isinstance(c.index, bool) or not isinstance(c.index, (int, np.integer)):
            raise TypeError(f"constraint {k}: expected an integer snake index, got {c.index!r}")
        if not 0 <= int(c.index) < n:
            raise ValueError(f"constraint {k}: snake index {c.index} out of range for a snake of {n} points")
        target = _check_snake([c.target], f"constraint {k} target", min_points=1)
        if shape is not None:
            _check_inside(target, shape, f"constraint {k} target")
        weight = _check_positive(c.weight, f"constraint {k} weight")
        springs.append(Spring(int(c.index), (float(target[0, 0]), float(target[0, 1])), weight))
    return springs


def spring_terms(constraints: Sequence, n: int, shape: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Implicit terms of the constraint springs: ``grad E_con = W v - W p``.

    Args:
        constraints: Springs or tuples ``(index, (x, y), weight)`` (weight optional, default 1).
        n: number of snake points.
        shape: image shape ``(H, W[, C])``; when given, targets outside the image raise ValueError.

    Returns:
        ``weights (n,)`` (the diagonal of ``W``: summed spring weights per point) and ``pull (n, 2)``
        (``W p``: summed ``weight * target`` per point).

    Raises:
        TypeError / ValueError: malformed constraint, index out of range, weight <= 0, target outside.
    """
    springs = _as_springs(constraints, n, shape)
    weights = np.zeros(n)
    pull = np.zeros((n, 2))
    for s in springs:
        weights[s.index] += s.weight
        pull[s.index] += s.weight * np.asarray(s.target)
    return weights, pull


# --------------------------------------------------------------------------------------------------
# the semi-implicit solver
# --------------------------------------------------------------------------------------------------


def semi_implicit_inverse(
    a: np.ndarray, gamma: float, spring_weights: np.ndarray | None = None, fixed_ends: bool = False
) -> np.ndarray:
    """The inverse of the semi-implicit system matrix ``gamma I + A + diag(spring_weights)``.

    It is computed once per snake (``A`` does not change), then each step is a matrix-vector product.
    With ``fixed_ends`` the first and last rows become ``gamma e_i`` so that the end points stay where
    they are (Dirichlet boundary condition of an open snake).

    Args:
        a: ``(n, n)`` internal energy matrix.
        gamma: viscosity / inverse time step (> 0); larger means smaller steps.
        spring_weights: optional ``(n,)`` diagonal of the spring matrix ``W``.
        fixed_ends: pin the first and last point.

    Returns:
        ``(n, n) float64``.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"expected a square (n, n) matrix A, got shape {a.shape}")
    gamma = _check_positive(gamma, "gamma")
    n = a.shape[0]
    m = a + gamma * np.eye(n)
    if spring_weights is not None:
        spring_weights = np.asarray(spring_weights, dtype=np.float64)
        if spring_weights.shape != (n,):
            raise ValueError(f"expected spring_weights of shape ({n},), got {spring_weights.shape}")
        m[np.diag_indices(n)] += spring_weights
    if fixed_ends:
        for i in (0, n - 1):
            m[i, :] = 0.0
            m[i, i] = gamma
    return np.linalg.inv(m)


def snake_step(
    snake: np.ndarray,
    system_inverse: np.ndarray,
    external_force: np.ndarray,
    gamma: float,
    max_px_move: float | None = None,
) -> np.ndarray:
    """One semi-implicit Euler step ``(gamma I + A) v_t = gamma v_{t-1} + f(v_{t-1})`` (Kass et al. 1988).

    Args:
        snake: ``(N, 2)`` current points ``v_{t-1}``, ``(x, y)`` pixels.
        system_inverse: ``(N, N)`` inverse of ``gamma I + A`` (plus springs), see :func:`semi_implicit_inverse`.
        external_force: ``(N, 2)`` right-hand-side force: the image force ``f(v_{t-1})`` (plus ``W p`` for
            springs).
        gamma: the same viscosity (> 0) used to build ``system_inverse``.
        max_px_move: if given (> 0), cap the move of each coordinate smoothly to this many pixels with
            ``max_px_move * tanh(v_t - v_{t-1})`` (the stabiliser scikit-image uses); None: plain Kass step.

    Returns:
        ``(N, 2) float64`` new points ``v_t``.
    """
    v = _check_snake(snake)
    n = len(v)
    inv = np.asarray(system_inverse, dtype=np.float64)
    if inv.shape != (n, n):
        raise ValueError(f"expected system_inverse of shape ({n}, {n}) for a snake of {n} points, got {inv.shape}")
    f = np.asarray(external_force, dtype=np.float64)
    if f.shape != (n, 2):
        raise ValueError(f"expected external_force of shape ({n}, 2), got {f.shape}")
    gamma = _check_positive(gamma, "gamma")
    new = inv @ (gamma * v + f)
    if max_px_move is not None:
        max_px_move = _check_positive(max_px_move, "max_px_move")
        new = v + max_px_move * np.tanh(new - v)
    return new


def snake_iterations(
    field: np.ndarray,
    init: np.ndarray,
    alpha: float = 0.01,
    beta: float = 0.1,
    gamma: float = 0.01,
    max_iterations: int = 2500,
    convergence: float = 0.1,
    constraints: Sequence | None = None,
    boundary_condition: str = "periodic",
    max_px_move: float | None = 1.0,
    convergence_window: int = 10,
) -> Iterator[np.ndarray]:
    """Evolve a snake in a precomputed force field; yields the snake after every iteration.

    The generator stops after ``max_iterations`` steps or when the snake has converged. As in
    scikit-image, every ``convergence_window + 1``-th iteration the snake is compared with the
    ``convergence_window`` snakes before it; it has converged when it is within ``convergence`` pixels
    (largest ``|dx| + |dy|`` over its points) of any of them (several past snakes catch oscillations).

    Args:
        field: ``(H, W, 2)`` force field ``-grad E_image`` (:func:`force_field`), sampled bilinearly, or a
            :class:`SplineForce`.
        init: ``(N, 2)`` initial ``(x, y)`` points inside the image, N >= 3; closed snakes must not repeat
            the first point at the end.
        alpha, beta: elasticity and rigidity (>= 0), see :func:`internal_energy_matrix`.
        gamma: viscosity (> 0): the step is about ``1 / gamma`` times the force.
        max_iterations: number of steps at most (>= 1).
        convergence: displacement threshold in pixels (>= 0; 0 never stops early).
        constraints: Springs / ``(index, (x, y), weight)`` tuples (E_con), targets inside the image.
        boundary_condition: ``"periodic"`` (closed contour), ``"free"`` or ``"fixed"`` (open curve with free
            or pinned end points).
        max_px_move: per-iteration cap in pixels (see :func:`snake_step`), None for none.
        convergence_window: number of past snakes compared for convergence (>= 1).

    Yields:
        ``(N, 2) float64`` snake after each iteration (a new array each time). Points are kept inside the image.
    """
    if isinstance(field, SplineForce):
        force, (h, w) = field, field.shape
    else:
        field = np.asarray(field, dtype=np.float64)
        if field.ndim != 3 or field.shape[2] != 2:
            raise ValueError(f"expected an (H, W, 2) force field or a SplineForce, got shape {field.shape}")
        h, w = field.shape[:2]

        def force(points: np.ndarray) -> np.ndarray:
            return external_force(field, points)

    bc = _check_boundary(boundary_condition)
    v = _check_snake(init, "init")
    _check_inside(v, (h, w), "the initial snake")
    n = len(v)
    if bc == "periodic" and np.allclose(v[0], v[-1]):
        raise ValueError(
            "the initial closed snake repeats its first point at the end; drop the last point (init[:-1])"
        )
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, (int, np.integer)):
        raise TypeError(f"expected max_iterations as an int, got {type(max_iterations).__name__}")
    if max_iterations < 1:
        raise ValueError(f"expected max_iterations >= 1, got {max_iterations}")
    if isinstance(convergence_window, bool) or not isinstance(convergence_window, (int, np.integer)) \
            or convergence_window < 1:
        raise ValueError(f"expected convergence_window to be an int >= 1, got {convergence_window!r}")
    convergence = _check_nonneg(convergence, "convergence")
    gamma = _check_positive(gamma, "gamma")
    if max_px_move is not None:
        max_px_move = _check_positive(max_px_move, "max_px_move")

    a = internal_energy_matrix(n, alpha, beta, closed=(bc == "periodic"))
    weights, pull = spring_terms(constraints or (), n, (h, w))
    inv = semi_implicit_inverse(a, gamma, weights, fixed_ends=(bc == "fixed"))
    saved: list[np.ndarray] = []
    for i in range(int(max_iterations)):
        f = force(v) + pull
        if bc == "fixed":
            f[[0, -1]] = 0.0
        new = snake_step(v, inv, f, gamma, max_px_move)
        if bc == "fixed":
            new[[0, -1]] = v[[0, -1]]
        new[:, 0] = np.clip(new[:, 0], 0, w - 1)
        new[:, 1] = np.clip(new[:, 1], 0, h - 1)
        v = new
        yield v.copy()
        # Stopping rule (the one scikit-image uses, so both stop alike): remember `convergence_window`
        # snakes, then on the next iteration compare with all of them; a snake may oscillate, so it has
        # converged when it is close to ANY remembered one: max over points of |dx| + |dy| < convergence.
        if i % (convergence_window + 1) < convergence_window:
            saved = saved[-(convergence_window - 1):] if convergence_window > 1 else []
            saved.append(v)
        elif convergence > 0:
            moved = min(float(np.max(np.abs(v - old).sum(axis=1))) for old in saved)
            if moved < convergence:
                return


def active_contour(
    image: np.ndarray,
    init: np.ndarray,
    alpha: float = 0.01,
    beta: float = 0.1,
    gamma: float = 0.01,
    w_line: float = 0.0,
    w_edge: float = 1.0,
    sigma: float = 3.0,
    max_iterations: int = 2500,
    convergence: float = 0.1,
    constraints: Sequence | None = None,
    boundary_condition: str = "periodic",
    max_px_move: float | None = 1.0,
    interpolation: str = "bilinear",
    return_history: bool = False,
):
    """Fit a snake to an image (Kass, Witkin & Terzopoulos 1988) with the semi-implicit scheme.

    Builds ``E_image`` (:func:`image_energy`), its force field (:func:`force_field`), then iterates
    :func:`snake_step` (:func:`snake_iterations`) until convergence or ``max_iterations``.

    Args:
        image: ``(H, W)`` or ``(H, W, 3)`` image (uint8 or float in [0, 1]).
        init: ``(N, 2)`` initial snake, **(x, y) = (column, row)** pixels inside the image, N >= 3.
        alpha: elasticity (>= 0). beta: rigidity (>= 0). gamma: viscosity (> 0).
        w_line, w_edge: image-energy weights (see :func:`image_energy`). sigma: smoothing in pixels.
        max_iterations: at most this many steps. convergence: stop threshold in pixels.
        constraints: user springs: :class:`Spring` or ``(index, (x, y), weight)``.
        boundary_condition: ``"periodic"``, ``"free"`` or ``"fixed"``.
        max_px_move: per-iteration move cap in pixels (scikit-image's default 1.0), None for none.
        interpolation: how the force is read between pixels: ``"bilinear"`` (central-difference gradient,
            bilinear sampling; the default) or ``"spline"`` (derivative of a quadratic spline of the
            energy, as scikit-image does: then the result matches ``skimage.segmentation.active_contour``
            on the same smoothed grey image to round-off).
        return_history: also return the list of snakes, one per iteration.

    Returns:
        The final snake ``(N, 2) float64`` (x, y); with ``return_history`` a tuple ``(snake, history)``
        where ``history`` is a list of ``(N, 2)`` arrays, ``history[0]`` being ``init``.

    Raises:
        TypeError / ValueError: bad image, too few points, wrong shapes, points or spring targets outside
        the image, invalid parameters or boundary condition.

    Example:
        >>> snake = active_contour(image, circle_contour((cx, cy), r, 200), alpha=0.015, beta=10, gamma=0.001)
    """
    image = _check_image_array(image)
    init = _check_snake(init, "init")
    _check_inside(init, image.shape, "the initial snake")
    if interpolation not in ("bilinear", "spline"):
        raise ValueError(f"unknown interpolation {interpolation!r}; expected 'bilinear' or 'spline'")
    energy = image_energy(image, sigma, w_line, w_edge)
    field = force_field(energy) if interpolation == "bilinear" else SplineForce(energy)
    snake = init.copy()
    history = [init.copy()] if return_history else None
    for snake in snake_iterations(field, init, alpha, beta, gamma, max_iterations, convergence, constraints,
                                  boundary_condition, max_px_move):
        if history is not None:
            history.append(snake)
    return (snake, history) if return_history else snake


# --------------------------------------------------------------------------------------------------
# contours <-> masks, initial contours
# --------------------------------------------------------------------------------------------------


def snake_to_mask(snake: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Rasterise the inside of a closed snake: pixels whose centre lies inside the polygon.

    Scan-line fill with the even-odd rule: for each image row ``y`` the polygon edges crossing that row
    are intersected with it, and the columns between consecutive crossings (``x_a <= x < x_b``) are
    filled. The half-open rule keeps the filled area unbiased (a pixel centre exactly on a right or
    bottom border is outside, on a left or top border inside). Away from such ties it equals
    ``matplotlib.path.Path.contains_points`` and ``skimage.draw.polygon`` (which also counts centres on
    the border in). Cost: O(rows x N), milliseconds for a 200-point snake.

    Args:
        snake: ``(N, 2)`` closed contour, ``(x, y)`` pixels, N >= 3 (the first point is not repeated).
        shape: ``(H, W)`` or ``(H, W, C)`` of the image.

    Returns:
        ``(H, W) bool`` mask (parts of the polygon outside the image are cut off).
    """
    v = _check_snake(snake)
    if len(shape) < 2 or int(shape[0]) < 1 or int(shape[1]) < 1:
        raise ValueError(f"expected an image shape (H, W[, C]) with H, W >= 1, got {shape}")
    h, w = int(shape[0]), int(shape[1])
    mask = np.zeros((h, w), dtype=bool)
    x0, y0 = v[:, 0], v[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    r_lo, r_hi = max(int(np.ceil(y0.min())), 0), min(int(np.floor(y0.max())), h - 1)
    if r_lo > r_hi:
        return mask
    rows = np.arange(r_lo, r_hi + 1, dtype=np.float64)[:, None]  # (R, 1) pixel-centre rows
    crosses = (y0 > rows) != (y1 > rows)  # (R, N): the edge spans this row (half-open in y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = x0 + (rows - y0) * (x1 - x0) / (y1 - y0)
    xc = np.sort(np.where(crosses, xc, np.inf), axis=1)  # crossings left to right, then inf padding
    k = xc.shape[1] // 2  # rows cross an even number of edges: pair them up
    starts, ends = xc[:, 0 : 2 * k : 2], xc[:, 1 : 2 * k : 2]
    valid = np.isfinite(starts) & np.isfinite(ends)
    r_idx = np.broadcast_to(np.arange(len(rows))[:, None], starts.shape)[valid]
    c_start = np.clip(np.ceil(starts[valid]), 0, w).astype(int)  # first column with x >= x_a
    c_end = np.clip(np.ceil(ends[valid]), 0, w).astype(int)  # first column with x >= x_b (excluded)
    diff = np.zeros((len(rows), w + 1), dtype=np.int32)
    np.add.at(diff, (r_idx, c_start), 1)
    np.add.at(diff, (r_idx, c_end), -1)
    mask[r_lo : r_hi + 1] = np.cumsum(diff[:, :w], axis=1) > 0
    return mask


def ellipse_contour(center: tuple[float, float], radii: tuple[float, float], n: int = 200) -> np.ndarray:
    """``n`` points on an axis-aligned ellipse, ``(x, y)``, counter-clockwise on screen, no repeated end point."""
    if n < 3:
        raise ValueError(f"a contour needs at least 3 points, got n={n}")
    cx, cy = (float(c) for c in center)
    rx, ry = (_check_positive(r, "radius") for r in radii)
    t = np.linspace(0, 2 * np.pi, int(n), endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def circle_contour(center: tuple[float, float], radius: float, n: int = 200) -> np.ndarray:
    """``n`` points on a circle of ``radius`` pixels around ``center`` ``(x, y)``; shape ``(n, 2)``."""
    return ellipse_contour(center, (radius, radius), n)


def resample_contour(points: np.ndarray, n: int, closed: bool = True) -> np.ndarray:
    """Resample a polyline / polygon to ``n`` points equally spaced by arc length; ``(n, 2)`` (x, y).

    Raises ValueError when it has fewer than 2 points or zero length.
    """
    p = _check_snake(points, "contour", min_points=2)
    if n < 3:
        raise ValueError(f"a contour needs at least 3 points, got n={n}")
    if closed and not np.allclose(p[0], p[-1]):
        p = np.vstack([p, p[:1]])
    seg = np.hypot(*np.diff(p, axis=0).T)
    length = float(seg.sum())
    if length <= 0:
        raise ValueError("the contour has zero length")
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, length, int(n), endpoint=not closed)
    return np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], axis=1)


def box_contour(box: Box, n: int = 200) -> np.ndarray:
    """The border of a :class:`~iseg_course.interactions.Box` as ``n`` equally spaced ``(x, y)`` points."""
    corners = [(box.x0, box.y0), (box.x1, box.y0), (box.x1, box.y1), (box.x0, box.y1)]
    return resample_contour(np.asarray(corners), n, closed=True)


# --------------------------------------------------------------------------------------------------
# Segmenter
# --------------------------------------------------------------------------------------------------


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
        internal_energy_matrix(3, alpha, beta)  # validates alpha, beta
        self.alpha, self.beta = float(alpha), float(beta)
        self.gamma = _check_positive(gamma, "gamma")
        self.w_line, self.w_edge = float(w_line), float(w_edge)
        self.sigma = _check_nonneg(sigma, "sigma")
        if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 3:
            raise ValueError(f"expected n_points to be an int >= 3, got {n_points!r}")
        self.n_points = int(n_points)
        self.max_iterations = int(max_iterations)
        self.convergence = _check_nonneg(convergence, "convergence")
        self.spring_weight = _check_positive(spring_weight, "spring_weight")
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
