"""Evaluation metrics for interactive segmentation.

- Overlap: IoU (Jaccard index) and Dice (F1), with an optional ignore mask.
  IoU = |P ∩ G| / |P ∪ G| and Dice = 2|P ∩ G| / (|P| + |G|), counted over the pixels that are not ignored.
- Clicks: NoC@target, NoF, IoU@k / Dice@k, the NoC-IoU curve, consistent improvement, seconds per click
  (Xu et al., CVPR 2016; Sofiiuk et al., f-BRS CVPR 2020 and RITM ICIP 2022).
- Usability: user time and scribble length from the widget log, the System Usability Scale (Brooke 1996)
  and the NASA Task Load Index (Hart & Staveland 1988).
- Cost: annotation hours of a click tool from its NoC (:func:`annotation_hours`), to compare with polygon
  drawing (about 79 s per object for COCO, Lin et al. 2014).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .interactions import Box, Click, ExtremePoints, Interactions, Polygon, Scribble
from .segmenter import check_ground_truth, check_mask


def _prepare(pred, gt, ignore):
    gt, valid = check_ground_truth(gt, ignore)
    pred = check_mask(pred, gt.shape, name="predicted mask")
    return pred & valid, gt & valid


def iou(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Intersection over union of two ``(H, W)`` binary masks, in ``[0, 1]``.

    Args:
        pred: predicted mask, bool or {0, 1}/{0, 255} integers (threshold probabilities first).
        gt: ground-truth mask, same shape.
        ignore: optional ``(H, W)`` bool; these pixels count neither way.

    Raises:
        ValueError: shapes differ, masks are not binary, or the ground truth is empty.

    Used in lessons 00, 01, 02, 03, 04, 05, 06, 07.
    """
    pred, gt = _prepare(pred, gt, ignore)
    return float(np.logical_and(pred, gt).sum() / np.logical_or(pred, gt).sum())


