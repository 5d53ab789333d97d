"""The RITM robot user and the click loop."""

import numpy as np
import pytest

from iseg_course.classical.graphcut import GraphCutSegmenter
from iseg_course.data import load_dataset
from iseg_course.evaluation import simulate_clicks
from iseg_course.interactions import Click
from iseg_course.robot import interior_distance, ritm_click


def test_square_centre_is_the_first_click():
    gt = np.zeros((11, 11), bool)
    gt[2:9, 3:10] = True  # 7x7 square, centre (row 5, col 6)
    c = ritm_click(gt, np.zeros_like(gt))
    assert c == Click(6, 5, True)


def test_border_counts_as_outside():
    region = np.ones((5, 9), bool)
    d = interior_distance(region)
    assert d.max() == 3 and d[0, 4] == 1


def test_tie_goes_to_a_negative_click():
    gt = np.zeros((9, 20), bool)
    gt[2:7, 2:7] = True                  # missed 5x5 object
    pred = np.zeros_like(gt)
    pred[2:7, 12:17] = True              # extra 5x5 region: same depth
    c = ritm_click(gt, pred)
    assert c == Click(14, 4, False)


def test_first_pixel_rowmajor_and_clicked_excluded():
    gt = np.zeros((4, 6), bool)
    gt[1:3, 1:5] = True  # 2x4: max distance 1 everywhere inside
    c = ritm_click(gt, np.zeros_like(gt))
    assert (c.x, c.y) == (1, 1)
    c2 = ritm_click(gt, np.zeros_like(gt), clicked=[c])
    assert (c2.x, c2.y) == (2, 1)


def test_ignore_is_never_clicked_and_perfect_gives_none():
    s = load_dataset("grabcut")["banana1"]
    pred = np.zeros_like(s.mask)
    c = ritm_click(s.mask, pred, s.ignore)
    assert c.positive and s.mask[c.y, c.x] and not s.ignore[c.y, c.x]
    assert ritm_click(s.mask, s.mask, s.ignore) is None
    with pytest.raises(ValueError, match="shape"):
        ritm_click(s.mask, pred[:-1])


def test_click_loop_on_real_image():
    s = load_dataset("grabcut")["teddy"]
    res = simulate_clicks(GraphCutSegmenter(), s, 4)
    assert len(res.ious) == len(res.masks) == len(res.interactions) == len(res.seconds) == 4
    assert res.interactions[0].positive and max(res.ious) > 0.85
    with pytest.raises(ValueError):
        simulate_clicks(GraphCutSegmenter(), s, 0)
