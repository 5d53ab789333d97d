"""Graph cut (Boykov & Jolly 2001): n-links, t-links, networkx vs PyMaxflow, the Segmenter, on real images."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from iseg_course.classical.graphcut import (
    OFFSETS_8,
    GraphCutSegmenter,
    NLinks,
    build_graph_networkx,
    estimate_sigma,
    hard_seed_capacity,
    min_cut_maxflow,
    min_cut_networkx,
    nlink_grid,
    nlink_map,
    nlink_weights,
    regional_term,
    segmentation_energy,
    tlink_weights,
    tlinks_from_regional,
)
from iseg_course.data import boundary_crop, load_dataset
from iseg_course.robot import ritm_click
from iseg_course.interactions import Box, Click, Interactions, Scribble, rasterize_seeds
from iseg_course.metrics import iou


@pytest.fixture(scope="module")
def grabcut():
    return load_dataset("grabcut")


def centre_seeds(gt, radius=3):
    """Seed disks at the robot user's first positive click (object centre) and first negative one."""
    first_pos = ritm_click(gt, np.zeros_like(gt))
    first_neg = ritm_click(gt, np.ones_like(gt))
    return rasterize_seeds([first_pos, first_neg], gt.shape, radius=radius)


# ---------------------------------------------------------------------------------------------- n-links


def test_nlink_weights_by_hand():
    img = np.zeros((2, 3, 3), np.uint8)
    img[0, 1] = (10, 0, 0)
    img[1, 2] = (0, 20, 0)
    sigma = 10.0
    edges, w = nlink_weights(img, sigma=sigma, connectivity=8)
    h, wd = 2, 3
    assert edges.shape == ((h - 1) * wd + h * (wd - 1) + 2 * (h - 1) * (wd - 1), 2)
    table = {tuple(sorted(e)): v for e, v in zip(edges.tolist(), w.tolist())}
    assert len(table) == len(edges), "every neighbour pair must appear once"
    # (0,0)-(0,1): |diff|^2 = 100 -> exp(-100 / 200)
    assert table[(0, 1)] == pytest.approx(np.exp(-0.5))
    # (0,0)-(1,0): equal colours -> 1
    assert table[(0, 3)] == pytest.approx(1.0)
    # diagonal (0,1)-(1,2): |diff|^2 = 100 + 400 -> exp(-500 / 200) / sqrt(2)
    assert table[(1, 5)] == pytest.approx(np.exp(-2.5) / np.sqrt(2))
    # anti-diagonal (0,2)-(1,1): equal colours, distance sqrt(2)
    assert table[(2, 4)] == pytest.approx(1 / np.sqrt(2))
    # no pair that is not 8-adjacent
    assert (0, 5) not in table and (0, 2) not in table


def test_estimate_sigma_is_rms_neighbour_difference(grabcut):
    img = grabcut["llama"].image[100:160, 200:280].astype(float)
    diffs = [
        img[:, 1:] - img[:, :-1],
        img[1:, :] - img[:-1, :],
        img[1:, 1:] - img[:-1, :-1],
        img[1:, :-1] - img[:-1, 1:],
    ]
    d2 = np.concatenate([np.sum(d**2, axis=-1).ravel() for d in diffs])
    assert estimate_sigma(img.astype(np.uint8)) == pytest.approx(np.sqrt(d2.mean()))
    d2_4 = np.concatenate([np.sum(d**2, axis=-1).ravel() for d in diffs[:2]])
    assert estimate_sigma(img.astype(np.uint8), connectivity=4) == pytest.approx(np.sqrt(d2_4.mean()))
    assert estimate_sigma(np.full((5, 5, 3), 7, np.uint8)) == 1.0