def dice(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Dice coefficient 2|P∩G| / (|P|+|G|) of two ``(H, W)`` binary masks, in ``[0, 1]``; errors as :func:`iou`.

    Used in lessons 00, 06.
    """
    pred, gt = _prepare(pred, gt, ignore)
    return float(2 * np.logical_and(pred, gt).sum() / (pred.sum() + gt.sum()))


# ---------------------------------------------------------------------------------------------------------
# Click-based accuracy: NoC, NoF, IoU@k, NoC-IoU curves, consistent improvement, timing
#
# The protocol follows Xu et al., "Deep Interactive Object Selection", CVPR 2016 (NoC with a 20-click cap),
# and Sofiiuk et al., "f-BRS", CVPR 2020 / "Reviving Iterative Training with Mask Guidance" (RITM), ICIP 2022
# (NoF, NoC-IoU curves). A *score sequence* is the list of IoU (or Dice) values after click 1, 2, 3, ...;
# every function below works on IoU and Dice alike because it only sees the numbers.
# ---------------------------------------------------------------------------------------------------------

DEFAULT_MAX_CLICKS = 20


def _scores(ious, name: str = "ious") -> np.ndarray:
    """A non-empty 1-D float64 array of scores in [0, 1]; raise TypeError/ValueError otherwise."""
    if isinstance(ious, (str, bytes)) or np.isscalar(ious):
        raise TypeError(f"{name} must be a sequence of scores (IoU or Dice after click 1, 2, ...), got {type(ious).__name__}")
    try:
        a = np.asarray(ious, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a sequence of numbers, got {ious!r}") from e
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of scores (one per click), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty: expected the score after at least one click")
    if not np.all(np.isfinite(a)) or a.min() < 0.0 or a.max() > 1.0:
        raise ValueError(f"{name} must lie in [0, 1] (IoU or Dice), got min {np.nanmin(a)!r}, max {np.nanmax(a)!r}")
    return a


def _target(target: float) -> float:
    try:
        t = float(target)
    except (TypeError, ValueError) as e:
        raise TypeError(f"target must be a number in (0, 1], e.g. 0.90 for NoC@90, got {target!r}") from e
    if not (0.0 < t <= 1.0):
        raise ValueError(f"target must lie in (0, 1] (a fraction, e.g. 0.90 for NoC@90, not 90), got {target!r}")
    return t


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _sequences(ious_per_sample, name: str = "ious_per_sample") -> list[np.ndarray]:
    if isinstance(ious_per_sample, (str, bytes)) or np.isscalar(ious_per_sample):
        raise TypeError(f"{name} must be a sequence of score sequences (one per sample), got {type(ious_per_sample).__name__}")
    if isinstance(ious_per_sample, dict):  # e.g. EvaluationResult.ious: name -> list
        ious_per_sample = list(ious_per_sample.values())
    seqs = [_scores(s, f"{name}[{i}]") for i, s in enumerate(ious_per_sample)]
    if not seqs:
        raise ValueError(f"{name} is empty: expected the score sequences of at least one sample")
    return seqs


def _padded(a: np.ndarray, length: int) -> np.ndarray:
    """The first ``length`` scores; a shorter sequence (stopped early) is padded with its last value."""
    if a.size >= length:
        return a[:length]
    return np.concatenate([a, np.full(length - a.size, a[-1])])


def noc(ious: Sequence[float], target: float = 0.90, max_clicks: int = DEFAULT_MAX_CLICKS) -> int:
    """Number of clicks (NoC@target): the 1-based index of the first click whose score reaches ``target``.

    Args:
        ious: the IoU (or Dice) after click 1, 2, ... of one sample, values in ``[0, 1]``. A sequence that
            stopped early because the prediction became perfect counts as reaching the target at the click
            it got there; scores after ``max_clicks`` are not looked at.
        target: the score to reach, in ``(0, 1]`` (0.85 for NoC@85, 0.90 for NoC@90).
        max_clicks: the click budget (20 in Xu et al. 2016 and every later paper).

    Returns:
        An int in ``1..max_clicks``; a sample that never reaches the target within ``max_clicks`` clicks
        counts ``max_clicks`` (it is also a failure, see :func:`nof`).

    Raises:
        ValueError: empty sequence, scores outside ``[0, 1]``, target outside ``(0, 1]``, max_clicks < 1.
        TypeError: not a sequence of numbers.

    >>> noc([0.5, 0.8, 0.91, 0.95], target=0.90)
    3
    >>> noc([0.5, 0.6], target=0.90)
    20

    Used in lessons 05, 06, 07.
    """
    a, t, m = _scores(ious), _target(target), _positive_int(max_clicks, "max_clicks")
    hit = np.flatnonzero(a[:m] >= t)
    return int(hit[0]) + 1 if hit.size else m


def reached(ious: Sequence[float], target: float = 0.90, max_clicks: int = DEFAULT_MAX_CLICKS) -> bool:
    """True when the score sequence reaches ``target`` within ``max_clicks`` clicks (errors as :func:`noc`).

    Used in lesson 06.
    """
    a, t, m = _scores(ious), _target(target), _positive_int(max_clicks, "max_clicks")
    return bool(np.any(a[:m] >= t))


def nof(ious_per_sample: Sequence[Sequence[float]], target: float = 0.90, max_clicks: int = DEFAULT_MAX_CLICKS) -> int:
    """Number of failures (NoF@target): how many samples never reach ``target`` within ``max_clicks`` clicks.

    A sample that reaches the target exactly at click ``max_clicks`` has NoC = ``max_clicks`` but is *not* a
    failure. Sofiiuk et al., f-BRS, CVPR 2020. ``ious_per_sample`` is a sequence of score sequences (or a
    dict name -> sequence); errors as :func:`noc`, plus ValueError when there are no samples.

    >>> nof([[0.95], [0.5, 0.7], [0.8, 0.9]], target=0.90)
    1

    Used in lesson 06.
    """
    t, m = _target(target), _positive_int(max_clicks, "max_clicks")
    return int(sum(not np.any(a[:m] >= t) for a in _sequences(ious_per_sample)))


def mean_noc(ious_per_sample: Sequence[Sequence[float]], target: float = 0.90, max_clicks: int = DEFAULT_MAX_CLICKS) -> float:
    """Mean NoC@target over samples (the number papers report); errors as :func:`nof`.

    Used in lesson 06.
    """
    t, m = _target(target), _positive_int(max_clicks, "max_clicks")
    return float(np.mean([noc(a, t, m) for a in _sequences(ious_per_sample)]))


def iou_at_k(ious: Sequence[float], k: int) -> float:
    """The score after click ``k`` (1-based): IoU@k, or Dice@k when given Dice scores.

    A sequence that stopped early (the prediction became perfect, or the robot had nothing left to click)
    is padded with its last value, so ``iou_at_k([0.7, 1.0], 5) == 1.0``.

    Raises:
        ValueError: empty sequence, scores outside ``[0, 1]``, ``k < 1``.

    >>> iou_at_k([0.6, 0.8, 0.9], 2)
    0.8

    Used in lesson 06.
    """
    a, k = _scores(ious), _positive_int(k, "k")
    return float(a[min(k, a.size) - 1])


dice_at_k = iou_at_k  # the same rule on Dice scores


def noc_iou_curve(ious_per_sample: Sequence[Sequence[float]], max_clicks: int = DEFAULT_MAX_CLICKS) -> np.ndarray:
    """The NoC-IoU curve: mean score after click ``k = 1..max_clicks`` over all samples.

    Sequences shorter than ``max_clicks`` are padded with their last value (see :func:`iou_at_k`); longer
    ones are cut. Returns a ``(max_clicks,)`` float64 array (entry ``k - 1`` is the mean IoU@k). Works on
    Dice sequences too (NoC-Dice curve). Errors as :func:`nof`.

    Used in lesson 06.
    """
    m = _positive_int(max_clicks, "max_clicks")
    return np.mean([_padded(a, m) for a in _sequences(ious_per_sample)], axis=0)


def consistent_improvement(ious: Sequence[float]) -> float:
    """Consistent improvement (CI): the fraction of clicks ``k >= 2`` with ``IoU_k > IoU_{k-1}``, in ``[0, 1]``.

    Only clicks that were actually made count (no padding). A click that keeps the score equal does not
    improve it. The lecture's definition: "% of iterations where adding an interaction improves the
    segmentation".

    Raises:
        ValueError: fewer than two scores (no click to judge), scores outside ``[0, 1]``.

    >>> consistent_improvement([0.5, 0.7, 0.6, 0.8, 0.8])
    0.5

    Used in lesson 06.
    """
    a = _scores(ious)
    if a.size < 2:
        raise ValueError(f"consistent improvement needs the scores of at least 2 clicks, got {a.size}")
    return float(np.mean(np.diff(a) > 0))


def seconds_per_click(seconds: Sequence[float]) -> float:
    """Mean machine time per click (SPC), in seconds, from the per-click prediction times in seconds.

    Raises:
        ValueError: empty, negative or non-finite times.

    Used in lesson 06.
    """
    if isinstance(seconds, (str, bytes)) or np.isscalar(seconds):
        raise TypeError(f"seconds must be a sequence of per-click times in seconds, got {type(seconds).__name__}")
    if isinstance(seconds, dict):
        seconds = [s for v in seconds.values() for s in v]
    s = np.asarray(seconds, dtype=np.float64).ravel()
    if s.size == 0:
        raise ValueError("seconds is empty: expected the time of at least one click")
    if not np.all(np.isfinite(s)) or s.min() < 0:
        raise ValueError("seconds must be finite and >= 0 (per-click times in seconds)")
    return float(s.mean())


# ---------------------------------------------------------------------------------------------------------
# Cost: what a number of clicks means in annotator hours
# ---------------------------------------------------------------------------------------------------------

POLYGON_SECONDS_PER_OBJECT = 79.2
"""Seconds to draw the polygon mask of one object instance in COCO: "over 22 worker hours per 1,000
segmentations" (Lin et al., "Microsoft COCO: Common Objects in Context", ECCV 2014, Sec. 3.3), i.e.
22 * 3600 / 1000 = 79.2 s; usually quoted as 79 s (e.g. Bearman et al., ECCV 2016)."""


def _non_negative(value, name: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number ({unit}), got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0 ({unit}), got {value!r}")
    return v


def annotation_hours(n_objects: float, noc: float, s_per_click: float, t_check: float) -> float:
    """Annotator hours to segment ``n_objects`` objects with a click tool: a simple linear cost model.

    Each object costs ``noc`` clicks of ``s_per_click`` seconds each (looking at the mask, deciding where to
    click, clicking, waiting for the prediction) plus ``t_check`` seconds once per object to inspect and
    accept the final mask::

        hours = n_objects * (noc * s_per_click + t_check) / 3600

    Polygon drawing fits the same model with one "click" of :data:`POLYGON_SECONDS_PER_OBJECT` (79.2 s,
    COCO; Lin et al., ECCV 2014) and no check: ``annotation_hours(n, 1, 79.2, 0)``. The model leaves out
    waiting for slow predictions beyond ``s_per_click``, objects that are skipped, and quality control by a
    second person.

    Args:
        n_objects: number of object instances (a count, >= 0; a float such as a mean is accepted).
        noc: mean number of clicks per object (>= 0, need not be an integer), e.g. a measured NoC@85.
        s_per_click: seconds per click (>= 0).
        t_check: seconds per object to check the result (>= 0).

    Returns:
        Hours, a Python float >= 0.

    Raises:
        ValueError: an argument is negative, NaN or infinite.
        TypeError: an argument is not a real number (bool included).

    >>> annotation_hours(1000, 3, 2.0, 6.0)  # 1000 objects x (3 clicks x 2 s + 6 s) = 12000 s
    3.3333333333333335
    >>> round(annotation_hours(1000, 1, POLYGON_SECONDS_PER_OBJECT, 0), 6)  # COCO: 22 h per 1000 polygons
    22.0

    Used in lesson 00.
    """
    n = _non_negative(n_objects, "n_objects", "objects")
    k = _non_negative(noc, "noc", "clicks per object")
    s = _non_negative(s_per_click, "s_per_click", "seconds per click")
    t = _non_negative(t_check, "t_check", "seconds per object")
    return float(n * (k * s + t) / 3600.0)


# ---------------------------------------------------------------------------------------------------------
# Usability: user time, scribble length (from the widget log), SUS, NASA-TLX
# ---------------------------------------------------------------------------------------------------------


def _check_log(log) -> list:
    """The log as :class:`~iseg_course.session.Event` objects (from a Session, its events, a widget's
    ``log`` of dicts or that log's JSON export). Raises TypeError/ValueError naming a malformed entry."""
    from .session import Event, Session

    if isinstance(log, Session):
        return list(log.events)
    if isinstance(log, (str, bytes, Mapping)) or not isinstance(log, Iterable):
        raise TypeError(f"log must be a list of dicts (SegmentationWidget.log), got {type(log).__name__}")
    events = []
    for i, e in enumerate(log):
        if not isinstance(e, Event):
            if not isinstance(e, Mapping) or "t" not in e or "event" not in e:
                raise ValueError(f"log entry {i} must be a dict with 't' (seconds) and 'event' keys, got {e!r}")
            e = Event.from_dict(dict(e))
        t = e.t
        if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)) or not np.isfinite(t):
            raise ValueError(f"log entry {i} has a non-numeric time t={t!r} (expected seconds)")
        events.append(e)
    return events


