"""Guidance signals (iseg_course.guidance): hand-computable cases, references (scipy EDT, scikit-image
MCP_Geometric) and real GrabCut / cat images."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt
from skimage.draw import disk as draw_disk
from skimage.graph import MCP_Geometric

from iseg_course import guidance as G
from iseg_course.data import load_dataset
from iseg_course.interactions import Box, Click, ExtremePoints, Interactions, Polygon, Scribble
from iseg_course.metrics import iou
from iseg_course.robot import ritm_click


@pytest.fixture(scope="module")
def banana():
    return load_dataset("grabcut")["banana1"]  # 480 x 640


@pytest.fixture(scope="module")
def cat():
    return load_dataset("cats")[0]


def robot_clicks(sample, n_pos=2):
    """A positive click at the object's centre, a negative one in the background, and another positive."""
    gt = sample.mask
    first = ritm_click(gt, np.zeros_like(gt), sample.ignore)
    neg = ritm_click(gt, np.ones_like(gt), sample.ignore)
    ys, xs = np.nonzero(gt)
    k = len(ys) // 3
    return Interactions([first, neg] + [Click(int(xs[k]), int(ys[k]), True)][: n_pos - 1])


def mcp_reference(cost, seeds):
    d, _ = MCP_Geometric(cost).find_costs(list(zip(*np.nonzero(seeds))))
    return d


# ---------------------------------------------------------------------------------------------- seeds


def test_seed_points_clicks_scribbles_and_filters():
    inter = Interactions([
        Click(10.4, 5.6, True),
        Scribble([(20, 30), (30, 30)], False),  # 11 pixels on row 30
        ExtremePoints([(1, 2), (3, 1), (5, 2), (3, 4)]),
        Box(0, 0, 40, 40),  # skipped: an area prompt
    ])
    pos = G.seed_points(inter, (50, 60), positive=True)
    neg = G.seed_points(inter, (50, 60), positive=False)
    assert [6, 10] in pos.tolist()  # (x, y) = (10.4, 5.6) -> row 6, col 10
    assert len(pos) == 1 + 4
    assert neg.tolist() == [[30, c] for c in range(20, 31)]
    assert len(G.seed_points(inter, (50, 60))) == 16
    mask = G.seed_mask(inter, (50, 60), positive=False)
    assert mask.dtype == bool and mask.sum() == 11 and mask[30, 20:31].all()
    # raw (x, y) coordinates, a single point, an empty set
    assert G.seed_points([(3, 4), (5, 6)], (10, 10)).tolist() == [[4, 3], [6, 5]]
    assert G.seed_points((3, 4), (10, 10)).tolist() == [[4, 3]]
    assert G.seed_points([], (10, 10)).shape == (0, 2)


def test_seed_points_bad_input():
    with pytest.raises(ValueError, match="outside"):
        G.seed_points([Click(60, 5)], (50, 60))
    with pytest.raises(ValueError, match="outside"):
        G.gaussian_heatmap([(-1, 3)], (10, 10))
    with pytest.raises(TypeError, match="area prompt"):
        G.seed_points(Box(1, 1, 5, 5), (10, 10))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        G.seed_points([(1, 2, 3)], (10, 10))
    with pytest.raises(ValueError, match="shape"):
        G.seed_points([(1, 2)], (10,))
    with pytest.raises(ValueError, match="shape"):
        G.disk_map([(1, 2)], (0, 10))
    with pytest.raises(TypeError):
        G.seed_points("abc", (10, 10))


# ---------------------------------------------------------------------------------------------- local maps


def test_gaussian_heatmap_hand_values():
    sigma = 8.0
    m = G.gaussian_heatmap([(50, 40)], (100, 120), sigma)
    assert m.shape == (100, 120) and m.dtype == np.float32
    assert m[40, 50] == 1.0 and m.max() == 1.0 and m.min() == 0.0
    assert m[40, 58] == pytest.approx(math.exp(-0.5), rel=1e-6)  # sigma pixels to the right
    assert m[32, 50] == pytest.approx(math.exp(-0.5), rel=1e-6)  # sigma pixels up
    assert m[46, 56] == pytest.approx(math.exp(-72 / 128), rel=1e-6)
    assert m[40, 50 + 33] == 0.0  # beyond truncate * sigma = 32 px
    full = G.gaussian_heatmap([(50, 40)], (100, 120), sigma, truncate=None)
    assert 0 < full[40, 50 + 33] < 1e-3
    # several clicks: the maximum of the single-click maps
    two = G.gaussian_heatmap([(50, 40), (60, 45)], (100, 120), sigma)
    np.testing.assert_array_equal(two, np.maximum(m, G.gaussian_heatmap([(60, 45)], (100, 120), sigma)))


