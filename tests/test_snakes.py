"""Active contours: our semi-implicit snake solver, checked by hand and against scikit-image on real images.

scikit-image's ``active_contour`` works in (row, col); ours in (x, y) = (col, row): we swap the columns.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.filters import gaussian
from skimage.color import rgb2gray
from skimage.segmentation import active_contour as sk_active_contour

from iseg_course.classical import snakes as S
from iseg_course.data import load_dataset
from iseg_course.interactions import Box, Click, Interactions, Polygon
from iseg_course.metrics import iou
from iseg_course.segmenter import Segmenter

PARAMS = dict(alpha=0.01, beta=0.1, gamma=0.01)  # scikit-image's defaults
SIGMA = 3.0
# real images where a loose ellipse around the object converges onto a clear boundary
CASES = [("grabcut", "doll"), ("cats", "dvc_cat.16"), ("grabcut", "86016")]


def ellipse_around(mask: np.ndarray, margin: float = 1.1, n: int = 200) -> np.ndarray:
    """A loose ellipse (x, y) around the ground-truth object, kept inside the image."""
    h, w = mask.shape
    rows, cols = np.nonzero(mask)
    cx, cy = (cols.min() + cols.max()) / 2, (rows.min() + rows.max()) / 2
    rx = min((cols.max() - cols.min()) / 2 * margin + 5, cx - 1, w - 2 - cx)
    ry = min((rows.max() - rows.min()) / 2 * margin + 5, cy - 1, h - 2 - cy)
    return S.ellipse_contour((cx, cy), (rx, ry), n)


@pytest.fixture(scope="module")
def runs():
    """For each real case: sample, init, scikit-image's snake (x, y), ours (bilinear) and ours (spline)."""
    out = {}
    for dataset, name in CASES:
        s = load_dataset(dataset)[name]
        init = ellipse_around(s.mask)
        smoothed = S.smooth_image(s.image, SIGMA)
        sk = sk_active_contour(smoothed, init[:, ::-1], max_num_iter=2500, **PARAMS)[:, ::-1]
        ours = S.active_contour(s.image, init, sigma=SIGMA, max_iterations=2500, **PARAMS)
        out[name] = dict(sample=s, init=init, sk=sk, ours=ours)
    return out


def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.hypot(*(a - b).T)))


# ---------------------------------------------------------------- internal energy


def skimage_style_matrix(n, alpha, beta):
    eye = np.eye(n)
    a = np.roll(eye, -1, axis=0) + np.roll(eye, -1, axis=1) - 2 * eye
    b = (np.roll(eye, -2, axis=0) + np.roll(eye, -2, axis=1) - 4 * np.roll(eye, -1, axis=0)
         - 4 * np.roll(eye, -1, axis=1) + 6 * eye)
    return -alpha * a + beta * b


@pytest.mark.parametrize("n", [5, 8, 50])
def test_internal_matrix_closed_is_the_cyclic_pentadiagonal_stencil(n):
    a = S.internal_energy_matrix(n, alpha=0.3, beta=2.0)
    assert a.shape == (n, n) and a.dtype == np.float64
    np.testing.assert_allclose(a, skimage_style_matrix(n, 0.3, 2.0), atol=1e-12)
    assert a[0, 0] == pytest.approx(2 * 0.3 + 6 * 2.0)
    assert a[0, 1] == pytest.approx(-0.3 - 4 * 2.0) and a[0, n - 1] == pytest.approx(-0.3 - 4 * 2.0)
    assert a[0, 2] == pytest.approx(2.0) and a[0, n - 2] == pytest.approx(2.0)
    np.testing.assert_allclose(a, a.T)
    np.testing.assert_allclose(a.sum(axis=1), 0, atol=1e-12)
    assert np.linalg.eigvalsh(a).min() > -1e-10


@pytest.mark.parametrize("closed", [True, False])
def test_internal_matrix_is_the_gradient_of_the_discrete_energy(closed):
    rng = np.random.default_rng(0)
    v = rng.uniform(0, 50, size=(9, 2))
    alpha, beta = 0.7, 0.2
    a = S.internal_energy_matrix(9, alpha, beta, closed=closed)
    grad = np.zeros_like(v)
    eps = 1e-5
    for i in range(9):
        for k in range(2):
            d = np.zeros_like(v)
            d[i, k] = eps
            grad[i, k] = (S.internal_energy(v + d, alpha, beta, closed) - S.internal_energy(v - d, alpha, beta, closed)) / (2 * eps)
    np.testing.assert_allclose(a @ v, grad, rtol=1e-6, atol=1e-6)
    if not closed:  # open ends: the first row only sees its two neighbours
        assert a[0, 3:].tolist() == [0.0] * 6 and a[0, 0] == pytest.approx(alpha + beta)


