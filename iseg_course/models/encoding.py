"""The click model's input: image, positive/negative click maps and the previous prediction, at its working size.

Input (the lecture's "image + guidance signal G + previous prediction"), at the model's working size
``S x S`` pixels:

====  ==========================================================  ==============
ch.   what                                                        values
====  ==========================================================  ==============
0-2   RGB image, resized to ``S x S``                             [0, 1]
3     positive clicks as disks (or Gaussian heatmaps)             [0, 1]
4     negative clicks, same encoding                              [0, 1]
5     previous prediction (object probability; 0 before click 1)  [0, 1]
====  ==========================================================  ==============

Feeding the previous mask back follows Mahadevan et al., "Iteratively Trained Interactive Segmentation"
(BMVC 2018) and RITM (Sofiiuk et al., ICIP 2022); disk click maps follow Benenson et al., "Large-scale
interactive object segmentation with human annotators" (CVPR 2019). The maps themselves come from
:func:`iseg_course.guidance.guidance_maps`.
"""

from __future__ import annotations

import numpy as np

from ..interactions import Click, Interactions

__all__ = ["IN_CHANNELS", "GUIDANCE_KINDS", "click_maps", "model_input"]

#: Input channels of the click model: RGB, positive clicks, negative clicks, previous prediction.
IN_CHANNELS = 6
#: The click encodings the model can be trained with (kinds of :func:`iseg_course.guidance.guidance_maps`).
GUIDANCE_KINDS = ("disk", "gaussian")


def click_maps(clicks: list[Click] | Interactions, shape: tuple[int, int], kind: str = "disk",
               radius: float = 5.0) -> np.ndarray:
    """Positive and negative click maps, ``(2, H, W) float32`` in [0, 1] (channel 0 positive, 1 negative).

    ``kind`` ``"disk"``: 1 within ``radius`` pixels of a click; ``"gaussian"``: a Gaussian heatmap with
    ``sigma = radius`` pixels. Both come from :func:`iseg_course.guidance.guidance_maps`. Raises ValueError
    for another kind or a click outside ``shape``.

    Used by iseg_course.models.encoding (:func:`model_input`) and iseg_course.training.
    """
    from ..guidance import guidance_maps

    if kind not in GUIDANCE_KINDS:
        raise ValueError(f"unknown click encoding {kind!r}; expected one of {GUIDANCE_KINDS}")
    inter = clicks if isinstance(clicks, Interactions) else Interactions(list(clicks))
    kw = {"radius": radius} if kind == "disk" else {"sigma": radius}
    return guidance_maps(inter, shape, kind, **kw)


def model_input(image: np.ndarray, clicks: list[Click] | Interactions, prev: np.ndarray | None = None,
                kind: str = "disk", radius: float = 5.0) -> np.ndarray:
    """The model's 6-channel input for one image at its working size, ``(6, S, S) float32``.

    Args:
        image: ``(S, S, 3) uint8`` RGB (already resized to the working size).
        clicks: clicks in working-size pixels.
        prev: ``(S, S)`` previous object probability in [0, 1], or None (zeros: no prediction yet).
        kind, radius: click encoding (see :func:`click_maps`), radius in working-size pixels.

    Raises ValueError for a wrong image shape/dtype or a ``prev`` of another size.

    Used in lesson 07; also by iseg_course.models.click.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (S, S, 3) uint8 image, got shape {image.shape} dtype {image.dtype}")
    h, w = image.shape[:2]
    out = np.zeros((IN_CHANNELS, h, w), np.float32)
    out[:3] = image.transpose(2, 0, 1) / np.float32(255)
    out[3:5] = click_maps(clicks, (h, w), kind, radius)
    if prev is not None:
        prev = np.asarray(prev, dtype=np.float32)
        if prev.shape != (h, w):
            raise ValueError(f"expected prev of shape {(h, w)}, got {prev.shape}")
        out[5] = prev
    return out
