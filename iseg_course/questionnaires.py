"""Usability questionnaires: their scores as pure functions, and small ipywidgets forms (SUS, NASA-TLX).

After annotating with an interactive segmentation tool, users rate it. Two standard questionnaires:

- **System Usability Scale** (Brooke, "SUS: a quick and dirty usability scale", in *Usability Evaluation
  in Industry*, 1996): ten statements answered from 1 (strongly disagree) to 5 (strongly agree), scored
  0..100 by :func:`sus_score` (defined in :mod:`iseg_course.metrics`, re-exported here).
- **NASA Task Load Index** (Hart & Staveland, "Development of NASA-TLX (Task Load Index): Results of
  empirical and theoretical research", *Advances in Psychology* 52, 1988): six workload scales rated
  0..100, averaged (raw TLX) or weighted by 15 pairwise comparisons (weighted TLX), scored by
  :func:`tlx_scores` (weights from the comparisons: :func:`tlx_pair_weights`).

Comparing two tools on a handful of participants needs an uncertainty: :func:`bootstrap_ci` and
:func:`sus_difference_ci` give a percentile-bootstrap confidence interval of a mean or of a difference of
means (Efron & Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall 1993, ch. 13).

The forms are ``ipywidgets.VBox`` subclasses with a live score label that call these functions (the
scoring exists once); they work headless (tests, nbclient) through ``set_responses`` / ``responses`` /
``score``::

    sus = SUSQuestionnaire()
    sus.set_responses([4, 2, 5, 1, 4, 2, 4, 1, 5, 2])
    sus.score        # 85.0

    tlx = NASATLXQuestionnaire()
    tlx.set_responses(dict(mental=60, physical=5, temporal=30, performance=20, effort=50, frustration=25))
    tlx.raw_score    # 31.67; tlx.score is the weighted TLX once the 15 comparisons are answered
"""

from __future__ import annotations

import html
from numbers import Integral, Real
from typing import Callable, Mapping, NamedTuple, Sequence

import ipywidgets as widgets
import numpy as np

from .metrics import SUS_ITEMS, TLX_DESCRIPTIONS, TLX_PAIRS, TLX_SCALES, nasa_tlx, sus_score, tlx_weights

__all__ = [
    "SUSQuestionnaire",
    "NASATLXQuestionnaire",
    "TLX_LABELS",
    "TLXScores",
    "BootstrapCI",
    "sus_score",
    "tlx_pair_weights",
    "tlx_scores",
    "bootstrap_ci",
    "sus_difference_ci",
]


# ---------------------------------------------------------------------------------------- scores (pure)
class TLXScores(NamedTuple):
    """Raw and weighted NASA-TLX of one questionnaire, each in ``[0, 100]`` (weighted: None without the
    pairwise comparisons). A tuple: ``raw, weighted = tlx_scores(...)``."""

    raw: float
    weighted: float | None


class BootstrapCI(NamedTuple):
    """A statistic and its bootstrap confidence interval: ``estimate, low, high = bootstrap_ci(...)``."""

    estimate: float
    low: float
    high: float


def tlx_pair_weights(choices: Sequence[str]) -> dict[str, int]:
    """NASA-TLX weights from the 15 pairwise comparisons (Hart & Staveland 1988).

    Args:
        choices: 15 scale names; ``choices[i]`` is the scale the participant picked as the bigger
            contributor to workload in the pair ``TLX_PAIRS[i]`` (the 15 pairs of :data:`TLX_SCALES`,
            ``("mental", "physical"), ("mental", "temporal"), ...``).

    Returns:
        ``{scale: times picked}`` for all six scales: integers 0..5 summing to 15.

    Raises:
        ValueError: not exactly 15 choices, an unknown scale, or a choice that is not one of its pair.

    >>> tlx_pair_weights([a for a, b in TLX_PAIRS])["mental"]
    5

    Used by :class:`NASATLXQuestionnaire` and lesson 06 (exercise q4).
    """
    if isinstance(choices, (str, bytes, Mapping)):
        raise ValueError(f"choices must be a sequence of 15 scale names, got {type(choices).__name__}")
    choices = list(choices)
    weights = tlx_weights(choices)  # 15 choices, known scales (ValueError otherwise)
    for i, ((a, b), c) in enumerate(zip(TLX_PAIRS, choices)):
        if c not in (a, b):
            raise ValueError(f"pairwise choice {i} ({c!r}) is not one of the pair ({a!r}, {b!r})")
    return weights


