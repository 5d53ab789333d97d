"""Uncertainty of the click model (lesson 08): pixel maps against scipy, estimators' behaviour."""

import numpy as np
import pytest
import torch
from scipy.stats import entropy as scipy_entropy
from torch import nn

from iseg_course import uncertainty as U
from iseg_course.interactions import Click, Interactions
from iseg_course.models import ClickSegmenter, ClickUNet

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _random_stack(seed=0, n=6, h=5, w=7):
    rng = np.random.default_rng(seed)
    p = rng.random((n, h, w))
    p[:, 0, 0] = 0.0  # certain pixels, both ways
    p[:, 0, 1] = 1.0
    p[0, 1, 1], p[1:, 1, 1] = 0.0, 1.0  # one disagreeing sample
    return p.astype(np.float32)


# ------------------------------------------------------------------------------------------------ pixel maps
def test_entropy_and_mutual_information_match_scipy():
    p = _random_stack().astype(np.float64)
    mean = p.mean(0)
    ref_h = scipy_entropy(np.stack([mean, 1 - mean]), axis=0)
    ref_each = scipy_entropy(np.stack([p, 1 - p]), axis=0)  # (N, H, W)
    np.testing.assert_allclose(U.binary_entropy(mean), ref_h, atol=1e-5)  # p clipped to [1e-7, 1 - 1e-7]
    np.testing.assert_allclose(U.predictive_entropy(p), ref_h, atol=1e-5)
    np.testing.assert_allclose(U.expected_entropy(p), ref_each.mean(0), atol=1e-5)
    np.testing.assert_allclose(U.mutual_information(p), np.maximum(ref_h - ref_each.mean(0), 0), atol=1e-5)
    np.testing.assert_allclose(U.variance_map(p), p.var(0), atol=1e-6)
    for m in (U.variance_map(p), U.predictive_entropy(p), U.mutual_information(p)):
        assert m.shape == (5, 7) and m.dtype == np.float32


def test_identical_maps_entropy_is_per_map_entropy_and_no_disagreement():
    one = _random_stack(1, n=1)[0]
    stack = np.repeat(one[None], 8, axis=0)
    np.testing.assert_allclose(U.predictive_entropy(stack), scipy_entropy(np.stack([one, 1 - one]).astype(np.float64),
                                                                          axis=0), atol=1e-5)
    np.testing.assert_allclose(U.mutual_information(stack), 0, atol=1e-6)
    np.testing.assert_array_equal(U.variance_map(stack), 0)


def test_mutual_information_bounds_and_extremes():
    for seed in range(5):
        p = _random_stack(seed)
        mi, h = U.mutual_information(p), U.predictive_entropy(p)
        assert (mi >= 0).all() and (mi <= h + 1e-6).all()
    # half the samples say 0, half say 1 with certainty: all uncertainty is disagreement, MI = H = ln 2
    p = np.zeros((4, 1, 1), np.float32)
    p[2:] = 1
    assert U.mutual_information(p)[0, 0] == pytest.approx(np.log(2), abs=1e-5)
    # every sample says 0.5: maximal entropy, no disagreement
    half = np.full((4, 1, 1), 0.5, np.float32)
    assert U.predictive_entropy(half)[0, 0] == pytest.approx(np.log(2), abs=1e-6)
    assert U.mutual_information(half)[0, 0] == pytest.approx(0, abs=1e-6)


def test_bad_stacks_are_refused():
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        U.predictive_entropy(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        U.variance_map(np.full((2, 3, 3), 1.5, np.float32))
    with pytest.raises(ValueError, match="unknown uncertainty measure"):
        U.pixel_map(np.zeros((2, 3, 3), np.float32), "bald")


def test_image_score_mean_topk_and_size_invariance():
    m = np.zeros((10, 10), np.float32)
    m[:2, :5] = 1.0  # 10 % of the pixels
    assert U.image_score(m) == pytest.approx(0.1)
    assert U.image_score(m, "topk", k=0.1) == pytest.approx(1.0)
    assert U.image_score(m, "topk", k=0.2) == pytest.approx(0.5)
    assert U.image_score(m, "topk", k=1.0) == pytest.approx(U.image_score(m))
    # the mean (unlike a sum) does not grow with the image's size: MONAI Label's fix
    assert U.image_score(np.tile(m, (3, 3))) == pytest.approx(U.image_score(m))
    valid = np.zeros_like(m, bool)
    valid[:2] = True
    assert U.image_score(m, valid=valid) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="k in"):
        U.image_score(m, "topk", k=0)
    with pytest.raises(ValueError, match="unknown reduction"):
        U.image_score(m, "sum")


