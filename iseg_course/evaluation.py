"""Running the interactive loop with a robot user, and the NoC evaluation harness.

* :func:`simulate_clicks` is the loop on one sample: a :class:`~iseg_course.session.Session` driven by a
  robot user (robot click -> ``segmenter.predict`` -> IoU, repeated).
* :func:`evaluate` runs that loop over a whole dataset and summarises it with the field's metrics
  (NoC@85/90, NoF, IoU@k, the NoC–IoU curve, seconds per click) in an :class:`EvaluationResult`.

Lessons, tests, benchmarks and the ``iseg-course evaluate`` command all use these two functions, so every
method in the course is measured the same way. The protocol is the one of Xu et al. (CVPR 2016) as used by
f-BRS and RITM (Sofiiuk et al., CVPR 2020 / ICIP 2022): up to 20 clicks per object, each click placed by the
robot user from the current error, the previous prediction fed back, NoC = the first click at which the IoU
reaches the target (20 when it never does).
"""

from __future__ import annotations

import os
import pickle
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from . import metrics
from .data import Sample
from .robot import Robot, ritm_click
from .segmenter import Segmenter
from .session import CHOICES, RobotRun, Session, run_robot


#: the k of IoU@k reported by default
IOU_AT_K = (1, 3, 5)


#: What :func:`simulate_clicks` returns (ious, masks, interactions, seconds per click, the session).
ClickLoopResult = RobotRun


def simulate_clicks(
    segmenter: Segmenter,
    sample: Sample,
    n_clicks: int,
    robot: Robot = ritm_click,
    threshold: float = 0.5,
    stop_at: float | None = None,
    keep_masks: bool = True,
    min_clicks: int = 1,
    choice: str = "score",
) -> ClickLoopResult:
    """Run ``n_clicks`` rounds of robot click -> ``segmenter.predict`` -> IoU on one sample.

    A :class:`~iseg_course.session.Session` on the sample's image, driven by the robot user
    (:func:`~iseg_course.session.run_robot`): the previous prediction is fed back as ``prev_mask``. The
    loop stops early when the robot finds no error left to click (the prediction is perfect on the
    non-ignored pixels), and, if ``stop_at`` is given, as soon as the IoU reaches ``stop_at`` after at
    least ``min_clicks`` clicks.

    Args:
        segmenter: any Segmenter; ``set_image`` is called here.
        sample: a :class:`~iseg_course.data.Sample` (image, mask, ignore).
        n_clicks: the click budget (>= 1).
        robot: ``robot(gt, pred, ignore, previous) -> Interaction | None`` (default: the RITM clicker).
        threshold: probability threshold for the binary prediction.
        stop_at: optional IoU in ``(0, 1]`` at which to stop (RITM's early stop).
        keep_masks: keep every binary prediction in ``masks`` (False saves memory in long evaluations).
        min_clicks: with ``stop_at``, never stop before this many clicks (keeps IoU@k exact for k <= min_clicks).
        choice: ``"score"`` or ``"oracle"``: which of K candidate masks counts (see ``run_robot``).

    Raises:
        ValueError: ``n_clicks < 1`` or ``stop_at`` outside ``(0, 1]``.

    Used in lessons 00, 02, 04, 05, 06, 07.
    """
    if n_clicks < 1:
        raise ValueError(f"expected n_clicks >= 1, got {n_clicks}")
    session = Session(segmenter, sample.image, threshold=threshold)
    return run_robot(session, robot, sample.mask, sample.ignore, n_clicks, stop_at=stop_at, min_steps=min_clicks,
                     keep_masks=keep_masks, choice=choice)