def tlx_scores(ratings: Mapping[str, float], choices: Sequence[str] | None = None) -> TLXScores:
    """Raw and weighted NASA Task Load Index of one questionnaire (Hart & Staveland 1988).

    * raw TLX: the mean of the six ratings;
    * weighted TLX: ``sum_i w_i * r_i / 15`` with ``w_i`` the number of the 15 pairwise comparisons in
      which scale ``i`` was picked (:func:`tlx_pair_weights`).

    Args:
        ratings: ``{scale: rating}`` for the six scales of :data:`TLX_SCALES`, each a number in
            ``[0, 100]`` (low..high workload; performance: 0 = perfect, 100 = failure — not reversed).
        choices: the 15 pairwise picks (see :func:`tlx_pair_weights`), or None for the raw TLX only.

    Returns:
        :class:`TLXScores` ``(raw, weighted)``: Python floats in ``[0, 100]``; ``weighted`` is None
        without choices.

    Raises:
        ValueError: unknown or missing scales, a rating outside ``[0, 100]``, bad choices.
        TypeError: ratings not a mapping.

    >>> tlx_scores(dict(mental=60, physical=0, temporal=30, performance=20, effort=50, frustration=20))
    TLXScores(raw=30.0, weighted=None)

    Used by :class:`NASATLXQuestionnaire` and lesson 06 (exercise q4).
    """
    raw = nasa_tlx(ratings)
    if choices is None:
        return TLXScores(raw, None)
    return TLXScores(raw, nasa_tlx(ratings, tlx_pair_weights(choices)))


def _sample(x, name: str, minimum: int = 2) -> np.ndarray:
    if isinstance(x, (str, bytes, Mapping)):
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got {type(x).__name__}")
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a 1-D sequence of numbers: {e}") from e
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per participant), got shape {a.shape}")
    if len(a) < minimum:
        raise ValueError(f"{name} needs at least {minimum} values to bootstrap, got {len(a)}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must hold finite numbers, got {x!r}")
    return a


