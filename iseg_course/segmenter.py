"""The Segmenter protocol: the seam between models, widgets, robot users and evaluation.

Every interactive method in the course (graph cut, GrabCut, geodesic, the click model, BRS/f-BRS, the
SAM-style model) implements two methods:

* ``set_image(image)``: heavy per-image work done once (colour models, an image encoder, ...);
* ``predict(interactions, prev_mask=None) -> (H, W) float32`` probabilities of "object" in ``[0, 1]``.

A widget, a robot user or the evaluation harness only ever talks to this protocol, so any method can be
clicked, simulated or benchmarked the same way.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .interactions import Interactions


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate an RGB image and return it as a C-contiguous ``(H, W, 3) uint8`` array.

    Raises:
        TypeError: if ``image`` is not a NumPy array.
        ValueError: if it is not ``(H, W, 3)`` with ``uint8`` values or is empty.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected an image as a NumPy array (H, W, 3) uint8, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected an image of dtype uint8 (0..255), got {image.dtype}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"expected an image of at least 2x2 pixels, got shape {image.shape}")
    return np.ascontiguousarray(image)


def check_mask(mask: np.ndarray, shape: tuple[int, ...] | None = None, name: str = "mask") -> np.ndarray:
    """Validate a binary mask and return it as ``(H, W) bool``.

    Accepts bool arrays and integer arrays holding only {0, 1} or {0, 255}.

    Raises:
        ValueError: on a wrong number of dimensions, a shape different from ``shape[:2]``, or values that
            are not binary.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected {name} of shape (H, W), got shape {mask.shape}")
    if shape is not None and mask.shape != tuple(shape[:2]):
        raise ValueError(f"expected {name} of shape {tuple(shape[:2])} (the image's H, W), got {mask.shape}")
    if mask.dtype == bool:
        return mask
    values = np.unique(mask)
    if np.all(np.isin(values, (0, 1))):
        return mask.astype(bool)
    if np.all(np.isin(values, (0, 255))):
        return mask == 255
    raise ValueError(f"expected a binary {name} (bool, {{0, 1}} or {{0, 255}}), found values {values[:8].tolist()}")


def check_ground_truth(gt: np.ndarray, ignore: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a ground-truth mask and its optional ignore mask; return ``(gt, valid)``, ``(H, W) bool`` each.

    ``valid`` marks the pixels that count (not ignored). Metrics and robot users share this check.

    Raises:
        ValueError: a mask that is not ``(H, W)`` binary, an ignore mask of another shape, or a ground truth
            with no object pixel outside the ignore mask (IoU and a robot user's clicks are undefined then).
    """
    gt = check_mask(gt, name="ground-truth mask")
    valid = np.ones_like(gt) if ignore is None else ~check_mask(ignore, gt.shape, name="ignore mask")
    if not (gt & valid).any():
        raise ValueError("the ground-truth mask is empty (no object pixels outside the ignore mask)")
    return gt, valid


@runtime_checkable
class Segmenter(Protocol):
    """Anything that turns interactions on an image into an object probability map."""

    def set_image(self, image: np.ndarray) -> None:
        """Prepare for ``image`` (``(H, W, 3) uint8`` RGB); heavy per-image work goes here."""

    def predict(self, interactions: Interactions, prev_mask: np.ndarray | None = None) -> np.ndarray:
        """Return ``(H, W) float32`` object probabilities in ``[0, 1]`` for the current image."""


class BaseSegmenter:
    """Convenience base class: validates the image and the interactions, stores the image.

    Subclasses implement :meth:`_predict` and may extend :meth:`set_image` (call ``super().set_image``).
    """

    image: np.ndarray | None = None

    def set_image(self, image: np.ndarray) -> None:
        self.image = check_image(image)

    def predict(self, interactions: Interactions, prev_mask: np.ndarray | None = None) -> np.ndarray:
        """Validate and delegate to ``_predict``; the result is ``(H, W) float32`` in ``[0, 1]``.

        Raises:
            RuntimeError: if ``set_image`` has not been called.
            ValueError: if an interaction is outside the image or ``prev_mask`` has the wrong shape.
        """
        if self.image is None:
            raise RuntimeError(f"{type(self).__name__}.predict called before set_image(image)")
        if not isinstance(interactions, Interactions):
            interactions = Interactions(list(interactions))
        interactions.validate(self.image.shape)
        if prev_mask is not None:
            prev_mask = np.asarray(prev_mask)
            if prev_mask.shape != self.image.shape[:2]:
                raise ValueError(f"expected prev_mask of shape {self.image.shape[:2]}, got {prev_mask.shape}")
        out = np.asarray(self._predict(interactions, prev_mask), dtype=np.float32)
        if out.shape != self.image.shape[:2]:
            raise RuntimeError(f"{type(self).__name__} returned shape {out.shape}, expected {self.image.shape[:2]}")
        return out

    def _predict(self, interactions: Interactions, prev_mask: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError
