"""GrabCut (cv2.grabCut) as a Segmenter: boxes, clicks, determinism, bad input, on real GrabCut images."""

from __future__ import annotations

import numpy as np
import pytest

from iseg_course.classical.grabcut import (
    GC_BGD,
    GC_FGD,
    GC_PR_BGD,
    GC_PR_FGD,
    GrabCutSegmenter,
    grabcut_init_mask,
)
from iseg_course.data import load_dataset
from iseg_course.interactions import Box, Click, ExtremePoints, Interactions, Scribble, rasterize_seeds
from iseg_course.metrics import iou
from iseg_course.robot import interior_distance, ritm_click


@pytest.fixture(scope="module")
def grabcut():
    return load_dataset("grabcut")


def gt_box(mask, margin=5):
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return Box(max(xs.min() - margin, 0), max(ys.min() - margin, 0), min(xs.max() + margin, w - 1),
               min(ys.max() + margin, h - 1))


def deepest_point(region):
    d = interior_distance(region)
    y, x = np.unravel_index(d.argmax(), d.shape)
    return int(x), int(y)


def test_cv2_constants_match():
    import cv2

    assert (GC_BGD, GC_FGD, GC_PR_BGD, GC_PR_FGD) == (cv2.GC_BGD, cv2.GC_FGD, cv2.GC_PR_BGD, cv2.GC_PR_FGD)


@pytest.mark.parametrize("name", ["flower", "teddy", "stone2"])
def test_box_on_grabcut_images(grabcut, name):
    s = grabcut[name]
    seg = GrabCutSegmenter()
    seg.set_image(s.image)
    box = gt_box(s.mask)
    prob = seg.predict(Interactions([box]))
    assert prob.shape == s.mask.shape and prob.dtype == np.float32 and set(np.unique(prob)) <= {0.0, 1.0}
    pred = prob > 0.5
    outside = np.ones_like(pred)
    outside[box.slices()] = False
    assert not pred[outside].any(), "outside the box is sure background"
    assert iou(pred, s.mask, s.ignore) > 0.93


def test_deterministic(grabcut):
    s = grabcut["llama"]
    seg = GrabCutSegmenter(iterations=3)
    seg.set_image(s.image)
    inter = Interactions([gt_box(s.mask, 20)])
    a = seg.predict(inter)
    b = seg.predict(inter)
    np.testing.assert_array_equal(a, b)


def test_clicks_only(grabcut):
    s = grabcut["stone2"]
    seg = GrabCutSegmenter()
    seg.set_image(s.image)
    x, y = deepest_point(s.mask)
    inter = Interactions([Click(x, y, True)])
    pred = seg.predict(inter) > 0.5
    first = iou(pred, s.mask, s.ignore)
    assert first > 0.6
    # a negative click in the deepest missed/extra region improves it and is respected
    inter.add(ritm_click(s.mask, pred, s.ignore))
    pred2 = seg.predict(inter) > 0.5
    assert iou(pred2, s.mask, s.ignore) > max(first, 0.9)
    fg, bg = rasterize_seeds(inter, s.mask.shape, radius=seg.seed_radius)
    assert pred2[fg].all() and not pred2[bg].any()


def test_box_plus_negative_scribble(grabcut):
    s = grabcut["tennis"]
    seg = GrabCutSegmenter()
    seg.set_image(s.image)
    box = gt_box(s.mask)
    base = seg.predict(Interactions([box])) > 0.5
    # scribble through the largest false-positive area
    fp = base & ~s.mask
    x, y = deepest_point(fp)
    scr = Scribble(((x - 3, y), (x + 3, y)), positive=False)
    pred = seg.predict(Interactions([box, scr])) > 0.5
    fg, bg = rasterize_seeds([scr], s.mask.shape, radius=seg.seed_radius)
    assert not pred[bg].any()
    assert iou(pred, s.mask, s.ignore) > iou(base, s.mask, s.ignore)


def test_init_mask_rules():
    shape = (60, 80)
    box = Box(10, 5, 49, 39)
    m = grabcut_init_mask(Interactions([box]), shape)
    assert m.dtype == np.uint8 and m.shape == shape
    assert np.all(m[box.slices()] == GC_PR_FGD)
    outside = np.ones(shape, bool)
    outside[box.slices()] = False
    assert np.all(m[outside] == GC_BGD)
    # clicks only: probable background everywhere, sure seeds, probable object around positive clicks
    inter = Interactions([Click(40, 30, True), Click(5, 5, False)])
    m = grabcut_init_mask(inter, shape, seed_radius=2, prior_radius=10)
    assert m[30, 40] == GC_FGD and m[5, 5] == GC_BGD
    assert m[30, 48] == GC_PR_FGD and m[30, 52] == GC_PR_BGD
    assert m[59, 79] == GC_PR_BGD
    assert set(np.unique(m)) == {GC_BGD, GC_FGD, GC_PR_BGD, GC_PR_FGD}
    # extreme points: their box, plus sure-object disks on the points
    ep = ExtremePoints(((10, 20), (30, 5), (50, 20), (30, 35)))
    m = grabcut_init_mask(Interactions([ep]), shape, seed_radius=1)
    assert m[20, 10] == GC_FGD and m[0, 0] == GC_BGD and m[20, 30] == GC_PR_FGD
    # nothing marks the object
    assert grabcut_init_mask(Interactions(), shape) is None
    assert grabcut_init_mask(Interactions([Click(3, 3, False)]), shape) is None


def test_no_positive_interaction_and_whole_image_box(grabcut):
    s = grabcut["teddy"]
    seg = GrabCutSegmenter(iterations=1)
    seg.set_image(s.image)
    out = seg.predict(Interactions([Click(5, 5, positive=False)]))
    assert out.dtype == np.float32 and out.shape == s.mask.shape and not out.any()
    h, w = s.mask.shape
    whole = seg.predict(Interactions([Box(0, 0, w - 1, h - 1)]))  # no sure background: must not crash
    assert whole.shape == (h, w) and whole.any()


def test_prev_mask_option(grabcut):
    s = grabcut["flower"]
    seg = GrabCutSegmenter(iterations=2, use_prev_mask=True)
    seg.set_image(s.image)
    x, y = deepest_point(s.mask)
    inter = Interactions([Click(x, y)])
    init = seg.init_mask(inter, prev_mask=s.mask)
    assert np.all(init[s.mask & (init != GC_FGD) & (init != GC_BGD)] == GC_PR_FGD)
    with_prev = iou(seg.predict(inter, prev_mask=s.mask) > 0.5, s.mask, s.ignore)
    without = iou(seg.predict(inter) > 0.5, s.mask, s.ignore)
    assert with_prev > 0.85 and with_prev > without + 0.05
    with pytest.raises(ValueError, match="prev_mask"):
        seg.predict(inter, prev_mask=np.zeros((3, 3)))


def test_bad_input(grabcut):
    for kwargs in ({"iterations": 0}, {"iterations": 1.5}, {"seed_radius": -1}, {"prior_radius": -3.0}):
        with pytest.raises(ValueError):
            GrabCutSegmenter(**kwargs)
    seg = GrabCutSegmenter()
    with pytest.raises(RuntimeError, match="set_image"):
        seg.predict(Interactions([Click(1, 1)]))
    with pytest.raises(ValueError):
        seg.set_image(np.zeros((10, 10, 3), np.float32))
    seg.set_image(grabcut["teddy"].image)
    with pytest.raises(ValueError, match="outside the image"):
        seg.predict(Interactions([Click(-1, 3)]))
