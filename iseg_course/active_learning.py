"""Active learning for data annotation and for model refinement: the application phase of the lecture's cat example (for the active-learning lesson).

The lecture's loop: a model trained on a few labelled images scores every unlabelled image by its
uncertainty, the top ``N`` (the lecture: 50) go to the annotator, who labels them interactively with
clicks, the model is fine-tuned on the new annotations, and the loop repeats until the model is good
enough on an independent test set. Here, on the course's real cats:

* **labelled** (start): lesson 07's 90 training cats (:func:`iseg_course.data.cat_split`);
* **test** (never in the pool): its 10 test cats, its 100 ``other`` cats and the 10 COCO_MVal cats;
* **pool**: every other cat of ``data/cats`` (685).

One round (:func:`run_round`): :func:`score_pool` (an estimator of :mod:`iseg_course.uncertainty`, or
random scores for the baseline), :func:`select_top`, :func:`annotate_with_robot` -- the RITM robot user
annotates each selected cat with the *current* model until IoU >= 0.90 or 20 clicks, and the clicks it
spends are the annotation cost -- then :func:`fine_tune` (lesson 07's interactive training, few epochs)
and :func:`evaluate_tests` (NoC@90 and IoU@1 on each test set). :func:`run` repeats rounds and returns one
JSON-able dict.

Two simplifications, said where they matter: the pool is scored with one GT-free click per image (the
image centre by default: no annotator has looked at a pool image yet), and the model is fine-tuned on the
selected cats' ground-truth masks -- the robot's clicks measure what the annotation costs; the finished
annotation is taken to be the ground truth (a person would fix the last few percent with a brush).

The lecture's second use, **active learning for model refinement** (``ALConfig(task="refinement")``): the
labels exist already, and each round fine-tunes on the most informative images (an uncertainty strategy) or
the hardest ones -- **hard-sample mining** by the current model's NoC (strategy ``"hard"``,
:func:`hardness`) -- instead of random ones. Nothing is annotated, so no clicks are spent; what is compared
is the test NoC after the same number of added training images.

References: the lecture's active-learning slides after Budd, Robinson & Kainz, "A survey on active learning
and human-in-the-loop deep learning for medical image analysis" (Medical Image Analysis 71, 2021);
uncertainty estimates for segmentation compared by Jungo & Reyes, "Assessing reliability and challenges of
uncertainty estimations for medical image segmentation" (MICCAI 2019); MC dropout scoring of unlabelled
images as in MONAI Label's epistemic scoring (Diaz-Pinto et al., "MONAI Label", Medical Image Analysis 2024).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Sequence

import numpy as np

from .data import Sample, cat_split, load_dataset, load_samples
from .interactions import Click
from .robot import Robot, ritm_click
from .uncertainty import MEASURES, REDUCTIONS, image_score, make_estimator, pixel_map

__all__ = ["STRATEGIES", "TASKS", "FIRST_CLICKS", "ActiveSplit", "active_split", "ALConfig", "first_click", "score_pool",
           "select_top", "select_random", "hardness", "annotate_with_robot", "fine_tune", "evaluate_tests", "run_round",
           "run", "pooled_noc", "best_run", "SUGGESTIONS", "uncertain_pixel", "suggestion_session"]

#: Selection strategies of :class:`ALConfig`: the uncertainty estimators, random selection (the baseline), and
#: hard-sample mining by the current NoC (``"hard"``: reads the pool's labels, so only for model refinement).
STRATEGIES = ("mc_dropout", "tta", "single", "ensemble", "random", "hard")
#: What the loop is for: ``"annotation"`` (the pool is unlabelled; the robot annotator's clicks are the cost) or
#: ``"refinement"`` (the pool is labelled; each round only chooses what to fine-tune on).
TASKS = ("annotation", "refinement")
#: GT-free clicks :func:`first_click` places on an unlabelled image (``"robot"`` reads the ground truth).
FIRST_CLICKS = ("centre", "none", "robot")


# ------------------------------------------------------------------------------------------------ the split
@dataclass
class ActiveSplit:
    """Names of the cats in each role (lists in :func:`~iseg_course.data.cat_split`'s order; ``pool`` sorted).

    Attributes:
        labelled: the starting labelled set (lesson 07's 90 training cats of ``data/cats``).
        pool: the unlabelled cats of ``data/cats`` (every cat in no other list).
        test: lesson 07's 10 test cats (``data/cats``).
        other: the 100 ``other`` cats of ``cat_split`` (``data/cats``).
        coco: the COCO_MVal cats (``data/coco_mval_cats``).

    Written for the active-learning lesson.
    """

    labelled: list[str]
    pool: list[str]
    test: list[str]
    other: list[str]
    coco: list[str]

    def test_sets(self, limit: int | None = None) -> dict[str, list[Sample]]:
        """The test samples by set name (``"cats_test"``, ``"cats_other"``, ``"coco_mval_cats"``); ``limit``
        keeps the first ``limit`` of each (a quick check)."""
        cut = (lambda names: names) if limit is None else (lambda names: names[:int(limit)])
        return {"cats_test": load_samples(cut(self.test)), "cats_other": load_samples(cut(self.other)),
                "coco_mval_cats": load_samples(cut(self.coco), "coco_mval_cats")}


def active_split(seed: int = 0) -> ActiveSplit:
    """The cats of the active-learning experiment: lesson 07's split (``cat_split(seed=seed)``) plus a pool.

    The pool is every cat of ``data/cats`` that is not a training, test or ``other`` cat, so no test image
    can ever be selected. Raises what ``cat_split`` raises.

    Used by :func:`run`.
    """
    s = cat_split(seed=seed)
    taken = set(s.train) | set(s.test) | set(s.other)
    pool = [n for n in load_dataset("cats").names if n not in taken]
    return ActiveSplit(labelled=list(s.train), pool=pool, test=list(s.test), other=list(s.other),
                       coco=list(load_dataset("coco_mval_cats").names))


# ------------------------------------------------------------------------------------------------ scoring
def first_click(sample: Sample, how: str = "centre") -> list[Click]:
    """The click(s) a pool image is scored with (the model needs one before it predicts).

    ``"centre"``: one positive click at the image centre (no label needed: the shipped cats are mostly
    centred; the lecture's medical example also simulates central clicks); ``"none"``: no click (the model
    sees empty click maps, which it never saw in training); ``"robot"``: the RITM robot's first click from
    the ground truth -- the annotator's first click, but it reads a label the pool does not have (an upper
    bound, for comparison only).

    Returns a list of 0 or 1 :class:`~iseg_course.interactions.Click`. Raises ValueError for another ``how``.

    Used by :func:`score_pool`.
    """
    if how not in FIRST_CLICKS:
        raise ValueError(f"unknown first click {how!r}; expected one of {FIRST_CLICKS}")
    h, w = sample.image.shape[:2]
    if how == "none":
        return []
    if how == "centre":
        return [Click((w - 1) / 2, (h - 1) / 2, True)]
    click = ritm_click(sample.mask, np.zeros_like(sample.mask), sample.ignore)
    return [] if click is None else [click]


def score_pool(segmenter, pool: Sequence[Sample], estimator="mc_dropout", measure: str = "entropy",
               reduce: str = "mean", k: float = 0.05, first: str = "centre", progress: bool = True) -> np.ndarray:
    """The uncertainty score of every pool image: ``(len(pool),) float64``, higher = more uncertain.

    For each image: :func:`first_click`, the estimator's stack of probability maps ``(N, H, W)``, the pixel
    map ``measure`` (:func:`iseg_course.uncertainty.pixel_map`; entropies and mutual information in nats),
    reduced to one number by :func:`iseg_course.uncertainty.image_score` (``reduce`` ``"mean"`` or
    ``"topk"`` with fraction ``k``).

    Args:
        segmenter: a :class:`~iseg_course.models.ClickSegmenter` (the current model).
        pool: the unlabelled samples (their masks are read only with ``first="robot"``).
        estimator: an estimator object (:mod:`iseg_course.uncertainty`) or a name for
            :func:`~iseg_course.uncertainty.make_estimator` (``"mc_dropout"`` with N = 10, ``"tta"``,
            ``"single"``; an ensemble needs its members: pass the object).
        measure, reduce, k, first: see above.
        progress: a ``tqdm`` bar.

    Raises ValueError for an empty pool, an unknown measure, reduction or first click.

    Used by :func:`run_round`.
    """
    from tqdm.auto import tqdm

    if not len(pool):
        raise ValueError("the pool is empty: nothing to score")
    if measure not in MEASURES:
        raise ValueError(f"unknown uncertainty measure {measure!r}; expected one of {MEASURES}")
    if reduce not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduce!r}; expected one of {REDUCTIONS}")
    est = make_estimator(estimator) if isinstance(estimator, str) else estimator
    scores = np.empty(len(pool), np.float64)
    for i, s in enumerate(tqdm(pool, desc=f"scoring ({getattr(est, 'name', 'estimator')})", disable=not progress,
                               unit="image", leave=False)):
        stack = est(segmenter, s.image, first_click(s, first))
        scores[i] = image_score(pixel_map(stack, measure), reduce, k)
    return scores


def select_top(scores: Sequence[float], n: int, seed: int = 0) -> np.ndarray:
    """Indices of the ``n`` highest scores, highest first: ``(min(n, len(scores)),) int64``.

    Ties are broken by a random order drawn from ``numpy.random.default_rng(seed)`` (a stable sort of a
    seeded permutation): the same scores and seed always give the same indices, and tied images are not
    picked by their position in the pool (which would follow file names, i.e. the cats' source).

    Raises ValueError for ``n < 0``, scores that are not one-dimensional or hold NaN.

    Used by :func:`run_round`.
    """
    a = np.asarray(scores, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of scores, got shape {a.shape}")
    if np.isnan(a).any():
        raise ValueError("scores hold NaN: cannot rank them")
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"expected n an int >= 0, got {n!r}")
    perm = np.random.default_rng(seed).permutation(a.size)
    order = perm[np.argsort(-a[perm], kind="stable")]
    return order[:int(n)].astype(np.int64)


def select_random(n_pool: int, n: int, seed: int = 0) -> np.ndarray:
    """``min(n, n_pool)`` distinct indices of a pool of ``n_pool`` drawn uniformly with
    ``numpy.random.default_rng(seed)``: the random-selection baseline. ``(k,) int64``.

    Raises ValueError for negative counts.

    Used by :func:`run_round`.
    """
    if n_pool < 0 or n < 0:
        raise ValueError(f"expected n_pool >= 0 and n >= 0, got {n_pool}, {n}")
    return np.random.default_rng(seed).permutation(int(n_pool))[:int(n)].astype(np.int64)


# ------------------------------------------------------------------------------------------------ annotation
def hardness(segmenter, samples: Sequence[Sample], target: float = 0.90, max_clicks: int = 20,
             robot: Robot = ritm_click, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """How hard each sample is for the current model: its NoC and the best IoU it reaches.

    The NoC protocol of :func:`iseg_course.evaluation.evaluate` on these samples: the robot (by default the
    RITM clicker: the deepest error wins, clicked at its pixel farthest from the error's border) corrects
    the current prediction, the previous prediction is fed back, and the session stops once the IoU reaches
    ``target`` (``stop_at=target``). Reads the samples' ground truth.

    Returns ``(noc, best_iou)``: ``(len(samples),) int64`` clicks, each ``metrics.noc(ious, target,
    max_clicks)`` in ``1..max_clicks`` (``max_clicks`` for a sample that never reaches the target), and
    ``(len(samples),) float64`` the highest IoU of the session. Hard-sample mining ranks by
    ``noc + (1 - best_iou)``: the NoC first, and among samples with equal NoC (e.g. every failure at 20) the
    one that stayed farthest from the target.

    Raises ValueError for an empty list, ``target`` outside ``(0, 1]``, ``max_clicks < 1`` or a sample the
    loop cannot score (an empty mask; the message names it).

    Hard-sample mining in this form is online hard-example mining (Shrivastava, Gupta & Girshick, "Training
    region-based object detectors with online hard example mining", CVPR 2016) with the interactive
    measure of difficulty, the clicks a user would need. Used by :func:`run_round` and
    :func:`annotate_with_robot`.
    """
    from . import metrics
    from .evaluation import evaluate

    if not (0 < target <= 1):
        raise ValueError(f"expected target in (0, 1], got {target}")
    samples = list(samples)
    if not samples:
        raise ValueError("no samples to score")
    res = evaluate(segmenter, samples, robot=robot, max_clicks=max_clicks, targets=(target,), stop_at=target,
                   progress=progress, method="annotator", dataset_name="selected")
    noc = np.array([metrics.noc(res.ious[s.name], target, max_clicks) for s in samples], np.int64)
    best = np.array([float(np.max(res.ious[s.name])) for s in samples], np.float64)
    return noc, best


def annotate_with_robot(segmenter, samples: Sequence[Sample], target: float = 0.90, max_clicks: int = 20,
                        robot: Robot = ritm_click, progress: bool = True) -> list[int]:
    """Clicks the robot annotator spends on each sample with the current model: ``list[int]``, each in
    ``1..max_clicks``, in the samples' order.

    The NoC of :func:`hardness`: the annotator stops once the IoU reaches ``target``, and an image that
    never reaches it costs ``max_clicks`` (the annotator gave up and used the budget).

    Raises what :func:`hardness` raises.

    Used by :func:`run_round`.
    """
    return [int(c) for c in hardness(segmenter, samples, target, max_clicks, robot, progress)[0]]


# ------------------------------------------------------------------------------------------------ training
def fine_tune(segmenter, samples: Sequence[Sample], config=None, progress: bool = True):
    """Fine-tune the segmenter's model in place on ``samples`` with lesson 07's interactive training.

    An :class:`~iseg_course.training.InteractiveTrainer` on ``samples`` (no test set: the loop measures
    the model itself) started from ``segmenter.model``, on the segmenter's device, runs ``config.epochs``
    (default :class:`~iseg_course.training.TrainConfig` with 2 epochs and learning rate 1e-3: a few
    gentle epochs, not a new training). The model is left in ``eval()`` mode. Returns the
    :class:`~iseg_course.training.History`.

    Raises ValueError for no samples.

    Used by :func:`run_round`.
    """
    from .training import InteractiveTrainer, TrainConfig

    if not samples:
        raise ValueError("no samples to fine-tune on")
    config = config or TrainConfig(epochs=2, lr=1e-3)
    config = replace(config, device=str(segmenter.device))
    trainer = InteractiveTrainer(list(samples), [], config, model=segmenter.model)
    history = trainer.fit(progress=progress)
    segmenter.model.eval()
    return history


def evaluate_tests(segmenter, test_sets: dict[str, Sequence[Sample]], target: float = 0.90, max_clicks: int = 20,
                   progress: bool = True) -> dict[str, dict]:
    """NoC@90 (``target``), NoF@90 and IoU@1 of the segmenter on each test set (the NoC protocol of
    :func:`iseg_course.evaluation.evaluate`, early stop at ``target``): ``{set name: {"n": ..., "NoC@90":
    ..., "NoF@90": ..., "IoU@1": ...}}``, rounded to 4 decimals.

    Used by :func:`run`.
    """
    from .evaluation import evaluate

    out = {}
    t = round(target * 100)
    for name, samples in test_sets.items():
        r = evaluate(segmenter, list(samples), max_clicks=max_clicks, targets=(target,), stop_at=target,
                     progress=progress, method="model", dataset_name=name)
        out[name] = {"n": r.n_samples, f"NoC@{t}": round(r.noc[target], 4), f"NoF@{t}": r.nof[target],
                     "IoU@1": round(r.iou_at((1,))[1], 4)}
    return out


# ------------------------------------------------------------------------------------------------ the loop
@dataclass
class ALConfig:
    """Knobs of one active-learning run (defaults: the lecture's loop).

    Attributes:
        strategy: one of :data:`STRATEGIES`: an uncertainty estimator (``"mc_dropout"``, ``"tta"``,
            ``"single"``: one pass, predictive entropy; ``"ensemble"`` needs ``run(..., estimator=)``),
            ``"random"`` (the baseline) or ``"hard"`` (hard-sample mining by :func:`hardness`; refinement only).
        task: one of :data:`TASKS`: ``"annotation"`` (the robot annotates what is selected and its clicks are
            counted) or ``"refinement"`` (labels exist: nothing is annotated, no clicks are spent).
        measure, reduce, k: the pixel map and image score (:func:`score_pool`).
        mc_samples: N of MC dropout.
        first: the click the pool is scored with (:func:`first_click`).
        per_round: images selected per round (the lecture: 50); rounds: the most rounds (the run also stops
            when the pool is empty).
        target, max_clicks: the annotator's stop (IoU 0.90 or 20 clicks); also NoC@90 of the tests.
        epochs, lr: fine-tuning per round (lesson 07's training, this many epochs, this peak learning rate).
        replay: labelled images drawn (seeded) from the earlier labelled ones to fine-tune beside each
            round's new images (against forgetting); None = every labelled image (slower each round).
        train_batch_size: images per update in fine-tuning; train_clicks: robot clicks per image in
            fine-tuning (lesson 07: 10); train_size: working size of fine-tuning in pixels (None: the
            segmenter's, e.g. 128; smaller only for quick tests).
        seed: seeds tie-breaking, random selection, MC dropout masks, replay draws and training.
        pool_limit: score only the first ``pool_limit`` pool cats (a quick run); test_limit: the first
            ``test_limit`` of each test set.
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` or ``"auto"``.

    Raises ValueError for an unknown strategy or task, ``"hard"`` with ``task="annotation"`` (an unlabelled
    pool has no NoC to mine), or counts below 1.

    Used by benchmarks/active_learning.py.
    """

    strategy: str = "mc_dropout"
    task: str = "annotation"
    measure: str = "entropy"
    reduce: str = "mean"
    k: float = 0.05
    mc_samples: int = 10
    first: str = "centre"
    per_round: int = 50
    rounds: int = 10
    target: float = 0.90
    max_clicks: int = 20
    epochs: int = 2
    lr: float = 1e-3
    replay: int | None = 50
    train_batch_size: int = 8
    train_clicks: int = 10
    train_size: int | None = None
    seed: int = 0
    pool_limit: int | None = None
    test_limit: int | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; expected one of {STRATEGIES}")
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {TASKS}")
        if self.strategy == "hard" and self.task != "refinement":
            raise ValueError("strategy 'hard' ranks the pool by its NoC, which needs the pool's labels: "
                             "use it with task='refinement', not 'annotation'")
        for name in ("per_round", "rounds", "max_clicks", "epochs", "mc_samples", "train_batch_size",
                     "train_clicks"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"expected {name} >= 1, got {getattr(self, name)}")
        if self.replay is not None and self.replay < 0:
            raise ValueError(f"expected replay None or >= 0, got {self.replay}")
        if self.first not in FIRST_CLICKS:
            raise ValueError(f"unknown first click {self.first!r}; expected one of {FIRST_CLICKS}")


def _estimator(config: ALConfig, round_seed: int, estimator=None):
    if estimator is not None:
        return estimator
    if config.strategy == "mc_dropout":
        return make_estimator("mc_dropout", n=config.mc_samples, seed=round_seed)
    if config.strategy in ("tta", "single"):
        return make_estimator(config.strategy)
    raise ValueError("strategy 'ensemble' needs its members: pass estimator=Ensemble([...]) to run()")


def run_round(segmenter, labelled: list[Sample], pool: list[Sample], config: ALConfig, round_index: int = 1,
              estimator=None, progress: bool = True) -> tuple[dict, list[Sample], list[Sample]]:
    """One round of the loop: score the pool, select ``per_round``, annotate with the robot, fine-tune.

    With ``config.task == "refinement"`` nothing is annotated (the labels exist, no clicks are spent), and
    strategy ``"hard"`` scores the pool by :func:`hardness` with the current model (``noc + (1 - best
    IoU)``, highest first). The model of ``segmenter`` is fine-tuned in place. Seeds: ``config.seed * 1000
    + round_index`` for the selection, the MC dropout masks, the replay draw and the training.

    Returns ``(record, labelled, pool)``: the round's record (``selected`` names, ``clicks`` per selected
    image and ``clicks_spent`` -- empty and 0 in refinement --, ``noc_before`` per selected image for
    ``"hard"``, seconds of each step) and the new labelled set and pool (selected images moved from one to
    the other). Raises ValueError for an empty pool.

    Used by :func:`run`.
    """
    from .training import TrainConfig

    if not pool:
        raise ValueError("the pool is empty")
    seed = int(config.seed) * 1000 + int(round_index)
    t0 = time.perf_counter()
    noc_before = None
    if config.strategy == "random":
        idx = select_random(len(pool), config.per_round, seed)
    elif config.strategy == "hard":
        noc_before, best = hardness(segmenter, pool, config.target, config.max_clicks, progress=progress)
        idx = select_top(noc_before + (1.0 - best), config.per_round, seed)
    else:
        scores = score_pool(segmenter, pool, _estimator(config, seed, estimator), config.measure, config.reduce,
                            config.k, config.first, progress)
        idx = select_top(scores, config.per_round, seed)
    t1 = time.perf_counter()
    chosen = [pool[i] for i in idx]
    if config.task == "annotation":
        clicks = annotate_with_robot(segmenter, chosen, config.target, config.max_clicks, progress=progress)
    else:
        clicks = []
    t2 = time.perf_counter()
    rng = np.random.default_rng(seed)
    if config.replay is None or config.replay >= len(labelled):
        replay = list(labelled)
    else:
        replay = [labelled[i] for i in sorted(rng.choice(len(labelled), config.replay, replace=False))]
    tc = TrainConfig(epochs=config.epochs, lr=config.lr, batch_size=config.train_batch_size, seed=seed,
                     n_clicks=config.train_clicks, size=config.train_size or segmenter.size,
                     kind=segmenter.kind, radius=segmenter.radius)
    history = fine_tune(segmenter, chosen + replay, tc, progress)
    t3 = time.perf_counter()
    taken = set(int(i) for i in idx)
    record = {"round": int(round_index), "selected": [s.name for s in chosen],
              "clicks": {s.name: int(c) for s, c in zip(chosen, clicks)}, "clicks_spent": int(sum(clicks)),
              "trained_on": len(chosen) + len(replay), "train_loss": [round(v, 4) for v in history.train_loss],
              "seconds": {"score": round(t1 - t0, 2), "annotate": round(t2 - t1, 2), "fine_tune": round(t3 - t2, 2)}}
    if noc_before is not None:
        record["noc_before"] = {pool[i].name: int(noc_before[i]) for i in idx}
    return record, list(labelled) + chosen, [s for i, s in enumerate(pool) if i not in taken]


def run(config: ALConfig | None = None, *, segmenter=None, labelled: Sequence[Sample] | None = None,
        pool: Sequence[Sample] | None = None, test_sets: dict[str, Sequence[Sample]] | None = None,
        estimator=None, progress: bool = True) -> dict:
    """The active-learning experiment: round 0 (the starting model) and up to ``config.rounds`` rounds.

    Args:
        config: an :class:`ALConfig` (default: MC dropout, 50 per round, 10 rounds).
        segmenter: the starting model as a :class:`~iseg_course.models.ClickSegmenter` (fine-tuned in
            place); default: a fresh copy of the shipped cat model (lesson 07) on ``config.device``.
        labelled, pool, test_sets: the data; default :func:`active_split` (``config.seed`` does not change
            the split: it is lesson 07's) with ``pool_limit`` / ``test_limit``.
        estimator: an estimator object for the scoring (e.g. an ``Ensemble``); default from ``config``.
        progress: ``tqdm`` bars (rounds, scoring, annotation, training, evaluation).

    Returns a JSON-able dict: ``config``, ``sizes`` (labelled, pool, each test set), ``rounds`` (one record
    per round: ``round``, ``labelled`` (images), ``added`` (images added so far), ``clicks_spent`` (this
    round), ``clicks_total`` (so far), ``test`` (per set NoC@90, NoF@90, IoU@1), ``selected``, ``clicks``
    per image, seconds) and ``total_seconds``.

    Raises ValueError for an empty labelled set or pool.

    Used by benchmarks/active_learning.py.
    """
    from tqdm.auto import tqdm

    from .models import ClickSegmenter

    config = config or ALConfig()
    t_start = time.perf_counter()
    if labelled is None or pool is None or test_sets is None:
        split = active_split()
        if labelled is None:
            labelled = load_samples(split.labelled)
        if pool is None:
            names = split.pool if config.pool_limit is None else split.pool[:config.pool_limit]
            pool = load_samples(names)
        if test_sets is None:
            test_sets = split.test_sets(config.test_limit)
    labelled, pool = list(labelled), list(pool)
    if not labelled or not pool:
        raise ValueError(f"expected labelled and pool samples, got {len(labelled)} and {len(pool)}")
    if segmenter is None:
        segmenter = ClickSegmenter(device=config.device)
    out = {"config": asdict(config), "estimator": repr(estimator) if estimator is not None else None,
           "sizes": {"labelled": len(labelled), "pool": len(pool),
                     **{f"test_{k}": len(v) for k, v in test_sets.items()}}, "rounds": []}
    t0 = time.perf_counter()
    record = {"round": 0, "labelled": len(labelled), "added": 0, "clicks_spent": 0, "clicks_total": 0,
              "test": evaluate_tests(segmenter, test_sets, config.target, config.max_clicks, progress)}
    record["seconds"] = {"test": round(time.perf_counter() - t0, 2)}
    out["rounds"].append(record)
    added, total = 0, 0
    for r in tqdm(range(1, config.rounds + 1), desc=f"active learning ({config.strategy})", disable=not progress,
                  unit="round"):
        if not pool:
            break
        record, labelled, pool = run_round(segmenter, labelled, pool, config, r, estimator, progress)
        added += len(record["selected"])
        total += record["clicks_spent"]
        t0 = time.perf_counter()
        record.update(labelled=len(labelled), added=added, clicks_total=total,
                      test=evaluate_tests(segmenter, test_sets, config.target, config.max_clicks, progress))
        record["seconds"]["test"] = round(time.perf_counter() - t0, 2)
        out["rounds"].append(record)
    out["total_seconds"] = round(time.perf_counter() - t_start, 1)
    return out


def pooled_noc(run_record: dict, target_key: str = "NoC@90") -> float:
    """NoC@90 of a run's final model over all its test cats pooled, each cat counted once.

    ``run_record`` is one run of :func:`run` (or a checkpoint's ``active_learning`` record): the mean of its
    last round's test sets' ``target_key`` weighted by their sizes ``n`` -- with the course's sets, 10 test
    cats, 100 other cats and 10 COCO_MVal cats, the 100 other cats weigh 10 times as much as either small set,
    where a plain mean over the three sets would let one cat of a 10-cat set count as much as ten others.
    Raises ValueError for a run without rounds or test results.

    Used by :func:`best_run`.
    """
    if not run_record.get("rounds") or not run_record["rounds"][-1].get("test"):
        raise ValueError("expected a run record with rounds and test results (iseg_course.active_learning.run)")
    test = run_record["rounds"][-1]["test"]
    n = np.array([t["n"] for t in test.values()], float)
    return float(np.sum(n * np.array([t[target_key] for t in test.values()])) / n.sum())


def best_run(runs: Sequence[dict]) -> dict:
    """The run whose final model needs the fewest clicks over all test cats pooled (:func:`pooled_noc`).

    This is how the shipped ``cats-al`` checkpoint (``data/models/cat_click_al.pt``) was chosen among the runs
    of ``data/active_learning.json``. Choosing among runs by their test figures makes the chosen run's
    figures an optimistic estimate; the mean over seeds in the file's ``summary`` is the fair one.
    Raises ValueError for an empty list.
    """
    if not runs:
        raise ValueError("expected at least one run")
    return min(runs, key=pooled_noc)


# ------------------------------------------------------------------------------------------------ suggestions
#: Where :func:`suggestion_session` puts each corrective click: the RITM robot (the deepest error, which needs
#: the ground truth to find), the most uncertain pixel of the model (no ground truth needed to find it), or a
#: uniformly random pixel of the image.
SUGGESTIONS = ("robot", "uncertainty", "random")


def uncertain_pixel(uncertainty: np.ndarray, clicked: Sequence[Click] = (), ignore: np.ndarray | None = None,
                    min_distance: float = 5.0) -> tuple[int, int]:
    """``(x, y)`` of the most uncertain pixel that is at least ``min_distance`` pixels from every earlier click
    and not ignored (the first such pixel in row-major order on ties).

    uncertainty: ``(H, W)`` float (e.g. :func:`iseg_course.uncertainty.pixel_map`); clicked: earlier Clicks;
    ignore: ``(H, W)`` bool or None. Raises ValueError for a map that is not 2-D or when every pixel is
    excluded.
    """
    u = np.asarray(uncertainty, dtype=np.float64)
    if u.ndim != 2:
        raise ValueError(f"expected an (H, W) uncertainty map, got shape {u.shape}")
    allowed = np.ones(u.shape, bool) if ignore is None else ~np.asarray(ignore, bool)
    if clicked:
        yy, xx = np.mgrid[:u.shape[0], :u.shape[1]]
        for c in clicked:
            allowed &= (xx - c.x) ** 2 + (yy - c.y) ** 2 >= min_distance ** 2
    if not allowed.any():
        raise ValueError("no pixel left to suggest: every pixel is ignored or near an earlier click")
    i = int(np.argmax(np.where(allowed, u, -np.inf)))
    return i % u.shape[1], i // u.shape[1]


def suggestion_session(segmenter, sample: Sample, suggest: str = "uncertainty", estimator=None,
                       max_clicks: int = 20, target: float = 0.90, seed: int = 0) -> list[float]:
    """One interactive session in which the *system* proposes where to click and a perfect user only says
    "object" or "background" there (the label is read from the ground truth): the IoU after each click.

    The first click is the same for every ``suggest`` (the RITM robot's: the object pixel farthest from its
    border), so the strategies differ only in the corrections. Then, per click: ``"robot"`` -- the RITM
    robot's click (:func:`iseg_course.robot.ritm_click`, which needs the ground truth to find the error);
    ``"uncertainty"`` -- :func:`uncertain_pixel` of the predictive entropy of ``estimator`` (default
    :class:`~iseg_course.uncertainty.MCDropout` with 10 samples) for the current clicks and previous
    prediction, i.e. "you could click here" found without the ground truth; ``"random"`` -- a uniformly random
    non-ignored pixel (``seed``). Each prediction's probabilities are fed back as ``prev_mask``. The session stops once the
    IoU reaches ``target`` (later entries repeat the last IoU, as in lesson 06's early-stopped curves) or after
    ``max_clicks``.

    segmenter: a :class:`~iseg_course.models.ClickSegmenter` (``estimator`` runs its network; ``"robot"`` and
    ``"random"`` take any Segmenter). Returns
    ``list[float]`` of length ``max_clicks``. Raises ValueError for an unknown ``suggest``, ``max_clicks < 1``
    or an empty mask.

    Beyond the lecture (issue "active learning"): uncertainty used *inside* one image, as a click suggestion,
    after the suggestive-annotation idea of Yang et al., "Suggestive Annotation", MICCAI 2017.
    """
    from .interactions import Interactions
    from .metrics import iou
    from .segmenter import as_prediction, check_ground_truth
    from .uncertainty import MCDropout

    if suggest not in SUGGESTIONS:
        raise ValueError(f"unknown suggestion {suggest!r}; expected one of {SUGGESTIONS}")
    if max_clicks < 1:
        raise ValueError(f"expected max_clicks >= 1, got {max_clicks}")
    gt, valid = check_ground_truth(sample.mask, sample.ignore)
    ignore = ~valid
    free = np.flatnonzero(valid)  # the pixels the random rule draws from
    estimator = estimator or MCDropout(10, seed=seed)
    rng = np.random.default_rng(seed)
    segmenter.set_image(sample.image)
    clicks: list[Click] = []
    probs = None  # the previous prediction's (H, W) object probabilities
    ious: list[float] = []
    while len(ious) < max_clicks:
        pred_mask = np.zeros_like(gt) if probs is None else probs >= 0.5
        if not clicks or suggest == "robot":
            c = ritm_click(gt, pred_mask, ignore, clicks)
            if c is None:
                break
        else:
            if suggest == "uncertainty":
                stack = estimator(segmenter, sample.image, clicks, probs)
                x, y = uncertain_pixel(pixel_map(stack, "entropy"), clicks, ignore)
            else:
                i = int(free[rng.integers(len(free))])
                x, y = i % gt.shape[1], i // gt.shape[1]
            c = Click(x, y, bool(gt[y, x]))
        clicks.append(c)
        out = segmenter.predict(Interactions(list(clicks)), prev_mask=probs)
        probs = as_prediction(out).probabilities
        ious.append(float(iou(probs >= 0.5, gt, ignore)))
        if ious[-1] >= target:
            break
    return ious + [ious[-1]] * (max_clicks - len(ious))
