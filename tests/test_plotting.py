"""iseg_course.plotting: what each function draws, on real GrabCut images, with the Agg backend."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402

from iseg_course import Box, Click, ExtremePoints, Interactions, Polygon, Scribble, plotting  # noqa: E402
from iseg_course.data import load_dataset  # noqa: E402
from iseg_course.evaluation import EvaluationResult  # noqa: E402


@pytest.fixture(scope="module")
def sample():
    return load_dataset("grabcut")["banana1"]


@pytest.fixture(scope="module")
def pred(sample):
    return ndi.binary_erosion(np.roll(sample.mask, 25, axis=1), iterations=3)  # misses object, takes background


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _axes():
    return plt.subplots()[1]


def _contours(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def _limits_are_the_image(ax, shape):
    h, w = shape
    assert ax.get_xlim() == pytest.approx((-0.5, w - 0.5))
    assert ax.get_ylim() == pytest.approx((h - 0.5, -0.5)), "row 0 at the top, as imshow draws it"


def test_clicks_green_and_red_with_black_edge(sample):
    ax = _axes()
    clicks = Interactions([Click(300, 200, True), Click(320, 210, True), Click(50, 40, False)])
    plotting.show_mask(ax, sample.image, interactions=clicks, title="clicks")
    scatters = [c for c in ax.collections if not isinstance(c, ContourSet)]
    assert len(scatters) == 2, "one scatter collection per polarity"
    pos, neg = scatters
    assert pos.get_offsets().tolist() == [[300, 200], [320, 210]] and neg.get_offsets().tolist() == [[50, 40]]
    assert tuple(pos.get_facecolor()[0]) == to_rgba("lime") and tuple(neg.get_facecolor()[0]) == to_rgba("red")
    for sc in scatters:
        assert tuple(sc.get_edgecolor()[0]) == to_rgba("black")
        assert sc.get_path_effects(), "a white halo around the black edge"
    assert ax.get_title() == "clicks" and ax.title.get_fontsize() >= 9
    assert not ax.axison
    _limits_are_the_image(ax, sample.mask.shape)


def test_prediction_and_ground_truth_outlines(sample, pred):
    ax = _axes()
    plotting.show_mask(ax, sample.image, pred, gt=sample.mask)
    gt_c, pred_c = _contours(ax)
    assert tuple(gt_c.get_edgecolor()[0]) == to_rgba("white")
    assert tuple(pred_c.get_edgecolor()[0]) == to_rgba("yellow")
    assert gt_c.get_path_effects() and pred_c.get_path_effects(), "a dark edge under each outline"
    _limits_are_the_image(ax, sample.mask.shape)  # contours must not widen the view
    assert len(ax.images) == 1, "outlines only: no tint layer"


def test_empty_mask_draws_no_outline_and_a_full_one_a_closed_border(sample):
    ax = _axes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "No contour levels were found" on a flat array
        plotting.show_mask(ax, sample.image, np.zeros(sample.mask.shape, bool))
    assert _contours(ax) == []
    ax = _axes()
    plotting.show_mask(ax, sample.image, np.ones(sample.mask.shape))  # numeric mask: >= 0.5
    (c,) = _contours(ax)
    xy = np.concatenate([p.vertices for p in c.get_paths()])
    h, w = sample.mask.shape
    assert xy[:, 0].min() == pytest.approx(-0.5) and xy[:, 0].max() == pytest.approx(w - 0.5)
    assert xy[:, 1].min() == pytest.approx(-0.5) and xy[:, 1].max() == pytest.approx(h - 0.5)


def test_errors_and_ignore_tint(sample, pred):
    ax = _axes()
    plotting.show_sample(ax, sample, pred, errors=True)
    tint = np.asarray(ax.images[1].get_array())
    fn = sample.mask & ~pred & ~sample.ignore
    fp = pred & ~sample.mask & ~sample.ignore
    assert fn.any() and fp.any()
    assert np.allclose(tint[fn], plotting.FN_TINT) and np.allclose(tint[fp], plotting.FP_TINT)
    assert (sample.ignore & (pred != sample.mask)).any()
    assert np.allclose(tint[sample.ignore], plotting.IGNORE), "ignored pixels are no errors: orange"
    assert np.all(tint[~sample.ignore & (pred == sample.mask), 3] == 0), "correct pixels stay untinted"
    assert len(_contours(ax)) == 2


def test_filled_mask(sample, pred):
    ax = _axes()
    plotting.show_mask(ax, sample.image, pred, contour=False, alpha=0.3)
    tint = np.asarray(ax.images[1].get_array())
    assert np.allclose(tint[pred], (1, 1, 0, 0.3)) and np.all(tint[~pred, 3] == 0)
    assert _contours(ax) == []
    ax = _axes()
    plotting.show_mask(ax, sample.image, pred, mask_colour="cyan")
    (c,) = _contours(ax)
    assert tuple(c.get_edgecolor()[0]) == to_rgba("cyan")


def test_scribbles_boxes_extreme_points_and_polygons(sample):
    ax = _axes()
    pos = Scribble([(200, 200), (300, 250), (350, 300)])
    neg = Scribble([(20, 20), (50, 400)], positive=False)
    ext = ExtremePoints([(150, 250), (300, 100), (450, 250), (300, 400)])
    poly = Polygon([(100, 100), (400, 120), (300, 400)])
    plotting.show_mask(ax, sample.image, interactions=[pos, neg, Box(450, 400, 150, 100), ext, poly])
    lines = ax.get_lines()
    assert len(lines) == 3
    assert lines[0].get_xydata().tolist() == [[200, 200], [300, 250], [350, 300]]
    assert to_rgba(lines[0].get_color()) == to_rgba("lime") and to_rgba(lines[1].get_color()) == to_rgba("red")
    v = lines[2].get_xydata()
    assert len(v) == 4 and v[0].tolist() == v[-1].tolist() == [100, 100], "the polygon is closed"
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [(b.get_x(), b.get_y(), b.get_width(), b.get_height()) for b in boxes] == [(150, 100, 300, 300)] * 2
    assert boxes[0].get_linestyle() == "-" and boxes[1].get_linestyle() == "--", "extreme points: a dashed box"
    assert all(to_rgba(b.get_edgecolor()) == to_rgba("cyan") for b in boxes)
    assert to_rgba(lines[2].get_color()) == to_rgba("magenta")
    (stars,) = ax.collections
    assert stars.get_offsets().tolist() == [list(p) for p in ext.points]


def test_single_channel_map_with_cmap(sample):
    ax = _axes()
    m = sample.image.mean(axis=2)
    plotting.show_mask(ax, m, cmap="magma", vmin=0, vmax=255)
    im = ax.images[0]
    assert im.get_cmap().name == "magma" and im.get_clim() == (0, 255)


def test_numbered_clicks(sample):
    ax = _axes()
    plotting.show_mask(ax, sample.image, interactions=[Click(10, 10), Click(20, 30, False)], numbered=True)
    assert [t.get_text() for t in ax.texts] == ["1", "2"]


@pytest.mark.parametrize("kwargs, error, words", [
    ({"mask": np.zeros((4, 4), bool)}, ValueError, "shape"),
    ({"gt": np.zeros((4, 4), bool)}, ValueError, "gt has shape"),
    ({"ignore": np.zeros((4, 4), bool)}, ValueError, "ignore has shape"),
    ({"interactions": [Click(10_000, 5)]}, ValueError, "outside the image"),
    ({"interactions": [(10, 5)]}, TypeError, "expected interactions"),
    ({"errors": True}, ValueError, "errors=True needs"),
])
def test_bad_input_says_what_is_wrong(sample, kwargs, error, words):
    with pytest.raises(error, match=words):
        plotting.show_mask(_axes(), sample.image, **kwargs)


def test_bad_image():
    for bad in (np.zeros(5), np.zeros((4, 4, 2)), np.zeros((0, 4, 3))):
        with pytest.raises(ValueError, match="expected an"):
            plotting.show_mask(_axes(), bad)


def test_gallery_layout_is_legible(sample, pred):
    long_title = "a title much longer than one panel is wide, so that it has to be wrapped onto lines"
    items = [{"sample": sample, "mask": pred, "title": long_title}] + [{"image": sample.image}] * 5
    fig, axes = plotting.gallery(items, suptitle="six panels")
    assert len(axes) == 6 and len(fig.axes) == 8, "4 per row: 2 rows, 2 unused cells"
    assert fig.get_size_inches()[0] == pytest.approx(12.0), "4 panels of 3 inches: about a notebook's width"
    assert [ax.axison for ax in fig.axes[6:]] == [False, False]
    assert len(_contours(axes[0])) == 2, "a sample item brings its ground truth"
    title = axes[0].get_title()
    assert "\n" in title and title.replace("\n", " ") == long_title
    assert min(ax.title.get_fontsize() for ax in axes) >= 9
    fig, axes = plotting.gallery(items[:3], ncols=1, panel_size=2.0)
    assert fig.get_size_inches()[0] == pytest.approx(2.0) and len(fig.axes) == 3


def test_gallery_bad_input(sample):
    with pytest.raises(ValueError, match="at least one item"):
        plotting.gallery([])
    with pytest.raises(ValueError, match="ncols"):
        plotting.gallery([{"image": sample.image}], ncols=0)


@pytest.fixture
def results():
    a = EvaluationResult("m", "d", {"x": [0.5, 0.95], "y": [0.2, 0.4, 0.86]}, {"x": [0.1] * 2, "y": [0.1] * 3},
                         max_clicks=3)
    b = EvaluationResult("n", "d", {"x": [0.9, 0.95, 0.97]}, {"x": [0.1] * 3}, max_clicks=12)
    return a, b


def test_noc_iou_curves(results):
    a, b = results
    ax = plotting.noc_iou_curves([a, b], targets=(0.85, 0.9))
    ax = plotting.noc_iou_curves(a, ax=ax, labels=["again"], color="k")  # a second call on the same axes
    curves = [ln for ln in ax.get_lines() if not (ln.get_gid() or "").startswith("target")]
    targets = [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("target")]
    assert [ln.get_label() for ln in curves] == ["m (d)", "n (d)", "again"]
    assert curves[0].get_ydata() == pytest.approx([0.35, 0.675, 0.905])
    assert curves[1].get_xdata().tolist() == list(range(1, 13))
    assert to_rgba(curves[2].get_color()) == to_rgba("k")
    assert sorted(ln.get_ydata()[0] for ln in targets) == [0.85, 0.9], "each target line drawn once"
    assert ax.get_xlim() == (1, 3), "the last call's click budget"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["m (d)", "n (d)", "again"]


def test_noc_iou_curves_bad_input(results):
    with pytest.raises(ValueError, match="at least one"):
        plotting.noc_iou_curves([])
    with pytest.raises(ValueError, match="2 labels for 1 results"):
        plotting.noc_iou_curves(results[0], labels=["a", "b"])
    with pytest.raises(ValueError, match="targets"):
        plotting.noc_iou_curves(results[0], targets=(90,))


def test_evaluation_result_plot_delegates(results, monkeypatch):
    a, _ = results
    ax = a.plot(label="mine", ls="--")
    (curve,) = [ln for ln in ax.get_lines() if ln.get_gid() is None]
    assert curve.get_label() == "mine" and curve.get_linestyle() == "--"
    calls = []
    monkeypatch.setattr(plotting, "noc_iou_curves", lambda *args, **kw: calls.append((args, kw)) or "ax")
    assert a.plot() == "ax" and calls == [(([a],), {"ax": None, "targets": a.targets, "labels": None})]


def test_loss_curves_and_plot_history(monkeypatch):
    history = {"train_loss": [0.9, 0.5, 0.4], "test_loss": [1.0, 0.7, 0.6]}
    ax = plotting.loss_curves(history)
    train, test = ax.get_lines()
    assert train.get_xdata().tolist() == [1, 2, 3] and train.get_ydata().tolist() == [0.9, 0.5, 0.4]
    assert test.get_ydata().tolist() == [1.0, 0.7, 0.6] and test.get_label() == "test loss"
    ax = plotting.loss_curves({"train_loss": [0.9], "test_loss": []})
    assert len(ax.get_lines()) == 1, "no test set: only the train loss"
    for bad, words in [({"test_loss": [1.0]}, "no train_loss"), ({"train_loss": [1.0], "test_loss": [1, 2]}, "2 test")]:
        with pytest.raises(ValueError, match=words):
            plotting.loss_curves(bad)
    from iseg_course import training

    calls = []
    monkeypatch.setattr(plotting, "loss_curves", lambda h, ax=None: calls.append((h, ax)) or "ax")
    assert training.plot_history(history) == "ax" and calls == [(history, None)]