def test_internal_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 3"):
        S.internal_energy_matrix(2, 0.1, 0.1)
    with pytest.raises(ValueError, match="alpha"):
        S.internal_energy_matrix(10, -1.0, 0.1)
    with pytest.raises(ValueError, match="beta"):
        S.internal_energy_matrix(10, 0.1, float("nan"))
    with pytest.raises(TypeError):
        S.internal_energy_matrix(10.0, 0.1, 0.1)


# ---------------------------------------------------------------- image energy and forces


def test_smooth_image_matches_skimage_gaussian_of_grey():
    image = load_dataset("cats")["dvc_cat.16"].image
    ours = S.smooth_image(image, 2.0)
    ref = gaussian(rgb2gray(image / 255.0), sigma=2.0, mode="nearest")
    assert ours.shape == image.shape[:2] and ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_image_energy_is_low_on_object_boundaries():
    s = load_dataset("grabcut")["doll"]
    energy = S.image_energy(s.image, sigma=2.0)
    assert energy.shape == s.mask.shape and energy.dtype == np.float64
    assert energy.max() <= 0  # -|grad| with w_line = 0
    boundary = s.mask ^ ndimage.binary_erosion(s.mask, iterations=2)
    assert energy[boundary].mean() < 2 * energy.mean()  # edges are much lower than average (measured 2.7x)
    line = S.image_energy(s.image, sigma=2.0, w_line=1.0, w_edge=0.0)
    np.testing.assert_allclose(line, -S.smooth_image(s.image, 2.0))


def test_force_field_is_minus_gradient_and_points_to_edges():
    energy = S.image_energy(load_dataset("grabcut")["fullmoon"].image, sigma=3.0)
    field = S.force_field(energy)
    d_row, d_col = np.gradient(energy)
    assert field.shape == energy.shape + (2,)
    np.testing.assert_array_equal(field[..., 0], -d_col)
    np.testing.assert_array_equal(field[..., 1], -d_row)


def test_bilinear_sample_by_hand_and_against_scipy():
    f = np.array([[0.0, 1.0], [2.0, 3.0]])
    pts = np.array([[0, 0], [1, 0], [0, 1], [0.5, 0.5], [0.25, 0.0], [5.0, -3.0]])
    np.testing.assert_allclose(S.bilinear_sample(f, pts), [0, 1, 2, 1.5, 0.25, 1.0])  # last: clamped to (1, 0)
    energy = S.image_energy(load_dataset("cats")["dvc_cat.16"].image, 2.0)
    rng = np.random.default_rng(1)
    h, w = energy.shape
    pts = np.column_stack([rng.uniform(0, w - 1, 500), rng.uniform(0, h - 1, 500)])
    ref = ndimage.map_coordinates(energy, [pts[:, 1], pts[:, 0]], order=1)
    np.testing.assert_allclose(S.bilinear_sample(energy, pts), ref, atol=1e-12)
    field = S.force_field(energy)
    forces = S.external_force(field, pts)
    assert forces.shape == (500, 2)
    np.testing.assert_allclose(forces[:, 1], ndimage.map_coordinates(field[..., 1], [pts[:, 1], pts[:, 0]], order=1))


# ---------------------------------------------------------------- one step


def test_snake_step_by_hand():
    v = S.circle_contour((20.0, 20.0), 10.0, 12)
    f = np.tile([0.01, -0.02], (12, 1))
    gamma = 0.1
    # no internal energy: v_t = v + f / gamma
    inv = S.semi_implicit_inverse(S.internal_energy_matrix(12, 0.0, 0.0), gamma)
    np.testing.assert_allclose(S.snake_step(v, inv, f, gamma), v + f / gamma)
    # a translation costs no internal energy either
    inv = S.semi_implicit_inverse(S.internal_energy_matrix(12, 1.0, 1.0), gamma)
    np.testing.assert_allclose(S.snake_step(v, inv, f, gamma).mean(axis=0), v.mean(axis=0) + f[0] / gamma)
    # no force: elasticity shrinks the circle, with the centre fixed
    new = S.snake_step(v, inv, np.zeros_like(v), gamma)
    r_new = np.hypot(*(new - [20, 20]).T)
    assert np.all(r_new < 10) and np.allclose(r_new, r_new[0])
    # the tanh cap limits every coordinate's move
    capped = S.snake_step(v, inv, np.zeros_like(v), gamma, max_px_move=0.5)
    assert np.abs(capped - v).max() <= 0.5
    np.testing.assert_allclose(capped, v + 0.5 * np.tanh(new - v))


