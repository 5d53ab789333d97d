"""SUS and NASA-TLX forms: headless use, live score label, agreement with iseg_course.metrics, bad input."""

import ipywidgets as widgets
import pytest

from iseg_course.metrics import SUS_ITEMS, TLX_PAIRS, TLX_SCALES, nasa_tlx, sus_score
from iseg_course.questionnaires import NASATLXQuestionnaire, SUSQuestionnaire


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