def test_gaussian_and_disk_on_real_image(cat):
    inter = robot_clicks(cat)
    h, w = cat.mask.shape
    g = G.gaussian_heatmap(inter, cat.image.shape, 10.0, positive=True)
    for c in inter.clicks:
        r, col = c.rc
        assert g[r, col] == 1.0 if c.positive else g[r, col] < 1.0
    d = G.disk_map(inter, (h, w), 5, positive=True)
    assert set(np.unique(d)) == {0.0, 1.0}
    assert d.sum() == 2 * 81  # two disjoint disks of radius 5 (81 pixels each)


@pytest.mark.parametrize("radius", [3, 5, 7.5, 10])
def test_disk_area_and_iou_with_drawn_disk(radius):
    m = G.disk_map([Click(50, 40)], (100, 120), radius)
    drawn = np.zeros((100, 120), bool)
    rr, cc = draw_disk((40, 50), radius + 1e-9, shape=drawn.shape)  # draw_disk is strict: d < r
    drawn[rr, cc] = True
    np.testing.assert_array_equal(m.astype(bool), drawn)
    assert abs(m.sum() - math.pi * radius ** 2) < 2 * math.pi * radius  # area within one perimeter
    strict = np.zeros_like(drawn)
    rr, cc = draw_disk((40, 50), radius, shape=drawn.shape)
    strict[rr, cc] = True
    assert iou(m > 0, strict) > 0.85


# ---------------------------------------------------------------------------------------------- distances


def test_euclidean_map_equals_scipy_edt(banana):
    h, w = banana.mask.shape
    inter = robot_clicks(banana)
    inter.add(Scribble([(50, 400), (200, 420), (260, 470)], False))  # > 48 seed pixels: k-d tree path
    for positive in (True, False):
        seeds = G.seed_mask(inter, (h, w), positive=positive)
        ref = distance_transform_edt(~seeds)
        e = G.euclidean_distance_map(inter, (h, w), truncate=None, positive=positive)
        assert e.dtype == np.float32
        np.testing.assert_allclose(e, ref, rtol=1e-6, atol=1e-4)
        t = G.euclidean_distance_map(inter, (h, w), truncate=100, positive=positive)
        np.testing.assert_allclose(t, np.minimum(ref, 100), rtol=1e-6, atol=1e-4)
        n = G.euclidean_distance_map(inter, (h, w), truncate=100, normalize=True, positive=positive)
        assert n.min() == 0.0 and n.max() == 1.0
    # no seeds: every pixel is as far as the truncation
    assert np.all(G.euclidean_distance_map([], (h, w)) == 255.0)
    assert np.all(np.isinf(G.euclidean_distance_map([], (h, w), truncate=None)))


def test_euclidean_hand_case():
    e = G.euclidean_distance_map([(0, 0)], (4, 5), truncate=None)
    assert e[3, 4] == pytest.approx(5.0)
    assert e[0, 3] == 3.0


def test_gradient_cost():
    flat = np.full((30, 40, 3), 120, np.uint8)
    np.testing.assert_array_equal(G.gradient_cost(flat), np.ones((30, 40)))
    step = flat.copy()
    step[:, 20:] = 250
    c = G.gradient_cost(step, gamma=10)
    assert c.dtype == np.float64 and c.min() >= 1.0
    assert c[15, 19:21].min() > 2 and c[15, 5] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(G.gradient_cost(step, gamma=0), np.ones((30, 40)))
    with pytest.raises(ValueError):
        G.gradient_cost(np.zeros((5,)))
    with pytest.raises(ValueError):
        G.gradient_cost(flat, gamma=-1)


def test_geodesic_hand_cases():
    # 1-D: a row of costs; step cost = (c_p + c_q) / 2
    cost = np.array([[1.0, 3.0, 1.0, 1.0, 5.0]])
    seeds = np.zeros_like(cost, bool)
    seeds[0, 0] = True
    np.testing.assert_allclose(G.geodesic_distance(cost, seeds)[0], [0, 2, 4, 5, 8])
    # constant cost: the 8-connected chamfer ("octile") distance max + (sqrt2 - 1) min
    h, w = 60, 80
    seeds = np.zeros((h, w), bool)
    seeds[20, 30] = True
    d = G.geodesic_distance(np.ones((h, w)), seeds)
    yy, xx = np.mgrid[:h, :w]
    a, b = np.abs(yy - 20), np.abs(xx - 30)
    np.testing.assert_allclose(d, np.maximum(a, b) + (math.sqrt(2) - 1) * np.minimum(a, b), rtol=1e-12)
    # ... hence equal to the Euclidean distance along axes and diagonals, and within 8.3 % elsewhere
    edt = distance_transform_edt(~seeds)
    on_lines = (a == 0) | (b == 0) | (a == b)
    np.testing.assert_allclose(d[on_lines], edt[on_lines], rtol=1e-12)
    rel = np.abs(d - edt)[~seeds] / edt[~seeds]
    assert rel.max() < 0.0824 and rel.max() > 0.07
    # a wall of high cost with a gap: the path goes round through the gap
    cost = np.ones((21, 21))
    cost[:, 10] = 1000.0
    cost[0, 10] = 1.0
    seeds = np.zeros_like(cost, bool)
    seeds[20, 0] = True
    d = G.geodesic_distance(cost, seeds)
    assert d[20, 20] == pytest.approx(mcp_reference(cost, seeds)[20, 20])
    assert d[20, 20] < 100  # around the wall, not through it
    # no seed: +inf everywhere
    assert np.all(np.isinf(G.geodesic_distance(np.ones((5, 6)), np.zeros((5, 6), bool))))


