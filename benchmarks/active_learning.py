"""Active-learning experiment of lesson 08 (the cat example's application phase): prints one JSON object.

Two parts, either or both:

* ``--timing``: scoring cost per pool image for each uncertainty estimator of
  :mod:`iseg_course.uncertainty` on the shipped cat model (``ClickSegmenter``, one PyTorch thread, the
  centre click, the predictive-entropy map and its mean): one pass, MC dropout with N = 10 (one batch),
  test-time augmentation (flip x 3 scales = 6 passes) and an ensemble of 3 (the shipped network three
  times: the cost of three members, not a real ensemble). Median ms per image over ``--timing-images`` pool
  cats after a warm-up, and ``mc_dropout_over_single`` (bar: <= 12).
* the experiment (``--strategies``): for each strategy and seed, :func:`iseg_course.active_learning.run`:
  round 0 is lesson 07's model; each round scores the pool, gives the top ``--per-round`` cats to the RITM
  robot annotator (IoU 0.90 or 20 clicks; the clicks are the cost), fine-tunes ``--epochs`` epochs on the new
  cats plus ``--replay`` earlier ones, and measures NoC@90 / IoU@1 on the 10 test cats, the 100 other cats
  and the COCO_MVal cats. ``summary`` gives, per strategy and round, mean and standard deviation over the
  seeds of each test set's NoC@90 and IoU@1 and of the clicks spent so far.

``--out PATH`` writes the JSON (refused if PATH exists, unless ``--overwrite``); ``--checkpoint-dir DIR``
saves each run's final model as ``DIR/al_<strategy>_seed<k>.pt``.

Smoke run (minutes on 2 CPU cores)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/active_learning.py --timing --strategies mc_dropout random \\
        --seeds 0 --rounds 1 --per-round 5 --pool-limit 10 --test-limit 3

Full run (the issue's experiment: 10 rounds of 50 = 500 added cats, 2 seeds)::

    .venv/bin/python benchmarks/active_learning.py --strategies mc_dropout random --seeds 0 1 \\
        --device auto --out data/active_learning.json --checkpoint-dir runs/al

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
from iseg_course.models import ClickSegmenter, load_checkpoint, save_checkpoint  # noqa: E402
from iseg_course.uncertainty import Ensemble, MCDropout, SinglePass, TestTimeAugmentation, image_score, pixel_map  # noqa: E402,E501

MC_RATIO_BAR = 12.0


def bench_scoring(n_images: int, warmup: int = 3, device: str = "cpu") -> dict:
    """Median / p90 ms per pool image for each estimator (stack + entropy map + mean)."""
    split = AL.active_split()
    samples = load_samples(split.pool[:n_images + warmup])
    seg = ClickSegmenter(device=device)
    members = [load_checkpoint(device=device)[0] for _ in range(2)]
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
    """strategy -> list over rounds of mean/std over seeds (clicks so far, images added, NoC@90, IoU@1)."""
    out: dict[str, list] = {}
    for strategy in dict.fromkeys(r["config"]["strategy"] for r in runs):
        group = [r for r in runs if r["config"]["strategy"] == strategy]
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
    ap.add_argument("--strategies", nargs="*", default=[], choices=AL.STRATEGIES[:-2] + ("random",),
                    help="strategies to run (none: timing only)")
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

    result: dict = {"benchmark": "active_learning", "machine": machine_info(),
                    "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "torch": torch.__version__}
    t_start = time.perf_counter()
    if args.timing:
        result["scoring"] = bench_scoring(args.timing_images, device=args.device)
    runs = []
    for strategy in args.strategies:
        for seed in args.seeds:
            config = AL.ALConfig(strategy=strategy, measure=args.measure, reduce=args.reduce,
                                 per_round=args.per_round, rounds=args.rounds, epochs=args.epochs, lr=args.lr,
                                 replay=None if args.replay < 0 else args.replay, seed=seed,
                                 pool_limit=args.pool_limit, test_limit=args.test_limit, device=args.device)
            seg = ClickSegmenter(device=args.device)
            run = AL.run(config, segmenter=seg, progress=not args.no_progress)
            runs.append(run)
            if args.checkpoint_dir is not None:
                meta = {**seg.meta, "active_learning": {"config": run["config"], "rounds": [
                    {k: r[k] for k in ("round", "labelled", "added", "clicks_total", "test")} for r in run["rounds"]]}}
                save_checkpoint(args.checkpoint_dir / f"al_{strategy}_seed{seed}.pt", seg.model, meta,
                                overwrite=args.overwrite)
    if runs:
        result["runs"] = runs
        result["summary"] = _summary(runs)
        result["lesson_config"] = (args.rounds, args.per_round, args.pool_limit, args.test_limit) == (10, 50, None, None)
    result["total_seconds"] = round(time.perf_counter() - t_start, 1)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