# ---------------------------------------------------------------- the solver against scikit-image


@pytest.mark.parametrize("name", ["dvc_cat.16", "86016"])
def test_spline_interpolation_reproduces_skimage(runs, name):
    r = runs[name]
    ours = S.active_contour(r["sample"].image, r["init"], sigma=SIGMA, max_iterations=2500,
                            interpolation="spline", **PARAMS)
    assert np.abs(ours - r["sk"]).max() < 1e-6


@pytest.mark.parametrize("name", [c[1] for c in CASES])
def test_default_solver_is_close_to_skimage_and_improves_iou(runs, name):
    r = runs[name]
    s, init, sk, ours = r["sample"], r["init"], r["sk"], r["ours"]
    assert ours.shape == init.shape and ours.dtype == np.float64
    # measured: 0.20 px (doll), 0.59 px (dvc_cat.16), 0.51 px (86016); a wrong stencil, force sign or
    # force scale gives > 2 px on at least one of them
    assert mean_distance(ours, sk) < 1.0
    iou_init = iou(S.snake_to_mask(init, s.mask.shape), s.mask, s.ignore)
    iou_ours = iou(S.snake_to_mask(ours, s.mask.shape), s.mask, s.ignore)
    iou_sk = iou(S.snake_to_mask(sk, s.mask.shape), s.mask, s.ignore)
    assert iou_ours > iou_init + 0.1, (iou_init, iou_ours)
    assert iou_sk > iou_init + 0.1, (iou_init, iou_sk)
    assert abs(iou_ours - iou_sk) < 0.02


def test_history_and_determinism(runs):
    r = runs["dvc_cat.16"]
    snake, history = S.active_contour(r["sample"].image, r["init"], sigma=SIGMA, return_history=True, **PARAMS)
    np.testing.assert_array_equal(snake, r["ours"])
    np.testing.assert_array_equal(history[0], r["init"])
    np.testing.assert_array_equal(history[-1], snake)
    assert 10 < len(history) <= 2501
    moves = [np.abs(b - a).max() for a, b in zip(history, history[1:])]
    assert max(moves) <= 1.0  # max_px_move


def test_max_iterations_bounds_the_evolution(runs):
    r = runs["dvc_cat.16"]
    _, history = S.active_contour(r["sample"].image, r["init"], sigma=SIGMA, max_iterations=7,
                                  return_history=True, **PARAMS)
    assert len(history) == 8


# ---------------------------------------------------------------- constraints (E_con)


def test_spring_pulls_the_snake_point_to_the_target(runs):
    r = runs["dvc_cat.16"]
    free = r["ours"]
    index = 0
    target = free[index] + np.array([12.0, -8.0])
    h, w = r["sample"].mask.shape
    assert 0 <= target[0] < w and 0 <= target[1] < h
    pulled = S.active_contour(r["sample"].image, r["init"], sigma=SIGMA, constraints=[(index, tuple(target), 1.0)],
                              **PARAMS)
    assert np.hypot(*(pulled[index] - target)) < 0.5
    assert np.hypot(*(free[index] - target)) > 10
    far = np.arange(len(free))[60:140]  # the far side of the snake hardly notices
    assert mean_distance(pulled[far], free[far]) < 1.0
    weights, pull = S.spring_terms([S.Spring(3, (1.0, 2.0), 2.0), (3, (3.0, 4.0))], 5)
    np.testing.assert_allclose(weights, [0, 0, 0, 3.0, 0])
    np.testing.assert_allclose(pull[3], [2 * 1 + 3, 2 * 2 + 4])


def test_bad_constraints_raise(runs):
    r = runs["dvc_cat.16"]
    image, init = r["sample"].image, r["init"]
    with pytest.raises(ValueError, match="out of range"):
        S.active_contour(image, init, constraints=[(500, (10, 10), 1.0)], max_iterations=2)
    with pytest.raises(ValueError, match="outside the image"):
        S.active_contour(image, init, constraints=[(0, (-5, 10), 1.0)], max_iterations=2)
    with pytest.raises(ValueError, match="weight"):
        S.active_contour(image, init, constraints=[(0, (10, 10), 0.0)], max_iterations=2)
    with pytest.raises(TypeError):
        S.active_contour(image, init, constraints=[5], max_iterations=2)


