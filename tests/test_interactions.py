"""Interactions, the log with undo, seed rasterisation, and the Segmenter base class."""

import numpy as np
import pytest

from iseg_course.data import load_dataset
from iseg_course.interactions import (
    Box, Click, ExtremePoints, Interactions, Polygon, Scribble, rasterize_seeds,
)
from iseg_course.segmenter import BaseSegmenter, Segmenter, check_image, check_mask


def test_log_add_undo_clear_and_json_round_trip():
    log = Interactions()
    log.add(Click(3, 4, True))
    log.add(Scribble([(0, 0), (5, 5)], False))
    log.add(Box(9, 8, 1, 2))
    log.add(ExtremePoints([(1, 5), (4, 1), (9, 5), (4, 9)]))
    log.add(Polygon([(1, 1), (8, 1), (5, 7)]))
    assert len(log) == 5 and len(log.clicks) == 1 and len(log.scribbles) == 1
    assert log.boxes[0] == Box(1, 2, 9, 8) and log.boxes[1] == Box(1, 1, 9, 9)
    again = Interactions.from_json(log.to_json())
    assert again.items == log.items
    assert isinstance(log.undo(), Polygon) and len(log) == 4
    log.clear()
    assert log.undo() is None


def test_click_outside_image_raises():
    with pytest.raises(ValueError, match="outside the image"):
        Click(640, 10).validate((480, 640, 3))
    with pytest.raises(ValueError, match="outside the image"):
        Interactions().add(Click(-1, 10), shape=(480, 640))
    Click(639, 479).validate((480, 640))


def test_bad_interactions():
    with pytest.raises(ValueError):
        Polygon([(0, 0), (1, 1)])
    with pytest.raises(ValueError):
        ExtremePoints([(0, 0)] * 3)
    with pytest.raises(ValueError, match="no area"):
        Box(2, 2, 2, 9).validate((20, 20))
    with pytest.raises(TypeError):
        Interactions().add("click")
    with pytest.raises(ValueError, match="finite"):
        Click(float("nan"), 1).validate((4, 4))


def test_scribble_length():
    assert Scribble([(0, 0), (3, 4), (3, 10)]).length == pytest.approx(11.0)


def test_rasterize_seeds_disks_lines_boxes():
    fg, bg = rasterize_seeds([Click(10, 10, True), Click(30, 5, False)], (20, 40), radius=2)
    assert fg[10, 10] and fg[10, 12] and not fg[10, 13] and fg.sum() == 13  # disk of radius 2 (+0.5)
    assert bg[5, 30] and not (fg & bg).any()
    fg, bg = rasterize_seeds([Scribble([(0, 0), (39, 0)], True)], (20, 40), radius=0)
    assert fg[0].all() and fg.sum() == 40
    fg, bg = rasterize_seeds([Box(5, 5, 14, 9)], (20, 40))
    assert bg.sum() == 20 * 40 - 10 * 5 and not fg.any()
    # a later negative click wins over an earlier positive one
    fg, bg = rasterize_seeds([Click(10, 10, True), Click(10, 10, False)], (20, 40))
    assert bg[10, 10] and not fg[10, 10]


def test_rasterize_polygon_on_real_mask_shape():
    s = load_dataset("grabcut")["banana1"]
    h, w = s.mask.shape
    poly = Polygon([(10, 10), (w - 10, 10), (w // 2, h - 10)])
    fg, bg = rasterize_seeds([poly], (h, w))
    assert fg[h // 3, w // 2] and bg[5, 5] == False  # noqa: E712 - only a 2-px band outside is background
    assert not (fg & bg).any()
    with pytest.raises(ValueError, match="outside"):
        rasterize_seeds([Click(w, 0)], (h, w))


def test_check_image_and_mask():
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        check_image(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        check_image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(TypeError):
        check_image([[1]])
    assert check_mask(np.array([[0, 255]], np.uint8)).tolist() == [[False, True]]
    with pytest.raises(ValueError, match="binary"):
        check_mask(np.array([[0, 7]]))
    with pytest.raises(ValueError, match="shape"):
        check_mask(np.zeros((3, 3)), (4, 4))


class _Threshold(BaseSegmenter):
    """Object = pixels whose colour is within 60 of the first positive click's colour."""

    def _predict(self, interactions, prev_mask):
        pos = [c for c in interactions.clicks if c.positive]
        if not pos:
            return np.zeros(self.image.shape[:2], np.float32)
        r, c = pos[0].rc
        d = np.abs(self.image.astype(int) - self.image[r, c].astype(int)).sum(axis=2)
        return (d < 60).astype(np.float32)


def test_base_segmenter_is_a_segmenter_and_validates():
    seg = _Threshold()
    assert isinstance(seg, Segmenter)
    log = Interactions([Click(5, 5)])
    with pytest.raises(RuntimeError, match="before set_image"):
        seg.predict(log)
    s = load_dataset("grabcut")["banana1"]
    seg.set_image(s.image)
    out = seg.predict(log)
    assert out.dtype == np.float32 and out.shape == s.mask.shape
    with pytest.raises(ValueError, match="outside the image"):
        seg.predict(Interactions([Click(s.image.shape[1] + 3, 0)]))
    with pytest.raises(ValueError, match="prev_mask"):
        seg.predict(log, prev_mask=np.zeros((3, 3)))
    with pytest.raises(ValueError):
        seg.set_image(s.image[..., 0])


def test_polyline_pixels_follow_bresenham_lines():
    from skimage.draw import line

    from iseg_course.interactions import polyline_pixels

    rc = polyline_pixels([(0, 0), (4, 2), (4.4, 6.6)])
    r1, c1 = line(0, 0, 2, 4)
    r2, c2 = line(2, 4, 7, 4)
    assert rc.dtype == np.int64 and rc.shape == (len(r1) + len(r2), 2)
    assert rc[:, 0].tolist() == [*r1, *r2] and rc[:, 1].tolist() == [*c1, *c2]
    assert polyline_pixels([(3.6, 1.2)]).tolist() == [[1, 4]]
    with pytest.raises(ValueError, match="at least one"):
        polyline_pixels([])