def user_time(log: Sequence[Mapping], start: float | None = None) -> float:
    """User time in seconds from a widget log: the time of the last event minus the time of the first.

    Args:
        log: :attr:`iseg_course.widgets.SegmentationWidget.log` (or its JSON export), a list of dicts with
            ``"t"`` (seconds since the widget was created, taken when the interaction happened) and
            ``"event"``, oldest first.
        start: count from this time instead of the first entry's, e.g. ``start=0.0`` to include the time
            the user looked at the image before the first interaction (the widget was created at t = 0).

    Returns:
        Seconds (float >= 0); 0.0 for a log with a single entry and no ``start``.

    Raises:
        ValueError: an empty log, entries without ``"t"``/``"event"``, times going backwards, or a
            ``start`` after the first entry.
        TypeError: not a list of dicts.

    Used in lessons 03, 05, 06.
    """
    log = _check_log(log)
    if not log:
        raise ValueError("the log is empty: expected at least one event")
    t = np.array([float(e.t) for e in log])
    if np.any(np.diff(t) < 0):
        raise ValueError("log times must not decrease (entries oldest first)")
    t0 = t[0]
    if start is not None:
        if not np.isfinite(start) or start > t[0]:
            raise ValueError(f"start must be a time (s) no later than the first entry ({t[0]}), got {start!r}")
        t0 = float(start)
    return float(t[-1] - t0)