@pytest.mark.parametrize("name", ["banana1", "llama", "teddy"])
def test_geodesic_equals_mcp_geometric_on_grabcut(name):
    sample = load_dataset("grabcut")[name]
    cost = G.gradient_cost(sample.image)
    inter = robot_clicks(sample)
    inter.add(Scribble([(10, 10), (60, 30), (90, 15)], True))
    for positive in (True, False):
        seeds = G.seed_mask(inter, cost.shape, positive=positive)
        d = G.geodesic_distance(cost, seeds)
        ref = mcp_reference(cost, seeds)
        off = ~seeds
        assert np.all(d[seeds] == 0)
        rel = np.abs(d - ref)[off] / ref[off]
        assert rel.max() < 0.01, rel.max()  # the bar; in practice ~1e-13
        assert rel.max() < 1e-9


def test_geodesic_random_costs_converge():
    rng = np.random.default_rng(0)
    cost = rng.uniform(0.0, 10.0, (70, 90))  # noise-like costs: paths wind, more raster rounds
    seeds = np.zeros(cost.shape, bool)
    seeds[rng.integers(0, 70, 3), rng.integers(0, 90, 3)] = True
    d = G.geodesic_distance(cost, seeds)
    ref = mcp_reference(cost, seeds)
    np.testing.assert_allclose(d, ref, rtol=1e-9, atol=1e-9)
    # stopping early gives upper bounds
    early = G.geodesic_distance(cost, seeds, max_rounds=1)
    assert np.all(early >= d - 1e-9)


@pytest.mark.parametrize("distance", [G.geodesic_distance, G.raster_scan_distance])
def test_geodesic_distances_refuse_bad_seeds_and_costs(distance):
    with pytest.raises(TypeError, match="bool"):
        distance(np.ones((4, 4)), np.ones((4, 4)))
    with pytest.raises(ValueError, match="shape"):
        distance(np.ones((4, 4)), np.ones((4, 5), bool))
    with pytest.raises(ValueError, match="finite"):
        distance(-np.ones((4, 4)), np.ones((4, 4), bool))


def test_geodesic_bad_input():
    with pytest.raises(ValueError, match="finite"):
        G.geodesic_distance(np.full((4, 4), np.nan), np.ones((4, 4), bool))
    with pytest.raises(ValueError):
        G.geodesic_distance(np.ones(4), np.ones(4, bool))


def test_geodesic_and_exp_maps_on_cat(cat):
    inter = robot_clicks(cat)
    shape = cat.mask.shape
    g = G.geodesic_distance_map(inter, shape, cat.image, positive=True)
    cost = G.gradient_cost(cat.image)
    np.testing.assert_allclose(g, G.geodesic_distance(cost, G.seed_mask(inter, shape, positive=True)), rtol=1e-6)
    assert g.dtype == np.float32 and g.min() == 0.0
    # the geodesic distance is never shorter than the Euclidean one (cost >= 1) ... up to the chamfer error
    e = G.euclidean_distance_map(inter, shape, truncate=None, positive=True)
    assert np.all(g >= e * 0.92)
    # ... and longer still where the image has edges: on average well above the straight-line distance
    assert np.mean(g) > 1.5 * np.mean(e)
    x = G.exp_geodesic_map(inter, shape, cat.image, tau=50.0, positive=True)
    np.testing.assert_allclose(x, np.exp(-g.astype(np.float64) / 50.0), rtol=1e-5, atol=1e-7)
    assert x.max() == 1.0 and x.min() >= 0.0
    assert np.all(x[G.seed_mask(inter, shape, positive=True)] == 1.0)
    n = G.geodesic_distance_map(inter, shape, cat.image, normalize=True, positive=True)
    assert n.min() == 0.0 and n.max() == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------- location prior


