"""Input checks shared by the snake modules: snakes as ``(N, 2)`` (x, y) arrays, images, points inside."""

from __future__ import annotations

import numpy as np


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
