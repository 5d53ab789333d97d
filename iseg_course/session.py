"""The interactive loop, written once: an image, the interaction log, the previous prediction, timing, events.

A :class:`Session` is one person (or robot) working on one image with one segmenter:

* ``add(interaction)`` checks the interaction once (inside the image, of a kind the method accepts), appends
  it to the :class:`~iseg_course.interactions.Interactions` log, calls ``segmenter.predict`` with the
  previous probabilities fed back (and the previous :class:`~iseg_course.segmenter.Prediction` for methods
  that want it), checks the answer with :func:`~iseg_course.segmenter.check_prediction`, times it, and
  writes one :class:`Event` to the log;
* ``undo()`` / ``redo()`` step back and forth through the log, restoring the prediction shown at each step
  (no new prediction: the RITM demo keeps the same per-click state stack);
* ``choose(k)`` picks one of K candidate masks (a SAM-style model's multimask output);
* :func:`run_robot` drives a session with a robot user (the NoC protocol of :mod:`iseg_course.evaluation`).

The widget (:mod:`iseg_course.widgets`) is a view of a session; :func:`iseg_course.evaluation.simulate_clicks`
and ``evaluate`` drive sessions with robot users; the trainer (:mod:`iseg_course.training`) runs the same
robot step on a batch (:func:`robot_step`). The loop is the one of Xu et al., "Deep Interactive Object
Selection" (CVPR 2016), with the previous mask fed back as in Mahadevan et al. (BMVC 2018) and RITM
(Sofiiuk et al., ICIP 2022).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Sequence

import numpy as np

from .interactions import _TYPES, Interaction, Interactions, from_dict, to_dict
from .segmenter import (Prediction, accepted_kinds, as_prediction, check_accepts, check_image, check_prediction,
                        interaction_kind)

__all__ = ["Event", "EventLog", "Session", "Step", "replay", "robot_step", "run_robot", "RobotRun", "CHOICES"]

#: How a robot-driven session picks among K candidate masks: the highest predicted score (SAM's protocol)
#: or the best IoU against the ground truth ("oracle", which the SAM paper also reports).
CHOICES = ("score", "oracle")

#: Event name -> interaction class name, for interaction events: the class name in lower case ("extremepoints").
_EVENT_TYPE = {name.lower(): name for name in _TYPES}
_INTERACTION_EVENTS = tuple(_EVENT_TYPE)


# ------------------------------------------------------------------------------------------------ event log
@dataclass
class Event:
    """One entry of a session's timed log (the widget's log, a robot run's log): the one schema.

    Attributes:
        t: seconds since the session started, taken when the user acted (before the prediction).
        event: ``"click"``, ``"scribble"``, ``"box"``, ``"extremepoints"``, ``"polygon"`` (an interaction
            was added), ``"undo"``, ``"redo"``, ``"reset"``, ``"set_image"`` or ``"choose"`` (a candidate mask
            was picked).
        interaction: for interaction events, the interaction as :func:`~iseg_course.interactions.to_dict`
            gives it (image pixels, ``(x, y)`` = (column, row)); flattened into the dict form.
        positive: object (True) or background (False) for interaction events.
        source: ``"mouse"``, ``"key"``, ``"api"`` or ``"robot"``.
        latency_ms: interaction -> updated view in milliseconds (None when the prediction failed).
        predict_ms: the segmenter's share in milliseconds.
        n_interactions: interactions in the log after the event.
        mask_area: object pixels of the shown mask after the event.
        error: the segmenter's error message, or None.
        candidates: K, when the method returned more than one candidate mask (else None).
        candidate: the candidate index chosen (``"choose"`` events; interaction events with K > 1).
        removed / restored: the interaction taken away by ``"undo"`` / put back by ``"redo"``.
        image_shape: ``[H, W]`` for ``"set_image"``.

    ``to_dict()`` gives the flat JSON-ready dict the widget logs (``{"t", "event", "x", "y",
    "positive", "source", "latency_ms", ...}``; only the keys that belong to the event); ``Event.from_dict``
    reads it back, so ``EventLog.from_json(log.to_json()) == log``.

    Used by iseg_course.widgets (``SegmentationWidget.log``) and iseg_course.metrics (``user_time``,
    ``scribble_length``).
    """

    t: float
    event: str
    interaction: dict | None = None
    positive: bool | None = None
    source: str | None = None
    latency_ms: float | None = None
    predict_ms: float | None = None
    n_interactions: int | None = None
    mask_area: int | None = None
    error: str | None = None
    candidates: int | None = None
    candidate: int | None = None
    removed: dict | None = None
    restored: dict | None = None
    image_shape: list | None = None

    def to_dict(self) -> dict:
        """The flat JSON-ready form (see the class docstring)."""
        out: dict[str, Any] = {"t": self.t, "event": self.event}
        if self.event in _INTERACTION_EVENTS:
            out.update({k: v for k, v in (self.interaction or {}).items() if k != "type"})
            out.update(positive=self.positive, source=self.source, latency_ms=self.latency_ms,
                       predict_ms=self.predict_ms, n_interactions=self.n_interactions, mask_area=self.mask_area,
                       error=self.error)
            if self.candidates is not None:
                out.update(candidates=self.candidates, candidate=self.candidate)
            return out
        for name in ("removed", "restored", "image_shape", "candidate", "source", "mask_area"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Event":
        """Read the flat form back. Raises ValueError without ``"t"``/``"event"`` keys."""
        if not isinstance(d, dict) or "t" not in d or "event" not in d:
            raise ValueError(f"expected an event dict with 't' (seconds) and 'event' keys, got {d!r}")
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if d["event"] in _INTERACTION_EVENTS:
            kind = _EVENT_TYPE[d["event"]]
            coords = {k: v for k, v in d.items() if k not in known and k != "type"}
            if kind in ("Click", "Scribble"):
                coords["positive"] = d.get("positive", True)
            kw["interaction"] = {"type": kind, **coords}
        return cls(**kw)

    def item(self) -> Interaction | None:
        """The interaction of an interaction event (None for other events)."""
        return None if self.interaction is None else from_dict(self.interaction)


class EventLog(list):
    """A list of :class:`Event` with a JSON round trip (``to_json`` / ``from_json``) and dict views.

    Used by :class:`Session` (its ``events``).
    """

    def dicts(self) -> list[dict]:
        """Every event as its flat dict (what ``SegmentationWidget.log`` returns)."""
        return [e.to_dict() for e in self]

    def to_json(self, **kw) -> str:
        """The events as a JSON list of their flat dicts; ``kw`` go to ``json.dumps``."""
        return json.dumps(self.dicts(), **kw)

    @classmethod
    def from_dicts(cls, entries: Sequence[dict]) -> "EventLog":
        """Events from flat dicts (a widget log or its JSON export). Raises ValueError on a malformed entry."""
        if isinstance(entries, (str, bytes, dict)):
            raise TypeError(f"expected a list of event dicts, got {type(entries).__name__}")
        return cls(e if isinstance(e, Event) else Event.from_dict(e) for e in entries)

    @classmethod
    def from_json(cls, text: str) -> "EventLog":
        """Read :meth:`to_json` output back; ValueError on a malformed entry."""
        return cls.from_dicts(json.loads(text))


# ------------------------------------------------------------------------------------------------ session
@dataclass
class Step:
    """The state after one interaction: the interaction, the prediction shown, timing and any error.

    Used by :class:`Session`, :func:`run_robot` and iseg_course.widgets.
    """

    interaction: Interaction
    prediction: Prediction | None  # None when the segmenter failed (the previous one stays shown)
    shown: Prediction | None  # what is shown after this step (the last good prediction)
    predict_s: float
    error: str | None = None


class Session:
    """One image, one segmenter, one interaction log with undo/redo: the interactive loop.

    Args:
        segmenter: any :class:`~iseg_course.segmenter.Segmenter`; ``set_image`` is called here.
        image: ``(H, W, 3) uint8`` RGB.
        threshold: probability at or above which a pixel counts as object in :attr:`mask`.
        keep_going: True (the widget): a segmenter that raises or returns something malformed leaves the
            interaction in the log with the error recorded, and the last good prediction stays shown.
            False (evaluation, training): the error propagates.
        clock: seconds (for tests); default ``time.perf_counter``.

    Raises:
        TypeError: the segmenter lacks ``set_image``/``predict``, or the image is not an array.
        ValueError: a bad image.

    Used by iseg_course.widgets (``SegmentationWidget``), iseg_course.evaluation (``simulate_clicks``,
    ``evaluate``) and iseg_course.metrics.
    """

    def __init__(self, segmenter, image: np.ndarray, threshold: float = 0.5, keep_going: bool = False,
                 clock: Callable[[], float] = time.perf_counter):
        for method in ("set_image", "predict"):
            if not callable(getattr(segmenter, method, None)):
                raise TypeError(f"expected a Segmenter with set_image(image) and predict(interactions, "
                                f"prev_mask=None); {type(segmenter).__name__} has no {method}()")
        self.segmenter = segmenter
        self.name = type(segmenter).__name__
        self.accepts = accepted_kinds(segmenter)
        self.threshold = float(threshold)
        self.keep_going = bool(keep_going)
        self._clock = clock
        self._t0 = clock()
        self.events = EventLog()
        self._set_image(image)

    # ---------------------------------------------------------------- image
    def set_image(self, image: np.ndarray) -> None:
        """Switch to a new image: ``segmenter.set_image``, an empty log, a ``"set_image"`` event."""
        self._set_image(image)
        self._log(Event(self.now(), "set_image", image_shape=list(self.image.shape[:2])))

    def _set_image(self, image: np.ndarray) -> None:
        image = check_image(image)
        self.segmenter.set_image(image)
        self.image = image
        self._steps: list[Step] = []
        self._redo: list[Step] = []
        self.last_error: str | None = None
        self._pending: Event | None = None

    # ---------------------------------------------------------------- state
    def now(self) -> float:
        """Seconds since the session started."""
        return self._clock() - self._t0

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the current image."""
        return self.image.shape[0], self.image.shape[1]

    @property
    def interactions(self) -> Interactions:
        """The interactions so far, oldest first (a copy)."""
        return Interactions([s.interaction for s in self._steps])

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def prediction(self) -> Prediction | None:
        """The prediction shown now (the last good one), None before the first."""
        return self._steps[-1].shown if self._steps else None

    @property
    def probabilities(self) -> np.ndarray:
        """The shown candidate's ``(H, W) float32`` probabilities (zeros before any prediction)."""
        p = self.prediction
        return np.zeros(self.shape, np.float32) if p is None else p.probabilities

    @property
    def mask(self) -> np.ndarray:
        """``(H, W) bool``: :attr:`probabilities` at or above ``threshold``."""
        return self.probabilities >= self.threshold

    @property
    def last_step(self) -> Step | None:
        """The newest :class:`Step`, None when there is no interaction."""
        return self._steps[-1] if self._steps else None

    @property
    def predict_seconds(self) -> list[float]:
        """Seconds of each ``predict`` call behind the current log (one per interaction)."""
        return [s.predict_s for s in self._steps]

    @property
    def predictions(self) -> list[Prediction | None]:
        """The prediction shown after each interaction so far, oldest first (None before a first good one):
        ``session.predictions[k - 1].probabilities`` is the map after click ``k``."""
        return [s.shown for s in self._steps]

    # ---------------------------------------------------------------- the loop
    def check(self, item: Interaction) -> None:
        """Raise ValueError if ``item`` lies outside the image or the method does not accept its kind."""
        interaction_kind(item)  # TypeError for a non-interaction
        item.validate(self.image.shape)
        check_accepts(self.segmenter, [item])

    def add(self, item: Interaction, source: str = "api", t: float | None = None,
            choose: Callable[[Prediction], int] | None = None, defer: bool = False) -> Step:
        """Add an interaction and predict. Returns the new :class:`Step`.

        Args:
            item: a Click, Scribble, Box, ExtremePoints or Polygon in image pixels.
            source: who acted (``"mouse"``, ``"key"``, ``"api"``, ``"robot"``), for the log.
            t: the time the user acted (default: now), seconds since the session started.
            choose: for K candidates, a function picking the index to show (default: the prediction's own
                choice, the highest predicted score).
            defer: hold the log event until :meth:`finish` (a view calls it after redrawing, so that
                ``latency_ms`` covers interaction -> updated overlay).

        Raises:
            ValueError: the interaction is outside the image or of a kind the method does not accept
                (nothing is recorded).
            Exception: whatever the segmenter raised, when ``keep_going`` is False.
        """
        t = self.now() if t is None else t
        start = self._clock()
        self.check(item)
        previous = self.prediction
        log = self.interactions
        log.add(item)
        kw = {"previous": previous} if getattr(self.segmenter, "takes_previous", False) else {}
        prev_mask = None if previous is None else previous.probabilities.copy()
        error, pred = None, None
        p0 = time.perf_counter()
        try:
            out = check_prediction(self.segmenter.predict(log, prev_mask=prev_mask, **kw), self.image.shape, self.name)
            pred = as_prediction(out)
            if choose is not None:
                pred = pred.choose(choose(pred))
        except Exception as e:  # noqa: BLE001 - the widget shows any failure and keeps the interaction
            if not self.keep_going:
                raise
            error = f"{type(e).__name__}: {e}"
        predict_s = time.perf_counter() - p0
        step = Step(item, pred, pred if pred is not None else previous, predict_s, error)
        self._steps.append(step)
        self._redo.clear()
        self.last_error = error
        self._pending = Event(t, type(item).__name__.lower(), interaction=to_dict(item),
                              positive=bool(getattr(item, "positive", True)), source=source,
                              predict_ms=round(predict_s * 1e3, 3), n_interactions=len(self._steps),
                              mask_area=int(np.count_nonzero(self.mask)), error=error,
                              candidates=pred.k if pred is not None and pred.k > 1 else None,
                              candidate=pred.chosen if pred is not None and pred.k > 1 else None)
        self._pending_start = start
        if not defer:
            self.finish()
        return step

    def finish(self, end: float | None = None) -> Event | None:
        """Write the pending interaction event with its latency (``add`` -> now, or ``end``); return it.

        :meth:`add` calls it at once unless ``defer=True`` (see there).
        """
        ev = self._pending
        if ev is None:
            return None
        end = self._clock() if end is None else end
        if ev.error is None:
            ev.latency_ms = round((end - self._pending_start) * 1e3, 3)
        self._pending = None
        self._log(ev)
        return ev

    def undo(self) -> Interaction | None:
        """Remove the newest interaction and show the prediction from before it (no new prediction).

        Returns the removed interaction, or None (and logs nothing) when there is nothing to undo.
        """
        t = self.now()
        if not self._steps:
            return None
        step = self._steps.pop()
        self._redo.append(step)
        self.last_error = None
        self._log(Event(t, "undo", removed=to_dict(step.interaction)))
        return step.interaction

    def redo(self) -> Interaction | None:
        """Put back the interaction removed by the last undo, with its prediction (no new prediction).

        Returns it, or None when there is nothing to redo (a new interaction clears the redo stack).
        """
        t = self.now()
        if not self._redo:
            return None
        step = self._redo.pop()
        self._steps.append(step)
        self.last_error = step.error
        self._log(Event(t, "redo", restored=to_dict(step.interaction)))
        return step.interaction

    def reset(self) -> None:
        """Remove every interaction and clear the mask (the log keeps a ``"reset"`` event)."""
        t = self.now()
        self._steps.clear()
        self._redo.clear()
        self.last_error = None
        self._log(Event(t, "reset"))

    def choose(self, index: int, source: str = "api") -> None:
        """Show candidate ``index`` of the current prediction (and feed it back on the next interaction).

        Raises:
            RuntimeError: there is no prediction yet.
            IndexError: ``index`` is not a candidate.
        """
        t = self.now()
        step = self.last_step
        if step is None or step.shown is None:
            raise RuntimeError("no prediction to choose from yet: add an interaction first")
        step.shown = step.shown.choose(index)
        if step.prediction is not None:
            step.prediction = step.shown
        self._log(Event(t, "choose", candidate=int(index), source=source, mask_area=int(np.count_nonzero(self.mask))))

    def _log(self, event: Event) -> None:
        self.events.append(event)

    @property
    def log(self) -> list[dict]:
        """The event log as flat dicts, oldest first (a copy; see :class:`Event`)."""
        return self.events.dicts()

    def export_log(self, path, overwrite: bool = False):
        """Write ``{"image_shape", "segmenter", "interactions", "log"}`` as JSON; returns the path.

        Raises FileExistsError if the file exists and ``overwrite`` is False (a student's annotation is
        never lost), FileNotFoundError if the folder does not exist.
        """
        from .data import write_new_file

        doc = {"image_shape": list(self.shape), "segmenter": self.name,
               "interactions": [to_dict(i) for i in self.interactions], "log": self.log}
        return write_new_file(path, json.dumps(doc, indent=1).encode("utf-8"), overwrite)

    def export_mask(self, path, overwrite: bool = False):
        """Write the shown mask as an 8-bit PNG (0 / 255); returns the path. Raises ValueError for a path
        not ending in ``.png``, FileExistsError / FileNotFoundError as :meth:`export_log`."""
        from .data import save_mask

        return save_mask(self.mask, path, overwrite)