def test_location_prior_hand_case():
    edges = np.zeros((30, 60), bool)
    edges[:, 20] = True
    edges[:, 40:42] = True  # a two-pixel-thick edge is crossed once
    lp = G.location_prior([(5, 15)], edges.shape, edges=edges)
    assert lp.dtype == np.float32
    assert lp[15, 5] == 255 and lp[15, 0] == 255 and lp[15, 19] == 255
    assert lp[15, 30] == 245 and lp[15, 50] == 235 and lp[3, 55] == 235
    for direction in ("horizontal", "vertical"):
        m = G.location_prior([(5, 15)], edges.shape, edges=edges, direction=direction)
        assert m[15, 5] == 255
    h = G.location_prior([(5, 15)], edges.shape, edges=edges, direction="horizontal")
    assert h[0, 30] == 245 and h[29, 50] == 235
    v = G.location_prior([(5, 15)], edges.shape, edges=edges, direction="vertical")
    assert np.all(v[:, 5] == 255) and np.all(v[:, 30] == 255)  # vertical walks never cross vertical edges
    # many edges: floor at 0
    many = np.zeros((5, 200), bool)
    many[:, 5::6] = True
    assert G.location_prior([(0, 2)], many.shape, edges=many)[2, 199] == 0


def test_location_prior_real_image(banana):
    inter = robot_clicks(banana)
    lp = G.location_prior(inter, banana.mask.shape, banana.image, positive=True)
    assert lp.shape == banana.mask.shape and lp.dtype == np.float32
    assert lp.max() == 255.0 and lp.min() >= 0
    assert np.all(np.isin(np.unique(lp), np.arange(0, 256, 10) + 5))  # 255 - 10 k
    r, c = inter.clicks[0].rc
    assert lp[r, c] == 255


def test_location_prior_matches_a_walk_along_the_ray(banana):
    """Reference: walk from a pixel back to the click, each step to the 8-neighbour pointing most
    directly at the click (the digital ray the vectorised ring-by-ring version uses), count edge entries."""
    edges = G.canny_edges(banana.image)
    r0, c0 = 240, 213
    lp = G.location_prior([(c0, r0)], edges.shape, edges=edges)
    rng = np.random.default_rng(0)
    for r, c in zip(rng.integers(0, 480, 60), rng.integers(0, 640, 60)):
        path = [(r, c)]
        while path[-1] != (r0, c0):
            y, x = path[-1]
            norm = math.hypot(y - r0, x - c0)
            path.append((y - int(np.rint((y - r0) / norm)), x - int(np.rint((x - c0) / norm))))
        on = [edges[p] for p in path[::-1]]  # from the click outwards
        crossings = sum(b and not a for a, b in zip(on, on[1:]))
        assert lp[r, c] == max(255 - 10 * crossings, 0)


# ---------------------------------------------------------------------------------------------- attraction


def test_attraction_field_hand_values():
    eps = 4.0
    a = G.attraction_field([Click(30, 20, True)], (40, 60), softening=eps)
    assert a.dtype == np.float32 and a[20, 30] == pytest.approx(1.0)
    assert a[20, 40] == pytest.approx(eps**2 / (eps**2 + 100), rel=1e-6)
    # 1 / r^2 fall-off far from the charge
    assert a[20, 30 + 28] / a[20, 30 + 14] == pytest.approx(0.25, rel=0.1)
    neg = G.attraction_field([Click(30, 20, False)], (40, 60), softening=eps)
    np.testing.assert_allclose(neg, -a)
    both = G.attraction_field(Interactions([Click(30, 20, True), Click(10, 5, False)]), (40, 60), softening=eps)
    np.testing.assert_allclose(both, a + G.attraction_field([Click(10, 5, False)], (40, 60), softening=eps), atol=1e-6)
    # the vector field points towards a positive charge
    v = G.attraction_field([Click(30, 20, True)], (40, 60), softening=eps, vector=True)
    assert v.shape == (2, 40, 60)
    assert v[0, 20, 10] > 0 and v[0, 20, 50] < 0 and v[1, 5, 30] > 0 and abs(v[1, 20, 10]) < 1e-9
    # a scribble is one unit of charge spread over its pixels
    s = G.attraction_field([Scribble([(10, 10), (19, 10)], True)], (40, 60), softening=eps)
    assert s.max() < 1.0
    with pytest.raises(ValueError):
        G.attraction_field([Click(1, 1)], (10, 10), softening=0)
    with pytest.raises(ValueError, match="one value per seed"):
        G.attraction_field([(1, 1), (2, 2)], (10, 10), charges=[1.0])


# ---------------------------------------------------------------------------------------------- channels