# ---------------------------------------------------------------- open snakes, bad input


def test_open_snakes_fixed_and_free():
    s = load_dataset("grabcut")["fullmoon"]
    top = np.nonzero(s.mask)[0].min()  # the moon's upper edge (row 119)
    init = np.column_stack([np.linspace(100, 340, 40), np.full(40, top - 8.0)])  # a line just above it
    fixed = S.active_contour(s.image, init, boundary_condition="fixed", max_iterations=300, **PARAMS)
    np.testing.assert_array_equal(fixed[[0, -1]], init[[0, -1]])
    assert abs(fixed[19, 1] - top) < 2  # the middle snapped down onto the edge
    free = S.active_contour(s.image, init, boundary_condition="free", max_iterations=300, **PARAMS)
    assert np.abs(free[[0, -1]] - init[[0, -1]]).max() > 20  # free ends slide (elasticity shortens the curve)
    assert np.abs(free[:, 1] - top).max() < 8  # and it lies on the edge


def test_bad_input_raises():
    image = load_dataset("cats")["dvc_cat.16"].image
    h, w = image.shape[:2]
    good = S.circle_contour((w / 2, h / 2), 40, 50)
    with pytest.raises(ValueError, match="at least 3"):
        S.active_contour(image, good[:2])
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        S.active_contour(image, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="outside the image"):
        S.active_contour(image, good + [w, 0])
    with pytest.raises(ValueError, match="repeats its first point"):
        S.active_contour(image, np.vstack([good, good[:1]]))
    with pytest.raises(ValueError, match="non-finite"):
        S.active_contour(image, np.where(np.arange(50)[:, None] == 3, np.nan, good))
    with pytest.raises(ValueError, match="boundary_condition"):
        S.active_contour(image, good, boundary_condition="closed")
    with pytest.raises(ValueError, match="gamma"):
        S.active_contour(image, good, gamma=0)
    with pytest.raises(ValueError, match="max_iterations"):
        S.active_contour(image, good, max_iterations=0)
    with pytest.raises(ValueError, match="interpolation"):
        S.active_contour(image, good, interpolation="cubic")
    with pytest.raises(ValueError, match="shape"):
        S.active_contour(image[..., :2], good)
    with pytest.raises(TypeError):
        S.active_contour(image.tolist(), good)
    with pytest.raises(TypeError):
        S.active_contour(image, "circle")


# ---------------------------------------------------------------- contours and masks


def test_snake_to_mask_and_contours():
    square = np.array([[2.0, 3.0], [7.0, 3.0], [7.0, 8.0], [2.0, 8.0]])
    mask = S.snake_to_mask(square, (12, 10))
    assert mask.dtype == bool and mask.shape == (12, 10)
    assert mask.sum() == 25 and mask[3:8, 2:7].all()  # half-open: left/top border in, right/bottom out
    shifted = square + 0.5  # no pixel centre on the border: no ties
    np.testing.assert_array_equal(S.snake_to_mask(shifted, (12, 10)), Polygon(tuple(map(tuple, shifted))).to_mask((12, 10)))
    # a real converged snake, a self-intersecting polygon and one sticking out of the image, against
    # matplotlib's even-odd point-in-polygon test on all pixel centres
    from matplotlib.path import Path
    s = load_dataset("cats")["dvc_cat.16"]
    h, w = s.mask.shape
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    centres = np.column_stack([xx.ravel(), yy.ravel()])
    for poly in (S.active_contour(s.image, ellipse_around(s.mask), max_iterations=200),
                 rng.uniform(0, min(h, w), (40, 2)), S.circle_contour((0.3, 0.2), 150.7, 90)):
        ours = S.snake_to_mask(poly, (h, w))
        ref = Path(poly).contains_points(centres).reshape(h, w)
        assert (ours != ref).sum() <= 3
        assert ours.sum() > 1000
    c = S.resample_contour(square, 40)
    steps = np.hypot(*np.diff(np.vstack([c, c[:1]]), axis=0).T)
    np.testing.assert_allclose(steps, 0.5)
    b = S.box_contour(Box(10, 20, 30, 60), 120)
    assert b.shape == (120, 2) and b[:, 0].min() == 10 and b[:, 1].max() == 60
    with pytest.raises(ValueError):
        S.snake_to_mask(square[:2], (12, 10))


