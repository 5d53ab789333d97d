"""User constraints: springs ``E_con = sum_k w_k / 2 * |v_{i_k} - p_k|^2`` that pull snake points to targets.

The springs are quadratic in the snake points, like ``E_int``, so the solver treats them implicitly
(:func:`spring_terms` gives the diagonal ``W`` and the pull ``W p``): any spring weight is then stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...validate import number
from ._checks import _check_inside, _check_snake

__all__ = ["Spring", "spring_terms"]


@dataclass(frozen=True)
class Spring:
    """A user constraint spring ``E_con = weight / 2 * |v_index - target|^2``.

    ``index`` is the snake point it pulls, ``target`` the ``(x, y)`` position the user dragged it to
    (pixels), ``weight`` its stiffness (> 0, compare with ``gamma``: ``weight >> gamma`` pins the point).

    Used in lesson 01.
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
        weight = number(c.weight, f"constraint {k} weight", 0, strict=True)
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

    Used by :func:`~iseg_course.classical.snakes.snake_iterations` (lesson 01, the springs of SnakeSegmenter's clicks).
    """
    springs = _as_springs(constraints, n, shape)
    weights = np.zeros(n)
    pull = np.zeros((n, 2))
    for s in springs:
        weights[s.index] += s.weight
        pull[s.index] += s.weight * np.asarray(s.target)
    return weights, pull
