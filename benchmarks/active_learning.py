"""Active-learning experiment of lesson 08 (the cat example's application phase): prints one JSON object.

Two parts, either or both:

* ``--timing``: scoring cost per pool image for each uncertainty estimator of
  :mod:`iseg_course.uncertainty` on the shipped cat model (``ClickSegmenter``, one PyTorch thread, the
  centre click, the predictive-entropy map and its mean): one pass, MC dropout with N = 10 (one batch),
  test-time augmentation (flip x 3 scales = 6 passes) and the ensemble of 3 (the shipped network and
  the two shipped members trained with seeds 1 and 2). Median ms per image over ``--timing-images`` pool
  cats after a warm-up, and ``mc_dropout_over_single`` (bar: <= 12).
* the experiment (``--strategies``): for each strategy and seed, :func:`iseg_course.active_learning.run`:
  round 0 is lesson 07's model; each round scores the pool, gives the top ``--per-round`` cats to the RITM
  robot annotator (IoU 0.90 or 20 clicks; the clicks are the cost), fine-tunes ``--epochs`` epochs on the new
  cats plus ``--replay`` earlier ones, and measures NoC@90 / IoU@1 on the 10 test cats, the 100 other cats
  and the COCO_MVal cats. ``summary`` gives, per strategy and round, mean and standard deviation over the
  seeds of each test set's NoC@90 and IoU@1 and of the clicks spent so far.

``--task refinement`` runs the lecture's second use instead: the pool's labels exist, nothing is annotated
(no clicks are spent), and each round fine-tunes on the cats a strategy picks -- ``hard`` (hard-sample
mining: the pool's current NoC, highest first), an uncertainty estimator, or ``random`` -- so the curves
compare test NoC@90 against images added. ``--merge A.json B.json ...`` joins the runs of earlier outputs
(e.g. two processes run side by side, one per core) into one JSON with one summary; its ``total_seconds`` is
the sum of the merged processes' times (``wall_seconds_each``), the compute behind the file, and ``machines``
lists the machine each part ran on: runs are reproducible on one machine, not across CPU models (a different
CPU's floating-point kernels change the fine-tuning's last digits, and the runs drift apart from round 1).

``--out PATH`` writes the JSON (refused if PATH exists, unless ``--overwrite``); ``--checkpoint-dir DIR``
saves each run's final model as ``DIR/al_<strategy>_seed<k>.pt``.

Smoke run (minutes on 2 CPU cores)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/active_learning.py --timing --strategies mc_dropout random \\
        --seeds 0 --rounds 1 --per-round 5 --pool-limit 10 --test-limit 3

Full run (the shipped ``data/active_learning.json``: 10 rounds of 50 = 500 added cats, MC dropout and random,
2 seeds; four processes, two at a time, one per core -- MC dropout about 64 min per run, random 41 min, on an
AMD EPYC 2-core machine, 105 min of wall time in all)::

    for run in "mc_dropout 0" "random 1" "mc_dropout 1" "random 0"; do set -- $run
        OMP_NUM_THREADS=1 .venv/bin/python benchmarks/active_learning.py --strategies $1 --seeds $2 \
            --out /tmp/al/$1_s$2.json --checkpoint-dir /tmp/al/ckpt --no-progress; done   # or two loops side by side
    .venv/bin/python benchmarks/active_learning.py --merge /tmp/al/mc_dropout_s0.json /tmp/al/mc_dropout_s1.json \
        /tmp/al/random_s0.json /tmp/al/random_s1.json --out data/active_learning.json
    # the shipped cats-al model: the best run's checkpoint (iseg_course.active_learning.best_run)
    cp /tmp/al/ckpt/al_random_seed1.pt data/models/cat_click_al.pt

Refinement run (the shipped ``data/active_learning_refinement.json``: two processes, one per core)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/active_learning.py --task refinement --strategies hard random \
        --seeds 0 --rounds 3 --out /tmp/refine_s0.json &
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/active_learning.py --task refinement --strategies hard random \
        --seeds 1 --rounds 3 --out /tmp/refine_s1.json
    .venv/bin/python benchmarks/active_learning.py --merge /tmp/refine_s0.json /tmp/refine_s1.json \
        --out data/active_learning_refinement.json

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _machine import machine_info  # noqa: E402

from iseg_course import active_learning as AL  # noqa: E402
from iseg_course.data import load_samples  # noqa: E402
from iseg_course.models import ClickSegmenter, save_checkpoint  # noqa: E402
from iseg_course.uncertainty import (Ensemble, MCDropout, SinglePass, TestTimeAugmentation, image_score,  # noqa: E402
                                     load_ensemble_members, pixel_map)

MC_RATIO_BAR = 12.0


def bench_scoring(n_images: int, warmup: int = 3, device: str = "cpu") -> dict:
    """Median / p90 ms per pool image for each estimator (stack + entropy map + mean)."""
    split = AL.active_split()
    samples = load_samples(split.pool[:n_images + warmup])
    seg = ClickSegmenter(device=device)
    members = load_ensemble_members(device=device)
    estimators = {"single": SinglePass(), "mc_dropout_n10": MCDropout(10), "tta_6": TestTimeAugmentation(),
                  "ensemble_3": Ensemble(members)}
    out = {}
    for name, est in estimators.items():
        ms = []
        for i, s in enumerate(samples):
            t0 = time.perf_counter()
            stack = est(seg, s.image, AL.first_click(s))
            image_score(pixel_map(stack, "entropy"))
            if i >= warmup:
                ms.append((time.perf_counter() - t0) * 1000)
        out[name] = {"median_ms": round(float(np.median(ms)), 2), "p90_ms": round(float(np.percentile(ms, 90)), 2),
                     "passes": est.passes(), "n": len(ms)}
    ratio = out["mc_dropout_n10"]["median_ms"] / out["single"]["median_ms"]
    return {"ms_per_image": out, "mc_dropout_over_single": round(ratio, 2), "bar": MC_RATIO_BAR,
            "passes_bar": bool(ratio <= MC_RATIO_BAR), "torch_threads": torch.get_num_threads(),
            "image_sizes": sorted({f"{s.image.shape[1]}x{s.image.shape[0]}" for s in samples})}


def _summary(runs: list[dict]) -> dict:
    """strategy -> list over rounds of mean/std over seeds (clicks so far, images added, NoC@90, IoU@1).

    Runs of both tasks in one list are keyed ``"refinement/<strategy>"`` for the refinement runs."""
    def task_of(r: dict) -> str:
        return r["config"].get("task", "annotation")  # files written before the task existed: annotation

    mixed = len({task_of(r) for r in runs}) > 1

    def group_of(r: dict) -> str:
        return f"{task_of(r)}/{r['config']['strategy']}" if mixed else r["config"]["strategy"]

    out: dict[str, list] = {}
    for strategy in dict.fromkeys(group_of(r) for r in runs):
        group = [r for r in runs if group_of(r) == strategy]
        n_rounds = min(len(r["rounds"]) for r in group)
        rows = []
        for i in range(n_rounds):
            recs = [r["rounds"][i] for r in group]
            row = {"round": i, "added": recs[0]["added"]}
            clicks = [x["clicks_total"] for x in recs]
            row["clicks_total"] = {"mean": round(float(np.mean(clicks)), 1), "std": round(float(np.std(clicks)), 1)}
            for name in recs[0]["test"]:
                for key in ("NoC@90", "IoU@1"):
                    v = [x["test"][name][key] for x in recs]
                    row[f"{name}/{key}"] = {"mean": round(float(np.mean(v)), 3), "std": round(float(np.std(v)), 3)}
            rows.append(row)
        out[strategy] = rows
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timing", action="store_true", help="time scoring per image per estimator")
    ap.add_argument("--timing-images", type=int, default=30)
    ap.add_argument("--strategies", nargs="*", default=[],
                    choices=[x for x in AL.STRATEGIES if x != "ensemble"],
                    help="strategies to run (none: timing only); 'hard' needs --task refinement")
    ap.add_argument("--task", default="annotation", choices=AL.TASKS)
    ap.add_argument("--merge", nargs="+", type=Path, default=None,
                    help="join the runs of these earlier outputs into one JSON (runs nothing)")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--replay", type=int, default=50, help="earlier labelled cats per round (-1: all)")
    ap.add_argument("--measure", default="entropy")
    ap.add_argument("--reduce", default="mean")
    ap.add_argument("--pool-limit", type=int, default=None)
    ap.add_argument("--test-limit", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--checkpoint-dir", type=Path, default=None)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    if args.out is not None and args.out.exists() and not args.overwrite:
        ap.error(f"{args.out} exists; pass --overwrite to replace it")
    if "hard" in args.strategies and args.task != "refinement":
        ap.error("strategy 'hard' ranks the pool by its NoC, which needs labels: pass --task refinement")

    result: dict = {"benchmark": "active_learning", "machine": machine_info(),
                    "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "torch": torch.__version__}
    t_start = time.perf_counter()
    if args.merge:
        parts = [json.loads(p.read_text()) for p in args.merge]
        runs = [r for part in parts for r in part.get("runs", [])]
        if not runs:
            ap.error("the files given to --merge hold no runs")
        # a part may itself be a merged file: its processes' times are in its wall_seconds_each
        each = [t for part in parts for t in part.get("wall_seconds_each", [part.get("total_seconds")])]
        machines = [m for part in parts for m in part.get("machines", [part.get("machine")])]
        result.update(merged_from=[str(p) for p in args.merge], runs=runs, summary=_summary(runs),
                      wall_seconds_each=each, machines=machines,
                      lesson_config=all(part.get("lesson_config") for part in parts))
        args.strategies = []
    if args.timing:
        result["scoring"] = bench_scoring(args.timing_images, device=args.device)
    runs = []
    for strategy in args.strategies:
        for seed in args.seeds:
            config = AL.ALConfig(strategy=strategy, task=args.task, measure=args.measure, reduce=args.reduce,
                                 per_round=args.per_round, rounds=args.rounds, epochs=args.epochs, lr=args.lr,
                                 replay=None if args.replay < 0 else args.replay, seed=seed,
                                 pool_limit=args.pool_limit, test_limit=args.test_limit, device=args.device)
            seg = ClickSegmenter(device=args.device)
            run = AL.run(config, segmenter=seg, progress=not args.no_progress)
            runs.append(run)
            if args.checkpoint_dir is not None:
                meta = {**seg.meta, "active_learning": {"config": run["config"], "rounds": [
                    {k: r[k] for k in ("round", "labelled", "added", "clicks_total", "test")} for r in run["rounds"]]}}
                prefix = "al" if args.task == "annotation" else "refine"
                save_checkpoint(args.checkpoint_dir / f"{prefix}_{strategy}_seed{seed}.pt", seg.model, meta,
                                overwrite=args.overwrite)
    if runs:
        result["runs"] = runs
        result["summary"] = _summary(runs)
        result["lesson_config"] = (args.rounds, args.per_round, args.pool_limit, args.test_limit) == (10, 50, None, None)
    # with --merge, plus the compute behind the merged runs (processes run side by side: the wall time was less)
    merged = sum(t or 0.0 for t in result.get("wall_seconds_each", []))
    result["total_seconds"] = round(time.perf_counter() - t_start + merged, 1)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