def scribble_length(interactions) -> float:
    """Total scribble length in pixels (sum of :attr:`Scribble.length`, the polyline length).

    Args:
        interactions: an :class:`~iseg_course.interactions.Interactions`, a list of interactions (only the
            scribbles count), or a widget log (list of dicts; every ``"scribble"`` event counts, including
            strokes later undone, since the user drew them: the effort, not the final seeds).

    Returns:
        Pixels (float >= 0); 0.0 when there is no scribble.

    Raises:
        TypeError: anything else.

    Used in lessons 03, 06.
    """
    if isinstance(interactions, Interactions):
        items = list(interactions)
    elif isinstance(interactions, Scribble):
        items = [interactions]
    elif isinstance(interactions, (str, bytes, Mapping)) or not isinstance(interactions, Iterable):
        raise TypeError(f"expected Interactions, a list of interactions or a widget log, got {type(interactions).__name__}")
    else:
        items = list(interactions)
    from .session import Event

    total = 0.0
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            if "event" not in item:
                raise ValueError(f"log entry {i} has no 'event' key: {item!r}")
            item = Event.from_dict(dict(item, t=item.get("t", 0.0)))
        if isinstance(item, Event):  # every scribble drawn counts, even one undone later
            item = item.item() if item.event == "scribble" else None
        if isinstance(item, Scribble):
            total += item.length
        elif item is not None and not isinstance(item, (Click, Box, ExtremePoints, Polygon)):
            raise TypeError(f"item {i} is neither an interaction nor a log entry: {item!r}")
    return float(total)


