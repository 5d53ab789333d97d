"""The geodesic segmenter (nearest seed in geodesic distance; Bai & Sapiro 2009, Criminisi et al. 2008)."""

import numpy as np
import pytest
from skimage.graph import MCP_Geometric

from iseg_course import Box, Click, Interactions
from iseg_course.classical import GeodesicSegmenter
from iseg_course.data import load_dataset
from iseg_course.evaluation import simulate_clicks
from iseg_course.metrics import iou


def test_flat_image_splits_at_the_midpoint_between_clicks():
    img = np.full((41, 61, 3), 128, np.uint8)
    seg = GeodesicSegmenter(seed_radius=0)
    seg.set_image(img)
    prob = seg.predict(Interactions([Click(15, 20, True), Click(45, 20, False)]))
    assert prob.shape == (41, 61) and prob.dtype == np.float32
    row = prob[20] > 0.5
    # on row 20 the clicks are nearer than the border (distance 20): x < 30 is object, x > 30 background
    assert row[16:30].all() and not row[31:45].any()
    assert prob[20, 15] == 1.0 and prob[20, 45] == 0.0
    assert not (prob[0] > 0.5).any()   # the border is background


def test_an_edge_stops_the_object():
    img = np.zeros((81, 80, 3), np.uint8)
    img[:, 50:] = 255                       # a strong vertical edge at x = 50
    seg = GeodesicSegmenter(seed_radius=0)
    seg.set_image(img)
    # the negative click is much nearer in pixels to x = 45 than the positive one, but an edge separates them
    prob = seg.predict(Interactions([Click(25, 40, True), Click(55, 40, False)]))
    row = prob[40] > 0.5
    assert row[25:49].all() and not row[52:].any()


def test_distances_match_scikit_image():
    s = load_dataset("grabcut")["teddy"]
    seg = GeodesicSegmenter()
    seg.set_image(s.image)
    inter = Interactions([Click(200, 150, True), Click(20, 20, False)])
    d_obj, d_bkg = seg.distances(inter)
    fg, _ = seg.seeds(inter)
    ref, _ = MCP_Geometric(seg.cost).find_costs(np.argwhere(fg))
    assert np.allclose(d_obj, ref, rtol=1e-6)


def test_the_border_is_background_and_clicks_help():
    s = load_dataset("grabcut")["teddy"]
    res = simulate_clicks(GeodesicSegmenter(), s, 5)
    assert res.ious[0] > 0.3                      # one click already finds much of the teddy
    assert max(res.ious) > res.ious[0] + 0.1      # corrections improve it
    assert max(res.ious) > 0.8


def test_box_outside_is_background():
    s = load_dataset("grabcut")["teddy"]
    seg = GeodesicSegmenter()
    seg.set_image(s.image)
    ys, xs = np.nonzero(s.mask)
    box = Box(xs.min(), ys.min(), xs.max(), ys.max())
    cx, cy = int(np.median(xs)), int(np.median(ys))
    while not s.mask[cy, cx]:
        cx += 1
    prob = seg.predict(Interactions([box, Click(cx, cy, True)]))
    outside = np.ones_like(s.mask)
    outside[box.slices()] = False
    assert not (prob[outside] > 0.5).any()
    assert prob[cy, cx] == 1.0
    assert iou(prob > 0.5, s.mask, s.ignore) > 0.3   # one click + a tight box: a weak but sane start


def test_no_object_seed_gives_an_empty_mask_and_bad_input_fails():
    img = load_dataset("grabcut")["teddy"].image
    seg = GeodesicSegmenter()
    with pytest.raises(RuntimeError, match="set_image"):
        seg.predict(Interactions([Click(1, 1)]))
    seg.set_image(img)
    assert not seg.predict(Interactions([Click(5, 5, False)])).any()
    with pytest.raises(ValueError, match="outside the image"):
        seg.predict(Interactions([Click(img.shape[1] + 3, 5)]))
    for bad in ({"gamma": -1}, {"sigma": 0}, {"seed_radius": 1.5}):
        with pytest.raises(ValueError):
            GeodesicSegmenter(**bad)


def test_border_counts_as_background_unless_an_object_seed_covers_it():
    img = np.full((30, 40, 3), 90, np.uint8)
    seg = GeodesicSegmenter(seed_radius=2)
    seg.set_image(img)
    fg, bg = seg.seeds(Interactions([Click(20, 15, True), Click(0, 0, True)]))
    assert bg[-1].all() and bg[:, -1].all()
    assert fg[0, 0] and not bg[0, 0] and not (fg & bg).any()
