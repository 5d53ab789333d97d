"""Overlap metrics: IoU (Jaccard index) and Dice (F1), with an optional ignore mask.

IoU = |P ∩ G| / |P ∪ G| and Dice = 2|P ∩ G| / (|P| + |G|), counted over the pixels that are not ignored.
"""

from __future__ import annotations

import numpy as np

from .segmenter import check_mask


def _prepare(pred, gt, ignore):
    gt = check_mask(gt, name="ground-truth mask")
    pred = check_mask(pred, gt.shape, name="predicted mask")
    if ignore is not None:
        ignore = check_mask(ignore, gt.shape, name="ignore mask")
        keep = ~ignore
        pred, gt = pred & keep, gt & keep
    if not gt.any():
        raise ValueError("the ground-truth mask is empty (no object pixels outside the ignore mask)")
    return pred, gt


def iou(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Intersection over union of two ``(H, W)`` binary masks, in ``[0, 1]``.

    Args:
        pred: predicted mask, bool or {0, 1}/{0, 255} integers (threshold probabilities first).
        gt: ground-truth mask, same shape.
        ignore: optional ``(H, W)`` bool; these pixels count neither way.

    Raises:
        ValueError: shapes differ, masks are not binary, or the ground truth is empty.
    """
    pred, gt = _prepare(pred, gt, ignore)
    return float(np.logical_and(pred, gt).sum() / np.logical_or(pred, gt).sum())


def dice(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Dice coefficient 2|P∩G| / (|P|+|G|) of two ``(H, W)`` binary masks, in ``[0, 1]``; errors as :func:`iou`."""
    pred, gt = _prepare(pred, gt, ignore)
    return float(2 * np.logical_and(pred, gt).sum() / (pred.sum() + gt.sum()))
