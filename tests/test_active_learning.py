"""Active learning for data annotation (lesson 08): split, selection, robot annotation cost, one tiny round."""

import json

import numpy as np
import pytest
import torch

from iseg_course import active_learning as AL
from iseg_course import metrics
from iseg_course.data import load_dataset, load_samples
from iseg_course.evaluation import evaluate
from iseg_course.models import ClickSegmenter
from iseg_course.uncertainty import image_score, make_estimator, pixel_map

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def split():
    return AL.active_split()


def test_split_keeps_every_test_cat_out_of_the_pool(split):
    assert len(split.labelled) == 90 and len(split.test) == 10 and len(split.other) == 100
    assert len(split.coco) == len(load_dataset("coco_mval_cats"))
    pool = set(split.pool)
    assert not pool & (set(split.labelled) | set(split.test) | set(split.other))
    assert len(pool) + 90 + 10 + 100 == len(load_dataset("cats"))


def test_select_top_highest_first_ties_reproducible():
    scores = [0.1, 0.9, 0.5, 0.9, 0.9, 0.2]
    top = AL.select_top(scores, 2, seed=0)
    assert top.dtype == np.int64 and set(top) <= {1, 3, 4}
    np.testing.assert_array_equal(top, AL.select_top(scores, 2, seed=0))
    np.testing.assert_array_equal(AL.select_top(scores, 4, seed=0)[3:], [2])
    # ties are broken by the seeded draw, not by position in the pool
    picks = {tuple(AL.select_top(scores, 3, seed=s)) for s in range(10)}
    assert len(picks) > 1 and all(set(p) == {1, 3, 4} for p in picks)
    assert len(AL.select_top(scores, 10)) == 6 and len(AL.select_top(scores, 0)) == 0
    with pytest.raises(ValueError, match="NaN"):
        AL.select_top([0.1, float("nan")], 1)
    with pytest.raises(ValueError, match="n an int"):
        AL.select_top(scores, -1)


def test_select_random_is_seeded_and_distinct():
    a = AL.select_random(20, 5, seed=1)
    assert len(set(a)) == 5 and a.max() < 20
    np.testing.assert_array_equal(a, AL.select_random(20, 5, seed=1))
    assert not np.array_equal(a, AL.select_random(20, 5, seed=2))


def test_first_click_centre_and_robot(split):
    s = load_samples(split.pool[:1])[0]
    h, w = s.mask.shape
    (c,) = AL.first_click(s, "centre")
    assert (c.x, c.y, c.positive) == ((w - 1) / 2, (h - 1) / 2, True)
    (r,) = AL.first_click(s, "robot")
    assert r.positive and s.mask[r.rc]
    assert AL.first_click(s, "none") == []
    with pytest.raises(ValueError, match="first click"):
        AL.first_click(s, "corner")


def test_score_pool_reduces_each_stack_in_pool_order(split):
    samples = load_samples(split.pool[:3])

    def fake(segmenter, image, clicks, prev_mask=None):  # a stack that depends on the image
        p = np.full((2,) + image.shape[:2], image.mean() / 255, np.float32)
        p[1] = 1 - p[0] * 0.5
        return p

    scores = AL.score_pool(None, samples, fake, measure="mutual_information", progress=False)
    expected = [image_score(pixel_map(fake(None, s.image, []), "mutual_information")) for s in samples]
    np.testing.assert_allclose(scores, expected)
    assert len(set(np.round(scores, 8))) == 3
    with pytest.raises(ValueError, match="empty"):
        AL.score_pool(None, [], fake)


@pytest.fixture(scope="module")
def shipped():
    return ClickSegmenter(device="cpu")


def test_annotation_cost_is_the_evaluations_noc(split, shipped):
    samples = load_samples(split.pool[:2])
    clicks = AL.annotate_with_robot(shipped, samples, progress=False)
    res = evaluate(shipped, samples, stop_at=0.90, progress=False)
    assert clicks == [metrics.noc(res.ious[s.name], 0.90, 20) for s in samples]
    assert all(1 <= c <= 20 for c in clicks)