# ------------------------------------------------------------------------------------------------ estimators
def _tiny_segmenter(dropout=0.5, seed=0):
    torch.manual_seed(seed)
    model = ClickUNet(base=4, levels=3, dropout=dropout)
    return ClickSegmenter(model=model, size=32, device="cpu", keep_clicked=False, zoom_in=False)


def _image(h=40, w=48, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_single_pass_is_the_segmenters_prediction():
    seg = _tiny_segmenter()
    img, clicks = _image(), [Click(20.0, 15.0)]
    stack = U.SinglePass()(seg, img, clicks)
    seg.set_image(img)
    assert stack.shape == (1, 40, 48) and stack.dtype == np.float32
    np.testing.assert_allclose(stack[0], seg.predict(Interactions(clicks)), atol=1e-6)
    # later clicks with a previous mask: the same Zoom-In window as predict
    seg.zoom_in = True
    prev = np.zeros((40, 48), np.float32)
    prev[10:20, 12:24] = 0.9
    clicks = [Click(15.0, 14.0), Click(22.0, 18.0, False)]
    assert seg.zoom_window(clicks, prev) is not None
    stack = U.SinglePass()(seg, img, clicks, prev_mask=prev)
    np.testing.assert_allclose(stack[0], seg.predict(Interactions(clicks), prev_mask=prev), atol=1e-6)
    assert stack[0][0, 47] == 0  # outside the window, as in predict


def test_mc_dropout_varies_reproducibly_and_restores_the_model():
    seg = _tiny_segmenter(dropout=0.5)
    img, clicks = _image(), [Click(20.0, 15.0), Click(5.0, 30.0, False)]
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    stack = U.MCDropout(n=6, seed=3)(seg, img, clicks)
    assert torch.rand(1) == before  # the global RNG is left alone
    assert stack.shape == (6, 40, 48)
    assert U.variance_map(stack).max() > 1e-4 and U.mutual_information(stack).mean() > 0
    np.testing.assert_array_equal(stack, U.MCDropout(n=6, seed=3)(seg, img, clicks))
    assert not np.array_equal(stack, U.MCDropout(n=6, seed=4)(seg, img, clicks))
    assert not seg.model.training and not any(m.training for m in U.dropout_layers(seg.model))


def test_mc_dropout_with_dropout_off_gives_zero_variance_and_mi():
    seg = _tiny_segmenter(dropout=0.5)
    for m in U.dropout_layers(seg.model):
        m.p = 0.0
    stack = U.MCDropout(n=5)(seg, _image(), [Click(20.0, 15.0)])
    np.testing.assert_allclose(U.variance_map(stack), 0, atol=1e-10)
    np.testing.assert_allclose(U.mutual_information(stack), 0, atol=1e-6)
    np.testing.assert_allclose(stack[0], U.SinglePass()(seg, _image(), [Click(20.0, 15.0)])[0], atol=1e-5)
    with pytest.raises(ValueError, match="no dropout layer"):
        U.MCDropout(n=5)(_tiny_segmenter(dropout=0.0), _image(), [Click(20.0, 15.0)])
    with pytest.raises(ValueError, match="n >= 2"):
        U.MCDropout(n=1)


def test_ensemble_stacks_one_map_per_model():
    seg = _tiny_segmenter(seed=0)
    other = _tiny_segmenter(seed=1).model
    img, clicks = _image(), [Click(20.0, 15.0)]
    stack = U.Ensemble([other])(seg, img, clicks)
    assert stack.shape == (2, 40, 48)
    np.testing.assert_allclose(stack[0], U.SinglePass()(seg, img, clicks)[0], atol=1e-6)
    seg_other = ClickSegmenter(model=other, size=32, device="cpu", keep_clicked=False, zoom_in=False)
    np.testing.assert_allclose(stack[1], U.SinglePass()(seg_other, img, clicks)[0], atol=1e-6)
    assert U.variance_map(stack).max() > 0
    with pytest.raises(ValueError, match="at least 2"):
        U.Ensemble([other], include_current=False)


def test_shipped_ensemble_members_are_the_lesson_model_trained_with_other_seeds(tmp_path):
    from ast import literal_eval

    from iseg_course.data import data_root, load_dataset, load_samples
    from iseg_course.models import load_checkpoint

    def as_dict(config):  # older checkpoints keep the training configuration as its repr
        return dict(config) if isinstance(config, dict) else literal_eval(config)

    shipped, meta0 = load_checkpoint()
    members = U.load_ensemble_members()
    assert len(members) == 2 and all(not m.training for m in members)
    seeds = []
    for path, m in zip(U.ENSEMBLE_MEMBERS, members):
        assert m.config == shipped.config
        meta = load_checkpoint(data_root() / path)[1]
        config, config0 = as_dict(meta["train_config"]), as_dict(meta0["train_config"])
        seeds.append(config.pop("seed"))
        config0.pop("seed")
        # lesson 07's configuration with another seed (options added to TrainConfig since then are off)
        assert {k: config[k] for k in config0} == config0 and meta["split"] == "lesson"
        assert all(config[k] is None for k in set(config) - set(config0))
        w0, w = shipped.state_dict(), m.state_dict()
        assert any(not torch.equal(w0[k], w[k]) for k in w0), f"{path} holds the shipped weights"
    assert seeds == [1, 2] and as_dict(meta0["train_config"])["seed"] == 0
    # three differently seeded networks disagree somewhere on a real cat, and the first map is the segmenter's
    sample = load_samples(load_dataset("cats").names[:1])[0]
    seg = ClickSegmenter(device="cpu")
    h, w = sample.mask.shape
    clicks = [Click((w - 1) / 2, (h - 1) / 2)]
    stack = U.Ensemble(members)(seg, sample.image, clicks)
    assert stack.shape == (3, h, w)
    np.testing.assert_allclose(stack[0], U.SinglePass()(seg, sample.image, clicks)[0], atol=1e-6)
    assert U.mutual_information(stack).max() > 0.05
    with pytest.raises(FileNotFoundError, match="train cats --seed 1"):
        U.load_ensemble_members([tmp_path / "missing.pt"])


class _PointwiseModel(nn.Module):
    """Logits from the positive click map and the red channel, pixel by pixel: flip- and (nearly) scale-equivariant."""

    def __init__(self):
        super().__init__()
        self.config = {"levels": 3}
        self.w = nn.Parameter(torch.tensor(8.0))

    def forward(self, x):
        return self.w * (x[:, 3:4] - 0.5) + 2 * (x[:, 0:1] - 0.5)


def test_tta_maps_flips_back_to_the_original_orientation():
    seg = ClickSegmenter(model=_PointwiseModel(), size=32, device="cpu", keep_clicked=False, zoom_in=False)
    img = np.zeros((40, 48, 3), np.uint8)
    img[:, :10, 0] = 255  # a red band on the left: a flip not undone would move it to the right
    clicks = [Click(8.0, 6.0)]  # near the top-left corner
    stack = U.TestTimeAugmentation(flips=("h", "v"), scales=(1.0,))(seg, img, clicks)
    assert stack.shape == (3, 40, 48)
    for m in stack[1:]:
        np.testing.assert_allclose(m, stack[0], atol=1e-5)
    # scales: mapped back to the image's size and position (resampling blurs the edges a little). The click
    # disk keeps its radius in working pixels at every scale (as in training), so only the red band counts here.
    seg.model.w.data.fill_(0.0)
    stack = U.TestTimeAugmentation(flips=("h",), scales=(1.0,))(seg, img, clicks)
    scaled = U.TestTimeAugmentation(flips=("h",), scales=(0.75, 1.0, 1.25))(seg, img, clicks)
    assert scaled.shape == (6, 40, 48)
    ref = stack[0] >= 0.5
    for m in scaled:
        inter, union = ((m >= 0.5) & ref).sum(), ((m >= 0.5) | ref).sum()
        assert inter / union > 0.9


def test_tta_is_equivariant_for_a_real_network():
    """TTA of the mirrored image, identity map == the mirror of TTA's flipped map on the original."""
    seg = _tiny_segmenter(dropout=0.1)
    img = _image(64, 64, seed=2)  # 64 -> 32: area resizing commutes with the mirror
    clicks = [Click(10.0, 20.0), Click(40.0, 50.0, False)]
    tta = U.TestTimeAugmentation(flips=("h",), scales=(1.0,))
    a = tta(seg, img, clicks)
    b = tta(seg, img[:, ::-1].copy(), [Click(63 - c.x, c.y, c.positive) for c in clicks])
    np.testing.assert_allclose(b[0], a[1][:, ::-1], atol=1e-5)
    np.testing.assert_allclose(b[1], a[0][:, ::-1], atol=1e-5)
    assert np.abs(a[0] - a[1]).max() > 1e-3  # the untrained network is not mirror-symmetric itself


def test_estimators_refuse_bad_input():
    seg = _tiny_segmenter()
    with pytest.raises(ValueError, match="outside"):
        U.SinglePass()(seg, _image(), [Click(100.0, 5.0)])
    with pytest.raises(ValueError, match="prev_mask"):
        U.SinglePass()(seg, _image(), [Click(5.0, 5.0)], prev_mask=np.zeros((3, 3), np.float32))
    with pytest.raises(TypeError, match="ClickSegmenter"):
        U.SinglePass()(object(), _image(), [Click(5.0, 5.0)])
    with pytest.raises(ValueError, match="unknown uncertainty estimator"):
        U.make_estimator("bayes")
    with pytest.raises(ValueError, match="flips"):
        U.TestTimeAugmentation(flips=("d",))


# ------------------------------------------------------------------------------------------------ auxiliary network
def test_error_head_trains_beside_the_frozen_model_and_maps_the_error(tmp_path):
    from iseg_course.data import cat_split, load_samples
    from iseg_course.models import ClickSegmenter
    from iseg_course.uncertainty import (AuxiliaryError, ErrorHead, load_error_head, make_estimator, pixel_map,
                                         save_error_head, train_error_head)

    seg = ClickSegmenter(device="cpu")
    before = {k: v.clone() for k, v in seg.model.state_dict().items()}
    head, losses = train_error_head(seg, load_samples(cat_split().train[:3]), clicks=(1, 2), epochs=2, progress=False)
    assert isinstance(head, ErrorHead) and len(losses) == 2 and all(np.isfinite(losses))
    assert all(torch.equal(v, seg.model.state_dict()[k]) for k, v in before.items()), "the click model stays frozen"
    cat = load_samples(cat_split().test[:1])[0]
    est = make_estimator("aux", head=head)
    stack = est(seg, cat.image, [Click(cat.image.shape[1] // 2, cat.image.shape[0] // 2, True)])
    assert isinstance(est, AuxiliaryError) and stack.shape == (1, *cat.mask.shape) and stack.dtype == np.float32
    assert 0 <= stack.min() and stack.max() <= 1
    np.testing.assert_array_equal(pixel_map(stack, "error"), stack[0])
    save_error_head(head, tmp_path / "h.pt", meta={"n": 3})
    again, meta = load_error_head(tmp_path / "h.pt")
    assert meta == {"n": 3} and all(torch.equal(a, b) for a, b in zip(again.state_dict().values(),
                                                                        head.state_dict().values()))
    with pytest.raises(FileExistsError):
        save_error_head(head, tmp_path / "h.pt")
    with pytest.raises(FileNotFoundError):
        load_error_head(tmp_path / "missing.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an error head"):
        load_error_head(tmp_path / "other.pt")
    with pytest.raises(TypeError, match="ErrorHead"):
        AuxiliaryError(seg.model)


def test_shipped_error_head_ranks_wrong_pixels_above_right_ones():
    """On test cats (never trained on), the shipped head's error probability is higher on the pixels the model
    gets wrong than on those it gets right (ROC AUC well above chance; a random head gives about 0.5)."""
    from scipy.stats import rankdata

    from iseg_course.active_learning import first_click
    from iseg_course.data import cat_split, load_samples
    from iseg_course.models import ClickSegmenter
    from iseg_course.uncertainty import AuxiliaryError, load_error_head

    head, meta = load_error_head()
    assert meta["pixel_auroc"]["aux"] > meta["pixel_auroc"]["mc_dropout"]
    seg = ClickSegmenter(device="cpu")
    aucs = []
    for cat in load_samples(cat_split().test[:3]):
        clicks = first_click(cat)
        err = AuxiliaryError(head)(seg, cat.image, clicks)[0]
        wrong = (seg.predict(Interactions(clicks)) >= 0.5) != cat.mask
        valid = np.ones(wrong.shape, bool) if cat.ignore is None else ~cat.ignore
        r, y = rankdata(err[valid]), wrong[valid]
        aucs.append((r[y].sum() - y.sum() * (y.sum() + 1) / 2) / (y.sum() * (~y).sum()))
    assert np.mean(aucs) > 0.7, aucs
