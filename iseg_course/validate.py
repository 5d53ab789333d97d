"""Validated numbers: the one place that turns a user's argument into a checked ``float`` or ``int``.

Every public function that takes a radius, a sigma, a count or a weight checks it here, so a wrong value
gets the same clear message everywhere ("expected sigma > 0 (pixels), got -1.0") instead of a NumPy
error deep inside the computation.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["number", "integer"]


def _limits(v: float, name: str, minimum, maximum, strict: bool, unit: str, got) -> None:
    suffix = f" ({unit})" if unit else ""
    if minimum is not None and (v <= minimum if strict else v < minimum):
        raise ValueError(f"expected {name} {'>' if strict else '>='} {minimum}{suffix}, got {got}")
    if maximum is not None and v > maximum:
        raise ValueError(f"expected {name} <= {maximum}{suffix}, got {got}")


def number(value, name: str, minimum: float | None = None, maximum: float | None = None, *,
           strict: bool = False, unit: str = "") -> float:
    """Check that ``value`` is a finite real number within the given limits; return it as ``float``.

    Args:
        value: the argument to check (Python or NumPy number; ``bool`` is refused).
        name: the argument's name, used in the message (e.g. ``"sigma"``).
        minimum: lower limit, inclusive (exclusive with ``strict=True``); None for no limit.
        maximum: upper limit, inclusive; None for no limit.
        strict: make ``minimum`` exclusive (``> minimum``).
        unit: shown after the limit in the message, e.g. ``"pixels"``.

    Raises:
        TypeError: ``value`` is not a real number.
        ValueError: it is NaN or infinite, or outside the limits.

    Used by iseg_course.classical, iseg_course.guidance, iseg_course.robot, iseg_course.models and
    iseg_course.widgets.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"expected {name} as a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"expected a finite {name}, got {value}")
    _limits(v, name, minimum, maximum, strict, unit, value)
    return v


def integer(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """Check that ``value`` is an integer (Python or NumPy, not ``bool``) within the limits; return an ``int``.

    Raises:
        TypeError: ``value`` is not an integer (a float such as ``3.0`` is refused too).
        ValueError: it is outside ``[minimum, maximum]``.

    Used by iseg_course.classical, iseg_course.guidance and iseg_course.robot.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"expected {name} as an int, got {type(value).__name__}")
    _limits(int(value), name, minimum, maximum, False, "", value)
    return int(value)