def test_nlinks_4_vs_8_connectivity(grabcut):
    img, _ = boundary_crop(grabcut["llama"])
    n4, n8 = nlink_grid(img, connectivity=4), nlink_grid(img, connectivity=8)
    assert n4.weights.shape == (2, 64, 64) and n8.weights.shape == (4, 64, 64)
    assert n4.sigma != n8.sigma  # estimated from different pair sets
    same_sigma4 = nlink_grid(img, sigma=n8.sigma, connectivity=4)
    np.testing.assert_allclose(same_sigma4.weights, n8.weights[:2])
    e4, w4 = same_sigma4.edge_list()
    e8, w8 = n8.edge_list()
    assert len(e4) == 2 * 64 * 63 and len(e8) == len(e4) + 2 * 63 * 63
    assert np.all(w8 > 0) and np.all(w8 <= 1.0)
    diag = w8[len(e4):]
    assert diag.max() <= 1 / np.sqrt(2) + 1e-12, "diagonal n-links carry the 1/dist(p,q) = 1/sqrt(2) factor"
    # degree and K
    deg = n8.degree()
    manual = np.bincount(e8.ravel(), np.repeat(w8, 2), minlength=64 * 64).reshape(64, 64)
    np.testing.assert_allclose(deg, manual)
    assert hard_seed_capacity(n8) == pytest.approx(1 + manual.max())
    assert hard_seed_capacity((e8, w8), 64 * 64) == pytest.approx(hard_seed_capacity(n8))
    assert hard_seed_capacity(n8) > hard_seed_capacity(same_sigma4)


def test_nlinks_are_small_across_the_object_boundary(grabcut):
    img, gt = boundary_crop(grabcut["flower"])
    edges, w = nlink_weights(img)
    flat = gt.ravel()
    across = flat[edges[:, 0]] != flat[edges[:, 1]]
    assert w[across].mean() < 0.5 * w[~across].mean()


# ---------------------------------------------------------------------------------------------- t-links


def test_tlinks_follow_the_table(grabcut):
    img, gt = boundary_crop(grabcut["llama"])
    fg, bg = centre_seeds(gt)
    r_obj, r_bkg = regional_term(img, fg, bg)
    assert r_obj.shape == (64, 64) and r_obj.dtype == np.float64
    assert np.all(np.isfinite(r_obj)) and np.all(np.isfinite(r_bkg)) and r_obj.min() > 0 and r_bkg.min() > 0
    # the colour models separate the object from the background on average
    assert (r_obj - r_bkg)[gt].mean() < (r_obj - r_bkg)[~gt].mean()
    lam, K = 0.7, 12.5
    src, snk = tlinks_from_regional(r_obj, r_bkg, fg, bg, lam, K)
    free = ~(fg | bg)
    np.testing.assert_allclose(src[free], lam * r_bkg[free])
    np.testing.assert_allclose(snk[free], lam * r_obj[free])
    assert np.all(src[fg] == K) and np.all(snk[fg] == 0)
    assert np.all(src[bg] == 0) and np.all(snk[bg] == K)
    src2, snk2 = tlink_weights(img, fg, bg, lam, K)
    np.testing.assert_allclose(src2, src)
    np.testing.assert_allclose(snk2, snk)


def test_tlinks_bad_input(grabcut):
    img, gt = boundary_crop(grabcut["llama"])
    fg, bg = centre_seeds(gt)
    r_obj, r_bkg = regional_term(img, fg, bg)
    with pytest.raises(ValueError, match="both object and background"):
        tlinks_from_regional(r_obj, r_bkg, fg, fg, 1.0, 10.0)
    with pytest.raises(ValueError, match="K"):
        tlinks_from_regional(r_obj, r_bkg, fg, bg, 1.0, 0.0)
    with pytest.raises(ValueError, match="lam"):
        tlinks_from_regional(r_obj, r_bkg, fg, bg, -1.0, 10.0)
    with pytest.raises(ValueError, match="shape"):
        tlinks_from_regional(r_obj, r_bkg, fg[:10], bg, 1.0, 10.0)
    with pytest.raises(ValueError, match="at least one object"):
        regional_term(img, np.zeros_like(fg), bg)
    with pytest.raises(ValueError, match="uint8"):
        regional_term(img.astype(float), fg, bg)


