"""Usability questionnaires as small ipywidgets forms: SUS and NASA-TLX.

After annotating with an interactive segmentation tool, users rate it. Two standard questionnaires:

- **System Usability Scale** (Brooke, "SUS: a quick and dirty usability scale", in *Usability Evaluation
  in Industry*, 1996): ten statements answered from 1 (strongly disagree) to 5 (strongly agree), scored
  0..100 by :func:`iseg_course.metrics.sus_score`.
- **NASA Task Load Index** (Hart & Staveland, "Development of NASA-TLX (Task Load Index): Results of
  empirical and theoretical research", *Advances in Psychology* 52, 1988): six workload scales rated
  0..100, averaged (raw TLX) or weighted by 15 pairwise comparisons (weighted TLX), scored by
  :func:`iseg_course.metrics.nasa_tlx`.

Both forms are ``ipywidgets.VBox`` subclasses with a live score label, and work headless (tests, nbclient)
through ``set_responses`` / ``responses`` / ``score``::

    sus = SUSQuestionnaire()
    sus.set_responses([4, 2, 5, 1, 4, 2, 4, 1, 5, 2])
    sus.score        # 85.0

    tlx = NASATLXQuestionnaire()
    tlx.set_responses(dict(mental=60, physical=5, temporal=30, performance=20, effort=50, frustration=25))
    tlx.raw_score    # 31.67; tlx.score is the weighted TLX once the 15 comparisons are answered
"""

from __future__ import annotations

import html
from typing import Callable, Mapping, Sequence

import ipywidgets as widgets

from .metrics import SUS_ITEMS, TLX_DESCRIPTIONS, TLX_PAIRS, TLX_SCALES, nasa_tlx, sus_score, tlx_weights

__all__ = ["SUSQuestionnaire", "NASATLXQuestionnaire", "TLX_LABELS"]

_LIKERT = ("strongly disagree", "disagree", "neutral", "agree", "strongly agree")

TLX_LABELS: dict[str, str] = {
    "mental": "Mental demand",
    "physical": "Physical demand",
    "temporal": "Temporal demand",
    "performance": "Performance",
    "effort": "Effort",
    "frustration": "Frustration",
}
"""Display names of the NASA-TLX scales."""


