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


# ----------------------------------------------------------------------------- overlap, hand-computable
import math  # noqa: E402

from scipy.ndimage import binary_erosion  # noqa: E402

from iseg_course.interactions import Box, Click, Interactions, Scribble  # noqa: E402
from iseg_course.metrics import (  # noqa: E402
    SUS_ITEMS,
    TLX_PAIRS,
    TLX_SCALES,
    consistent_improvement,
    dice_at_k,
    iou_at_k,
    mean_noc,
    nasa_tlx,
    noc,
    noc_iou_curve,
    nof,
    reached,
    scribble_length,
    seconds_per_click,
    sus_score,
    tlx_weights,
    user_time,
)


def _disk(shape, cx, cy, r):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r**2


def test_disk_iou_by_counting_and_analytically():
    r, d = 30, 20
    a = _disk((100, 140), 50, 50, r)
    b = _disk((100, 140), 50 + d, 50, r)
    # count lattice points with plain Python, independent of numpy's boolean algebra
    inside = lambda x, y, cx: (x - cx) ** 2 + (y - 50) ** 2 <= r * r  # noqa: E731
    both = either = 0
    for y in range(100):
        for x in range(140):
            ia, ib = inside(x, y, 50), inside(x, y, 50 + d)
            both += ia and ib
            either += ia or ib
    assert iou(b, a) == pytest.approx(both / either, abs=1e-12)
    assert dice(b, a) == pytest.approx(2 * both / (2 * a.sum()), abs=1e-12)
    # the continuous lens of two circles of radius r whose centres are d apart
    lens = 2 * r * r * math.acos(d / (2 * r)) - d / 2 * math.sqrt(4 * r * r - d * d)
    assert iou(b, a) == pytest.approx(lens / (2 * math.pi * r * r - lens), rel=0.02)


def test_nested_real_masks():
    # an eroded mask lies inside the mask, so IoU = |eroded| / |mask| and Dice = 2|eroded| / (|eroded| + |mask|)
    gt = load_dataset("berkeley")[0].mask
    small = binary_erosion(gt, iterations=3)
    assert iou(small, gt) == pytest.approx(small.sum() / gt.sum())
    assert dice(small, gt) == pytest.approx(2 * small.sum() / (small.sum() + gt.sum()))
    assert iou(gt, small) == iou(small, gt)  # symmetric


# ----------------------------------------------------------------------------- NoC, NoF, IoU@k, curves
def test_noc_hand_computed():
    seq = [0.40, 0.70, 0.86, 0.89, 0.91, 0.95]
    assert noc(seq, 0.85) == 3
    assert noc(seq, 0.90) == 5
    assert noc(seq, 0.95) == 6  # reaching the target exactly counts (>=)
    assert noc([0.92], 0.90) == 1  # 1-based
    assert noc(seq, 0.90, max_clicks=4) == 4  # not reached within the budget
    assert isinstance(noc(seq), int)


def test_noc_never_reached_counts_max_clicks():
    seq = [0.5 + 0.01 * k for k in range(25)]  # 0.50 ... 0.74
    assert noc(seq, 0.90) == 20
    assert noc(seq, 0.90, max_clicks=10) == 10
    # reaching the target only after the budget does not count
    assert noc([0.5] * 20 + [0.95], 0.90) == 20
    assert not reached([0.5] * 20 + [0.95], 0.90)


def test_noc_early_stop_on_perfect_prediction():
    # the robot found nothing left to click after click 2: the sample reached every target at click 2
    assert noc([0.6, 1.0], 0.90) == 2
    assert noc([0.6, 1.0], 1.0) == 2
    # a sequence that stopped early *without* reaching the target counts the full budget
    assert noc([0.6, 0.7], 0.90) == 20


def test_nof():
    seqs = [[0.95], [0.5, 0.7], [0.8] * 19 + [0.9], [0.3] * 20]
    assert nof(seqs, 0.90) == 2
    assert nof(seqs, 0.90, max_clicks=5) == 3  # the third sample reaches it only at click 20
    assert noc(seqs[2], 0.90) == 20 and reached(seqs[2], 0.90)  # NoC = cap but not a failure
    assert nof(seqs, 0.25) == 0
    assert mean_noc(seqs, 0.90) == pytest.approx((1 + 20 + 20 + 20) / 4)
    assert nof({"a": [0.1], "b": [0.99]}, 0.9) == 1  # a dict name -> sequence works too


