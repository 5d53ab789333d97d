"""The interactive session, the K-candidate prediction, what a method accepts, and the methods registry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from iseg_course import methods
from iseg_course.classical.graphcut import GraphCutSegmenter
from iseg_course.data import load_dataset
from iseg_course.evaluation import evaluate, simulate_clicks
from iseg_course.interactions import Box, Click, Interactions, Scribble
from iseg_course.metrics import iou, user_time
from iseg_course.segmenter import (BaseSegmenter, Prediction, UnsupportedInteraction, check_accepts,
                                   check_prediction)
from iseg_course.session import Event, EventLog, Session, robot_step, run_robot


@pytest.fixture(scope="module")
def sample():
    return load_dataset("grabcut")["teddy"]


class ThreeMasks(BaseSegmenter):
    """A small K = 3 segmenter: candidate 0 = the whole image, 1 = the ground truth's box region,
    2 = a disk around the clicks. Scores rank the *whole image* first, so "score" and "oracle" differ."""

    accepts = frozenset({"click"})
    takes_previous = True

    def __init__(self, gt: np.ndarray):
        self.gt = gt
        self.seen_previous = []

    def _predict_previous(self, interactions, prev_mask, previous):
        self.seen_previous.append(previous)
        h, w = self.image.shape[:2]
        whole = np.ones((h, w), np.float32)
        near = self.gt.astype(np.float32)
        yy, xx = np.mgrid[:h, :w]
        disk = np.zeros((h, w), np.float32)
        for c in interactions.clicks:
            disk[(yy - c.y) ** 2 + (xx - c.x) ** 2 <= 20 ** 2] = 1.0
        return Prediction(np.stack([whole, near, disk]), scores=np.array([0.9, 0.5, 0.1]),
                          low_res_logits=np.zeros((3, 8, 8)), state={"n": len(interactions)})


def _centre(gt):
    ys, xs = np.nonzero(gt)
    i = len(ys) // 2
    return Click(float(xs[i]), float(ys[i]))


# ------------------------------------------------------------------------------------------------ session
def test_session_add_undo_redo_reset_and_log(sample):
    s = Session(GraphCutSegmenter(), sample.image)
    assert len(s) == 0 and not s.mask.any() and s.prediction is None
    s.add(_centre(sample.mask))
    first = s.probabilities.copy()
    assert s.mask.any() and iou(s.mask, sample.mask, sample.ignore) > 0.2
    s.add(Click(5, 5, positive=False))
    second = s.probabilities.copy()
    assert len(s.interactions) == 2 and len(s.predict_seconds) == 2
    assert s.undo() == Click(5, 5, positive=False)
    np.testing.assert_array_equal(s.probabilities, first)  # restored, not re-predicted
    assert s.redo() == Click(5, 5, positive=False)
    np.testing.assert_array_equal(s.probabilities, second)
    s.undo()
    s.add(Click(6, 6, positive=False))
    assert s.redo() is None  # a new interaction clears the redo stack
    s.reset()
    assert len(s) == 0 and not s.mask.any() and s.undo() is None
    events = [e["event"] for e in s.log]
    assert events == ["click", "click", "undo", "redo", "undo", "click", "reset"]
    assert s.log[0]["x"] == _centre(sample.mask).x and s.log[0]["latency_ms"] > 0 and s.log[0]["error"] is None
    assert user_time(s) == pytest.approx(s.log[-1]["t"] - s.log[0]["t"])


def test_event_log_json_round_trip(sample):
    s = Session(GraphCutSegmenter(), sample.image)
    s.add(_centre(sample.mask), source="mouse")
    s.add(Scribble(((3, 3), (30, 4)), positive=False))
    s.add(Box(2, 2, 250, 300))
    s.undo()
    s.set_image(sample.image)
    back = EventLog.from_json(s.events.to_json())
    assert back == s.events
    assert back[0].item() == _centre(sample.mask) and back[0].source == "mouse"
    assert back[1].item() == Scribble(((3, 3), (30, 4)), positive=False)
    assert back[-1].event == "set_image" and back[-1].image_shape == list(sample.image.shape[:2])
    assert json.loads(s.events.to_json())[2]["x1"] == 250.0
    with pytest.raises(ValueError, match="'t'"):
        Event.from_dict({"event": "click"})


def test_session_checks_accepts_once_with_a_clear_message(sample):
    seg = ThreeMasks(sample.mask)
    s = Session(seg, sample.image)
    with pytest.raises(UnsupportedInteraction, match="ThreeMasks accepts clicks only; got Box"):
        s.add(Box(1, 1, 50, 50))
    assert len(s) == 0 and s.log == []  # nothing recorded
    with pytest.raises(ValueError, match="outside the image"):
        s.add(Click(10_000, 3))
    with pytest.raises(ValueError, match="accepts clicks only; got Scribble"):
        check_accepts(seg, [Click(1, 1), Scribble(((1, 1), (2, 2)))])


def test_a_failing_segmenter_keeps_the_interaction_only_when_asked(sample):
    class Broken(BaseSegmenter):
        def _predict(self, interactions, prev_mask):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Session(Broken(), sample.image).add(Click(3, 3))
    s = Session(Broken(), sample.image, keep_going=True)
    s.add(Click(3, 3))
    assert len(s) == 1 and s.last_error == "RuntimeError: boom" and s.log[-1]["latency_ms"] is None


# ------------------------------------------------------------------------------------------------ prediction
def test_check_prediction_kinds_and_errors():
    shape = (4, 5, 3)
    out = check_prediction(np.full((4, 5), 0.5), shape)
    assert out.dtype == np.float32 and out.shape == (4, 5)
    p = check_prediction(Prediction(np.zeros((2, 4, 5)), scores=[0.1, 0.7]), shape)
    assert p.k == 2 and p.chosen == 1 and p.scores.dtype == np.float32
    for bad, msg in [(None, "None"), (np.zeros((3, 3)), "shape"), (np.full((4, 5), np.nan), "outside"),
                     (np.full((4, 5), 1.5), "outside"), (Prediction(np.zeros((4, 5))), "masks of shape"),
                     (Prediction(np.zeros((2, 4, 5)), scores=[1.0]), "scores"),
                     (Prediction(np.zeros((2, 4, 5)), chosen=5), "chose candidate")]:
        with pytest.raises(RuntimeError, match=msg):
            check_prediction(bad, shape, "M")
    with pytest.raises(IndexError):
        Prediction(np.zeros((2, 4, 5))).choose(2)


def test_k_masks_in_the_session_previous_state_and_choice(sample):
    seg = ThreeMasks(sample.mask)
    s = Session(seg, sample.image)
    s.add(_centre(sample.mask))
    assert s.prediction.k == 3 and s.prediction.chosen == 0 and s.mask.all()  # highest score: whole image
    assert seg.seen_previous == [None]
    s.choose(1)
    np.testing.assert_array_equal(s.mask, sample.mask)
    s.add(_centre(sample.mask))
    prev = seg.seen_previous[-1]
    assert prev.chosen == 1 and prev.state == {"n": 1} and prev.low_res_logits.shape == (3, 8, 8)
    assert [e["event"] for e in s.log] == ["click", "choose", "click"]
    assert s.log[0]["candidates"] == 3 and s.log[1]["candidate"] == 1


def test_evaluate_chooses_by_score_or_oracle_and_says_which(sample):
    seg = ThreeMasks(sample.mask)
    data = [sample]
    by_score = evaluate(seg, data, max_clicks=3, progress=False)
    oracle = evaluate(seg, data, max_clicks=3, progress=False, choice="oracle")
    assert by_score.choice == "score" and oracle.choice == "oracle"
    assert by_score.max_candidates == 3 and by_score.summary()["choice"] == "score"
    assert oracle.summary()["choice"] == "oracle" and "choice" not in evaluate(
        GraphCutSegmenter(), data, max_clicks=2, progress=False).summary()
    assert oracle.ious["teddy"][0] == pytest.approx(1.0)  # the ground-truth candidate
    assert by_score.ious["teddy"][0] < 0.5  # the whole image, scored highest
    with pytest.raises(ValueError, match="choice"):
        evaluate(seg, data, max_clicks=1, progress=False, choice="best")


def test_simulate_clicks_is_a_robot_driven_session(sample):
    seg = GraphCutSegmenter()
    run = simulate_clicks(seg, sample, 3)
    again = run_robot(Session(GraphCutSegmenter(), sample.image), __import__("iseg_course.robot", fromlist=["x"]).ritm_click,
                      sample.mask, sample.ignore, 3)
    assert run.ious == again.ious and list(run.interactions) == list(again.interactions)
    assert [e["source"] for e in run.session.log] == ["robot"] * 3
    with pytest.raises(TypeError, match="interaction"):
        robot_step(lambda gt, pred, ignore, prev: "not a click", sample.mask, sample.mask, None, [])


# ------------------------------------------------------------------------------------------------ widget
def test_widget_shows_k_candidates_and_lets_the_user_pick(sample):
    from iseg_course.widgets import SegmentationWidget

    w = SegmentationWidget(ThreeMasks(sample.mask), sample.image)
    assert w.mode == "positive" and w._unavailable_modes.disabled
    assert [v for _, v in w._unavailable_modes.options] == ["scribble", "negative_scribble", "box"]
    with pytest.raises(ValueError, match="does not accept"):
        w.mode = "box"
    w.click(*(_centre(sample.mask).x, _centre(sample.mask).y))
    assert w.candidates == 3 and w.chosen == 0 and w._candidate_buttons.layout.display == "flex"
    assert "mask 1 of 3" in w.status
    w.handle_key_down("2")  # keyboard
    assert w.chosen == 1 and np.array_equal(w.mask, sample.mask)
    w._candidate_buttons.value = 2  # the button
    assert w.chosen == 2 and w.log[-1] == {"t": w.log[-1]["t"], "event": "choose", "candidate": 2,
                                           "source": "api", "mask_area": int(w.mask.sum())}
    w.undo()
    assert w.candidates == 1 and w._candidate_buttons.layout.display == "none"
    w.redo()
    assert w.candidates == 3 and w.chosen == 2


def test_widget_with_a_single_mask_method_shows_no_candidates(sample):
    from iseg_course.widgets import SegmentationWidget

    w = SegmentationWidget(GraphCutSegmenter(), sample.image)
    w.click(*(_centre(sample.mask).x, _centre(sample.mask).y))
    assert w.candidates == 1 and w._candidate_buttons.layout.display == "none"
    assert w._unavailable_modes.options == () and w.session.interactions == Interactions([_centre(sample.mask)])


# ------------------------------------------------------------------------------------------------ registry
def test_registry_builds_every_method_and_checks_what_it_accepts():
    for name, m in methods.METHODS.items():
        if m.uses_torch:
            continue  # built in test_models / test_cli
        seg = methods.make(name)
        assert callable(seg.predict)
    assert methods.get("iseg_course.classical.graphcut:GraphCutSegmenter").name == "graphcut"
    assert isinstance(methods.make("iseg_course.classical.graphcut:GraphCutSegmenter"), GraphCutSegmenter)
    assert methods.METHODS["click"].accepts == {"click", "mask"} and methods.default_workers_for("click") == 1
    with pytest.raises(ValueError, match="unknown method"):
        methods.make("nope")
    with pytest.raises(ValueError, match="cannot import"):
        methods.make("no_such_module_xyz:f")
    with pytest.raises(ValueError, match="not a Segmenter"):
        methods.make("builtins:object")


def test_replay_and_a_robot_in_the_widget(sample):
    from iseg_course.robot import ritm_click
    from iseg_course.widgets import SegmentationWidget

    run = simulate_clicks(GraphCutSegmenter(), sample, 3)
    again = __import__("iseg_course.session", fromlist=["replay"]).replay(GraphCutSegmenter(), sample.image,
                                                                         run.interactions)
    assert [iou(p.probabilities >= 0.5, sample.mask, sample.ignore) for p in again.predictions] == run.ious
    w = SegmentationWidget(GraphCutSegmenter(), sample.image)
    w.run_robot(ritm_click, sample.mask, sample.ignore, n=3)
    assert list(w.interactions) == list(run.interactions) and [e["source"] for e in w.log] == ["robot"] * 3
    np.testing.assert_array_equal(w.mask, run.masks[-1])