def test_one_tiny_round_runs_and_counts_clicks(split):
    seg = ClickSegmenter(device="cpu")
    before = {k: v.clone() for k, v in seg.model.state_dict().items()}
    labelled, pool = load_samples(split.labelled[:2]), load_samples(split.pool[:4])
    tests = {"cats_test": load_samples(split.test[:1])}
    config = AL.ALConfig(strategy="mc_dropout", mc_samples=3, per_round=2, rounds=1, epochs=1, replay=2,
                         train_clicks=2, seed=0)
    out = AL.run(config, segmenter=seg, labelled=labelled, pool=pool, test_sets=tests, progress=False)
    json.dumps(out)  # JSON-able
    r0, r1 = out["rounds"]
    assert (r0["labelled"], r0["clicks_spent"]) == (2, 0)
    assert r1["labelled"] == 4 and r1["added"] == 2 and len(r1["selected"]) == 2
    assert set(r1["selected"]) <= set(split.pool[:4])
    # the round's cost is what the evaluation protocol says for the model before fine-tuning
    fresh = ClickSegmenter(device="cpu")
    chosen = load_samples(r1["selected"])
    res = evaluate(fresh, chosen, stop_at=0.90, progress=False)
    expected = {s.name: metrics.noc(res.ious[s.name], 0.90, 20) for s in chosen}
    assert r1["clicks"] == expected
    assert r1["clicks_spent"] == r1["clicks_total"] == sum(expected.values())
    assert set(r1["test"]["cats_test"]) >= {"NoC@90", "IoU@1", "NoF@90"}
    # the selection is the top-2 of the pool's MC dropout scores (seed 0 * 1000 + round 1)
    scores = AL.score_pool(fresh, pool, make_estimator("mc_dropout", n=3, seed=1), progress=False)
    assert r1["selected"] == [pool[i].name for i in AL.select_top(scores, 2, seed=1)]
    # fine-tuning changed the model in place
    after = seg.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_hardness_is_the_noc_protocol_with_the_best_iou(split, shipped):
    samples = load_samples(split.pool[4:7])
    noc, best = AL.hardness(shipped, samples, progress=False)
    res = evaluate(shipped, samples, stop_at=0.90, progress=False)
    assert noc.dtype == np.int64 and best.dtype == np.float64 and noc.shape == best.shape == (3,)
    assert noc.tolist() == [metrics.noc(res.ious[s.name], 0.90, 20) for s in samples]
    np.testing.assert_allclose(best, [max(res.ious[s.name]) for s in samples])
    # a sample that reaches the target stops there; one that never does costs the whole budget
    assert all(b >= 0.90 for n, b in zip(noc, best) if n < 20)
    assert all(n == 20 for n, b in zip(noc, best) if b < 0.90)
    with pytest.raises(ValueError, match="no samples"):
        AL.hardness(shipped, [], progress=False)


def test_hard_sample_mining_needs_labels():
    with pytest.raises(ValueError, match="needs the pool's labels"):
        AL.ALConfig(strategy="hard")
    with pytest.raises(ValueError, match="unknown task"):
        AL.ALConfig(task="labelling")
    assert AL.ALConfig(strategy="hard", task="refinement").task == "refinement"


def test_one_refinement_round_mines_the_hardest_and_spends_no_clicks(split):
    seg = ClickSegmenter(device="cpu")
    before = {k: v.clone() for k, v in seg.model.state_dict().items()}
    labelled, pool = load_samples(split.labelled[:2]), load_samples(split.pool[:4])
    tests = {"cats_test": load_samples(split.test[:1])}
    config = AL.ALConfig(strategy="hard", task="refinement", per_round=2, rounds=1, epochs=1, replay=2,
                         train_clicks=2, seed=0)
    out = AL.run(config, segmenter=seg, labelled=labelled, pool=pool, test_sets=tests, progress=False)
    json.dumps(out)
    r1 = out["rounds"][1]
    assert r1["clicks"] == {} and r1["clicks_spent"] == r1["clicks_total"] == 0 and r1["added"] == 2
    # the two selected cats are the top-2 of noc + (1 - best IoU) with the model before fine-tuning
    noc, best = AL.hardness(ClickSegmenter(device="cpu"), pool, progress=False)
    top = AL.select_top(noc + (1 - best), 2, seed=1)
    assert r1["selected"] == [pool[i].name for i in top]
    assert r1["noc_before"] == {pool[i].name: int(noc[i]) for i in top}
    assert min(r1["noc_before"].values()) >= max(int(noc[i]) for i in range(4) if i not in top)
    after = seg.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_cats_al_is_the_shipped_active_learning_model_in_the_registry(capsys):
    from iseg_course import methods
    from iseg_course.cli import main
    from iseg_course.data import REPO_ROOT
    from iseg_course.models import load_checkpoint

    seg = methods.make("cats-al")
    assert isinstance(seg, ClickSegmenter) and methods.METHODS["cats-al"].accepts == {"click", "mask"}
    _, meta = load_checkpoint(REPO_ROOT / "data" / "models" / "cat_click_al.pt")
    record = meta["active_learning"]
    assert record["config"]["strategy"] in AL.STRATEGIES and len(record["rounds"]) > 1
    shipped = ClickSegmenter(device="cpu").model.state_dict()
    assert any(not torch.equal(v, shipped[k]) for k, v in seg.model.state_dict().items()), \
        "cats-al must hold the fine-tuned weights, not lesson 07's"
    # the record's labelled cats never include a test cat
    results = json.loads((REPO_ROOT / "data" / "active_learning.json").read_text())
    run = next(r for r in results["runs"] if r["config"] == record["config"])
    # it is the best run of the shipped experiment by the rule lesson 08 and data/README.md state, and its
    # record is that run's (the checkpoint and the file agree round by round)
    assert AL.best_run(results["runs"])["config"] == record["config"]
    assert [r["test"] for r in record["rounds"]] == [r["test"] for r in run["rounds"]]
    chosen = {n for rnd in run["rounds"][1:] for n in rnd["selected"]}
    split = AL.active_split()
    assert chosen and chosen <= set(split.pool) and not chosen & set(split.test + split.other)
    data = REPO_ROOT / "data" / "coco_mval_cats"
    assert main(["evaluate", "--method", "cats-al", "--images", str(data / "images"), "--masks",
                 str(data / "masks"), "--limit", "1", "--max-clicks", "2", "--no-progress"]) == 0
    assert "cats-al" in capsys.readouterr().out


