"""SUS and NASA-TLX: the pure scores (TLX from pairwise choices, bootstrap intervals, checked against
scipy.stats.bootstrap) and the forms (headless use, live score label, agreement with the functions, bad input)."""

import ipywidgets as widgets
import numpy as np
import pytest
import scipy.stats

from iseg_course.metrics import SUS_ITEMS, TLX_PAIRS, TLX_SCALES, nasa_tlx, sus_score
from iseg_course.questionnaires import (BootstrapCI, NASATLXQuestionnaire, SUSQuestionnaire, TLXScores, bootstrap_ci,
                                        sus_difference_ci, tlx_pair_weights, tlx_scores)
from iseg_course import questionnaires


def _toggles(form):
    """All ToggleButtons of a form, in display order."""
    out = []

    def walk(w):
        if isinstance(w, widgets.ToggleButtons):
            out.append(w)
        for c in getattr(w, "children", ()):
            walk(c)

    walk(form)
    return out


def test_sus_form_programmatic():
    form = SUSQuestionnaire()
    assert isinstance(form, widgets.VBox)
    assert form.responses == [None] * 10 and not form.complete and form.score is None
    assert "0/10" in form.score_text
    form.set_responses([3] * 10)
    assert form.complete and form.score == 50.0 and "50.0" in form.score_text
    form.set_responses([5, 1] * 5)
    assert form.score == 100.0
    r = [4, 2, 5, 1, 4, 2, 4, 1, 5, 2]
    form.set_responses(r)
    assert form.responses == r and form.score == sus_score(r) == 85.0
    assert form.to_dict() == {"questionnaire": "SUS", "responses": r, "score": 85.0}
    form.reset()
    assert form.score is None


def test_sus_form_like_a_user():
    form = SUSQuestionnaire()
    seen = []
    form.on_change(lambda f: seen.append(f.score))
    toggles = _toggles(form)
    assert len(toggles) == len(SUS_ITEMS) == 10
    # every statement is shown
    text = " ".join(w.value for w in form.children[1:-1] for w in w.children if isinstance(w, widgets.HTML))
    assert all(s in text for s in SUS_ITEMS)
    for t in toggles[:-1]:
        t.value = 4
    assert form.score is None and "9/10" in form.score_text
    toggles[-1].value = 2
    # odd items (4 - 1) * 5 = 15, even items (5 - 4) * 4 + (5 - 2) = 7 -> 22 * 2.5
    assert form.score == 55.0 and "55.0" in form.score_text
    assert len(seen) == 10 and seen[-1] == 55.0 and seen[0] is None


def test_sus_form_bad_input():
    form = SUSQuestionnaire()
    with pytest.raises(ValueError, match="10"):
        form.set_responses([3] * 9)
    with pytest.raises(ValueError, match="1 to 5"):
        form.set_responses([3] * 9 + [7])
    assert form.responses == [None] * 10  # nothing was set
    with pytest.raises(TypeError):
        form.on_change("not callable")


def test_tlx_form_raw_and_weighted():
    ratings = dict(mental=70, physical=10, temporal=40, performance=30, effort=60, frustration=20)
    raw = NASATLXQuestionnaire(weighted=False)
    assert raw.score == 50.0  # sliders start mid-scale
    raw.set_responses(ratings)
    assert raw.responses == ratings and raw.score == raw.raw_score == pytest.approx(nasa_tlx(ratings))
    assert raw.weights is None and raw.weighted_score is None
    assert _toggles(raw) == []

    form = NASATLXQuestionnaire()
    form.set_responses(ratings)
    assert form.score is None and "0/15" in form.score_text  # comparisons missing
    assert form.raw_score == pytest.approx(230 / 6)
    picks = [a for a, b in TLX_PAIRS]
    form.set_responses(ratings, picks)
    w = dict(mental=5, physical=4, temporal=3, performance=2, effort=1, frustration=0)
    assert form.weights == w
    assert form.score == pytest.approx(nasa_tlx(ratings, w)) == pytest.approx((350 + 40 + 120 + 60 + 60) / 15)
    assert "weighted TLX: 42.0" in form.score_text
    d = form.to_dict()
    assert d["weights"] == w and d["choices"] == picks and d["ratings"] == ratings
    form.reset()
    assert form.weights is None and form.raw_score == 50.0


