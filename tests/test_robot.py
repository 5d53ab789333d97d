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


# ----------------------------------------------------------------------------------------------------------
# The other robot users: clicks, scribbles, boxes, polygons (iseg_course.robot)
# ----------------------------------------------------------------------------------------------------------

from scipy import ndimage as ndi  # noqa: E402

from iseg_course.interactions import Box, ExtremePoints, Polygon, Scribble  # noqa: E402
from iseg_course.metrics import iou  # noqa: E402
from iseg_course import robot as R  # noqa: E402

RANDOM_ROBOTS = ["random", "uniform", "dt_prior", "boundary", "long_axis"]


def _call(name, gt, pred, ignore=None, clicked=(), rng=0):
    f = R.CLICK_ROBOTS[name]
    return f(gt, pred, ignore, clicked) if name == "ritm" else f(gt, pred, ignore, clicked, rng=rng)


@pytest.fixture(scope="module")
def real_cases():
    """(name, gt, pred, ignore) on real masks: an empty prediction and a shifted, eroded one.

    GrabCut's banana1 has an ignore band (128 in the mask), the cat gets a made-up 2-pixel band outside
    the object, llama has none (an all-False ignore mask)."""
    cases = []
    for ds, name, shift in [("grabcut", "banana1", 18), ("grabcut", "llama", -25), ("cats", 0, 12)]:
        s = load_dataset(ds)[name]
        pred = ndi.binary_erosion(np.roll(s.mask, shift, axis=1), iterations=4)
        ignore = np.zeros_like(s.mask) if s.ignore is None else s.ignore
        if ds == "cats":  # a made-up ignore band on the boundary, so that every case has one
            ignore = ndi.binary_dilation(s.mask, iterations=2) & ~ndi.binary_erosion(s.mask, iterations=2)
            ignore &= ~s.mask
        cases.append((s.name, s.mask, np.zeros_like(s.mask), ignore))
        cases.append((s.name + "/shifted", s.mask, pred, ignore))
    return cases


def test_registry_names():
    assert set(R.CLICK_ROBOTS) == {"ritm", "centre", "random", "uniform", "dt_prior", "boundary", "long_axis"}
    assert R.CLICK_ROBOTS["ritm"] is ritm_click


def test_centre_click_of_a_square_is_its_centre():
    gt = np.zeros((15, 20), bool)
    gt[3:12, 5:14] = True  # 9x9, centre (row 7, col 9)
    assert R.centre_click(gt, np.zeros_like(gt)) == Click(9, 7, True)
    # a very peaked distance prior ends up at the centre too
    assert R.dt_prior_click(gt, np.zeros_like(gt), power=200, rng=0) == Click(9, 7, True)
    # a prediction covering the object plus a 5x5 false positive: negative click at that square's centre
    pred = gt.copy()
    pred[5:10, 15:20] = True
    assert R.centre_click(gt, pred) == Click(17, 7, False)


def test_centre_takes_the_largest_region_ritm_the_deepest():
    gt = np.zeros((30, 70), bool)
    gt[2:7, 2:62] = True                 # missed bar 5 x 60: 300 pixels, depth 3
    pred = np.zeros_like(gt)
    pred[15:24, 30:39] = True            # extra square 9 x 9: 81 pixels, depth 5
    assert ritm_click(gt, pred) == Click(34, 19, False)
    c = R.centre_click(gt, pred)
    assert c.positive and c.y == 4 and 2 <= c.x < 62
    region, positive = R.largest_error_region(gt, pred)
    assert positive and region.sum() == 300


def test_largest_region_tie_goes_negative():
    gt = np.zeros((9, 20), bool)
    gt[2:7, 2:7] = True
    pred = np.zeros_like(gt)
    pred[2:7, 12:17] = True              # same area as the missed square
    assert R.centre_click(gt, pred) == Click(14, 4, False)
    region, positive = R.largest_error_region(gt, pred)
    assert not positive and region[4, 14] and not region[4, 4]


@pytest.mark.parametrize("name", sorted(R.CLICK_ROBOTS))
def test_clicks_in_error_outside_ignore_and_not_repeated(name, real_cases):
    for case, gt, pred, ignore in real_cases:
        fn = gt & ~pred & ~ignore
        fp = pred & ~gt & ~ignore
        largest, _ = R.largest_error_region(gt, pred, ignore)
        clicked = []
        for seed in range(4):
            c = _call(name, gt, pred, ignore, clicked, rng=seed)
            assert isinstance(c, Click) and float(c.x).is_integer() and float(c.y).is_integer()
            r, col = c.rc
            assert not ignore[r, col], (name, case, c)
            assert (fn if c.positive else fp)[r, col], f"{name} clicked outside the error on {case}: {c}"
            if name not in ("ritm", "uniform"):
                assert largest[r, col], f"{name} left the largest error region on {case}"
            assert (c.x, c.y) not in [(k.x, k.y) for k in clicked]
            clicked.append(c)
        if pred.sum() == 0:  # first click with an empty prediction: inside the object
            assert _call(name, gt, pred, ignore, [], rng=7).positive
        assert _call(name, gt, gt, ignore, [], rng=0) is None  # nothing left to correct


