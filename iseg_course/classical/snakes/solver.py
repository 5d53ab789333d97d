"""The semi-implicit snake solver (Kass, Witkin & Terzopoulos 1988) and :func:`active_contour`.

Each step solves ``(gamma I + A + W) v_t = gamma v_{t-1} + f(v_{t-1}) + W p``: the internal forces (matrix
``A``) and the springs (``W``, ``p``) implicitly, the image force ``f`` explicitly, with viscosity
``gamma``. The matrix is inverted once per snake (:func:`semi_implicit_inverse`); every step is then a
matrix-vector product (:func:`snake_step`), repeated until the snake stops moving
(:func:`snake_iterations`).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from ...validate import integer, number
from ._checks import _check_image_array, _check_inside, _check_snake
from .constraints import spring_terms
from .energy import SplineForce, external_force, force_field, image_energy, internal_energy_matrix

#: ``"periodic"``: closed contour; ``"free"`` / ``"fixed"``: open curve with free or pinned end points
BOUNDARY_CONDITIONS = ("periodic", "free", "fixed")

__all__ = [
    "BOUNDARY_CONDITIONS",
    "semi_implicit_inverse",
    "snake_step",
    "snake_iterations",
    "active_contour",
]


def _check_boundary(boundary_condition: str) -> str:
    if boundary_condition not in BOUNDARY_CONDITIONS:
        raise ValueError(f"unknown boundary_condition {boundary_condition!r}; expected one of {BOUNDARY_CONDITIONS}")
    return boundary_condition


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

    Used in lesson 01.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"expected a square (n, n) matrix A, got shape {a.shape}")
    gamma = number(gamma, "gamma", 0, strict=True)
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

    Used in lesson 01.
    """
    v = _check_snake(snake)
    n = len(v)
    inv = np.asarray(system_inverse, dtype=np.float64)
    if inv.shape != (n, n):
        raise ValueError(f"expected system_inverse of shape ({n}, {n}) for a snake of {n} points, got {inv.shape}")
    f = np.asarray(external_force, dtype=np.float64)
    if f.shape != (n, 2):
        raise ValueError(f"expected external_force of shape ({n}, 2), got {f.shape}")
    gamma = number(gamma, "gamma", 0, strict=True)
    new = inv @ (gamma * v + f)
    if max_px_move is not None:
        max_px_move = number(max_px_move, "max_px_move", 0, strict=True, unit="pixels")
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

    Used by :func:`active_contour` and :class:`~iseg_course.classical.snakes.SnakeSegmenter` (lesson 01).
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
    max_iterations = integer(max_iterations, "max_iterations", 1)
    convergence_window = integer(convergence_window, "convergence_window", 1)
    convergence = number(convergence, "convergence", 0, unit="pixels")
    gamma = number(gamma, "gamma", 0, strict=True)
    if max_px_move is not None:
        max_px_move = number(max_px_move, "max_px_move", 0, strict=True, unit="pixels")

    a = internal_energy_matrix(n, alpha, beta, closed=(bc == "periodic"))
    weights, pull = spring_terms(constraints or (), n, (h, w))
    inv = semi_implicit_inverse(a, gamma, weights, fixed_ends=(bc == "fixed"))
    saved: list[np.ndarray] = []
    for i in range(max_iterations):
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

    Used in lesson 01.
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
