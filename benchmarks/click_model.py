"""Cat click model benchmark (lesson 07, the cat working example): prints one JSON object.

Default run (the shipped checkpoint ``data/models/cat_click_unet.pt``, or ``--checkpoint PATH``), on the CPU:

* ``predict_ms`` -- ``ClickSegmenter().predict`` on a 320x320 cat (``feral_`` image) with the RITM robot's
  clicks (1..10 per round, the previous probabilities fed back): median and p90 over ``--repeats`` (>= 30)
  predictions after a warm-up, with the segmenter's default of one PyTorch thread per prediction.
* ``widget_click_to_overlay_ms`` -- click -> overlay latency of ``SegmentationWidget(ClickSegmenter(), image)``
  (``w.click`` then ``w.last_latency_ms``: predict, overlay drawing, log). Bar: median <= 100 ms.
* ``*_N_threads`` -- both again with PyTorch's own thread count (``threads=None``): on a busy machine its
  threads wait for each other and the figures jump; compare ``load_average_at_start``.
* ``noc`` -- the NoC protocol on the 10 test cats of ``cat_split()`` (RITM robot user, 20 clicks, early stop
  at IoU 0.90 after 5 clicks) for the click model and graph cut; ``noc90_ratio`` = click model NoC@90 /
  graph cut NoC@90. Bar: <= 0.6.

``--train`` trains the lesson configuration first (``train_cats(TrainConfig(device=--device))``, default
device ``cpu``), times the whole training and runs the NoC comparison on the model it produced. Bars:
``train_seconds`` <= 600 on a CPU (120 on a GPU) and ``noc90_ratio`` <= 0.6. ``--out PATH`` also saves the
checkpoint (refused if PATH exists). ``--epochs``/``--limit`` shrink the run for a smoke test only (the
bars then say nothing; ``lesson_config`` is false).

``--table`` adds NoC@85/90, NoF@90, IoU@1/3/5 and seconds per click for the click model and graph cut on
the 10 test cats, ``data/coco_mval_cats`` (10) and the 100 ``other`` cats of ``cat_split()``, as JSON and a
Markdown table on stderr (``--limit N``: the first N images of each set, for a quick check).

Run: ``.venv/bin/python benchmarks/click_model.py [--train [--device cuda] [--out PATH]] [--table]``.
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

from iseg_course import methods  # noqa: E402
from iseg_course.data import load_dataset  # noqa: E402
from iseg_course.evaluation import evaluate  # noqa: E402
from iseg_course.interactions import Interactions  # noqa: E402
from iseg_course.models import ClickSegmenter, load_checkpoint, save_checkpoint  # noqa: E402
from iseg_course.robot import ritm_click  # noqa: E402
from iseg_course.data import cat_split, load_samples  # noqa: E402
from iseg_course.training import TrainConfig, train_cats  # noqa: E402

LATENCY_BAR_MS = 100
NOC_RATIO_BAR = 0.6
TRAIN_BAR_S = {"cpu": 600, "gpu": 120}
#: the 320x320 feral cat timed (first feral cat in name order that is exactly 320x320)
LATENCY_IMAGE_PREFIX = "feral_"


def _stats(ms: list[float]) -> dict:
    a = np.asarray(ms, dtype=float)
    return {"median_ms": round(float(np.median(a)), 2), "p90_ms": round(float(np.percentile(a, 90)), 2),
            "min_ms": round(float(a.min()), 2), "n": int(a.size)}


def latency_sample():
    """A 320x320 cat from ``data/cats`` (the first ``feral_`` one in name order)."""
    ds = load_dataset("cats")
    for name in ds.names:
        if name.startswith(LATENCY_IMAGE_PREFIX):
            s = ds[name]
            if s.image.shape[:2] == (320, 320):
                return s
    raise RuntimeError("no 320x320 feral cat in data/cats")


def bench_predict(seg, sample, repeats: int, warmup: int = 5, n_clicks: int = 10) -> dict:
    """Time ``seg.predict`` inside the RITM robot's click loop on ``sample`` (restarted every ``n_clicks``
    clicks), so every timed call sees a realistic number of clicks and the previous prediction."""
    seg.set_image(sample.image)
    ms: list[float] = []
    i = 0
    while len(ms) < repeats:
        inter, prev, pred = Interactions(), None, np.zeros(sample.mask.shape, bool)
        for _ in range(n_clicks):
            click = ritm_click(sample.mask, pred, sample.ignore, inter.clicks)
            if click is None:
                break
            inter.add(click)
            t0 = time.perf_counter()
            prev = seg.predict(inter.copy(), prev_mask=prev)
            if i >= warmup and len(ms) < repeats:
                ms.append((time.perf_counter() - t0) * 1e3)
            i += 1
            pred = prev >= 0.5
    return _stats(ms)


def bench_widget(seg, sample, repeats: int, warmup: int = 3) -> dict:
    from iseg_course.widgets import SegmentationWidget

    w = SegmentationWidget(seg, sample.image)
    ms, i = [], 0
    while len(ms) < repeats:
        w.reset()
        for _ in range(10):
            pred = w.mask
            click = ritm_click(sample.mask, pred, sample.ignore, w.interactions.clicks)
            if click is None:
                break
            w.click(click.x, click.y, positive=click.positive)
            if w.last_error:
                raise RuntimeError(f"the widget's segmenter failed: {w.last_error}")
            if i >= warmup and len(ms) < repeats:
                ms.append(float(w.last_latency_ms))
            i += 1
    return _stats(ms)


def noc_rows(click_seg, samples, dataset_name: str, workers: int = 1) -> list[dict]:
    """NoC protocol (RITM robot, 20 clicks, stop at 0.90) for the click model and graph cut."""
    rows = []
    for seg, method, w in ((click_seg, "click model", 1), (methods.make("graphcut"), "graphcut", workers)):
        res = evaluate(seg, samples, max_clicks=20, stop_at=0.9, workers=w, progress=False, method=method,
                       dataset_name=dataset_name)
        rows.append(res.summary())
    return rows


def ratio(rows: list[dict]) -> float:
    click, gc = rows[0]["NoC@90"], rows[1]["NoC@90"]
    return round(click / gc, 3) if gc else float("inf")


def markdown(rows: list[dict]) -> str:
    cols = ["dataset", "method", "samples", "NoC@85", "NoC@90", "NoF@90", "IoU@1", "IoU@3", "IoU@5", "s_per_click"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="store_true", help="train the lesson configuration first and time it")
    ap.add_argument("--device", default="cpu", choices=["auto", "cuda", "mps", "cpu"],
                    help="training device for --train (default: cpu; the bars are per device)")
    ap.add_argument("--out", default=None, help="with --train: save the trained checkpoint here (no overwrite)")
    ap.add_argument("--epochs", type=int, default=None, help="with --train: override the epochs (smoke test only)")
    ap.add_argument("--checkpoint", default=None, help="checkpoint to benchmark (default: the shipped one)")
    ap.add_argument("--table", action="store_true", help="NoC table on test cats, COCO_MVal cats and 100 other cats")
    ap.add_argument("--limit", type=int, default=None,
                    help="first N images of each evaluated set (and with --train N train/test cats): a smoke "
                    "test, the NoC bar then says little")
    ap.add_argument("--repeats", type=int, default=50, help="timed predictions / widget clicks (>= 30)")
    ap.add_argument("--workers", type=int, default=1, help="processes for graph cut in --table (default 1)")
    args = ap.parse_args(argv)
    if args.repeats < 30:
        ap.error("--repeats must be >= 30")
    if args.out and Path(args.out).exists():
        ap.error(f"{args.out} exists; refusing to overwrite it")
    if args.out and not args.train:
        ap.error("--out needs --train")

    load_start = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    split = cat_split()
    test = load_samples(split.test)
    result: dict = {}
    passes = []

    # ---- the model: trained here (--train) or a checkpoint
    if args.train:
        kw = {"device": args.device} | ({"epochs": args.epochs} if args.epochs else {})
        config = TrainConfig(**kw)
        t0 = time.perf_counter()
        trainer = train_cats(config, split="lesson", limit=args.limit, progress=False)
        train_s = time.perf_counter() - t0
        dev = trainer.device.type
        bar = TRAIN_BAR_S["cpu" if dev == "cpu" else "gpu"]
        lesson_config = args.epochs is None and args.limit is None
        result.update({
            "train_seconds": round(train_s, 1), "train_bar_s": bar, "epochs": config.epochs, "device": dev,
            "device_name": torch.cuda.get_device_name(trainer.device) if dev == "cuda" else dev,
            "amp": trainer.amp, "lesson_config": lesson_config, "train_config": trainer.meta()["train_config"],
            "history": trainer.meta()["history"],
            "forward_passes_per_epoch": trainer.history.forward_passes[-1],
        })
        passes.append(train_s <= bar and lesson_config)  # a shrunk smoke-test run never passes
        model = trainer.model.cpu().eval()
        click_seg = trainer.segmenter(device="cpu")
        if args.out:
            meta = {**trainer.meta(), "seconds": round(train_s, 2), "device": dev, "torch": str(torch.__version__)}
            save_checkpoint(args.out, model, meta)
            result["checkpoint"] = {"path": args.out}
    else:
        _, meta = load_checkpoint(args.checkpoint)
        click_seg = ClickSegmenter(checkpoint=args.checkpoint)
        h = meta.get("history", {})
        result["checkpoint"] = {
            "path": args.checkpoint or "data/models/cat_click_unet.pt",
            "epochs": len(h.get("train_loss", [])), "train_seconds": meta.get("seconds"),
            "train_device": meta.get("device"), "train_config": meta.get("train_config"),
            "final_test_iou": (h.get("test_iou") or [None])[-1],
        }
        # (a) latency at 320 px on the CPU: ClickSegmenter's default (1 PyTorch thread per prediction) and
        # PyTorch's own thread setting (threads=None), which spins and waits on a busy machine
        sample = latency_sample()
        predict = bench_predict(click_seg, sample, args.repeats)
        widget = bench_widget(ClickSegmenter(checkpoint=args.checkpoint), sample, args.repeats)
        predict_all = bench_predict(ClickSegmenter(checkpoint=args.checkpoint, threads=None), sample, args.repeats)
        widget_all = bench_widget(ClickSegmenter(checkpoint=args.checkpoint, threads=None), sample, args.repeats)
        ok = widget["median_ms"] <= LATENCY_BAR_MS
        passes.append(ok)
        result.update({
            "image": {"name": sample.name, "shape": list(sample.image.shape)},
            "working_size": click_seg.size, "threads": click_seg.threads,
            "predict_ms": predict, "widget_click_to_overlay_ms": widget,
            f"predict_ms_{torch.get_num_threads()}_threads": predict_all,
            f"widget_click_to_overlay_ms_{torch.get_num_threads()}_threads": widget_all,
            "bar_ms": LATENCY_BAR_MS, "latency_passes": ok,
        })

    # ---- NoC on the 10 test cats: click model vs graph cut, same robot
    if args.limit is not None:
        test = test[:args.limit]
    rows = noc_rows(click_seg, test, f"{len(test)} test cats")
    r = ratio(rows)
    passes.append(r <= NOC_RATIO_BAR)
    result.update({"noc": rows, "noc90_ratio": r, "noc90_ratio_bar": NOC_RATIO_BAR,
                   "robot": "ritm_click", "max_clicks": 20, "stop_at": 0.9})

    if args.table:
        lim = args.limit
        table = list(rows)
        sets = [("coco_mval_cats", list(load_dataset("coco_mval_cats"))), ("other cats", None)]
        for name, samples in sets:
            if samples is None:  # load only what is evaluated (100 cats)
                samples = load_samples(split.other[:lim] if lim else split.other)
            samples = samples[:lim] if lim else samples
            table += noc_rows(click_seg, samples, f"{name} ({len(samples)})", workers=args.workers)
        result["table"] = table
        print(markdown(table), file=sys.stderr)

    result["passes"] = bool(all(passes))
    result["machine"] = {**machine_info(), "torch": str(torch.__version__), "torch_threads": torch.get_num_threads(),
                         "load_average_at_start": load_start}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