# ---------------------------------------------------------------- the Segmenter


def test_snake_segmenter_box_and_clicks():
    s = load_dataset("cats")["dvc_cat.30"]
    h, w = s.mask.shape
    rows, cols = np.nonzero(s.mask)
    box = Box(max(cols.min() - 10, 0), max(rows.min() - 10, 0), min(cols.max() + 10, w - 1), min(rows.max() + 10, h - 1))
    seg = S.SnakeSegmenter()
    assert isinstance(seg, Segmenter)
    with pytest.raises(RuntimeError):
        seg.predict(Interactions([box]))
    seg.set_image(s.image)
    assert seg.predict(Interactions()).sum() == 0  # nothing to start from
    log = Interactions([box])
    prob = seg.predict(log)
    assert prob.shape == (h, w) and prob.dtype == np.float32 and set(np.unique(prob)) <= {0.0, 1.0}
    iou_box = iou(box_mask := S.snake_to_mask(S.box_contour(box), (h, w)), s.mask, s.ignore)
    iou_snake = iou(prob > 0.5, s.mask, s.ignore)
    assert box_mask.sum() > (prob > 0.5).sum()
    assert iou_snake > iou_box + 0.15, (iou_box, iou_snake)
    # a click on the tip of the left ear, outside the free snake: the snake passes through it
    free = seg.last_snake.copy()
    ear = (183.0, 32.5)
    assert S.snake_to_mask(free, (h, w))[int(ear[1]), int(ear[0])] == 0
    log.add(Click(*ear))
    prob2 = seg.predict(log)
    assert np.hypot(seg.last_snake[:, 0] - ear[0], seg.last_snake[:, 1] - ear[1]).min() < 1.0
    np.testing.assert_array_equal(seg.last_free_snake, free)
    assert (prob2 != prob).sum() > 50
    # a second spring in the notch between head and back: both clicks are on the snake, the IoU rises
    notch = (173.0, 88.0)
    log.add(Click(*notch, positive=False))  # for a snake both signs mean "the boundary passes here"
    prob3 = seg.predict(log)
    for x, y in (ear, notch):
        assert np.hypot(seg.last_snake[:, 0] - x, seg.last_snake[:, 1] - y).min() < 1.0
    assert iou(prob3 > 0.5, s.mask, s.ignore) > iou_snake + 0.03
    log.undo()
    np.testing.assert_array_equal(seg.predict(log), prob2)  # deterministic, undo restores
    log.undo()
    np.testing.assert_array_equal(seg.predict(log), prob)
    with pytest.raises(ValueError):
        seg.predict(Interactions([box, Click(w + 5, 10)]))  # outside the image


def test_snake_segmenter_contour_sources():
    """A polygon, a closed scribble, extreme points or three clicks start the snake; the newest wins."""
    from iseg_course.interactions import ExtremePoints, Scribble

    s = load_dataset("cats")["dvc_cat.16"]
    h, w = s.mask.shape
    ring = ellipse_around(s.mask, n=24)
    seg = S.SnakeSegmenter(n_points=200)
    seg.set_image(s.image)
    scores = {}
    for name, log in {
        "polygon": Interactions([Polygon(tuple(map(tuple, ring)))]),
        "scribble": Interactions([Scribble(tuple(map(tuple, ring)))]),
        "clicks": Interactions([Click(*p) for p in ring[::3]]),
    }.items():
        prob = seg.predict(log)
        assert seg.last_snake.shape == (200, 2)
        scores[name] = iou(prob > 0.5, s.mask, s.ignore)
    iou_ring = iou(S.snake_to_mask(ring, (h, w)), s.mask, s.ignore)
    assert min(scores.values()) > iou_ring + 0.1, (iou_ring, scores)
    rows, cols = np.nonzero(s.mask)
    extreme = ExtremePoints(((cols.min(), rows.mean()), (cols.mean(), rows.min()), (cols.max(), rows.mean()),
                             (cols.mean(), rows.max())))
    seg.predict(Interactions([Polygon(tuple(map(tuple, ring))), extreme]))
    np.testing.assert_allclose(seg.last_free_snake, seg._fit(S.box_contour(extreme.box, 200)))
    assert seg.predict(Interactions([Click(10, 10), Click(20, 20)])).sum() == 0  # two clicks span no contour