def test_iou_at_k_pads_with_last_value():
    seq = [0.6, 0.8, 0.9]
    assert iou_at_k(seq, 1) == 0.6
    assert iou_at_k(seq, 3) == 0.9
    assert iou_at_k(seq, 10) == 0.9
    assert dice_at_k([0.7, 1.0], 5) == 1.0


def test_noc_iou_curve_padding():
    curve = noc_iou_curve([[0.5, 1.0], [0.2, 0.4, 0.6, 0.8]], max_clicks=5)
    assert curve.shape == (5,) and curve.dtype == np.float64
    np.testing.assert_allclose(curve, [0.35, 0.7, 0.8, 0.9, 0.9])
    assert noc_iou_curve([[0.5] * 30], max_clicks=20).shape == (20,)  # longer sequences are cut
    # entry k-1 of the curve is the mean IoU@k
    seqs = [[0.3, 0.5], [0.6, 0.65, 0.9]]
    assert noc_iou_curve(seqs, 4)[2] == pytest.approx(np.mean([iou_at_k(s, 3) for s in seqs]))


def test_consistent_improvement():
    assert consistent_improvement([0.5, 0.7, 0.6, 0.8, 0.8]) == 0.5  # up, down, up, equal
    assert consistent_improvement([0.1, 0.2, 0.3]) == 1.0
    assert consistent_improvement([0.9, 0.8]) == 0.0


def test_seconds_per_click():
    assert seconds_per_click([0.1, 0.2, 0.3]) == pytest.approx(0.2)
    assert seconds_per_click({"a": [1.0], "b": [2.0, 3.0]}) == pytest.approx(2.0)


def test_metrics_on_a_real_click_loop():
    from iseg_course.classical import GraphCutSegmenter
    from iseg_course.evaluation import simulate_clicks

    sample = load_dataset("grabcut")["banana1"]
    run = simulate_clicks(GraphCutSegmenter(), sample, n_clicks=5)
    ious = run.ious
    assert 1 <= len(ious) <= 5
    k = noc(ious, 0.85, max_clicks=5)
    assert (k == 5 and ious[-1] < 0.85) or ious[k - 1] >= 0.85
    assert iou_at_k(ious, len(ious)) == pytest.approx(iou(run.masks[-1], sample.mask, sample.ignore))
    assert noc_iou_curve([ious], 5)[0] == pytest.approx(ious[0])
    assert seconds_per_click(run.seconds) > 0