def bootstrap_ci(
    a: Sequence[float],
    b: Sequence[float] | None = None,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = 0,
    *,
    paired: bool = True,
) -> BootstrapCI:
    """Percentile-bootstrap confidence interval of a mean, or of a difference of means (Efron & Tibshirani,
    *An Introduction to the Bootstrap*, 1993, ch. 13).

    The statistic:

    * ``b is None``: ``mean(a)``;
    * ``paired=True`` (the same participants measured twice, e.g. both tools): ``mean(b - a)``, the mean
      of the per-participant differences; a resample draws *participants*, keeping each one's two values
      together;
    * ``paired=False`` (two independent groups): ``mean(b) - mean(a)``; ``a`` and ``b`` are resampled
      independently, each with its own size.

    Resampling: ``rng = np.random.default_rng(seed)``; one resample is a row of
    ``rng.integers(0, n, size=(n_resamples, n))`` (for the unpaired case, all rows for ``a`` first, then
    all rows for ``b``), and the statistic is recomputed on each. The interval is the
    ``100 * alpha / 2`` and ``100 * (1 - alpha / 2)`` percentiles of those ``n_resamples`` values (linear
    interpolation, ``np.percentile``'s default), ``alpha = 1 - confidence``. This is what
    ``scipy.stats.bootstrap(..., method="percentile", rng=np.random.default_rng(seed))`` returns with the
    same statistic.

    Args:
        a: 1-D values, one per participant (at least 2).
        b: optional second sample: the same participants' values (paired; same length as ``a``) or
            another group's (unpaired; at least 2).
        n_resamples: number of bootstrap resamples (>= 1; 10,000 gives percentiles stable to a few hundredths
            of the statistic's spread).
        confidence: the interval's confidence level in ``(0, 1)``.
        seed: seed of the NumPy random generator (or a ``Generator``, used as is); the same seed gives the
            same interval.
        paired: with ``b``, whether the two samples come from the same participants.

    Returns:
        :class:`BootstrapCI` ``(estimate, low, high)`` as Python floats, in the units of the data; the
        estimate is the statistic on the original data.

    Raises:
        ValueError: non-numeric or non-finite data, fewer than 2 values, paired samples of different
            lengths, ``n_resamples < 1``, ``confidence`` outside ``(0, 1)``.

    Used in lesson 06 (with :func:`sus_difference_ci`).
    """
    a = _sample(a, "a")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, Integral) or n_resamples < 1:
        raise ValueError(f"n_resamples must be an integer >= 1, got {n_resamples!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number in (0, 1), e.g. 0.95, got {confidence!r}")
    n_resamples = int(n_resamples)
    rng = np.random.default_rng(seed)
    if b is None:
        estimate = a.mean()
        boot = a[rng.integers(0, len(a), size=(n_resamples, len(a)))].mean(axis=1)
    else:
        b = _sample(b, "b")
        if paired:
            if len(a) != len(b):
                raise ValueError(f"paired samples need one value per participant in each: got {len(a)} and {len(b)} values")
            d = b - a
            estimate = d.mean()
            boot = d[rng.integers(0, len(d), size=(n_resamples, len(d)))].mean(axis=1)
        else:
            estimate = b.mean() - a.mean()
            ia = rng.integers(0, len(a), size=(n_resamples, len(a)))
            ib = rng.integers(0, len(b), size=(n_resamples, len(b)))
            boot = b[ib].mean(axis=1) - a[ia].mean(axis=1)
    alpha = 1.0 - float(confidence)
    low, high = np.percentile(boot, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return BootstrapCI(float(estimate), float(low), float(high))


def sus_difference_ci(
    sus_a: Sequence[float],
    sus_b: Sequence[float],
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = 0,
    *,
    paired: bool = True,
) -> BootstrapCI:
    """Mean SUS difference ``B - A`` between two tools with a percentile-bootstrap confidence interval.

    The SUS scores (Brooke 1996; :func:`sus_score`) of tool A and tool B. By default the design is
    *within-subject*: participant ``i`` used both tools, ``sus_a[i]`` and ``sus_b[i]`` are theirs, and the
    bootstrap resamples participants (``paired=True``), so that a participant who rates everything high
    does not widen the interval. ``paired=False`` treats the two lists as independent groups. See
    :func:`bootstrap_ci` for the resampling and the percentiles.

    Args:
        sus_a, sus_b: SUS scores in ``[0, 100]``, one per participant (paired: the same participants in
            the same order).
        n_resamples, confidence, seed, paired: as :func:`bootstrap_ci`.

    Returns:
        :class:`BootstrapCI` ``(estimate, low, high)``: the mean difference in SUS points (positive: B
        is rated more usable) and its interval.

    Raises:
        ValueError: a score outside ``[0, 100]``, plus those of :func:`bootstrap_ci`.

    Used in lesson 06 (exercise q4).
    """
    for name, x in (("sus_a", sus_a), ("sus_b", sus_b)):
        v = _sample(x, name)
        if np.any((v < 0) | (v > 100)):
            raise ValueError(f"{name} must hold SUS scores in [0, 100], got {list(x)!r}")
    return bootstrap_ci(sus_a, sus_b, n_resamples, confidence, seed, paired=paired)


# ---------------------------------------------------------------------------------------- forms
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
        set_responses(ratings, choices=None): set ratings (and the 15 picks); ValueError as ``tlx_scores``.
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
        return tlx_pair_weights(c)

    @property
    def raw_score(self) -> float:
        """The raw TLX in ``[0, 100]``: the mean of the six ratings (:func:`tlx_scores`)."""
        return tlx_scores(self.responses).raw

    @property
    def weighted_score(self) -> float | None:
        """The weighted TLX in ``[0, 100]``, None while comparisons are missing (always when unweighted)."""
        c = self.choices
        if not self.weighted or any(v is None for v in c):
            return None
        return tlx_scores(self.responses, c).weighted

    @property
    def score(self) -> float | None:
        """``weighted_score`` for a weighted form, else ``raw_score``."""
        return self.weighted_score if self.weighted else self.raw_score

    def set_responses(self, ratings: Mapping[str, float], choices: Sequence[str] | None = None) -> None:
        """Set the six ratings (dict scale -> 0..100) and, for a weighted form, optionally the 15 picks.

        ``choices[i]`` is the scale picked in ``TLX_PAIRS[i]`` and must be one of that pair. Ratings are
        rounded to the slider's steps of 5. Raises ValueError (as :func:`tlx_scores`) for unknown/missing
        scales, ratings outside 0..100, choices on an unweighted form, a wrong number of choices or a pick
        outside its pair; nothing is set then.
        """
        if choices is not None:
            if not self.weighted:
                raise ValueError("this form is unweighted (weighted=False): it has no pairwise comparisons to set")
            choices = list(choices)
        tlx_scores(ratings, choices)  # validates scales, ranges, 15 picks each one of its pair
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