def test_guidance_maps_channels_every_kind(cat):
    shape = cat.mask.shape
    inter = robot_clicks(cat)
    ranges = {"gaussian": (0, 1), "disk": (0, 1), "euclidean": (0, 255), "geodesic": (0, np.inf),
              "exp_geodesic": (0, 1), "location_prior": (0, 255), "attraction": (0, 2)}
    pos_only = Interactions(inter.clicks[:1])
    for kind in G.KINDS:
        m = G.guidance_maps(inter, cat.image.shape, kind, image=cat.image)
        assert m.shape == (2, *shape) and m.dtype == np.float32, kind
        lo, hi = ranges[kind]
        assert m.min() >= lo and m.max() <= hi, kind
        p = G.guidance_maps(pos_only, shape, kind, image=cat.image)
        # the positive click only shows in channel 0; channel 1 is the "no click" map
        assert not np.all(p[0] == p[0].flat[0]), kind
        assert np.all(p[1] == p[1].flat[0]), kind
    # channel maps equal the single-channel functions with the positive / negative filter
    g = G.guidance_maps(inter, shape, "gaussian", sigma=5)
    np.testing.assert_array_equal(g[0], G.gaussian_heatmap(inter, shape, 5, positive=True))
    np.testing.assert_array_equal(g[1], G.gaussian_heatmap(inter, shape, 5, positive=False))
    e = G.guidance_maps(inter, shape, "euclidean")
    neg = inter.clicks[1]
    assert not neg.positive and e[1][neg.rc] == 0 and e[0][neg.rc] > 0


def test_guidance_maps_scribbles_count_every_pixel(cat):
    shape = cat.mask.shape
    scr = Scribble([(20, 20), (80, 40), (120, 40)], False)
    m = G.guidance_maps([scr], shape, "disk", radius=1)
    path = G.seed_mask([scr], shape)
    assert path.sum() > 100
    assert np.all(m[1][path] == 1) and m[0].max() == 0
    e = G.guidance_maps([scr], shape, "euclidean", truncate=None)
    np.testing.assert_allclose(e[1], distance_transform_edt(~path), rtol=1e-6, atol=1e-4)


def test_guidance_maps_bad_input(cat):
    shape = cat.mask.shape
    with pytest.raises(ValueError, match="unknown guidance kind"):
        G.guidance_maps([Click(5, 5)], shape, "heatmap")
    with pytest.raises(ValueError, match="image"):
        G.guidance_maps([Click(5, 5)], shape, "geodesic")
    with pytest.raises(ValueError, match="image"):
        G.guidance_maps([Click(5, 5)], shape, "location_prior", image=np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="outside"):
        G.guidance_maps([Click(shape[1], 5)], shape, "gaussian")
    with pytest.raises(ValueError, match="sigma"):
        G.guidance_maps([Click(5, 5)], shape, "gaussian", sigma=0)
    with pytest.raises(ValueError, match="radius"):
        G.guidance_maps([Click(5, 5)], shape, "disk", radius=-2)
    with pytest.raises(ValueError, match="tau"):
        G.exp_geodesic_map([Click(5, 5)], shape, cat.image, tau=0)


# ---------------------------------------------------------------------------------------------- implicit signals


def test_click_weight_map_and_weighted_loss(cat):
    shape = cat.mask.shape
    inter = robot_clicks(cat)
    wmap = G.click_weight_map(inter, shape, weight=4, sigma=10)
    assert wmap.dtype == np.float32 and wmap.min() == 1.0 and wmap.max() == 5.0
    r, c = inter.clicks[0].rc
    assert wmap[r, c] == 5.0
    gt = cat.mask
    perfect = gt.astype(np.float32)
    assert G.weighted_bce(perfect, gt, wmap) < 1e-5
    # the same mistake costs more near a click than far from it
    near, far = perfect.copy(), perfect.copy()
    near[r - 3:r + 4, c - 3:c + 4] = 1 - near[r - 3:r + 4, c - 3:c + 4]
    far[:7, :7] = 1 - far[:7, :7]
    assert G.weighted_bce(near, gt, wmap) > 3 * G.weighted_bce(far, gt, wmap)
    assert G.weighted_bce(near, gt) == pytest.approx(G.weighted_bce(far, gt), rel=1e-6)
    with pytest.raises(ValueError):
        G.weighted_bce(perfect, gt, wmap[:-1])
    with pytest.raises(ValueError):
        G.click_weight_map(inter, shape, weight=-1)