def test_best_run_weighs_each_test_cat_once():
    def rec(seed, sets):
        return {"config": {"seed": seed}, "rounds": [{"test": {k: {"n": n, "NoC@90": v} for k, (n, v) in sets.items()}}]}

    # a plain mean over the sets would prefer seed 0 (7.0 against 7.5); per cat, seed 1 needs fewer clicks
    a = rec(0, {"small": (10, 2.0), "big": (100, 12.0)})
    b = rec(1, {"small": (10, 5.0), "big": (100, 10.0)})
    assert AL.pooled_noc(a) == pytest.approx((10 * 2 + 100 * 12) / 110)
    assert AL.best_run([a, b]) is b and AL.best_run([b, a]) is b
    with pytest.raises(ValueError, match="at least one run"):
        AL.best_run([])
    with pytest.raises(ValueError, match="rounds and test results"):
        AL.pooled_noc({"config": {}, "rounds": []})


# ------------------------------------------------------------------------------------------------ suggestions
def test_uncertain_pixel_takes_the_maximum_away_from_clicks_and_ignored_pixels():
    from iseg_course.interactions import Click

    u = np.zeros((6, 8))
    u[2, 5], u[4, 1], u[0, 7] = 0.9, 0.7, 0.5
    assert AL.uncertain_pixel(u) == (5, 2)
    assert AL.uncertain_pixel(u, [Click(5, 3, True)], min_distance=2.0) == (1, 4)  # (5, 2) is 1 px from the click
    ignore = np.zeros((6, 8), bool)
    ignore[4, 1] = True
    assert AL.uncertain_pixel(u, [Click(5, 3, True)], ignore, min_distance=2.0) == (7, 0)
    assert AL.uncertain_pixel(np.zeros((2, 3))) == (0, 0)  # ties: the first pixel in row-major order
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        AL.uncertain_pixel(np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="no pixel left"):
        AL.uncertain_pixel(u, ignore=np.ones((6, 8), bool))


def test_suggestion_session_robot_rule_is_the_noc_protocol_and_uncertainty_clicks_its_peak(shipped):
    from iseg_course.data import cat_split

    cat = load_samples(cat_split().test[1:2])[0]
    robot = AL.suggestion_session(shipped, cat, "robot", max_clicks=8)
    res = evaluate(shipped, [cat], max_clicks=8, stop_at=0.90, progress=False)
    assert metrics.noc(robot, 0.90, 8) == metrics.noc(res.ious[cat.name], 0.90, 8)
    np.testing.assert_allclose(robot[0], res.ious[cat.name][0], atol=1e-6)
    assert len(robot) == 8

    gt = cat.mask > 0
    ys, xs = np.nonzero(~gt)
    peak = (int(xs[len(xs) // 2]), int(ys[len(ys) // 2]))  # a background pixel
    seen = []

    def estimator(segmenter, image, clicks, prev_mask):  # a fake MC-dropout stack: all uncertainty at `peak`
        seen.append(list(clicks))
        stack = np.full((2, *gt.shape), 0.99, np.float32)
        stack[:, peak[1], peak[0]] = [0.0, 1.0]
        return stack

    AL.suggestion_session(shipped, cat, "uncertainty", estimator=estimator, max_clicks=2, target=1.01)
    assert len(seen) == 1 and len(seen[0]) == 1  # asked once, after the robot's first click
    # the second click went to the peak, labelled background from the ground truth: rerun and read it back
    clicks = []
    orig = shipped.predict

    def spy(interactions, prev_mask=None, **kw):
        clicks[:] = list(interactions.clicks)
        return orig(interactions, prev_mask=prev_mask, **kw)

    shipped.predict = spy
    try:
        AL.suggestion_session(shipped, cat, "uncertainty", estimator=estimator, max_clicks=2, target=1.01)
    finally:
        del shipped.predict
    assert (clicks[1].x, clicks[1].y, clicks[1].positive) == (peak[0], peak[1], False)
    with pytest.raises(ValueError, match="unknown suggestion"):
        AL.suggestion_session(shipped, cat, "nearest")