@pytest.mark.parametrize("name", RANDOM_ROBOTS)
def test_random_robots_are_deterministic(name, real_cases):
    _, gt, pred, ignore = real_cases[1]
    a = [_call(name, gt, pred, ignore, rng=s) for s in range(6)]
    b = [_call(name, gt, pred, ignore, rng=np.random.default_rng(s)) for s in range(6)]
    assert a == b
    assert len(set(a)) > 1, f"{name}: different seeds should give different clicks"
    np.random.seed(3)
    c1 = _call(name, gt, pred, ignore, rng=None)
    np.random.seed(3)
    assert _call(name, gt, pred, ignore, rng=None) == c1  # None follows NumPy's global seed


def test_uniform_samples_all_error_pixels_random_only_the_largest():
    gt = np.zeros((40, 40), bool)
    gt[2:12, 2:12] = True                # missed: 100 pixels
    pred = np.zeros_like(gt)
    pred[20:35, 15:35] = True            # extra: 300 pixels
    g = np.random.default_rng(0)
    pos = [R.uniform_click(gt, pred, rng=g).positive for _ in range(3000)]
    assert abs(np.mean(pos) - 0.25) < 0.03  # P(positive) = 100 / 400
    assert not any(R.random_click(gt, pred, rng=g).positive for _ in range(200))
    xs = [R.random_click(gt, pred, rng=g).x for _ in range(2000)]
    assert min(xs) == 15 and max(xs) == 34  # the whole region, border included


def test_dt_prior_follows_edt_power():
    gt = np.zeros((7, 9), bool)
    gt[1:6, 1:8] = True                  # 5 x 7 rectangle: EDT 1, 2, 3
    d = R.interior_distance(gt)
    g = np.random.default_rng(1)
    for power in (0.0, 1.0, 2.0):
        counts = np.zeros(gt.shape)
        for _ in range(6000):
            c = R.dt_prior_click(gt, np.zeros_like(gt), power=power, rng=g)
            counts[c.y, c.x] += 1
        expected = np.where(gt, d ** power, 0)
        expected /= expected.sum()
        assert np.abs(counts / counts.sum() - expected).max() < 0.02, power


def test_boundary_click_band_and_strata():
    yy, xx = np.mgrid[:101, :101]
    gt = (yy - 50) ** 2 + (xx - 50) ** 2 <= 40 ** 2   # disk of radius 40
    g = np.random.default_rng(0)
    dist = R.distance_to_boundary(gt)
    clicks = [R.boundary_click(gt, np.zeros_like(gt), band_px=(3, 8), rng=g) for _ in range(400)]
    assert all(c.positive and 3 <= dist[c.y, c.x] <= 8 for c in clicks)
    sector = [int((np.arctan2(c.y - 50, c.x - 50) + np.pi) / (2 * np.pi) * 8) % 8 for c in clicks]
    assert np.bincount(sector, minlength=8).min() > 25  # every eighth of the outline gets clicks
    # a negative click in a band outside the object
    pred = gt | ((yy - 50) ** 2 + (xx - 50) ** 2 <= 48 ** 2)
    c = R.boundary_click(gt, pred, band_px=(2, 5), rng=0)
    assert not c.positive and 2 <= dist[c.y, c.x] <= 5
    # a band deeper than the error region: the pixels closest to it
    c = R.boundary_click(gt, pred, band_px=(20, 30), rng=0)
    assert not c.positive and dist[c.y, c.x] >= 7.9