SUS_ITEMS: tuple[str, ...] = (
    "I think that I would like to use this system frequently.",
    "I found the system unnecessarily complex.",
    "I thought the system was easy to use.",
    "I think that I would need the support of a technical person to be able to use this system.",
    "I found the various functions in this system were well integrated.",
    "I thought there was too much inconsistency in this system.",
    "I would imagine that most people would learn to use this system very quickly.",
    "I found the system very cumbersome to use.",
    "I felt very confident using the system.",
    "I needed to learn a lot of things before I could get going with this system.",
)
"""The ten SUS statements (Brooke 1996), answered from 1 = strongly disagree to 5 = strongly agree."""


def sus_score(responses: Sequence[int]) -> float:
    """System Usability Scale score in ``[0, 100]`` (Brooke, "SUS: a quick and dirty usability scale", 1996).

    Args:
        responses: the answers to the 10 statements of :data:`SUS_ITEMS`, in order, each an integer from
            1 (strongly disagree) to 5 (strongly agree).

    Returns:
        ``2.5 * (sum over odd items of (r - 1) + sum over even items of (5 - r))``: odd statements are
        positive, even ones negative. All-3 answers give 50; the best answers (5, 1, 5, 1, ...) give 100.

    Raises:
        ValueError: not exactly 10 answers, or an answer that is not an integer in 1..5.

    >>> sus_score([3] * 10)
    50.0
    >>> sus_score([5, 1] * 5)
    100.0

    Used in lesson 06.
    """
    if isinstance(responses, (str, bytes, Mapping)) or not isinstance(responses, Iterable):
        raise TypeError(f"responses must be a sequence of 10 integers in 1..5, got {type(responses).__name__}")
    r = list(responses)
    if len(r) != 10:
        raise ValueError(f"SUS has exactly 10 items, got {len(r)} responses")
    for i, v in enumerate(r, start=1):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer, float, np.floating)) or v != int(v) or not 1 <= v <= 5:
            raise ValueError(f"SUS response to item {i} must be an integer from 1 to 5, got {v!r}")
    r = [int(v) for v in r]
    odd = sum(v - 1 for v in r[0::2])  # items 1, 3, 5, 7, 9
    even = sum(5 - v for v in r[1::2])  # items 2, 4, 6, 8, 10
    return 2.5 * (odd + even)


TLX_SCALES: tuple[str, ...] = ("mental", "physical", "temporal", "performance", "effort", "frustration")
"""The six NASA-TLX subscales (Hart & Staveland 1988): mental, physical and temporal demand, performance
(0 = perfect, 100 = failure), effort and frustration, each rated 0..100 (low..high workload)."""

TLX_DESCRIPTIONS: dict[str, str] = {
    "mental": "Mental demand: how mentally demanding was the task?",
    "physical": "Physical demand: how physically demanding was the task?",
    "temporal": "Temporal demand: how hurried or rushed was the pace of the task?",
    "performance": "Performance: how successful were you in accomplishing what you were asked to do? (0 = perfect, 100 = failure)",
    "effort": "Effort: how hard did you have to work to accomplish your level of performance?",
    "frustration": "Frustration: how insecure, discouraged, irritated, stressed and annoyed were you?",
}