class _Form(widgets.VBox):
    """Shared bits: a score label, change callbacks."""

    def _init_form(self) -> None:
        self._callbacks: list[Callable] = []
        self._score_label = widgets.HTML()

    def on_change(self, callback: Callable[["_Form"], None]) -> None:
        """Call ``callback(form)`` after every answer (e.g. to store the responses)."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        self._callbacks.append(callback)

    def _changed(self, _change=None) -> None:
        self._update_label()
        for cb in list(self._callbacks):
            cb(self)

    def _update_label(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def score_text(self) -> str:
        """The text of the live score label (plain text, HTML tags removed)."""
        import re

        return html.unescape(re.sub(r"<[^>]+>", "", self._score_label.value))


class SUSQuestionnaire(_Form):
    """The System Usability Scale (Brooke 1996) as a form: 10 statements, answers 1..5, live score.

    Every answer starts unanswered; the score (0..100, :func:`~iseg_course.metrics.sus_score`) is shown
    once all ten are given.

    Attributes / methods:
        responses: list of 10 answers (int 1..5, or None while unanswered).
        complete: True when all ten are answered.
        score: the SUS score (float 0..100), or None while incomplete.
        set_responses(responses): set all ten answers (ValueError as in ``sus_score``).
        reset(): clear all answers.
        to_dict(): ``{"questionnaire": "SUS", "responses": [...], "score": ...}``.

    Used in lesson 06.
    """

    def __init__(self, title: str = "System Usability Scale (SUS)") -> None:
        super().__init__()
        self._init_form()
        self._items: list[widgets.ToggleButtons] = []
        rows = [
            widgets.HTML(
                f"<b>{html.escape(title)}</b><br>For each statement pick 1 (strongly disagree) to "
                "5 (strongly agree). Answer every item; if unsure, pick 3."
            )
        ]
        for i, statement in enumerate(SUS_ITEMS, start=1):
            toggle = widgets.ToggleButtons(
                options=[(str(v), v) for v in range(1, 6)],
                value=None,
                tooltips=list(_LIKERT),
                style={"button_width": "2.6em"},
                layout=widgets.Layout(width="auto"),
            )
            toggle.observe(self._changed, names="value")
            self._items.append(toggle)
            rows.append(
                widgets.HBox(
                    [widgets.HTML(f"{i}. {html.escape(statement)}", layout=widgets.Layout(width="34em")), toggle]
                )
            )
        rows.append(self._score_label)
        self.children = rows
        self._update_label()

    @property
    def responses(self) -> list[int | None]:
        """The ten answers in statement order (int 1..5, None while unanswered)."""
        return [t.value for t in self._items]

    @property
    def complete(self) -> bool:
        """True when all ten statements are answered."""
        return all(v is not None for v in self.responses)

    @property
    def score(self) -> float | None:
        """The SUS score in ``[0, 100]``, None while incomplete."""
        return sus_score(self.responses) if self.complete else None

    def set_responses(self, responses: Sequence[int]) -> None:
        """Set the ten answers (integers 1..5, in statement order); ValueError/TypeError as ``sus_score``."""
        sus_score(responses)  # validates: 10 integers in 1..5
        for toggle, v in zip(self._items, list(responses)):
            toggle.value = int(v)

    def reset(self) -> None:
        """Clear all answers."""
        for toggle in self._items:
            toggle.value = None

    def to_dict(self) -> dict:
        """``{"questionnaire": "SUS", "responses": [...], "score": ...}``."""
        return {"questionnaire": "SUS", "responses": self.responses, "score": self.score}

    def _update_label(self) -> None:
        n = sum(v is not None for v in self.responses)
        if n < len(SUS_ITEMS):
            self._score_label.value = f"SUS score: answer all items ({n}/{len(SUS_ITEMS)} answered)"
        else:
            self._score_label.value = f"<b>SUS score: {self.score:.1f} / 100</b>"


class NASATLXQuestionnaire(_Form):
    """The NASA Task Load Index (Hart & Staveland 1988) as a form: six 0..100 sliders, optional weighting.

    Args:
        weighted: also ask the 15 pairwise comparisons ("which contributed more to the workload?") and
            report the weighted TLX; False gives the raw TLX (the mean of the six ratings), common today.
        initial: the sliders' starting value (mid-scale, 50, by default).

    Attributes / methods:
        responses: dict scale -> rating (0..100, steps of 5 as on the paper form).
        choices: the scale picked in each of :data:`~iseg_course.metrics.TLX_PAIRS` (None while unanswered).
        weights: dict scale -> times picked (summing to 15), or None while comparisons are missing.
        raw_score: the raw TLX (always available).
        weighted_score: the weighted TLX, or None while comparisons are missing.
        score: ``weighted_score`` when ``weighted`` else ``raw_score``.
        set_responses(ratings, choices=None): set ratings (and the 15 picks); ValueError as ``nasa_tlx``.
        reset(), to_dict().

    Used in lesson 06.
    """

    def __init__(self, weighted: bool = True, initial: int = 50, title: str = "NASA Task Load Index (NASA-TLX)") -> None:
        super().__init__()
        if not isinstance(initial, int) or not 0 <= initial <= 100:
            raise ValueError(f"initial must be an integer rating in 0..100, got {initial!r}")
        self._init_form()
        self.weighted = bool(weighted)
        self._initial = initial
        self._sliders: dict[str, widgets.IntSlider] = {}
        rows = [
            widgets.HTML(
                f"<b>{html.escape(title)}</b><br>Rate the task you just did on each scale, "
                "0 = very low, 100 = very high (performance: 0 = perfect, 100 = failure)."
            )
        ]
        for s in TLX_SCALES:
            slider = widgets.IntSlider(
                value=initial, min=0, max=100, step=5, description=TLX_LABELS[s],
                style={"description_width": "9em"}, layout=widgets.Layout(width="32em"),
            )
            slider.observe(self._changed, names="value")
            self._sliders[s] = slider
            rows.append(widgets.HBox([slider, widgets.HTML(html.escape(TLX_DESCRIPTIONS[s].split(": ", 1)[1]))]))
        self._pairs: list[widgets.ToggleButtons] = []
        if self.weighted:
            rows.append(widgets.HTML("<b>Which of the two contributed more to the workload of this task?</b>"))
            for a, b in TLX_PAIRS:
                toggle = widgets.ToggleButtons(
                    options=[(TLX_LABELS[a], a), (TLX_LABELS[b], b)], value=None,
                    style={"button_width": "10em"}, layout=widgets.Layout(width="auto"),
                )
                toggle.observe(self._changed, names="value")
                self._pairs.append(toggle)
            # three pairs per row keeps the form short
            for i in range(0, len(self._pairs), 3):
                rows.append(widgets.HBox(self._pairs[i : i + 3], layout=widgets.Layout(flex_flow="row wrap")))
        rows.append(self._score_label)
        self.children = rows
        self._update_label()

    @property
    def responses(self) -> dict[str, int]:
        """Scale -> rating (int 0..100, steps of 5)."""
        return {s: int(sl.value) for s, sl in self._sliders.items()}

    @property
    def choices(self) -> list[str | None]:
        """The scale picked in each pair of ``TLX_PAIRS`` (None while unanswered; empty when unweighted)."""
        return [t.value for t in self._pairs]

    @property
    def weights(self) -> dict[str, int] | None:
        """Scale -> times picked (summing to 15), None while comparisons are missing or unweighted."""
        c = self.choices
        if not self.weighted or any(v is None for v in c):
            return None
        return tlx_weights(c)

    @property
    def raw_score(self) -> float:
        """The raw TLX in ``[0, 100]``: the mean of the six ratings."""
        return nasa_tlx(self.responses)

    @property
    def weighted_score(self) -> float | None:
        """The weighted TLX in ``[0, 100]``, None while comparisons are missing (always when unweighted)."""
        w = self.weights
        return None if w is None else nasa_tlx(self.responses, w)

    @property
    def score(self) -> float | None:
        """``weighted_score`` for a weighted form, else ``raw_score``."""
        return self.weighted_score if self.weighted else self.raw_score

    def set_responses(self, ratings: Mapping[str, float], choices: Sequence[str] | None = None) -> None:
        """Set the six ratings (dict scale -> 0..100) and, for a weighted form, optionally the 15 picks.

        ``choices[i]`` is the scale picked in ``TLX_PAIRS[i]`` and must be one of that pair. Ratings are
        rounded to the slider's steps of 5. Raises ValueError for unknown/missing scales, ratings outside
        0..100, choices on an unweighted form, a wrong number of choices or a pick outside its pair.
        """
        nasa_tlx(ratings)  # validates scales and ranges
        if choices is not None:
            if not self.weighted:
                raise ValueError("this form is unweighted (weighted=False): it has no pairwise comparisons to set")
            choices = list(choices)
            tlx_weights(choices)  # 15 known scales
            for (a, b), c in zip(TLX_PAIRS, choices):
                if c not in (a, b):
                    raise ValueError(f"pairwise choice {c!r} is not one of the pair ({a!r}, {b!r})")
        for s in TLX_SCALES:
            self._sliders[s].value = int(5 * round(float(ratings[s]) / 5))
        if choices is not None:
            for toggle, c in zip(self._pairs, choices):
                toggle.value = c

    def reset(self) -> None:
        """Sliders back to the initial value, comparisons unanswered."""
        for sl in self._sliders.values():
            sl.value = self._initial
        for toggle in self._pairs:
            toggle.value = None

    def to_dict(self) -> dict:
        """Ratings, choices, weights and both scores as a dict (``"questionnaire": "NASA-TLX"``)."""
        return {
            "questionnaire": "NASA-TLX",
            "ratings": self.responses,
            "choices": self.choices if self.weighted else None,
            "weights": self.weights,
            "raw_score": self.raw_score,
            "weighted_score": self.weighted_score,
        }

    def _update_label(self) -> None:
        text = f"Raw TLX: {self.raw_score:.1f} / 100"
        if self.weighted:
            n = sum(v is not None for v in self.choices)
            if n < len(TLX_PAIRS):
                text += f"; weighted TLX: answer all comparisons ({n}/{len(TLX_PAIRS)} answered)"
            else:
                text += f"; <b>weighted TLX: {self.weighted_score:.1f} / 100</b>"
        self._score_label.value = text