def test_click_metric_bad_input():
    with pytest.raises(ValueError, match="empty"):
        noc([])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        noc([0.5, 1.2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        iou_at_k([-0.1], 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        noc([0.5, float("nan")])
    with pytest.raises(ValueError, match="target"):
        noc([0.5], target=90)
    with pytest.raises(ValueError, match="target"):
        noc([0.5], target=0.0)
    with pytest.raises(ValueError, match="max_clicks"):
        noc([0.5], max_clicks=0)
    with pytest.raises(ValueError, match="k must be"):
        iou_at_k([0.5], 0)
    with pytest.raises(ValueError, match="empty"):
        nof([])
    with pytest.raises(ValueError, match="empty"):
        noc_iou_curve([[0.5], []])
    with pytest.raises(ValueError, match="at least 2"):
        consistent_improvement([0.5])
    with pytest.raises(ValueError, match="1-D"):
        noc([[0.5, 0.6], [0.7, 0.8]])
    with pytest.raises(TypeError):
        noc(0.5)
    with pytest.raises(ValueError, match="empty"):
        seconds_per_click([])
    with pytest.raises(ValueError, match=">= 0"):
        seconds_per_click([0.1, -1.0])


# ----------------------------------------------------------------------------- usability
def test_user_time_and_scribble_length_from_a_widget_log():
    from iseg_course.classical import GraphCutSegmenter
    from iseg_course.widgets import SegmentationWidget

    image = load_dataset("grabcut")["banana1"].image
    w = SegmentationWidget(GraphCutSegmenter(), image, canvas_size=256)
    w.scribble([(100, 100), (130, 100), (130, 140)])  # 30 + 40 = 70 px
    w.click(200, 150)
    w.scribble([(10, 10), (13, 14)], positive=False)  # 5 px
    log = w.log
    assert user_time(log) == pytest.approx(log[-1]["t"] - log[0]["t"])
    assert user_time(log) >= 0
    assert user_time(log, start=0.0) == pytest.approx(log[-1]["t"])  # from the moment the image was shown
    assert scribble_length(w.interactions) == pytest.approx(75.0)
    assert scribble_length(log) == pytest.approx(75.0)
    w.undo()  # the undone stroke still counts in the log (effort), not in the final interactions
    assert scribble_length(w.interactions) == pytest.approx(70.0)
    assert scribble_length(w.log) == pytest.approx(75.0)


def test_user_time_and_scribble_length_hand_made():
    log = [{"t": 1.5, "event": "set_image"}, {"t": 4.0, "event": "click", "x": 1, "y": 2}, {"t": 9.25, "event": "reset"}]
    assert user_time(log) == 7.75
    assert user_time(log[:1]) == 0.0
    assert user_time(log, start=0.0) == 9.25
    with pytest.raises(ValueError, match="start"):
        user_time(log, start=2.0)
    items = [Click(1, 1), Scribble(((0, 0), (3, 4), (3, 10))), Box(0, 0, 5, 5), Scribble(((2, 2),))]
    assert scribble_length(items) == pytest.approx(11.0)
    inter = Interactions()
    for it in items:
        inter.add(it)
    assert scribble_length(inter) == pytest.approx(11.0)
    assert scribble_length([]) == 0.0
    with pytest.raises(ValueError, match="empty"):
        user_time([])
    with pytest.raises(ValueError, match="'t'"):
        user_time([{"event": "click"}])
    with pytest.raises(ValueError, match="decrease"):
        user_time([{"t": 2, "event": "a"}, {"t": 1, "event": "b"}])
    with pytest.raises(TypeError):
        scribble_length("scribble")
    with pytest.raises(TypeError):
        scribble_length([1, 2])


def test_sus_score():
    assert len(SUS_ITEMS) == 10
    assert sus_score([3] * 10) == 50.0
    assert sus_score([5, 1] * 5) == 100.0
    assert sus_score([1, 5] * 5) == 0.0
    # Brooke's worked example style: odd items r-1, even items 5-r, times 2.5
    r = [4, 2, 5, 1, 4, 2, 4, 1, 5, 2]
    assert sus_score(r) == pytest.approx(2.5 * ((3 + 4 + 3 + 3 + 4) + (3 + 4 + 3 + 4 + 3)))  # 85.0
    assert sus_score(np.array(r)) == 85.0
    with pytest.raises(ValueError, match="10"):
        sus_score([3] * 9)
    with pytest.raises(ValueError, match="1 to 5"):
        sus_score([3] * 9 + [6])
    with pytest.raises(ValueError, match="1 to 5"):
        sus_score([3] * 9 + [2.5])
    with pytest.raises(ValueError, match="1 to 5"):
        sus_score([0] + [3] * 9)


def test_nasa_tlx_raw_and_weighted():
    ratings = dict(mental=70, physical=10, temporal=40, performance=30, effort=60, frustration=20)
    assert nasa_tlx(ratings) == pytest.approx(230 / 6)
    weights = dict(mental=5, physical=0, temporal=2, performance=3, effort=4, frustration=1)
    assert nasa_tlx(ratings, weights) == pytest.approx((350 + 0 + 80 + 90 + 240 + 20) / 15)
    # equal ratings give that rating whatever the weights; a scale left out of weights has weight 0
    flat = dict.fromkeys(TLX_SCALES, 42.0)
    assert nasa_tlx(flat, dict(mental=5, effort=5, frustration=5)) == pytest.approx(42.0)
    # weights from the 15 pairwise comparisons
    assert len(TLX_PAIRS) == 15 and len(set(TLX_PAIRS)) == 15
    picks = [a for a, b in TLX_PAIRS]  # always the first of each pair
    w = tlx_weights(picks)
    assert w == dict(mental=5, physical=4, temporal=3, performance=2, effort=1, frustration=0)
    assert sum(w.values()) == 15


def test_questionnaire_bad_input():
    ratings = dict.fromkeys(TLX_SCALES, 50)
    with pytest.raises(ValueError, match="unknown"):
        nasa_tlx({**ratings, "boredom": 10})
    with pytest.raises(ValueError, match="missing"):
        nasa_tlx({k: v for k, v in ratings.items() if k != "effort"})
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        nasa_tlx({**ratings, "mental": 101})
    with pytest.raises(ValueError, match="sum to 15"):
        nasa_tlx(ratings, dict(mental=5, physical=5))
    with pytest.raises(ValueError, match="unknown"):
        nasa_tlx(ratings, dict(mental=5, physical=5, boredom=5))
    with pytest.raises(ValueError, match="0 to 5"):
        nasa_tlx(ratings, dict(mental=6, physical=5, effort=4))
    with pytest.raises(ValueError, match="15"):
        tlx_weights(["mental"] * 14)
    with pytest.raises(ValueError, match="unknown"):
        tlx_weights(["boredom"] * 15)


# ---------------------------------------------------------------------------------------------------------
# Annotation cost (lesson 00)
# ---------------------------------------------------------------------------------------------------------
from iseg_course.metrics import POLYGON_SECONDS_PER_OBJECT, annotation_hours  # noqa: E402


def test_annotation_hours_hand_computed():
    # 1000 objects x (3 clicks x 2 s + 6 s check) = 12000 s = 10/3 h
    assert annotation_hours(1000, 3, 2.0, 6.0) == pytest.approx(10 / 3)
    assert annotation_hours(3600, 1, 1.0, 0.0) == 1.0           # one second per object
    assert annotation_hours(0, 5, 3.0, 10.0) == 0.0              # nothing to annotate
    assert annotation_hours(10, 0, 3.0, 36.0) == 0.1             # no click: checking only
    assert annotation_hours(10, 2.5, 2.0, 0.0) == pytest.approx(10 * 5 / 3600)  # a mean NoC need not be an integer
    h = annotation_hours(2, 3, 4, 5)
    assert type(h) is float and h == pytest.approx(2 * 17 / 3600)
    assert type(annotation_hours(np.int64(2), np.float32(3), np.float64(4), 5)) is float


def test_annotation_hours_reproduces_the_coco_polygon_figure():
    # Lin et al. (ECCV 2014): "over 22 worker hours per 1,000 segmentations"
    assert POLYGON_SECONDS_PER_OBJECT == pytest.approx(22 * 3600 / 1000)
    assert annotation_hours(1000, 1, POLYGON_SECONDS_PER_OBJECT, 0) == pytest.approx(22.0)
    # 2.5 million COCO instances (Lin et al.) at 79.2 s each: 55,000 hours
    assert annotation_hours(2_500_000, 1, POLYGON_SECONDS_PER_OBJECT, 0) == pytest.approx(55_000)


def test_annotation_hours_is_linear_and_counts_the_check_once_per_object():
    rng = np.random.default_rng(0)
    for n, k, s, t in rng.uniform(0, 100, (50, 4)):
        h = annotation_hours(n, k, s, t)
        assert h == pytest.approx(n * (k * s + t) / 3600)
        assert annotation_hours(2 * n, k, s, t) == pytest.approx(2 * h)
        assert annotation_hours(n, k + 1, s, t) - h == pytest.approx(n * s / 3600)
        assert annotation_hours(n, k, s, t + 1) - h == pytest.approx(n / 3600)


@pytest.mark.parametrize("args", [(-1, 3, 2, 5), (10, -0.5, 2, 5), (10, 3, -2, 5), (10, 3, 2, -1),
                                  (math.nan, 3, 2, 5), (10, math.inf, 2, 5), (10, 3, math.nan, 5),
                                  (10, 3, 2, -math.inf)])
def test_annotation_hours_bad_values(args):
    with pytest.raises(ValueError, match=">= 0"):
        annotation_hours(*args)


@pytest.mark.parametrize("args", [("10", 3, 2, 5), (10, None, 2, 5), (10, 3, True, 5), (10, 3, 2, [5])])
def test_annotation_hours_bad_types(args):
    with pytest.raises(TypeError, match="number"):
        annotation_hours(*args)