def test_box_crop_round_trip(banana):
    gt = banana.mask
    ys, xs = np.nonzero(gt)
    box = Box(xs.min(), ys.min(), xs.max(), ys.max())
    # no resizing (size = window size): exact round trip
    _, win = G.box_crop(gt, box, margin=10, size=1)
    size = (win.y1 - win.y0, win.x1 - win.x0)
    crop, win = G.box_crop(gt, box, margin=10, size=size, interpolation="nearest")
    assert crop.dtype == bool and crop.shape == size
    back = G.box_uncrop(crop.astype(np.float32), win, interpolation="nearest")
    np.testing.assert_array_equal(back > 0.5, gt)  # the object lies inside the box
    # resized to 256 x 256 and back: nearly the same mask, zeros outside the window
    img_crop, win = G.box_crop(banana.image, box, margin=20, size=256)
    assert img_crop.shape == (256, 256, 3) and img_crop.dtype == np.uint8
    m_crop, _ = G.box_crop(gt.astype(np.float32), box, margin=20, size=256)
    back = G.box_uncrop(m_crop, win)
    assert back.shape == gt.shape and back.dtype == np.float32
    assert iou(back > 0.5, gt) > 0.97
    outside = np.ones_like(gt)
    outside[win.slices] = False
    assert np.all(back[outside] == 0)
    # margin clipped at the image border
    _, w2 = G.box_crop(banana.image, Box(0, 0, 30, 30), margin=50, size=64)
    assert (w2.y0, w2.x0) == (0, 0) and (w2.y1, w2.x1) == (81, 81)


def test_box_crop_bad_input(banana):
    with pytest.raises(ValueError, match="outside"):
        G.box_crop(banana.image, Box(0, 0, 700, 30))
    with pytest.raises(ValueError, match="margin"):
        G.box_crop(banana.image, Box(0, 0, 30, 30), margin=-1)
    with pytest.raises(ValueError, match="size"):
        G.box_crop(banana.image, Box(0, 0, 30, 30), size=(0, 5))
    with pytest.raises(TypeError):
        G.box_crop(banana.image, (0, 0, 30, 30))
    _, win = G.box_crop(banana.image, Box(0, 0, 30, 30), size=64)
    with pytest.raises(ValueError, match="crop size"):
        G.box_uncrop(np.zeros((32, 32)), win)


#: (box, margin, size) windows in a 480 x 640 image: the whole image, shrunk and enlarged, square and not,
#: clipped at the border, fractional box corners.
CROP_WINDOWS = [(Box(0, 0, 639, 479), 0, 128), (Box(100, 50, 300, 200), 0, (64, 96)),
                (Box(10.5, 20, 600, 470.5), 30, 256), (Box(0, 0, 30, 30), 50, 64), (Box(200, 100, 260, 300), 3, (512, 40))]


@pytest.mark.parametrize("box,margin,size", CROP_WINDOWS)
def test_crop_window_point_mapping(banana, box, margin, size):
    """CropWindow maps points with the pixel-centre formula ``(x - x0 + 0.5) * sx - 0.5``, clipped to the grid,
    and back; it is the window box_crop returns, and its crop is box_crop's."""
    h, w = banana.mask.shape
    win = G.CropWindow.around(box, (h, w), margin=margin, size=size)
    crop, win2 = G.box_crop(banana.image, box, margin=margin, size=size)
    assert win == win2
    np.testing.assert_array_equal(win.crop(banana.image), crop)
    ch, cw = win.size
    sy, sx = ch / (win.y1 - win.y0), cw / (win.x1 - win.x0)
    assert win.scale == (sy, sx)
    rng = np.random.default_rng(0)
    xs = np.r_[rng.uniform(0, w - 1, 40), win.x0, win.x1 - 1, 0, w - 1]
    ys = np.r_[rng.uniform(0, h - 1, 40), win.y0, win.y1 - 1, 0, h - 1]
    ref_x = np.clip((xs - win.x0 + 0.5) * sx - 0.5, 0, cw - 1)
    ref_y = np.clip((ys - win.y0 + 0.5) * sy - 0.5, 0, ch - 1)
    for x, y, rx, ry in zip(xs, ys, ref_x, ref_y):
        cx, cy = win.to_crop(float(x), float(y))
        assert type(cx) is float and (cx, cy) == (rx, ry)
    ax, ay = win.to_crop(xs, ys)
    np.testing.assert_array_equal(ax, ref_x)
    np.testing.assert_array_equal(ay, ref_y)
    # back to the image: the inverse wherever the forward map did not clip; always inside the window
    bx, by = win.to_image(ax, ay)
    assert np.all((bx >= win.x0) & (bx <= win.x1 - 1) & (by >= win.y0) & (by <= win.y1 - 1))
    free = (ax > 0) & (ax < cw - 1) & (ay > 0) & (ay < ch - 1)
    assert free.sum() > 0
    np.testing.assert_allclose(bx[free], xs[free], atol=1e-9)
    np.testing.assert_allclose(by[free], ys[free], atol=1e-9)