# ------------------------------------------------------------------------------------------------ robots
def replay(segmenter, image: np.ndarray, interactions) -> Session:
    """Replay a list of interactions in a new :class:`Session`, one ``add`` each (the previous prediction fed
    back every time), as a grader replays a student's clicks. Returns the session; ``session.predictions``
    holds the prediction after each interaction.

    Raises:
        ValueError: an interaction outside the image or of a kind the method does not accept.
        Exception: whatever the segmenter raises.

    Used in lesson 07.
    """
    session = Session(segmenter, image)
    for item in interactions:
        session.add(item, source="api")
    return session


def robot_step(robot, gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None,
               previous: Sequence[Interaction]) -> Interaction | None:
    """Ask a robot user for the next interaction: ``robot(gt, pred, ignore, previous)``.

    ``previous`` is the interactions so far (click robots look at the clicks among them). Returns the
    interaction, or None when the robot sees nothing left to correct. Raises TypeError when the robot
    returns something that is not an interaction. The one robot turn of the course: the session loop below
    and the trainer's batched loop (:func:`iseg_course.training.simulate_training_clicks`) both call it.

    Used by :func:`run_robot` and iseg_course.training (``simulate_training_clicks``).
    """
    item = robot(gt, pred, ignore, list(previous))
    if item is not None:
        interaction_kind(item)  # TypeError naming what came back
    return item