def test_tlx_form_like_a_user():
    form = NASATLXQuestionnaire()
    toggles = _toggles(form)
    assert len(toggles) == 15
    sliders = [w for row in form.children for w in getattr(row, "children", ()) if isinstance(w, widgets.IntSlider)]
    assert len(sliders) == len(TLX_SCALES)
    sliders[0].value = 100  # mental
    assert form.raw_score == pytest.approx((100 + 5 * 50) / 6)
    for t in toggles:
        t.value = t.options[1][1]  # always the second of the pair
    assert sum(form.weights.values()) == 15 and form.weights["frustration"] == 5 and form.weights["mental"] == 0
    assert form.score == pytest.approx(50.0)  # mental has weight 0, the rest are all 50


def test_tlx_form_bad_input():
    form = NASATLXQuestionnaire()
    good = dict.fromkeys(TLX_SCALES, 50)
    with pytest.raises(ValueError, match="unknown"):
        form.set_responses({**good, "boredom": 5})
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        form.set_responses({**good, "effort": -5})
    with pytest.raises(ValueError, match="15"):
        form.set_responses(good, ["mental"] * 3)
    with pytest.raises(ValueError, match="not one of the pair"):
        form.set_responses(good, ["frustration"] * 15)
    with pytest.raises(ValueError, match="unweighted"):
        NASATLXQuestionnaire(weighted=False).set_responses(good, [a for a, b in TLX_PAIRS])
    with pytest.raises(ValueError, match="initial"):
        NASATLXQuestionnaire(initial=150)


# ---------------------------------------------------------------------------------------- pure functions
RATINGS = dict(mental=70, physical=10, temporal=40, performance=30, effort=60, frustration=20)


def test_sus_score_is_the_metrics_one():
    assert questionnaires.sus_score is sus_score  # one implementation, re-exported


def test_tlx_pair_weights():
    assert tlx_pair_weights([a for a, b in TLX_PAIRS]) == dict(mental=5, physical=4, temporal=3, performance=2,
                                                                effort=1, frustration=0)
    w = tlx_pair_weights([b for a, b in TLX_PAIRS])
    assert w == dict(mental=0, physical=1, temporal=2, performance=3, effort=4, frustration=5)
    rng = np.random.default_rng(0)
    for _ in range(50):
        w = tlx_pair_weights([p[rng.integers(2)] for p in TLX_PAIRS])
        assert sum(w.values()) == 15 and all(0 <= v <= 5 for v in w.values()) and set(w) == set(TLX_SCALES)
    with pytest.raises(ValueError, match="15"):
        tlx_pair_weights(["mental"] * 14)
    with pytest.raises(ValueError, match="not one of the pair"):
        tlx_pair_weights(["mental"] * 15)  # mental is in only 5 of the pairs
    with pytest.raises(ValueError, match="unknown"):
        tlx_pair_weights(["boredom"] + [a for a, b in TLX_PAIRS][1:])
    with pytest.raises(ValueError):
        tlx_pair_weights("mental")


def test_tlx_scores():
    out = tlx_scores(RATINGS, [a for a, b in TLX_PAIRS])
    assert isinstance(out, TLXScores) and out == (pytest.approx(230 / 6), pytest.approx(630 / 15))
    assert type(out.raw) is float and type(out.weighted) is float
    assert tlx_scores(RATINGS) == (pytest.approx(230 / 6), None)
    # the same as metrics.nasa_tlx with the tallied weights, for random picks and ratings
    rng = np.random.default_rng(1)
    for _ in range(100):
        r = {s: float(rng.integers(0, 21) * 5) for s in TLX_SCALES}
        c = [p[rng.integers(2)] for p in TLX_PAIRS]
        raw, weighted = tlx_scores(r, c)
        assert raw == pytest.approx(nasa_tlx(r)) and weighted == pytest.approx(nasa_tlx(r, tlx_pair_weights(c)))
        assert 0 <= weighted <= 100
    # performance is a workload rating like the others (0 = perfect): not reversed
    low = {**dict.fromkeys(TLX_SCALES, 0), "performance": 60}
    assert tlx_scores(low).raw == pytest.approx(10.0)
    with pytest.raises(ValueError, match="missing"):
        tlx_scores({"mental": 50})
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        tlx_scores({**RATINGS, "effort": 120})
    with pytest.raises(ValueError, match="not one of the pair"):
        tlx_scores(RATINGS, ["frustration"] * 15)
    with pytest.raises(TypeError):
        tlx_scores([50] * 6)


def test_forms_score_with_the_functions():
    picks = [b if i % 3 else a for i, (a, b) in enumerate(TLX_PAIRS)]
    form = NASATLXQuestionnaire()
    form.set_responses(RATINGS, picks)
    assert (form.raw_score, form.weighted_score) == tlx_scores(RATINGS, picks)
    assert form.weights == tlx_pair_weights(picks)
    with pytest.raises(ValueError, match="not one of the pair"):
        form.set_responses(dict.fromkeys(TLX_SCALES, 0), ["frustration"] * 15)
    assert form.responses == RATINGS and form.choices == picks  # a refused call sets nothing