@pytest.mark.parametrize("box,margin,size", CROP_WINDOWS)
def test_crop_window_uncrop_torch_matches_box_uncrop(banana, box, margin, size):
    """The tensor uncrop (bilinear F.interpolate, pasted into a map of ``fill``) follows box_uncrop's mapping."""
    torch = pytest.importorskip("torch")
    h, w = banana.mask.shape
    win = G.CropWindow.around(box, (h, w), margin=margin, size=size)
    prob = np.random.default_rng(1).random(win.size).astype(np.float32)
    ref = G.box_uncrop(prob, win, interpolation="linear")
    got = win.uncrop_torch(torch.from_numpy(prob)[None, None])
    assert tuple(got.shape) == (1, 1, h, w) and got.dtype == torch.float32
    np.testing.assert_allclose(got[0, 0].numpy(), ref, rtol=0, atol=1e-4)
    outside = np.ones((h, w), bool)
    outside[win.slices] = False
    assert not got[0, 0].numpy()[outside].any()
    # logits with fill=-inf: probability exactly 0 outside the window, the resized logits' sigmoid inside
    logits = torch.from_numpy(8 * prob - 4)
    p = torch.sigmoid(win.uncrop_torch(logits, fill=float("-inf"))).numpy()
    assert p.shape == (h, w) and not p[outside].any()
    inside = torch.sigmoid(torch.nn.functional.interpolate(logits[None, None], size=win.window_shape,
                                                          mode="bilinear", align_corners=False))[0, 0].numpy()
    np.testing.assert_array_equal(p[win.slices], inside)
    with pytest.raises(ValueError, match="shape"):
        win.uncrop_torch(torch.zeros(1, 1, 3, 3))


# ---------------------------------------------------------------------------------------------- incremental


@pytest.mark.parametrize("kind,kw", [("gaussian", {"sigma": 12.0}), ("disk", {"radius": 6.0})])
def test_incremental_equals_full_recompute(banana, kind, kw):
    shape = banana.mask.shape
    inc = G.IncrementalGuidance(shape, kind, **kw)
    inter = robot_clicks(banana)
    inter.add(Scribble([(100, 100), (140, 120)], False))
    inter.add(Click(635, 2, True))  # near the border: the window is clipped
    for item in inter:
        before = inc.maps.copy()
        rows, cols = inc.add(item)
        outside = np.ones(shape, bool)
        outside[rows, cols] = False
        # only the window was touched, and it is small
        assert np.array_equal(inc.maps[:, outside], before[:, outside])
        assert (rows.stop - rows.start) * (cols.stop - cols.start) < 0.1 * outside.size
        full = G.guidance_maps(inc.interactions, shape, kind, **kw)
        np.testing.assert_array_equal(inc.maps, full)
    assert inc.maps[0].max() == 1.0 and inc.maps[1].max() == 1.0
    inc.undo()
    np.testing.assert_array_equal(inc.maps, G.guidance_maps(Interactions(list(inter)[:-1]), shape, kind, **kw))
    inc.reset()
    assert inc.maps.max() == 0 and len(inc.interactions) == 0


def test_incremental_bad_input():
    with pytest.raises(ValueError, match="recomputed"):
        G.IncrementalGuidance((10, 10), "euclidean")
    with pytest.raises(ValueError, match="sigma"):
        G.IncrementalGuidance((10, 10), "gaussian", sigma=0)
    with pytest.raises(ValueError, match="radius"):
        G.IncrementalGuidance((10, 10), "disk", radius=-1)
    inc = G.IncrementalGuidance((10, 10), "disk")
    with pytest.raises(ValueError, match="outside"):
        inc.add(Click(10, 3))
    with pytest.raises(TypeError):
        inc.add(Box(1, 1, 3, 3))
    with pytest.raises(TypeError):
        inc.add(Polygon([(1, 1), (3, 1), (2, 3)]))


# ---------------------------------------------------------------------------------------------- plain raster scan


def _pixel_loop_raster_scan(cost, seeds, rounds=None, connectivity=8):
    """Toivanen's raster scan pixel by pixel, as lesson 04's exercise writes it (the reference for the
    row-vectorised ``raster_scan_distance``)."""
    h, w = cost.shape
    d = np.where(seeds, 0.0, np.inf)
    fwd = [(0, -1, 1.0), (-1, 0, 1.0)] + ([(-1, -1, math.sqrt(2)), (-1, 1, math.sqrt(2))] if connectivity == 8 else [])
    bwd = [(-a, -b, ln) for a, b, ln in fwd]
    done = 0
    while rounds is None or done < rounds:
        done += 1
        changed = False
        for rows, cols, nb in ((range(h), range(w), fwd), (range(h - 1, -1, -1), range(w - 1, -1, -1), bwd)):
            for i in rows:
                for j in cols:
                    for di, dj, ln in nb:
                        r, c = i + di, j + dj
                        if 0 <= r < h and 0 <= c < w and d[r, c] + ln * (cost[i, j] + cost[r, c]) / 2 < d[i, j]:
                            d[i, j] = d[r, c] + ln * (cost[i, j] + cost[r, c]) / 2
                            changed = True
        if not changed:
            break
    return d, done


