"""Implicit guidance signals: the interactions act on the model's training or input, not as extra maps.

* A loss that weighs pixels near the clicks more (:func:`click_weight_map` with :func:`weighted_bce`):
  nothing is fed to the model, but mistakes near the clicks cost more, which pushes the model to
  "listen" to them (the lecture's example; iW-Net uses its attraction field the same way).
* A crop around a box (:func:`box_crop`): the model only sees the region, resized to its working size.
  :class:`CropWindow` is the one mapping between image pixels and the crop's working grid, both ways:
  points (:meth:`CropWindow.to_crop`, :meth:`CropWindow.to_image`), images and masks
  (:meth:`CropWindow.crop`), predictions (:meth:`CropWindow.uncrop`, and
  :meth:`CropWindow.uncrop_torch` for a model's logits). The Zoom-In box (:func:`zoom_in_box`) serves the
  click model (:mod:`iseg_course.models.click`) and the SAM-style model (:mod:`iseg_course.models.sam`).

References: Maninis et al., "Deep Extreme Cut (DEXTR)", CVPR 2018 (box crop relaxed by 50 pixels, resized to
512 x 512); Aresta et al., "iW-Net", Scientific Reports 2019 (click-weighted loss); Sofiiuk et al., "Reviving
Iterative Training with Mask Guidance for Interactive Segmentation" (RITM), ICIP 2022 (Zoom-In).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..interactions import Box
from ..validate import number
from .explicit import gaussian_heatmap

__all__ = ["click_weight_map", "weighted_bce", "CropWindow", "box_crop", "box_uncrop", "zoom_in_box"]


# --------------------------------------------------------------------------------------------------------
# click-weighted loss
# --------------------------------------------------------------------------------------------------------


def click_weight_map(points: Any, shape: tuple[int, ...], *, weight: float = 4.0, sigma: float = 20.0,
                     positive: bool | None = None) -> np.ndarray:
    """Per-pixel loss weights that grow near the interactions: ``1 + weight * gaussian_heatmap(sigma)``.

    An *implicit* guidance signal: nothing is fed to the model, but mistakes near the clicks cost
    ``1 + weight`` times more in the training loss, which pushes the model to "listen" to them (the
    lecture's example; iW-Net uses its attraction field the same way). Use with :func:`weighted_bce`.

    Returns ``(H, W) float32`` in [1, 1 + weight] (all 1 without seeds). Raises ValueError for
    ``weight < 0`` or ``sigma <= 0``.

    Used in lesson 04.
    """
    weight = number(weight, "weight", minimum=0)
    return (1.0 + weight * gaussian_heatmap(points, shape, sigma, positive=positive)).astype(np.float32)


def weighted_bce(prob: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None, *,
                 eps: float = 1e-6) -> float:
    """Weighted binary cross-entropy ``sum w * bce / sum w`` (a per-pixel loss weighted by a weight map).

    ``prob``: ``(H, W)`` probabilities in [0, 1]; ``target``: ``(H, W)`` bool/{0, 1}; ``weights``: ``(H, W)``
    >= 0 (None: all 1, the plain mean BCE). Probabilities are clipped to ``[eps, 1 - eps]``.
    Returns a float (nats per pixel). Raises ValueError for mismatched shapes or values out of range.

    Used in lesson 04.
    """
    p = np.asarray(prob, dtype=np.float64)
    t = np.asarray(target).astype(np.float64)
    if p.shape != t.shape or p.ndim != 2:
        raise ValueError(f"prob {p.shape} and target {t.shape} must be the same (H, W) shape")
    if np.any((p < 0) | (p > 1)) or not np.all(np.isin(t, (0.0, 1.0))):
        raise ValueError("prob must lie in [0, 1] and target be binary")
    wm = np.ones_like(p) if weights is None else np.asarray(weights, dtype=np.float64)
    if wm.shape != p.shape or np.any(wm < 0) or wm.sum() <= 0:
        raise ValueError(f"weights must be an (H, W) = {p.shape} map of values >= 0 with a positive sum")
    p = np.clip(p, eps, 1 - eps)
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    return float((wm * bce).sum() / wm.sum())


# --------------------------------------------------------------------------------------------------------
# the crop window: image pixels <-> the crop's working grid
# --------------------------------------------------------------------------------------------------------

_CV2_FLAGS = {"linear": "INTER_LINEAR", "area": "INTER_AREA", "nearest": "INTER_NEAREST"}


def _size2(size: int | tuple[int, int]) -> tuple[int, int]:
    s = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(s) != 2 or any(int(v) != v or v < 1 for v in s):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return int(s[0]), int(s[1])


def _interpolation_flag(interpolation: str, allowed: tuple[str, ...]) -> int:
    import cv2

    if interpolation not in allowed:
        names = ", ".join(repr(a) for a in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ValueError(f"interpolation must be {names}, got {interpolation!r}")
    return getattr(cv2, _CV2_FLAGS[interpolation])


@dataclass(frozen=True)
class CropWindow:
    """Where a crop came from, and the mapping between image pixels and the crop's working grid.

    Rows ``y0:y1`` and columns ``x0:x1`` (end exclusive) of an image of ``image_shape`` ``(H, W)``, resized
    to ``size`` ``(h, w)``: one working-grid pixel spans ``1 / sy`` image rows and ``1 / sx`` image columns
    (``sy = h / (y1 - y0)``, ``sx = w / (x1 - x0)``). Pixel centres map onto pixel centres, as in
    ``cv2.resize`` and ``F.interpolate(..., align_corners=False)``: ``x_crop = (x - x0 + 0.5) * sx - 0.5``.

    * points: :meth:`to_crop` and :meth:`to_image` (``(x, y)`` scalars or arrays, clipped to the grid);
    * arrays: :meth:`crop` (image or mask -> working grid), :meth:`uncrop` (a prediction on the grid ->
      ``(H, W)``, 0 outside the window) and :meth:`uncrop_torch` (the same for a model's output tensor).

    Build one with :meth:`around` (a box plus a margin) or get it from :func:`box_crop`.

    Used in lessons 04, 07 (returned by ``box_crop``); also by iseg_course.models.click.
    """

    y0: int
    y1: int
    x0: int
    x1: int
    image_shape: tuple[int, int]
    size: tuple[int, int]

    @classmethod
    def around(cls, box: Box, image_shape: tuple[int, ...], *, margin: float = 20.0,
               size: int | tuple[int, int] = 256) -> "CropWindow":
        """The window of a box with ``margin`` pixels on each side (clipped at the image border), resized to
        ``size`` (``(h, w)`` or an int for a square). Raises ValueError for a box outside an image of
        ``image_shape``, a negative margin or a bad size; TypeError when ``box`` is not a Box."""
        if not isinstance(box, Box):
            raise TypeError(f"box must be a Box, got {type(box).__name__}")
        h, w = int(image_shape[0]), int(image_shape[1])
        box.validate((h, w))
        margin = number(margin, "margin", minimum=0, unit="pixels")
        oh, ow = _size2(size)
        y0 = max(int(math.floor(box.y0 - margin)), 0)
        x0 = max(int(math.floor(box.x0 - margin)), 0)
        y1 = min(int(math.ceil(box.y1 + margin)) + 1, h)
        x1 = min(int(math.ceil(box.x1 + margin)) + 1, w)
        return cls(y0, y1, x0, x1, (h, w), (oh, ow))

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices of the window in the image."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def window_shape(self) -> tuple[int, int]:
        """``(y1 - y0, x1 - x0)``: the window's size in image pixels."""
        return self.y1 - self.y0, self.x1 - self.x0

    @property
    def scale(self) -> tuple[float, float]:
        """``(sy, sx)``: working-grid pixels per image pixel, along the rows and the columns."""
        return self.size[0] / (self.y1 - self.y0), self.size[1] / (self.x1 - self.x0)

    def to_crop(self, x, y):
        """Image pixel ``(x, y)`` -> working-grid ``(x, y)``: ``(x - x0 + 0.5) * sx - 0.5`` (same for y),
        clipped to ``[0, w - 1] x [0, h - 1]``. Scalars give floats, arrays arrays."""
        sy, sx = self.scale
        h, w = self.size
        cx = np.clip((x - self.x0 + 0.5) * sx - 0.5, 0, w - 1)
        cy = np.clip((y - self.y0 + 0.5) * sy - 0.5, 0, h - 1)
        return (float(cx), float(cy)) if np.ndim(cx) == 0 and np.ndim(cy) == 0 else (cx, cy)

    def to_image(self, x, y):
        """Working-grid ``(x, y)`` -> image pixel ``(x, y)``: ``(x + 0.5) / sx - 0.5 + x0`` (same for y), the
        inverse of :meth:`to_crop`, clipped to the window ``[x0, x1 - 1] x [y0, y1 - 1]``."""
        sy, sx = self.scale
        ix = np.clip((x + 0.5) / sx - 0.5 + self.x0, self.x0, self.x1 - 1)
        iy = np.clip((y + 0.5) / sy - 0.5 + self.y0, self.y0, self.y1 - 1)
        return (float(ix), float(iy)) if np.ndim(ix) == 0 and np.ndim(iy) == 0 else (ix, iy)

    def crop(self, array: np.ndarray, *, interpolation: str = "linear") -> np.ndarray:
        """The window of ``array`` (``(H, W)`` or ``(H, W, C)`` = the image's size) resized to ``size``.

        ``interpolation``: ``"linear"`` (images, probabilities), ``"area"`` (pixel-area averaging: no
        aliasing when the crop is shrunk) or ``"nearest"`` (label masks). Returns ``size`` (+ channels),
        in the array's dtype (bool masks stay bool). Raises ValueError for an array of another size.
        """
        import cv2

        a = np.asarray(array)
        if a.ndim not in (2, 3) or a.shape[:2] != tuple(self.image_shape):
            raise ValueError(f"array has shape {a.shape}, expected {tuple(self.image_shape)} (+ channels)")
        flag = _interpolation_flag(interpolation, ("linear", "area", "nearest"))
        region = a[self.slices]
        src = region.astype(np.uint8) if region.dtype == bool else region
        oh, ow = self.size
        out = cv2.resize(np.ascontiguousarray(src), (ow, oh), interpolation=flag)
        if region.ndim == 3 and out.ndim == 2:
            out = out[..., None]
        if region.dtype == bool:
            out = out.astype(bool)
        return out

    def uncrop(self, prob: np.ndarray, *, interpolation: str = "linear") -> np.ndarray:
        """A prediction on the working grid back in the image: ``(H, W) float32``, ``prob`` resized to the
        window (``"linear"`` or ``"nearest"``) and 0 outside it.

        ``prob``: ``(h, w)`` = ``size``, e.g. probabilities in [0, 1] (the range is kept).
        Raises ValueError for a shape that does not match the crop size.
        """
        import cv2

        p = np.asarray(prob)
        if p.shape != tuple(self.size):
            raise ValueError(f"prob has shape {p.shape}, expected the crop size {self.size}")
        flag = _interpolation_flag(interpolation, ("linear", "nearest"))
        back = cv2.resize(p.astype(np.float32), (self.x1 - self.x0, self.y1 - self.y0), interpolation=flag)
        out = np.zeros(self.image_shape, dtype=np.float32)
        out[self.slices] = back
        return out

    def uncrop_torch(self, x, *, fill: float = 0.0):
        """:meth:`uncrop` for a tensor: ``x`` ``(..., h, w)`` (e.g. a model's ``(N, 1, h, w)`` logits) resized
        to the window bilinearly (``F.interpolate``, ``align_corners=False``: the mapping of :meth:`uncrop`
        with ``"linear"``) and pasted into a ``(..., H, W)`` tensor of ``fill``, on ``x``'s device and dtype.

        For logits pass ``fill=float("-inf")``: the sigmoid is then exactly 0 outside the window, and inside
        it is the sigmoid of the resized logits. Raises ValueError for a shape that does not match ``size``.
        """
        import torch.nn.functional as F

        h, w = self.size
        if x.ndim < 2 or tuple(x.shape[-2:]) != (h, w):
            raise ValueError(f"expected a tensor of shape (..., {h}, {w}), got {tuple(x.shape)}")
        lead = tuple(x.shape[:-2])
        back = F.interpolate(x.reshape(1, -1, h, w), size=self.window_shape, mode="bilinear", align_corners=False)
        out = x.new_full((*lead, *self.image_shape), fill)
        out[..., self.y0:self.y1, self.x0:self.x1] = back.reshape(*lead, *self.window_shape)
        return out


def box_crop(image: np.ndarray, box: Box, *, margin: float = 20.0, size: int | tuple[int, int] = 256,
             interpolation: str = "linear") -> tuple[np.ndarray, CropWindow]:
    """Crop the image around a box with a ``margin`` (pixels, each side; clipped at the image border)
    and resize the crop to ``size`` (``(h, w)`` or an int for a square): the box as an *implicit*
    guidance signal (the model only sees the region; DEXTR, CVPR 2018, crops around the extreme points'
    box relaxed by 50 pixels and resizes to 512 x 512).

    ``image``: ``(H, W)`` or ``(H, W, C)``; ``interpolation``: ``"linear"`` (images, probabilities),
    ``"area"`` (pixel-area averaging: no aliasing when the crop is shrunk) or ``"nearest"`` (label masks).
    Returns ``(crop, window)``: ``crop`` has shape ``size`` (+ channels) and the image's dtype; ``window``
    (:class:`CropWindow`, ``CropWindow.around(box, image.shape, margin=margin, size=size)``) maps clicks
    into the crop and undoes it with :func:`box_uncrop`.
    Raises ValueError for a box outside the image, a negative margin or a bad size.

    Used in lessons 04, 07.
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.size == 0:
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {img.shape}")
    window = CropWindow.around(box, img.shape[:2], margin=margin, size=size)
    return window.crop(img, interpolation=interpolation), window


def box_uncrop(prob: np.ndarray, window: CropWindow, *, interpolation: str = "linear") -> np.ndarray:
    """Paste a prediction made on a :func:`box_crop` crop back into the full image: ``(H, W) float32``,
    the crop resized back to the window and 0 outside it (:meth:`CropWindow.uncrop`).

    ``prob``: ``(h, w)`` = ``window.size``, e.g. probabilities in [0, 1] (the range is kept).
    Raises ValueError for a shape that does not match the window.

    Used in lesson 04.
    """
    if not isinstance(window, CropWindow):
        raise TypeError(f"window must be the CropWindow returned by box_crop, got {type(window).__name__}")
    return window.uncrop(prob, interpolation=interpolation)


# --------------------------------------------------------------------------------------------------------
# Zoom-In
# --------------------------------------------------------------------------------------------------------


def zoom_in_box(image_shape: tuple[int, ...], clicks: list, prev_mask: np.ndarray | None, *,
                expand: float = 1.4, min_fraction: float = 0.2) -> Box | None:
    """RITM's Zoom-In window: the box around the previous mask and all clicks, enlarged ``expand`` times
    about its centre (at least ``min_fraction`` of each image side), clipped to the image.

    Args:
        image_shape: ``(H, W, ...)`` of the image.
        clicks: the clicks so far (objects with ``x``, ``y`` in image pixels).
        prev_mask: ``(H, W)`` previous probabilities (object where ``>= 0.5``), or None.
        expand: enlargement factor of the box's sides (>= 1; RITM: 1.4).
        min_fraction: smallest window side as a fraction of the image side, in ``(0, 1]``.

    Returns the window as a :class:`Box` (inclusive corners), or None for "the whole image": fewer than two
    clicks (the first click always sees the whole image), no previous mask, an empty one, or a window that
    covers the image anyway. Raises ValueError for ``expand < 1`` or ``min_fraction`` outside ``(0, 1]``.

    Sofiiuk et al., "f-BRS", CVPR 2020, and "Reviving Iterative Training with Mask Guidance for Interactive
    Segmentation" (RITM), ICIP 2022 (``ZoomIn`` with ``expansion_ratio=1.4``).
    """
    expand = number(expand, "expand", minimum=1)
    min_fraction = number(min_fraction, "min_fraction", minimum=0, maximum=1, strict=True,
                          unit="fraction of each image side")
    if prev_mask is None or len(clicks) < 2:
        return None
    ys, xs = np.nonzero(np.asarray(prev_mask) >= 0.5)
    if ys.size == 0:
        return None
    h, w = int(image_shape[0]), int(image_shape[1])
    ys = np.r_[ys, [c.y for c in clicks]]
    xs = np.r_[xs, [c.x for c in clicks]]
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    half_h = max((ys.max() - ys.min() + 1) * expand, min_fraction * h) / 2
    half_w = max((xs.max() - xs.min() + 1) * expand, min_fraction * w) / 2
    y0, y1 = max(0, int(np.floor(cy - half_h))), min(h - 1, int(np.ceil(cy + half_h)))
    x0, x1 = max(0, int(np.floor(cx - half_w))), min(w - 1, int(np.ceil(cx + half_w)))
    if (y0, x0, y1, x1) == (0, 0, h - 1, w - 1):
        return None
    return Box(x0, y0, x1, y1)
