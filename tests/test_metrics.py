"""IoU and Dice, checked by hand-computable cases and against each other on real masks."""

import numpy as np
import pytest

from iseg_course.data import load_dataset
from iseg_course.metrics import dice, iou


def test_hand_computed_squares():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[0:4, 0:4] = True  # 16 px
    b[2:6, 0:4] = True  # 16 px, overlap 8
    assert iou(a, b) == pytest.approx(8 / 24)
    assert dice(a, b) == pytest.approx(16 / 32)
    assert iou(b, b) == 1.0


def test_ignore_mask_removes_pixels():
    s = load_dataset("grabcut")["banana1"]
    pred = s.mask | s.ignore  # claims the whole band as object
    assert iou(pred, s.mask) < 1.0
    assert iou(pred, s.mask, ignore=s.ignore) == 1.0


def test_dice_iou_relation_on_real_masks():
    ds = load_dataset("grabcut")
    gt = ds["banana1"].mask
    pred = np.roll(gt, 7, axis=1)
    j, d = iou(pred, gt), dice(pred, gt)
    assert 0 < j < 1 and d == pytest.approx(2 * j / (1 + j))


def test_bad_input():
    gt = np.zeros((5, 5), bool)
    with pytest.raises(ValueError, match="empty"):
        iou(gt, gt)
    gt[1, 1] = True
    with pytest.raises(ValueError, match="shape"):
        iou(np.zeros((5, 4), bool), gt)
    with pytest.raises(ValueError, match="binary"):
        iou(np.full((5, 5), 0.7), gt)