@dataclass
class EvaluationResult:
    """Per-sample IoU sequences and timings of one method on one dataset, with the summary metrics.

    Attributes:
        method: a name for the method (e.g. ``"graphcut"``).
        dataset: a name for the dataset.
        ious: sample name -> IoU after click 1, 2, ... (shorter than ``max_clicks`` when the loop stopped
            early: perfect prediction, or ``stop_at`` reached).
        seconds: sample name -> seconds of each ``predict`` call.
        max_clicks: the click budget (NoC of a sample that never reaches a target).
        targets: the IoU targets of NoC/NoF, e.g. ``(0.85, 0.90)``.
        total_seconds: wall-clock time of the whole evaluation (robot, predictions and metrics).
        stop_at: the early-stop IoU used, or None (every sample ran all clicks).
        choice: how one of K candidate masks was picked: ``"score"`` (highest predicted score, SAM's
            protocol) or ``"oracle"`` (best IoU against the ground truth).
        max_candidates: the largest K the method returned (1: a single-mask method).

    Used in lessons 06, 07 (what ``evaluate`` returns).
    """

    method: str
    dataset: str
    ious: dict[str, list[float]]
    seconds: dict[str, list[float]]
    max_clicks: int = 20
    targets: tuple[float, ...] = (0.85, 0.90)
    total_seconds: float = 0.0
    stop_at: float | None = None
    choice: str = "score"
    max_candidates: int = 1

    @property
    def n_samples(self) -> int:
        """The number of samples evaluated."""
        return len(self.ious)

    @property
    def noc(self) -> dict[float, float]:
        """target -> mean NoC over samples (:func:`iseg_course.metrics.noc`)."""
        return {t: float(np.mean([metrics.noc(s, t, self.max_clicks) for s in self.ious.values()]))
                for t in self.targets}

    @property
    def nof(self) -> dict[float, int]:
        """target -> number of samples that never reach it within ``max_clicks`` (NoF)."""
        return {t: metrics.nof(list(self.ious.values()), t, self.max_clicks) for t in self.targets}

    def iou_at(self, ks: Iterable[int] = IOU_AT_K) -> dict[int, float]:
        """k -> mean IoU@k over samples (a sequence that stopped early keeps its last IoU)."""
        return {int(k): float(np.mean([metrics.iou_at_k(s, k) for s in self.ious.values()])) for k in ks}

    @property
    def seconds_per_click(self) -> float:
        """Mean seconds of one ``predict`` call over all clicks of all samples (machine time per click)."""
        return metrics.seconds_per_click([t for s in self.seconds.values() for t in s])

    def curve(self) -> np.ndarray:
        """The NoC–IoU curve: ``(max_clicks,) float64`` mean IoU after click 1..max_clicks."""
        return metrics.noc_iou_curve(list(self.ious.values()), self.max_clicks)

    def summary(self) -> dict:
        """The headline figures as a flat dict (what the CLI prints and ``--json`` writes)."""
        out = {"method": self.method, "dataset": self.dataset, "samples": self.n_samples,
               "max_clicks": self.max_clicks}
        if self.max_candidates > 1:  # several candidate masks: say which one counted
            out["choice"] = self.choice
        for t, v in self.noc.items():
            out[f"NoC@{round(t * 100)}"] = round(v, 2)
        for t, v in self.nof.items():
            out[f"NoF@{round(t * 100)}"] = v
        for k, v in self.iou_at().items():
            out[f"IoU@{k}"] = round(v, 4)
        out["s_per_click"] = round(self.seconds_per_click, 4)
        out["total_s"] = round(self.total_seconds, 1)
        return out

    def to_dict(self) -> dict:
        """Everything, JSON-ready: the summary, the curve and the per-sample sequences."""
        return {**self.summary(), "targets": list(self.targets), "stop_at": self.stop_at,
                "choice": self.choice, "max_candidates": self.max_candidates,
                "curve": [round(float(v), 4) for v in self.curve()],
                "ious": self.ious, "seconds": self.seconds}

    def table(self) -> str:
        """A one-row text table of the summary (see :func:`results_table` for several methods)."""
        return results_table([self])

    def plot(self, ax=None, **kwargs):
        """Draw the NoC–IoU curve (mean IoU after each click) on ``ax`` (a new figure if None); returns ax.

        ``label`` names the curve (default ``"method (dataset)"``); other ``kwargs`` go to ``ax.plot``.
        The drawing is :func:`iseg_course.plotting.noc_iou_curves` with this result's targets.
        """
        from .plotting import noc_iou_curves

        label = kwargs.pop("label", None)
        return noc_iou_curves([self], ax=ax, targets=self.targets, labels=None if label is None else [label], **kwargs)