def test_long_axis_click_along_the_axis():
    gt = np.zeros((40, 140), bool)
    gt[15:26, 10:130] = True             # 11 x 120 bar, axis = row 20
    centre, v = R.principal_axis(gt)
    assert np.allclose(centre, (69.5, 20)) and np.allclose(v, (1, 0))
    g = np.random.default_rng(0)
    clicks = [R.long_axis_click(gt, np.zeros_like(gt), n_strata=5, width_px=1.0, rng=g) for _ in range(300)]
    assert all(c.positive and abs(c.y - 20) <= 1 for c in clicks)
    counts = np.bincount([(c.x - 10) // 24 for c in clicks], minlength=5)
    assert counts.min() > 35  # every fifth of the length


def test_perturb_click():
    c = Click(5, 5, False)
    assert R.perturb_click(c, 0, (10, 10), 0) == c
    g = np.random.default_rng(0)
    many = [R.perturb_click(Click(50, 50, True), 4.0, (100, 100), g) for _ in range(2000)]
    assert all(p.positive for p in many)
    assert abs(np.std([p.x for p in many]) - 4.0) < 0.3
    edge = [R.perturb_click(Click(0, 9, True), 20.0, (10, 30), g) for _ in range(200)]
    assert all(0 <= p.x <= 29 and 0 <= p.y <= 9 for p in edge)
    assert R.perturb_click(c, 3, (10, 10), 7) == R.perturb_click(c, 3, (10, 10), 7)
    with pytest.raises(ValueError, match="sigma_px"):
        R.perturb_click(c, -1, (10, 10))
    with pytest.raises(TypeError):
        R.perturb_click((5, 5), 1, (10, 10))


def test_make_click_robot_reproducible_evaluation():
    ds = load_dataset("grabcut")
    a, b = ds["teddy"], ds["banana1"]
    robot = R.make_click_robot("dt_prior", seed=4, power=2)
    assert "dt_prior" in repr(robot) and robot.kwargs == {"power": 2}
    first = simulate_clicks(GraphCutSegmenter(), a, 3, robot=robot)
    then_b = simulate_clicks(GraphCutSegmenter(), b, 3, robot=robot)
    fresh_b = simulate_clicks(GraphCutSegmenter(), b, 3, robot=R.make_click_robot("dt_prior", seed=4, power=2))
    assert list(then_b.interactions) == list(fresh_b.interactions)  # independent of what ran before
    again = simulate_clicks(GraphCutSegmenter(), a, 3, robot=R.make_click_robot("dt_prior", seed=4, power=2))
    assert list(again.interactions) == list(first.interactions) and again.ious == first.ious
    ritm = R.make_click_robot("ritm")
    assert ritm(a.mask, np.zeros_like(a.mask), a.ignore) == ritm_click(a.mask, np.zeros_like(a.mask), a.ignore)
    noisy = R.make_click_robot("centre", seed=1, perturb_px=3)
    c = noisy(a.mask, np.zeros_like(a.mask), a.ignore)
    c0 = R.centre_click(a.mask, np.zeros_like(a.mask), a.ignore)
    assert c.positive and 0 < np.hypot(c.x - c0.x, c.y - c0.y) < 20
    import pickle

    assert pickle.loads(pickle.dumps(robot)).kwargs == {"power": 2}
    with pytest.raises(ValueError, match="unknown click robot"):
        R.make_click_robot("psychic")
    with pytest.raises(TypeError):
        R.make_click_robot("ritm", power=2)


# -- scribbles -----------------------------------------------------------------------------------------------


def _pixels(scribbles):
    return np.array([(round(y), round(x)) for s in scribbles for x, y in s.points], dtype=int)


def test_skeleton_of_a_bar_is_its_middle_line():
    gt = np.zeros((21, 80), bool)
    gt[5:16, 10:70] = True               # 11 x 60 bar: skeleton along row 10
    scr = R.skeleton_scribble(gt)
    assert len(scr) == 1 and isinstance(scr[0], Scribble) and scr[0].positive
    pts = np.array(scr[0].points)
    assert np.abs(pts[:, 1] - 10).max() <= 1 and pts[:, 0].max() - pts[:, 0].min() > 40
    assert len(pts) == 2  # a straight line is simplified to its two ends
    assert len(R.skeleton_scribble(gt, simplify_px=0)[0].points) > 40  # one point per pixel


def test_smoothing_removes_the_spurs_of_a_ragged_outline():
    cat = load_dataset("cats")[3]  # a polygon mask with a staircase outline
    raw = R.skeleton_scribble(cat.mask, smooth_px=0)
    smooth = R.skeleton_scribble(cat.mask)
    assert len(raw) > 4 * len(smooth) and 1 <= len(smooth) <= 12
    assert sum(s.length for s in smooth) < 0.5 * sum(s.length for s in raw)
    p = _pixels(smooth)
    assert cat.mask[p[:, 0], p[:, 1]].all()


def test_scribbles_on_real_masks_stay_in_their_region(real_cases):
    for case, gt, pred, ignore in real_cases:
        if pred.any():
            scr = R.error_scribble(gt, pred, ignore)
            region, positive = R.largest_error_region(gt, pred, ignore)
            assert scr and all(s.positive == positive for s in scr)
            p = _pixels(scr)
            assert region[p[:, 0], p[:, 1]].all(), case
            continue
        scr = R.skeleton_scribble(gt, ignore)
        lengths = [s.length for s in scr]
        assert lengths == sorted(lengths, reverse=True) and min(lengths) >= 10
        p = _pixels(scr)
        assert (gt & ~ignore)[p[:, 0], p[:, 1]].all(), case
        # broken: a subset of the skeleton, shorter, reproducible
        br = R.broken_skeleton(gt, ignore, keep=0.5, piece_px=15, rng=3)
        assert br == R.broken_skeleton(gt, ignore, keep=0.5, piece_px=15, rng=3)
        assert 0 < sum(s.length for s in br) < sum(lengths) * 0.9
        sk = np.zeros_like(gt)
        for path in R.skeleton_paths(gt & ~ignore, smooth_px=2.0):
            sk[path[:, 0], path[:, 1]] = True
        pb = _pixels(R.broken_skeleton(gt, ignore, simplify_px=0, rng=3))
        assert sk[pb[:, 0], pb[:, 1]].all()
        # boundary contour 3 px inside (positive) and 3 px outside (negative)
        # (distances measured to the ignore band where there is one: the scribble keeps clear of it)
        depth_in = R.interior_distance(gt & ~ignore)
        depth_out = ndi.distance_transform_edt(~gt & ~ignore)
        for off, depth in ((3.0, depth_in), (-3.0, depth_out)):
            bs = R.boundary_scribble(gt, ignore, offset_px=off, simplify_px=0)
            assert bs and all(s.positive == (off > 0) for s in bs)
            pts = np.array([pt for s in bs for pt in s.points])
            d = ndi.map_coordinates(depth, [pts[:, 1], pts[:, 0]], order=1)
            assert np.abs(d - 3).max() < 0.75, (case, off)
            pix = _pixels(bs)
            assert not ignore[pix[:, 0], pix[:, 1]].any()


def test_warped_scribble():
    s = Scribble([(10, 50), (90, 50)], positive=False)
    same = R.warped_scribble(s, (100, 100), amplitude_px=0, rng=0)
    assert np.allclose(np.array(same.points)[:, 1], 50) and same.positive is False
    w1 = R.warped_scribble(s, (100, 100), amplitude_px=4, rng=5)
    assert w1 == R.warped_scribble(s, (100, 100), amplitude_px=4, rng=5)
    p = np.array(w1.points)
    off = p[:, 1] - 50
    assert 0 < np.abs(off).max() < 25 and np.abs(np.diff(off)).max() < 1.5  # smooth, bounded bend
    many = R.warped_scribble([s, Scribble([(0, 0), (99, 99)])], (100, 100), amplitude_px=30, rng=1)
    assert isinstance(many, list) and len(many) == 2
    assert all(0 <= x <= 99 and 0 <= y <= 99 for m in many for x, y in m.points)
    with pytest.raises(TypeError):
        R.warped_scribble([(1, 2)], (10, 10))


# -- boxes -------------------------------------------------------------------------------------------------


def test_boxes_and_extreme_points_by_hand():
    gt = np.zeros((20, 30), bool)
    gt[4:10, 6:16] = True                # rows 4..9, cols 6..15
    gt[10:13, 8:11] = True               # a foot: rows 10..12, cols 8..10
    assert R.perfect_box(gt) == Box(6, 4, 15, 12)
    assert R.relaxed_box(gt, 5) == Box(1, 0, 20, 17)     # top clipped at 0
    assert R.relaxed_box(gt, 0) == R.perfect_box(gt)
    e = R.extreme_points(gt)
    assert isinstance(e, ExtremePoints)
    assert e.points == ((6.0, 6.0), (10.0, 4.0), (15.0, 6.0), (9.0, 12.0))  # middle of each flat side
    assert e.box == R.perfect_box(gt)


def test_boxes_on_real_masks(real_cases):
    for case, gt, pred, ignore in real_cases[::2]:
        rows, cols = np.nonzero(gt)
        b = R.perfect_box(gt)
        assert (b.x0, b.y0, b.x1, b.y1) == (cols.min(), rows.min(), cols.max(), rows.max())
        h, w = gt.shape
        r = R.relaxed_box(gt, 15)
        assert r.x0 <= b.x0 and r.y0 <= b.y0 and r.x1 >= b.x1 and r.y1 >= b.y1
        assert r.x0 == max(b.x0 - 15, 0) and r.x1 == min(b.x1 + 15, w - 1)
        for seed in range(10):
            p = R.perturbed_box(gt, 12, rng=seed)
            p.validate(gt.shape)
            assert all(abs(u - v) <= 12 for u, v in zip((p.x0, p.y0, p.x1, p.y1), (b.x0, b.y0, b.x1, b.y1)))
        assert R.perturbed_box(gt, 12, rng=1) == R.perturbed_box(gt, 12, rng=1)
        assert R.perturbed_box(gt, 0, rng=1) == b
        e = R.extreme_points(gt)
        assert all(gt[int(y), int(x)] for x, y in e.points) and e.box == b
        ej = R.extreme_points(gt, jitter_px=5, rng=0)
        assert all(abs(a[0] - c[0]) <= 5 and abs(a[1] - c[1]) <= 5 for a, c in zip(ej.points, e.points))



def test_perturbed_and_relaxed_box_rules_by_hand():
    gt = np.zeros((40, 50), bool)
    gt[10:21, 15:31] = True              # tight box x 15..30, y 10..20
    for seed in (0, 1, 7):
        s = np.random.default_rng(seed).integers(-3, 4, size=4)   # one call, applied to x0, y0, x1, y1
        want = Box(15 + s[0], 10 + s[1], 30 + s[2], 20 + s[3])
        assert R.perturbed_box(gt, 3, rng=seed) == want
        assert R.perturbed_box(gt, 3.9, rng=seed) == want            # only the integer part counts
        assert R.perturbed_box(gt, 3, rng=np.random.default_rng(seed)) == want   # a Generator works as it is
        assert R.perturbed_box(gt, 3, rng=seed, margin_px=4) == Box(11 + s[0], 6 + s[1], 34 + s[2], 24 + s[3])
    g = np.random.default_rng(5)
    first, second = R.perturbed_box(gt, 3, rng=g), R.perturbed_box(gt, 3, rng=g)
    h = np.random.default_rng(5)
    assert (first, second) == (R.perturbed_box(gt, 3, rng=h), R.perturbed_box(gt, 3, rng=h))  # state advances
    assert R.perturbed_box(gt, 0, rng=3, margin_px=2.5) == R.relaxed_box(gt, 2.5) == Box(12.5, 7.5, 32.5, 22.5)
    assert R.relaxed_box(gt, 20) == Box(0, 0, 49, 39)                   # clipped to the 50 x 40 image
    assert R.perturbed_box(gt, 0, margin_px=20) == Box(0, 0, 49, 39)
    # a one-pixel object: sides kept one pixel apart, towards +x/+y unless that leaves the image
    dot = np.zeros((10, 10), bool)
    dot[5, 5] = True
    assert R.perfect_box(dot) == Box(5, 5, 5, 5)                         # tight: no area
    assert R.relaxed_box(dot, 0) == R.perturbed_box(dot, 0, rng=0) == Box(5, 5, 6, 6)
    corner = np.zeros((10, 10), bool)
    corner[9, 9] = True
    assert R.relaxed_box(corner, 0) == Box(8, 8, 9, 9)
    for seed in range(30):                                               # shifts far larger than the object
        b = R.perturbed_box(dot, 6, rng=seed)
        b.validate(dot.shape)                                            # inside the image, with an area
        s = np.random.default_rng(seed).integers(-6, 7, size=4)
        x0, x1 = sorted(np.clip([5 + s[0], 5 + s[2]], 0, 9))            # crossed sides swap
        if x1 - x0 < 1:
            x0, x1 = (x0, x0 + 1) if x0 + 1 <= 9 else (x1 - 1, x1)
        assert (b.x0, b.x1) == (x0, x1), seed


def test_boxes_match_scikit_image_bounding_boxes():
    from skimage.measure import regionprops

    for ds, name in [("grabcut", "teddy"), ("grabcut", "person7"), ("coco_mval_cats", 3), ("berkeley", "189011b")]:
        gt = load_dataset(ds)[name].mask
        h, w = gt.shape
        r0, c0, r1, c1 = regionprops(gt.astype(np.uint8))[0].bbox       # half-open (min_row, min_col, max_row, max_col)
        assert R.perfect_box(gt) == Box(c0, r0, c1 - 1, r1 - 1)
        for m in (0, 7, 60):
            assert R.relaxed_box(gt, m) == Box(max(c0 - m, 0), max(r0 - m, 0), min(c1 - 1 + m, w - 1), min(r1 - 1 + m, h - 1))
        for seed in range(5):
            s = np.random.default_rng(seed).integers(-25, 26, size=4)
            want = Box(*np.clip([c0 - 10 + s[0], r0 - 10 + s[1], c1 - 1 + 10 + s[2], r1 - 1 + 10 + s[3]],
                                0, [w - 1, h - 1, w - 1, h - 1]))
            assert R.perturbed_box(gt, 25, rng=seed, margin_px=10) == want


def test_box_robots_bad_input():
    gt = np.zeros((10, 10), bool)
    gt[2:6, 2:6] = True
    with pytest.raises(ValueError, match="margin_px"):
        R.perturbed_box(gt, 2, rng=0, margin_px=-1)
    with pytest.raises(ValueError, match="max_shift_px"):
        R.perturbed_box(gt, -0.5, rng=0)
    with pytest.raises(ValueError, match="margin_px"):
        R.relaxed_box(gt, -0.1)
    with pytest.raises(TypeError, match="margin_px"):
        R.relaxed_box(gt, "5")
    with pytest.raises(ValueError, match="2 x 2"):
        R.relaxed_box(np.ones((1, 8), bool), 0)
    with pytest.raises(ValueError, match="seed"):
        R.perturbed_box(gt, 2, rng=-1)
    with pytest.raises(TypeError, match="rng"):
        R.perturbed_box(gt, 2, rng=1.5)
    with pytest.raises(ValueError, match="empty"):
        R.perturbed_box(np.zeros((10, 10), bool), 2, rng=0, margin_px=3)

# -- polygons ----------------------------------------------------------------------------------------------


def test_polygon_of_a_square_and_vertex_errors():
    gt = np.zeros((20, 20), bool)
    gt[5:15, 5:15] = True
    poly = R.mask_to_polygon(gt, 40)
    assert isinstance(poly, Polygon) and len(poly.vertices) == 40
    assert iou(poly.to_mask(gt.shape), gt) > 0.95
    err, nearest = R.vertex_errors(poly, gt)
    assert err.shape == (40,) and err.max() < 0.5
    # the square's outline (iso-0.5 line) runs along x, y = 4.5 and 14.5; a diamond on the midpoints of
    # its sides, with the top vertex 2 px too low
    sq = Polygon([(9.5, 6.5), (14.5, 9.5), (9.5, 14.5), (4.5, 9.5)])
    err, nearest = R.vertex_errors(sq, gt)
    assert np.allclose(err, [2, 0, 0, 0], atol=1e-9) and np.allclose(nearest[0], (9.5, 4.5))
    fixed = R.worst_vertex_correction(sq, gt, k=0)
    assert np.allclose(fixed.vertices[0], (9.5, 4.5)) and fixed.vertices[1:] == sq.vertices[1:]
    assert np.isclose(R.vertex_errors(Polygon([(9.5, 9.5), (12, 9.5), (9.5, 12)]), gt)[0][0], 5.0, atol=0.05)
    assert R.worst_vertex_correction(fixed, gt, k=1) is fixed  # nothing left to correct
    assert iou(fixed.to_mask(gt.shape), gt) > iou(sq.to_mask(gt.shape), gt)


def test_worst_vertex_correction_drag_and_snap():
    gt = np.zeros((40, 40), bool)
    gt[10:30, 10:30] = True              # outline at 9.5 and 29.5
    top = [(9.5 + 4 * i, 9.5) for i in range(6)]  # x = 9.5 .. 29.5 along the top side
    verts = [(x, y - (6 if i == 2 else 3 if i in (1, 3) else 0)) for i, (x, y) in enumerate(top)]
    poly = Polygon(verts + [(29.5, 29.5), (9.5, 29.5)])
    snap = R.worst_vertex_correction(poly, gt, k=1)
    assert np.allclose(np.array(snap.vertices)[:6, 1], 9.5, atol=0.05)  # vertex 2 and its two neighbours
    drag = R.worst_vertex_correction(poly, gt, k=1, mode="drag")
    ys = np.array(drag.vertices)[:6, 1]
    assert np.allclose(ys, [9.5, 9.5, 9.5, 9.5, 9.5, 9.5], atol=0.05)  # neighbours move half of 6 px = 3 px
    drag2 = R.worst_vertex_correction(poly, gt, k=2, mode="drag")
    assert np.isclose(drag2.vertices[0][1], 9.5 + 6 / 3, atol=0.05)  # 2nd neighbour moves 1/3: over-corrected
    assert iou(snap.to_mask(gt.shape), gt) > iou(poly.to_mask(gt.shape), gt)


def test_worst_vertex_correction_on_real_mask():
    s = load_dataset("grabcut")["teddy"]
    poly = R.mask_to_polygon(s.mask, 48)
    assert iou(poly.to_mask(s.mask.shape), s.mask, s.ignore) > 0.85
    g = np.random.default_rng(0)
    h, w = s.mask.shape
    noisy = Polygon([(float(np.clip(x + g.normal(0, 10), 0, w - 1)), float(np.clip(y + g.normal(0, 10), 0, h - 1)))
                     for x, y in poly.vertices])
    ious, worst = [], []
    cur = noisy
    for _ in range(12):
        ious.append(iou(cur.to_mask(s.mask.shape), s.mask, s.ignore))
        worst.append(R.vertex_errors(cur, s.mask)[0].max())
        cur = R.worst_vertex_correction(cur, s.mask, k=1)
    assert all(b <= a + 1e-9 for a, b in zip(worst, worst[1:]))  # the worst error never grows
    assert worst[-1] < worst[0] and ious[-1] > ious[0] + 0.02


# -- bad input -------------------------------------------------------------------------------------------


def test_bad_input_raises_clear_errors():
    gt = np.zeros((10, 10), bool)
    gt[2:6, 2:6] = True
    empty = np.zeros_like(gt)
    for name in RANDOM_ROBOTS + ["centre"]:
        with pytest.raises(ValueError, match="empty"):
            _call(name, empty, gt)
        with pytest.raises(ValueError, match="shape"):
            _call(name, gt, empty[:, :-1])
        with pytest.raises(ValueError, match="binary"):
            _call(name, gt * 3, empty)
    for f in (R.skeleton_scribble, R.boundary_scribble, R.broken_skeleton, R.perfect_box, R.relaxed_box,
              R.perturbed_box, R.extreme_points, R.mask_to_polygon):
        with pytest.raises(ValueError, match="empty"):
            f(empty)
    with pytest.raises(ValueError, match="empty"):
        R.vertex_errors(Polygon([(0, 0), (5, 0), (5, 5)]), empty)
    with pytest.raises(TypeError, match="rng"):
        R.random_click(gt, empty, rng="seed")
    with pytest.raises(TypeError, match="rng"):
        R.random_click(gt, empty, rng=1.5)
    bad = [
        lambda: R.dt_prior_click(gt, empty, power=-1),
        lambda: R.boundary_click(gt, empty, band_px=(5, 2)),
        lambda: R.boundary_click(gt, empty, band_px=3),
        lambda: R.boundary_click(gt, empty, n_strata=0),
        lambda: R.long_axis_click(gt, empty, width_px=0),
        lambda: R.relaxed_box(gt, -1),
        lambda: R.perturbed_box(gt, -2),
        lambda: R.extreme_points(gt, jitter_px=-1),
        lambda: R.mask_to_polygon(gt, 2),
        lambda: R.worst_vertex_correction(Polygon([(0, 0), (5, 0), (5, 5)]), gt, k=-1),
        lambda: R.worst_vertex_correction(Polygon([(0, 0), (5, 0), (5, 5)]), gt, mode="pull"),
        lambda: R.boundary_scribble(gt, offset_px=0),
        lambda: R.broken_skeleton(gt, keep=0),
        lambda: R.broken_skeleton(gt, keep=1.5),
        lambda: R.warped_scribble(Scribble([(1, 1)]), (10, 10), spacing_px=0),
        lambda: R.make_click_robot("random", seed=-1),
        lambda: R.skeleton_scribble(gt, smooth_px=-1),
    ]
    for f in bad:
        with pytest.raises(ValueError):
            f()
    with pytest.raises(TypeError):
        R.worst_vertex_correction([(0, 0), (5, 0), (5, 5)], gt)
    with pytest.raises(TypeError):
        R.mask_to_polygon(gt, 3.5)


# -- the robot protocol: robot(gt, pred, ignore, previous) -> Interaction | None ---------------------------

import pickle  # noqa: E402

from iseg_course.interactions import Interactions  # noqa: E402


def _mixed(clicks):
    """A history with a box, a scribble, extreme points and a polygon around the given clicks."""
    return [Box(0, 0, 5, 3), Scribble([(2, 1)]), *clicks[:1], ExtremePoints([(1, 1), (2, 1), (4, 2), (2, 2)]),
            Polygon([(0, 0), (5, 0), (5, 3)]), *clicks[1:]]


def test_click_functions_read_only_the_clicks_of_a_mixed_history():
    gt = np.zeros((4, 6), bool)
    gt[1:3, 1:5] = True  # as in test_first_pixel_rowmajor_and_clicked_excluded: (1, 1), then (2, 1)
    empty = np.zeros_like(gt)
    for previous in (_mixed([]), Interactions(_mixed([]))):  # the scribble point (2, 1) is no click
        assert ritm_click(gt, empty, None, previous) == Click(1, 1, True)
    for previous in (_mixed([Click(1, 1)]), tuple(_mixed([Click(1, 1)])), Interactions(_mixed([Click(1, 1)]))):
        assert ritm_click(gt, empty, None, previous) == Click(2, 1, True)
        fn, _ = R.error_regions(gt, empty, None, previous)
        assert not fn[1, 1] and fn[1, 2] and fn.sum() == 7


@pytest.mark.parametrize("name", sorted(R.CLICK_ROBOTS))
def test_click_robots_fit_the_protocol_with_any_history(name, real_cases):
    _, gt, pred, ignore = real_cases[1]  # banana1, shifted prediction
    plain, mixed, logged = (R.make_click_robot(name, seed=5) for _ in range(3))
    clicks, log = [], Interactions(_mixed([]))
    for _ in range(3):
        c = plain(gt, pred, ignore, clicks)
        assert logged(gt, pred, ignore, log) == c and mixed(gt, pred, ignore, list(log)) == c
        clicks.append(c)
        log.add(c)
    assert (c.x, c.y) not in [(k.x, k.y) for k in clicks[:-1]]


def test_scribble_robot(real_cases):
    _, gt, _, ignore = real_cases[0]  # banana1 with its ignore band
    empty = np.zeros_like(gt)
    robot = R.ScribbleRobot()
    first = robot(gt, empty, ignore, [])
    assert first == R.skeleton_scribble(gt, ignore)[0] and first.positive
    assert robot(gt, empty, ignore, [Click(3, 3)]) == first  # clicks before: still the first scribble
    # later: the longest skeleton scribble of the largest error, with its sign
    for pred in (real_cases[1][2], ndi.binary_dilation(gt, iterations=12)):
        region, positive = R.largest_error_region(gt, pred, ignore)
        s = robot(gt, pred, ignore, Interactions([first]))
        assert s == R.error_scribble(gt, pred, ignore)[0] and s.positive == positive
        p = _pixels([s])
        assert region[p[:, 0], p[:, 1]].all()
    assert not robot(gt, ndi.binary_dilation(gt, iterations=12), ignore, [first]).positive
    assert robot(gt, gt, ignore, []) is None and robot(gt, gt, ignore, [first]) is None
    # warped: seeded per sample and step, picklable
    shaky = R.ScribbleRobot(seed=3, warp_px=4.0)
    w = shaky(gt, empty, ignore, [])
    assert w != first and w.positive and w == R.ScribbleRobot(seed=3, warp_px=4.0)(gt, empty, ignore, [])
    assert pickle.loads(pickle.dumps(shaky))(gt, empty, ignore, []) == w
    assert R.ScribbleRobot(seed=4, warp_px=4.0)(gt, empty, ignore, []) != w
    assert shaky(gt, empty, ignore, [Click(3, 3)]) != w  # another step, another draw
    with pytest.raises(ValueError):
        R.ScribbleRobot(warp_px=-1)


def test_box_then_clicks(real_cases):
    _, gt, pred, ignore = real_cases[3]  # llama
    empty = np.zeros_like(gt)
    b = R.perfect_box(gt)
    robot = R.BoxThenClicks()
    assert robot(gt, empty, ignore, []) == b
    assert robot(gt, empty, ignore, [Click(5, 5)]) == b  # no box yet
    assert robot(gt, pred, ignore, [b]) == ritm_click(gt, pred, ignore)
    c = ritm_click(gt, pred, ignore)
    assert robot(gt, pred, ignore, Interactions([b, c])) == ritm_click(gt, pred, ignore, [c])
    assert robot(gt, gt, ignore, []) is None and robot(gt, gt, ignore, [b]) is None
    boxes = [R.BoxThenClicks(seed=s, max_shift_px=12)(gt, empty, ignore, []) for s in range(6)]
    assert len(set(boxes)) > 2  # seeds matter
    for p in boxes:
        assert all(abs(u - v) <= 12 for u, v in zip((p.x0, p.y0, p.x1, p.y1), (b.x0, b.y0, b.x1, b.y1)))
    assert R.BoxThenClicks(seed=2, max_shift_px=12)(gt, empty, ignore, []) == boxes[2]
    noisy = R.BoxThenClicks(seed=1, clicker="centre", perturb_px=3)
    assert pickle.loads(pickle.dumps(noisy))(gt, pred, ignore, [b]) == noisy(gt, pred, ignore, [b])
    with pytest.raises(ValueError, match="unknown click robot"):
        R.BoxThenClicks(clicker="psychic")


def _session(robot, sample, n):
    """n rounds of robot -> GraphCut.predict on one sample; the interactions and the IoU after each."""
    seg = GraphCutSegmenter()
    seg.set_image(sample.image)
    log, pred, ious = Interactions(), np.zeros_like(sample.mask), []
    for _ in range(n):
        item = robot(sample.mask, pred, sample.ignore, log)
        if item is None:
            break
        log.add(item, sample.mask.shape)
        pred = seg.predict(log) >= 0.5
        ious.append(iou(pred, sample.mask, sample.ignore))
    return list(log), ious


def test_make_robot_drives_sessions_of_any_type():
    assert R.ROBOT_NAMES == (*R.CLICK_ROBOTS, "scribble", "box_then_clicks")
    s = load_dataset("grabcut")["teddy"]
    empty = np.zeros_like(s.mask)
    for name in R.ROBOT_NAMES:
        robot = R.make_robot(name, seed=1)
        first = robot(s.mask, empty, s.ignore, [])
        kind = {"scribble": Scribble, "box_then_clicks": Box}.get(name, Click)
        assert type(first) is kind and first.positive, name
        assert pickle.loads(pickle.dumps(robot))(s.mask, empty, s.ignore, []) == first
        assert robot(s.mask, s.mask, s.ignore, []) is None
        if name in R.CLICK_ROBOTS:
            assert repr(robot) == repr(R.make_click_robot(name, seed=1))
    items, ious = _session(R.make_robot("box_then_clicks", seed=0, max_shift_px=6), s, 3)
    assert isinstance(items[0], Box) and all(isinstance(i, Click) for i in items[1:]) and len(items) == 3
    assert ious[-1] > 0.85
    items, ious = _session(R.make_robot("scribble"), s, 3)
    assert all(isinstance(i, Scribble) for i in items) and items[0].positive and ious[-1] > 0.85
    assert R.make_robot("dt_prior", seed=4, power=2).kwargs == {"power": 2}
    assert R.make_robot("scribble", seed=2, warp_px=3).warp_px == 3
    with pytest.raises(ValueError, match="unknown robot"):
        R.make_robot("psychic")
    with pytest.raises(ValueError):
        R.make_robot("scribble", seed=-1)
    with pytest.raises(TypeError):
        R.make_robot("scribble", power=2)