def _scipy_ci(data, statistic, paired, n, confidence, seed):
    res = scipy.stats.bootstrap(data, statistic, paired=paired, vectorized=True, n_resamples=n,
                                confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    return res.confidence_interval


@pytest.mark.parametrize("n_resamples, confidence, seed", [(2000, 0.95, 0), (999, 0.9, 7), (5000, 0.5, 123)])
def test_bootstrap_ci_matches_scipy_percentile(n_resamples, confidence, seed):
    rng = np.random.default_rng(seed + 1)
    a = rng.uniform(20, 90, 12)
    b = np.clip(a + rng.normal(8, 12, 12), 0, 100)
    c = rng.uniform(40, 95, 9)  # another group, another size

    est, low, high = bootstrap_ci(a, b, n_resamples, confidence, seed)  # paired: mean(b - a)
    ref = _scipy_ci((a, b), lambda x, y, axis: np.mean(y - x, axis=axis), True, n_resamples, confidence, seed)
    assert est == pytest.approx(np.mean(b - a), abs=1e-12)
    assert (low, high) == (pytest.approx(ref.low, abs=1e-9), pytest.approx(ref.high, abs=1e-9))

    est, low, high = bootstrap_ci(a, c, n_resamples, confidence, seed, paired=False)
    ref = _scipy_ci((a, c), lambda x, y, axis: np.mean(y, axis=axis) - np.mean(x, axis=axis), False, n_resamples,
                    confidence, seed)
    assert est == pytest.approx(c.mean() - a.mean(), abs=1e-12)
    assert (low, high) == (pytest.approx(ref.low, abs=1e-9), pytest.approx(ref.high, abs=1e-9))

    est, low, high = bootstrap_ci(a, None, n_resamples, confidence, seed)
    ref = _scipy_ci((a,), np.mean, False, n_resamples, confidence, seed)
    assert est == pytest.approx(a.mean()) and (low, high) == (pytest.approx(ref.low, abs=1e-9),
                                                              pytest.approx(ref.high, abs=1e-9))

    # sus_difference_ci is the paired (default) or unpaired bootstrap of SUS scores
    assert sus_difference_ci(a, b, n_resamples, confidence, seed) == bootstrap_ci(a, b, n_resamples, confidence, seed)
    assert sus_difference_ci(a, c, n_resamples, confidence, seed, paired=False) == \
        bootstrap_ci(a, c, n_resamples, confidence, seed, paired=False)


def test_bootstrap_ci_properties():
    a = [55.0, 62.5, 70.0, 47.5, 80.0, 65.0, 72.5, 57.5]
    shifted = [v + 7.5 for v in a]
    out = sus_difference_ci(a, shifted)
    assert isinstance(out, BootstrapCI) and all(type(v) is float for v in out)
    assert out == (7.5, 7.5, 7.5)  # paired: every participant's difference is 7.5
    unpaired = sus_difference_ci(a, shifted, paired=False)
    assert unpaired.estimate == 7.5 and unpaired.low < 0 < 7.5 < unpaired.high  # the spread between people
    assert sus_difference_ci(shifted, a).estimate == -7.5  # B - A
    # reproducible with a seed, different with another one; wider at a higher level
    b = [60.0, 60.0, 85.0, 45.0, 77.5, 80.0, 70.0, 72.5]
    assert sus_difference_ci(a, b, seed=3) == sus_difference_ci(a, b, seed=3)
    assert sus_difference_ci(a, b, 200, seed=3) != sus_difference_ci(a, b, 200, seed=4)  # few resamples: visible noise
    narrow, wide = sus_difference_ci(a, b, confidence=0.5), sus_difference_ci(a, b, confidence=0.99)
    assert wide.low < narrow.low <= narrow.high < wide.high
    gen = np.random.default_rng(11)
    assert sus_difference_ci(a, b, 200, 0.95, gen) != sus_difference_ci(a, b, 200, 0.95, gen)  # a Generator moves on


def test_bootstrap_ci_bad_input():
    with pytest.raises(ValueError, match="one value per participant"):
        sus_difference_ci([50, 60, 70], [55, 65])
    with pytest.raises(ValueError, match="at least 2"):
        bootstrap_ci([50.0])
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci([1.0, 2.0], n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([1.0, np.nan])
    with pytest.raises(ValueError, match="1-D"):
        bootstrap_ci(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        sus_difference_ci([50, 60, 101], [55, 65, 70])
    with pytest.raises(ValueError):
        bootstrap_ci("abc")
