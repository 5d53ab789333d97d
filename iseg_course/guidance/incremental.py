"""Incremental guidance: local maps updated click by click instead of recomputed in full.

Gaussian heatmaps and disks are local, so a new click only changes the pixels within its reach and is
pasted on top of the maps with a pixel-wise maximum; the Euclidean and geodesic maps encode the distance
to the *whole* seed set and must be recomputed (:func:`~iseg_course.guidance.explicit.guidance_maps`).

References: Maninis et al., "Deep Extreme Cut (DEXTR)", CVPR 2018 (Gaussian heatmaps); Benenson et al.,
"Large-scale interactive object segmentation with human annotators", CVPR 2019 (disks).
"""

from __future__ import annotations

import math

import numpy as np

from ..interactions import Click, Interactions, Scribble
from ..validate import number
from .distances import _nearest_sq_distance
from .explicit import _gaussian_from_d2, guidance_maps
from .seeds import _check_shape, seed_points

__all__ = ["IncrementalGuidance"]


class IncrementalGuidance:
    """Two-channel Gaussian or disk guidance updated click by click.

    Local maps need no recomputation: a new click only changes the pixels within its reach
    (``truncate * sigma`` for Gaussians, ``radius`` for disks), so :meth:`add` computes the new click's
    map on that window and pastes it on with a pixel-wise maximum. The result equals the full
    recompute ``guidance_maps(interactions, shape, kind, sigma=..)`` (checked in the tests); distance
    maps (Euclidean, geodesic) have no such shortcut and are recomputed in full.

    >>> g = IncrementalGuidance((100, 120), kind="disk", radius=3)
    >>> window = g.add(Click(10, 20, positive=True))
    >>> g.maps.shape, float(g.maps[0].max()), window
    ((2, 100, 120), 1.0, (slice(17, 24, None), slice(7, 14, None)))

    Attributes: ``maps`` ``(2, H, W) float32`` (0 positive, 1 negative), ``interactions`` (the log).
    Raises ValueError for an unknown kind, non-positive sigma/radius, or a click outside the image.

    Used in lesson 04.
    """

    def __init__(self, shape: tuple[int, ...], kind: str = "gaussian", *, sigma: float = 10.0,
                 radius: float = 5.0, truncate: float = 4.0):
        if kind not in ("gaussian", "disk"):
            raise ValueError(f"IncrementalGuidance supports kind 'gaussian' or 'disk' (local maps), got {kind!r}; "
                             "distance maps must be recomputed with guidance_maps()")
        self.shape = _check_shape(shape)
        self.kind = kind
        self.sigma = number(sigma, "sigma", minimum=0, strict=True, unit="pixels")
        self.radius = number(radius, "radius", minimum=0, strict=True, unit="pixels")
        self.truncate = number(truncate, "truncate", minimum=0, strict=True, unit="multiples of sigma")
        self.interactions = Interactions()
        self.maps = np.zeros((2, *self.shape), dtype=np.float32)

    @property
    def reach(self) -> int:
        """How far (pixels) one click's map reaches."""
        r = self.truncate * self.sigma if self.kind == "gaussian" else self.radius
        return int(math.floor(r))

    def _kwargs(self) -> dict:
        return {"sigma": self.sigma, "truncate": self.truncate} if self.kind == "gaussian" else {"radius": self.radius}

    def add(self, item: Click | Scribble) -> tuple[slice, slice]:
        """Paste one click (or scribble) onto its channel; returns the ``(rows, cols)`` window touched."""
        if not isinstance(item, (Click, Scribble)):
            raise TypeError(f"expected a Click or Scribble, got {type(item).__name__}")
        item.validate(self.shape)
        rc = seed_points(item, self.shape)
        h, w = self.shape
        R = self.reach
        r0, r1 = max(int(rc[:, 0].min()) - R, 0), min(int(rc[:, 0].max()) + R + 1, h)
        c0, c1 = max(int(rc[:, 1].min()) - R, 0), min(int(rc[:, 1].max()) + R + 1, w)
        local = _nearest_sq_distance(rc - [r0, c0], (r1 - r0, c1 - c0))
        if self.kind == "gaussian":
            patch = _gaussian_from_d2(local, self.sigma, self.truncate)
        else:
            patch = (local <= self.radius ** 2).astype(np.float32)
        ch = 0 if item.positive else 1
        window = (slice(r0, r1), slice(c0, c1))
        np.maximum(self.maps[ch][window], patch, out=self.maps[ch][window])
        self.interactions.add(item)
        return window

    def recompute(self) -> np.ndarray:
        """Full recompute from the log (what :meth:`add` avoids); stores and returns ``maps``."""
        self.maps = guidance_maps(self.interactions, self.shape, self.kind, **self._kwargs())
        return self.maps

    def undo(self) -> Click | Scribble | None:
        """Remove the newest interaction. A maximum cannot be un-pasted, so this recomputes in full."""
        item = self.interactions.undo()
        self.recompute()
        return item

    def reset(self) -> None:
        """Forget all interactions: empty log, all-zero maps."""
        self.interactions.clear()
        self.maps[:] = 0.0