def nasa_tlx(ratings: Mapping[str, float], weights: Mapping[str, int] | None = None) -> float:
    """NASA Task Load Index in ``[0, 100]`` (Hart & Staveland, Advances in Psychology 52, 1988).

    Args:
        ratings: a rating from 0 (low workload) to 100 (high) for each of the six scales in
            :data:`TLX_SCALES` (``"mental"``, ``"physical"``, ``"temporal"``, ``"performance"``,
            ``"effort"``, ``"frustration"``; performance 0 = perfect, 100 = failure).
        weights: None for the *raw* TLX (the plain mean of the six ratings). Otherwise the tally of the 15
            pairwise comparisons, how often each scale was picked as the bigger contributor to workload:
            integers 0..5 summing to 15 (scales never picked may be left out); the *weighted* TLX is
            ``sum(w_i * r_i) / 15``.

    Raises:
        ValueError: unknown or missing scales, ratings outside ``[0, 100]``, weights not integers in 0..5
            or not summing to 15.

    >>> nasa_tlx(dict(mental=60, physical=0, temporal=30, performance=20, effort=50, frustration=20))
    30.0

    Used by iseg_course.questionnaires (``NASATLXQuestionnaire``).
    """
    if not isinstance(ratings, Mapping):
        raise TypeError(f"ratings must be a dict scale -> 0..100 with the scales {TLX_SCALES}, got {type(ratings).__name__}")
    unknown = set(ratings) - set(TLX_SCALES)
    if unknown:
        raise ValueError(f"unknown NASA-TLX scale(s) {sorted(unknown)}; expected {TLX_SCALES}")
    missing = [s for s in TLX_SCALES if s not in ratings]
    if missing:
        raise ValueError(f"missing NASA-TLX rating(s) for {missing}; expected all of {TLX_SCALES}")
    r = {}
    for s in TLX_SCALES:
        v = ratings[s]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v) or not 0 <= v <= 100:
            raise ValueError(f"NASA-TLX rating for {s!r} must be a number in [0, 100], got {v!r}")
        r[s] = float(v)
    if weights is None:
        return float(np.mean([r[s] for s in TLX_SCALES]))
    if not isinstance(weights, Mapping):
        raise TypeError(f"weights must be None (raw TLX) or a dict scale -> tally of 15 pairwise comparisons, got {type(weights).__name__}")
    unknown = set(weights) - set(TLX_SCALES)
    if unknown:
        raise ValueError(f"unknown NASA-TLX scale(s) in weights {sorted(unknown)}; expected {TLX_SCALES}")
    w = {}
    for s in TLX_SCALES:
        v = weights.get(s, 0)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer, float, np.floating)) or v != int(v) or not 0 <= v <= 5:
            raise ValueError(f"NASA-TLX weight for {s!r} must be an integer from 0 to 5 (times picked in the pairwise comparisons), got {v!r}")
        w[s] = int(v)
    if sum(w.values()) != 15:
        raise ValueError(f"NASA-TLX weights must sum to 15 (one per pairwise comparison of the 6 scales), got {sum(w.values())}")
    return float(sum(w[s] * r[s] for s in TLX_SCALES) / 15.0)


def tlx_weights(choices: Iterable[str]) -> dict[str, int]:
    """Tally the 15 NASA-TLX pairwise comparisons into weights (scale -> times picked, summing to 15).

    ``choices`` lists the scale picked in each of the 15 pairs of :data:`TLX_SCALES`. Raises ValueError for
    an unknown scale or a count other than 15.

    Used by iseg_course.questionnaires (``NASATLXQuestionnaire``).
    """
    choices = list(choices)
    if len(choices) != 15:
        raise ValueError(f"NASA-TLX has 15 pairwise comparisons, got {len(choices)} choices")
    bad = [c for c in choices if c not in TLX_SCALES]
    if bad:
        raise ValueError(f"unknown NASA-TLX scale(s) {sorted(set(map(str, bad)))}; expected {TLX_SCALES}")
    return {s: choices.count(s) for s in TLX_SCALES}


TLX_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (a, b) for i, a in enumerate(TLX_SCALES) for b in TLX_SCALES[i + 1 :]
)
"""The 15 pairs of NASA-TLX scales compared in the weighting step."""