def results_table(results: Sequence[EvaluationResult]) -> str:
    """A fixed-width text table of several results' summaries (one row per result).

    Used in lessons 06, 07.
    """
    rows = [r.summary() for r in results]
    cols = []
    for row in rows:
        cols += [c for c in row if c not in cols and c != "max_clicks"]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines.append("  ".join("-" * widths[c] for c in cols))
    for r in rows:
        lines.append("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols))
    return "\n".join(lines)


def _run_one(segmenter, sample, robot, max_clicks, stop_at, choice):
    try:
        res = simulate_clicks(segmenter, sample, max_clicks, robot=robot, stop_at=stop_at, keep_masks=False,
                              min_clicks=max(IOU_AT_K), choice=choice)
    except ValueError as e:  # e.g. an empty ground-truth mask: say which sample
        raise ValueError(f"sample {sample.name!r}: {e}") from e
    return sample.name, res.ious, res.seconds, max(res.candidates, default=1)


def _pool_init(segmenter, robot) -> None:
    global _WORKER
    _WORKER = (segmenter, robot)


def _pool_run(args):
    sample, max_clicks, stop_at, choice = args
    segmenter, robot = _WORKER
    return _run_one(segmenter, sample, robot, max_clicks, stop_at, choice)


def evaluate(
    segmenter: Segmenter,
    dataset: Sequence[Sample],
    robot: Robot = ritm_click,
    max_clicks: int = 20,
    targets: Sequence[float] = (0.85, 0.90),
    limit: int | None = None,
    progress: bool = True,
    stop_at: float | None = None,
    workers: int = 1,
    method: str | None = None,
    dataset_name: str | None = None,
    choice: str = "score",
) -> EvaluationResult:
    """Evaluate a Segmenter with a robot user on every sample of a dataset (the NoC protocol).

    For each sample: ``set_image``, then up to ``max_clicks`` rounds of robot click -> ``predict`` (with
    the previous probabilities as ``prev_mask``) -> IoU against the ground truth, ignore mask left out
    (:func:`simulate_clicks`). By default every sample runs all ``max_clicks`` clicks, so IoU@k and the
    NoC–IoU curve are exact; ``stop_at=max(targets)`` stops a sample once it reaches the highest target
    (as RITM's evaluation does), but never before click ``max(IOU_AT_K)`` = 5: NoC, NoF and IoU@1/3/5 are
    unchanged, only the curve after click 5 repeats a stopped sample's last IoU.

    Args:
        segmenter: any :class:`~iseg_course.segmenter.Segmenter`.
        dataset: a sequence of :class:`~iseg_course.data.Sample` (e.g. ``load_dataset("grabcut")``).
        robot: ``robot(gt, pred, ignore, previous) -> Interaction | None`` (default: the RITM clicker; seeded
            robots from ``iseg_course.robot.make_click_robot``).
        max_clicks: click budget per sample (20 in the papers); also the NoC of a sample never reaching a target.
        targets: IoU targets for NoC and NoF, each in ``(0, 1]``.
        limit: evaluate only the first ``limit`` samples.
        progress: show a ``tqdm`` progress bar.
        stop_at: optional early-stop IoU (see above).
        workers: processes to run samples in parallel (>= 1). With more than one, the segmenter and the
            robot are pickled into each worker process (a segmenter defined in a notebook cannot be: use 1).
            Seconds per click are then measured while the workers share the machine. Workers are started
            with ``spawn``: a script calling ``evaluate(..., workers=2)`` needs the usual
            ``if __name__ == "__main__":`` guard.
        method, dataset_name: names for the tables (default: the class name / the dataset's ``name``).
        choice: for methods that return K candidate masks, ``"score"`` (the highest predicted score counts,
            SAM's protocol) or ``"oracle"`` (the best-IoU candidate counts, SAM's upper bound); the result
            records which.

    Returns:
        An :class:`EvaluationResult` (per-sample IoU sequences and seconds; NoC, NoF, IoU@k, curve, table, plot).

    Raises:
        ValueError: empty dataset, ``max_clicks < 1``, targets outside ``(0, 1]``, ``workers < 1``, or a
            sample the loop cannot score (e.g. an empty ground-truth mask; the message names the sample).
        TypeError: ``workers > 1`` with a segmenter or robot that cannot be pickled.

    Used in lessons 06, 07.
    """
    if max_clicks < 1:
        raise ValueError(f"expected max_clicks >= 1, got {max_clicks}")
    targets = tuple(float(t) for t in targets)
    if not targets or any(not (0 < t <= 1) for t in targets):
        raise ValueError(f"expected IoU targets in (0, 1], got {targets}")
    if workers < 1:
        raise ValueError(f"expected workers >= 1, got {workers}")
    if choice not in CHOICES:
        raise ValueError(f"unknown choice {choice!r}; expected one of {CHOICES}")
    samples = list(dataset) if limit is None else [dataset[i] for i in range(min(int(limit), len(dataset)))]
    if not samples:
        raise ValueError("the dataset is empty: nothing to evaluate")
    from tqdm.auto import tqdm

    method = method or type(segmenter).__name__
    dataset_name = dataset_name or getattr(dataset, "name", None) or "dataset"
    ious: dict[str, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    k_max = 1
    t0 = time.perf_counter()
    bar = tqdm(total=len(samples), desc=f"{method} on {dataset_name}", disable=not progress, unit="image")
    if workers == 1:
        for s in samples:
            name, i, sec, k = _run_one(segmenter, s, robot, max_clicks, stop_at, choice)
            ious[name], seconds[name], k_max = i, sec, max(k_max, k)
            bar.update(1)
    else:
        try:
            pickle.dumps((segmenter, robot))
        except Exception as e:  # noqa: BLE001 - any pickling failure means "cannot run in workers"
            raise TypeError(f"workers={workers} needs a picklable segmenter and robot ({e}); use workers=1") from e
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("spawn")  # safe with threads (torch, BLAS) on every platform
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_pool_init,
                                 initargs=(segmenter, robot)) as pool:
            order = [s.name for s in samples]
            done = {}
            for name, i, sec, k in pool.map(_pool_run, [(s, max_clicks, stop_at, choice) for s in samples]):
                done[name] = (i, sec)
                k_max = max(k_max, k)
                bar.update(1)
            for name in order:
                ious[name], seconds[name] = done[name]
    bar.close()
    return EvaluationResult(method=method, dataset=dataset_name, ious=ious, seconds=seconds,
                            max_clicks=int(max_clicks), targets=targets,
                            total_seconds=time.perf_counter() - t0, stop_at=stop_at, choice=choice,
                            max_candidates=k_max)


def default_workers() -> int:
    """Processes to use for an evaluation on this machine: the CPU cores available to us (at least 1).

    Used in lessons 06, 07.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)