@dataclass
class RobotRun:
    """What :func:`run_robot` produced: the IoU after each interaction, masks, interactions and seconds.

    Attributes:
        ious: IoU after each interaction (len = number of interactions made).
        masks: the ``(H, W) bool`` mask after each interaction (empty when ``keep_masks=False``).
        interactions: the interactions, in order.
        seconds: wall-clock seconds of each ``predict`` call.
        candidates: K of each prediction (1 for single-mask methods).
        choice: ``"score"`` or ``"oracle"`` (how a candidate was picked when K > 1).
        session: the driven :class:`Session` (its event log, its last prediction).

    Used in lessons 00, 02, 04, 05, 06, 07 (what ``simulate_clicks`` returns).
    """

    ious: list[float] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    interactions: Interactions = field(default_factory=Interactions)
    seconds: list[float] = field(default_factory=list)
    candidates: list[int] = field(default_factory=list)
    choice: str = "score"
    session: Session | None = None


def run_robot(session: Session, robot, gt: np.ndarray, ignore: np.ndarray | None, n_steps: int,
              stop_at: float | None = None, min_steps: int = 1, keep_masks: bool = True,
              choice: str = "score") -> RobotRun:
    """Drive a session with a robot user for up to ``n_steps`` interactions, scoring each step's IoU.

    Each step: the robot looks at the ground truth and the current mask and places the next interaction
    (:func:`robot_step`), the session predicts with the previous prediction fed back, the IoU (ignore pixels
    left out) is recorded. Stops early when the robot finds nothing to correct, and with ``stop_at`` once
    the IoU reaches it after at least ``min_steps`` steps.

    Args:
        session: a fresh :class:`Session` on the sample's image.
        robot: ``robot(gt, pred, ignore, previous) -> Interaction | None``.
        gt, ignore: ``(H, W)`` bool ground truth and optional ignore mask.
        n_steps: the interaction budget (>= 1).
        stop_at: optional IoU in ``(0, 1]`` at which to stop (RITM's early stop).
        min_steps: with ``stop_at``, never stop before this many steps.
        keep_masks: keep every mask (False saves memory in long evaluations).
        choice: with K candidate masks, ``"score"`` shows the highest predicted score (SAM's protocol),
            ``"oracle"`` the one with the best IoU against the ground truth (SAM's upper bound).

    Raises:
        ValueError: ``n_steps < 1``, ``stop_at`` outside ``(0, 1]``, an unknown ``choice``, an empty ground
            truth, or an interaction the method does not accept.

    Used by iseg_course.evaluation (``simulate_clicks``, so ``evaluate``).
    """
    from .metrics import iou

    if n_steps < 1:
        raise ValueError(f"expected n_clicks >= 1, got {n_steps}")
    if stop_at is not None and not (0 < stop_at <= 1):
        raise ValueError(f"expected stop_at in (0, 1] or None, got {stop_at}")
    if choice not in CHOICES:
        raise ValueError(f"unknown choice {choice!r}; expected one of {CHOICES}")

    def oracle(pred: Prediction) -> int:  # SAM's upper bound: the candidate closest to the ground truth
        return int(np.argmax([iou(m >= session.threshold, gt, ignore) for m in pred.masks]))
    out = RobotRun(choice=choice, session=session)
    for _ in range(n_steps):
        item = robot_step(robot, gt, session.mask, ignore, session.interactions)
        if item is None:
            break
        step = session.add(item, source="robot", choose=oracle if choice == "oracle" else None)
        out.interactions.add(item)
        out.seconds.append(step.predict_s)
        out.candidates.append(step.shown.k if step.shown is not None else 1)
        mask = session.mask
        out.ious.append(iou(mask, gt, ignore))
        if keep_masks:
            out.masks.append(mask)
        if stop_at is not None and out.ious[-1] >= stop_at and len(out.ious) >= min_steps:
            break
    return out