def test_nlinks_bad_input():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="connectivity"):
        nlink_grid(img, connectivity=6)
    with pytest.raises(ValueError, match="sigma"):
        nlink_map(img, 0.0, (0, 1))
    with pytest.raises(ValueError, match="offset"):
        nlink_map(img, 1.0, (0, -1))
    with pytest.raises(TypeError):
        nlink_grid([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="shape"):
        nlink_grid(np.zeros((1, 8, 3), np.uint8))


# ---------------------------------------------------------------------------------------------- min cut


@pytest.fixture(scope="module")
def crop_problem(grabcut):
    img, gt = boundary_crop(grabcut["flower"])
    fg, bg = centre_seeds(gt, radius=6)
    nl = nlink_grid(img)
    K = hard_seed_capacity(nl)
    src, snk = tlink_weights(img, fg, bg, lam=0.1, K=K)
    return img, gt, fg, bg, nl, src, snk


def test_networkx_and_maxflow_agree_on_a_real_crop(crop_problem):
    img, gt, fg, bg, nl, src, snk = crop_problem
    cut_nx, mask_nx = min_cut_networkx(src, snk, nl)
    cut_mf, mask_mf = min_cut_maxflow(src, snk, nl)
    cut_el, mask_el = min_cut_maxflow(src, snk, nl.edge_list())  # the edge-list path of PyMaxflow
    assert mask_nx.shape == (64, 64) and mask_nx.dtype == bool
    assert abs(cut_nx - cut_mf) <= 1e-9 * cut_mf
    assert abs(cut_el - cut_mf) <= 1e-9 * cut_mf
    # the cut value is the energy of the labelling, and both labellings have the minimum energy
    for mask in (mask_nx, mask_mf, mask_el):
        assert abs(segmentation_energy(mask, src, snk, nl) - cut_mf) <= 1e-9 * cut_mf
        assert abs(segmentation_energy(mask, src, snk, nl.edge_list()) - cut_mf) <= 1e-9 * cut_mf
    # seeds are respected and the cut finds the object in the crop
    assert mask_mf[fg].all() and not mask_mf[bg].any()
    assert iou(mask_mf, gt) > 0.8


def test_min_cut_is_minimal(crop_problem):
    img, gt, fg, bg, nl, src, snk = crop_problem
    cut, mask = min_cut_maxflow(src, snk, nl)
    rng = np.random.default_rng(0)
    assert segmentation_energy(gt, src, snk, nl) >= cut - 1e-9 * cut
    for _ in range(20):  # flipping pixels never lowers the energy of a minimum cut
        flip = np.zeros_like(mask)
        flip[tuple(rng.integers(0, 64, size=(2, 5)))] = True
        assert segmentation_energy(mask ^ flip, src, snk, nl) >= cut - 1e-9 * cut


def test_networkx_graph_structure(crop_problem):
    img, gt, fg, bg, nl, src, snk = crop_problem
    g = build_graph_networkx(src, snk, nl)
    n = 64 * 64
    assert g.number_of_nodes() == n + 2 and "S" in g and "T" in g
    edges, w = nl.edge_list()
    n_tlinks = int((src > 0).sum() + (snk > 0).sum())
    assert g.number_of_edges() == 2 * len(edges) + n_tlinks
    p, q = edges[123]
    assert g[p][q]["capacity"] == g[q][p]["capacity"] == pytest.approx(w[123])
    s_pixel = int(np.flatnonzero(fg)[0])
    assert g["S"][s_pixel]["capacity"] == pytest.approx(hard_seed_capacity(nl)) and not g.has_edge(s_pixel, "T")


def test_seeds_win_against_a_hostile_regional_term(crop_problem):
    img, gt, fg, bg, nl, src, snk = crop_problem
    # swap the colour models and weigh them heavily: every free pixel wants the wrong label
    r_obj, r_bkg = regional_term(img, fg, bg)
    src2, snk2 = tlinks_from_regional(r_bkg, r_obj, fg, bg, lam=50.0, K=hard_seed_capacity(nl))
    _, mask = min_cut_maxflow(src2, snk2, nl)
    assert mask[fg].all() and not mask[bg].any()
    assert iou(mask, gt) < 0.5  # ... and it did take the regional term's side elsewhere


def test_min_cut_bad_input(crop_problem):
    img, gt, fg, bg, nl, src, snk = crop_problem
    with pytest.raises(ValueError, match="equal shape"):
        min_cut_maxflow(src, snk[:10], nl)
    with pytest.raises(ValueError, match=">= 0"):
        min_cut_networkx(-src, snk, nl)
    with pytest.raises(ValueError, match="grid"):
        min_cut_maxflow(src[:32], snk[:32], nl)
    with pytest.raises(TypeError):
        min_cut_maxflow(src, snk, [1, 2, 3])
    bad = NLinks(OFFSETS_8, nl.weights, nl.sigma)
    with pytest.raises(ValueError):
        segmentation_energy(np.ones((3, 3), bool), src, snk, bad)


# ---------------------------------------------------------------------------------------------- Segmenter


def test_segmenter_backends_agree_on_a_crop(crop_problem):
    img, gt, *_ = crop_problem
    ys, xs = np.nonzero(gt)
    i = len(ys) // 2
    inter = Interactions([Click(int(xs[i]), int(ys[i]), True)])
    d = distance_transform_edt(~gt)
    y, x = np.unravel_index(d.argmax(), d.shape)
    inter.add(Click(int(x), int(y), False))
    results = {}
    for backend, reuse in (("networkx", True), ("maxflow", True), ("maxflow", False)):
        seg = GraphCutSegmenter(backend=backend, reuse_flow=reuse, seed_radius=2)
        seg.set_image(img)
        prob = seg.predict(inter)
        assert prob.dtype == np.float32 and prob.shape == (64, 64) and set(np.unique(prob)) <= {0.0, 1.0}
        results[(backend, reuse)] = (seg.last_cut_value, prob)
    ref = results[("maxflow", False)][0]
    for cut, _ in results.values():
        assert abs(cut - ref) <= 1e-9 * ref


def test_reused_flow_gives_the_same_cuts_as_fresh_graphs(grabcut):
    s = grabcut["banana1"]
    reuse, fresh = GraphCutSegmenter(reuse_flow=True), GraphCutSegmenter(reuse_flow=False)
    reuse.set_image(s.image)
    fresh.set_image(s.image)
    inter, pred = Interactions(), np.zeros_like(s.mask)
    for _ in range(4):
        inter.add(ritm_click(s.mask, pred, s.ignore))
        p1, p2 = reuse.predict(inter), fresh.predict(inter)
        assert abs(reuse.last_cut_value - fresh.last_cut_value) <= 1e-9 * fresh.last_cut_value
        # both are minimum cuts of the same energy
        src, snk = fresh.tlinks(inter)
        e1 = segmentation_energy(p1 > 0.5, src, snk, fresh.nlinks)
        assert abs(e1 - fresh.last_cut_value) <= 1e-9 * fresh.last_cut_value
        pred = p2 > 0.5
    inter.undo()  # removing a click is just another t-link change
    reuse.predict(inter)
    fresh.predict(inter)
    assert abs(reuse.last_cut_value - fresh.last_cut_value) <= 1e-9 * fresh.last_cut_value


@pytest.mark.parametrize("name", ["teddy", "banana2", "person7"])
def test_robot_clicks_on_grabcut_images(grabcut, name):
    s = grabcut[name]
    seg = GraphCutSegmenter()
    seg.set_image(s.image)
    inter, pred, scores = Interactions(), np.zeros_like(s.mask), []
    for _ in range(5):
        inter.add(ritm_click(s.mask, pred, s.ignore))
        pred = seg.predict(inter) > 0.5
        scores.append(iou(pred, s.mask, s.ignore))
    fg, bg = rasterize_seeds(inter, s.mask.shape, radius=seg.seed_radius)
    assert pred[fg].all() and not pred[bg].any(), "hard seeds keep their label"
    assert scores[-1] > 0.9, f"IoU after 5 clicks on {name}: {scores}"
    assert scores[-1] > scores[0]


def test_box_and_scribbles(grabcut):
    s = grabcut["flower"]
    ys, xs = np.nonzero(s.mask)
    box = Box(max(xs.min() - 10, 0), max(ys.min() - 10, 0), min(xs.max() + 10, s.mask.shape[1] - 1),
              min(ys.max() + 10, s.mask.shape[0] - 1))
    seg = GraphCutSegmenter()
    seg.set_image(s.image)
    pred = seg.predict(Interactions([box])) > 0.5
    outside = np.ones_like(pred)
    outside[box.slices()] = False
    assert not pred[outside].any(), "a box makes everything outside it background"
    assert iou(pred, s.mask, s.ignore) > 0.9
    # a scribble along the object's middle row, inside the object
    r = int(np.median(ys))
    cols = np.flatnonzero(s.mask[r])
    scr = Scribble(((int(cols[len(cols) // 4]), r), (int(cols[3 * len(cols) // 4]), r)))
    pred2 = seg.predict(Interactions([box, scr])) > 0.5
    assert iou(pred2, s.mask, s.ignore) > 0.9
    fg, _ = rasterize_seeds([scr], s.mask.shape, radius=seg.seed_radius)
    assert pred2[fg].all()


def test_no_positive_interaction_gives_an_empty_mask(grabcut):
    s = grabcut["llama"]
    seg = GraphCutSegmenter()
    seg.set_image(s.image)
    for inter in (Interactions(), Interactions([Click(10, 10, positive=False)])):
        out = seg.predict(inter)
        assert out.shape == s.mask.shape and out.dtype == np.float32 and not out.any()
    assert seg.last_cut_value is None


def test_only_positive_clicks_works(grabcut):
    s = grabcut["stone2"]
    seg = GraphCutSegmenter()
    seg.set_image(s.image)
    pred = seg.predict(Interactions([ritm_click(s.mask, np.zeros_like(s.mask), s.ignore)])) > 0.5
    assert pred.any() and not pred.all()
    assert (pred & s.mask).sum() > 0.9 * pred.sum()
    assert iou(pred, s.mask, s.ignore) > 0.6


def test_segmenter_bad_input(grabcut):
    for kwargs in ({"lam": -1}, {"connectivity": 6}, {"backend": "igraph"}, {"seed_radius": -1},
                   {"sigma": 0.0}, {"bins": 1}):
        with pytest.raises(ValueError):
            GraphCutSegmenter(**kwargs)
    seg = GraphCutSegmenter()
    with pytest.raises(RuntimeError, match="set_image"):
        seg.predict(Interactions([Click(1, 1)]))
    with pytest.raises(ValueError):
        seg.set_image(np.zeros((10, 10), np.uint8))
    with pytest.raises(TypeError):
        seg.set_image("llama.png")
    seg.set_image(grabcut["llama"].image)
    h, w = grabcut["llama"].mask.shape
    with pytest.raises(ValueError, match="outside the image"):
        seg.predict(Interactions([Click(w + 5, 3)]))


@pytest.mark.parametrize("connectivity", [4, 8])
def test_connectivity_of_the_segmenter(grabcut, connectivity):
    s = grabcut["teddy"]
    seg = GraphCutSegmenter(connectivity=connectivity)
    seg.set_image(s.image)
    assert seg.nlinks.weights.shape[0] == connectivity // 2
    inter, pred = Interactions(), np.zeros_like(s.mask)
    for _ in range(5):
        inter.add(ritm_click(s.mask, pred, s.ignore))
        pred = seg.predict(inter) > 0.5
    assert iou(pred, s.mask, s.ignore) > 0.9