def test_raster_scan_hand_cases():
    # the diagonal step: sqrt(2) * mean cost, cheaper than round the corner
    d = G.raster_scan_distance(np.array([[1.0, 9.0], [9.0, 3.0]]), np.array([[True, False], [False, False]]))
    np.testing.assert_allclose(d, [[0, 5], [5, 2 * math.sqrt(2)]])
    # a snaking corridor: one round reaches the bottom rows only through the wall, the second round finds the way
    maze = np.array([[1, 1, 1, 1, 1], [100, 100, 100, 100, 1], [1, 1, 1, 1, 1], [1, 100, 100, 100, 100],
                     [1, 1, 1, 1, 1]], float)
    seeds = np.zeros((5, 5), bool)
    seeds[0, 0] = True
    assert G.raster_scan_distance(maze, seeds, rounds=1)[4, 4] == pytest.approx(105 + math.sqrt(2))
    assert G.raster_scan_distance(maze, seeds, rounds=2)[4, 4] == pytest.approx(8 + 4 * math.sqrt(2))
    d, n = G.raster_scan_distance(maze, seeds, return_rounds=True)
    assert n == 3  # two rounds that change something, one that certifies convergence
    np.testing.assert_allclose(d, mcp_reference(maze, seeds), rtol=1e-12)
    # 4-connected: the city-block distance on a constant cost
    seeds = np.zeros((6, 7), bool)
    seeds[2, 3] = True
    yy, xx = np.mgrid[:6, :7]
    np.testing.assert_allclose(G.raster_scan_distance(np.ones((6, 7)), seeds, connectivity=4),
                               np.abs(yy - 2) + np.abs(xx - 3))
    # no seed
    d, n = G.raster_scan_distance(np.ones((3, 3)), np.zeros((3, 3), bool), return_rounds=True)
    assert np.all(np.isinf(d)) and n == 0


@pytest.mark.parametrize("connectivity", [8, 4])
def test_raster_scan_equals_pixel_loop_and_mcp(banana, connectivity):
    cost = G.gradient_cost(banana.image[250:298, 180:244])
    seeds = np.zeros(cost.shape, bool)
    seeds[40, 40] = True
    seeds[3, 10:20] = True
    for rounds in (1, 2):
        loop, _ = _pixel_loop_raster_scan(cost, seeds, rounds, connectivity)
        np.testing.assert_allclose(G.raster_scan_distance(cost, seeds, rounds=rounds, connectivity=connectivity),
                                   loop, rtol=1e-12)
    loop, n_loop = _pixel_loop_raster_scan(cost, seeds, None, connectivity)
    d, n = G.raster_scan_distance(cost, seeds, connectivity=connectivity, return_rounds=True)
    assert n == n_loop and n > 2
    np.testing.assert_allclose(d, loop, rtol=1e-12)
    ref, _ = MCP_Geometric(cost, fully_connected=connectivity == 8).find_costs(np.argwhere(seeds))
    np.testing.assert_allclose(d, ref, rtol=1e-9, atol=1e-9)
    # fewer rounds: upper bounds, never below the exact distance
    assert np.all(G.raster_scan_distance(cost, seeds, rounds=1, connectivity=connectivity) >= ref * (1 - 1e-12))


def test_raster_scan_full_image_agrees_with_geodesic_distance(banana):
    cost = G.gradient_cost(banana.image)
    seeds = G.seed_mask(robot_clicks(banana), cost.shape, positive=True)
    d = G.raster_scan_distance(cost, seeds)
    np.testing.assert_allclose(d, G.geodesic_distance(cost, seeds), rtol=1e-9)
    np.testing.assert_allclose(d, mcp_reference(cost, seeds), rtol=1e-9)


def test_raster_scan_bad_input():
    with pytest.raises(ValueError, match="rounds"):
        G.raster_scan_distance(np.ones((4, 4)), np.ones((4, 4), bool), rounds=0)
    with pytest.raises(ValueError, match="connectivity"):
        G.raster_scan_distance(np.ones((4, 4)), np.ones((4, 4), bool), connectivity=6)
