"""The energies of a snake and the forces they exert (Kass, Witkin & Terzopoulos 1988).

* internal energy ``E_int``: the elasticity/rigidity matrix ``A`` (:func:`internal_energy_matrix`);
* image energy ``E_image`` (:func:`smooth_image`, :func:`image_energy`) and its force ``f = -grad E_image``
  read at the snake points, either bilinearly (:func:`force_field`, :func:`bilinear_sample`,
  :func:`external_force`) or from a quadratic spline as scikit-image does (:class:`SplineForce`).

The user constraints ``E_con`` are in :mod:`.constraints`.
"""

from __future__ import annotations

import numpy as np

from ...validate import integer, number
from ._checks import _check_image_array, _check_snake

__all__ = [
    "internal_energy_matrix",
    "internal_energy",
    "smooth_image",
    "image_energy",
    "force_field",
    "bilinear_sample",
    "external_force",
    "SplineForce",
]


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

    Used in lesson 01.
    """
    n = integer(n, "the number of points n")
    if n < 3:
        raise ValueError(f"a snake needs at least 3 points, got n={n}")
    alpha = number(alpha, "alpha", 0)
    beta = number(beta, "beta", 0)
    d1, d2 = _difference_matrices(n, bool(closed))
    return alpha * d1.T @ d1 + beta * d2.T @ d2


def internal_energy(snake: np.ndarray, alpha: float, beta: float, closed: bool = True) -> float:
    """The discrete internal energy ``1/2 tr(v^T A v)`` of a snake ``(N, 2)`` (pixels^2, unitless weights).

    Equals ``1/2 sum alpha |v_{i+1}-v_i|^2 + beta |v_{i+1}-2v_i+v_{i-1}|^2``; see :func:`internal_energy_matrix`.

    Not used in a lesson yet (tests/test_snakes.py checks ``A v`` against its gradient).
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

    Used in lesson 01.
    """
    from skimage.color import rgb2gray
    from skimage.filters import gaussian
    from skimage.util import img_as_float64

    image = _check_image_array(image)
    sigma = number(sigma, "sigma", 0, unit="pixels")
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

    Used in lesson 01.
    """
    from skimage.filters import sobel

    w_line = number(w_line, "w_line")
    w_edge = number(w_edge, "w_edge")
    grey = smooth_image(image, sigma)
    energy = np.zeros_like(grey)
    if w_line != 0:
        energy -= w_line * grey
    if w_edge != 0:
        energy -= w_edge * sobel(grey)
    return energy


def force_field(energy: np.ndarray) -> np.ndarray:
    """External force field ``f = -grad E`` of an energy image, by central differences (``np.gradient``).

    Args:
        energy: ``(H, W)`` float energy (e.g. from :func:`image_energy`).

    Returns:
        ``(H, W, 2) float64``; channel 0 is ``f_x = -dE/dx`` (along columns), channel 1 ``f_y = -dE/dy``
        (along rows), in energy units per pixel.

    Used in lesson 01.
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

    Used by :func:`external_force` (lesson 01).
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

    Used in lesson 01.
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

    Used in lesson 01 (through ``active_contour(..., interpolation="spline")``).
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
