"""SAM-style model benchmark (lesson 10): prints one JSON object (and a Markdown table on stderr).

* ``noc`` -- the NoC protocol (RITM robot user, 20 clicks, stop at IoU 0.90 after 5 clicks) of the SAM-style
  model on GrabCut (50), Berkeley (100), the COCO_MVal cats (10), lesson 07's 10 test cats, its 100 other cats
  and, with ``--duts-test DIR`` (a folder holding ``images/`` and ``masks/``, e.g. ``../shared/data/duts/test``),
  DUTS test; with Zoom-In (the segmenter's default) the candidate chosen by predicted IoU (``score``, SAM's
  protocol) and by true IoU (``oracle``, SAM's upper bound); without Zoom-In the score choice; and Zoom-In with
  the score choice at the size the model was trained at instead of the segmenter's larger default input; and
  Zoom-In with the score choice without the segmenter's rule that a negative click removes the piece of the
  previous mask it lands on (``reject_parts`` False: SAM's prompts only) (``zoom_in``, ``input_size`` and
  ``reject_parts`` say which row is which). ``graph_cut_noc90`` and ``click_unet_noc90`` are
  the comparison figures measured on this machine with ``benchmarks/evaluation.py`` /
  ``benchmarks/click_model.py --table``; ``bars`` says which bars hold (NoC@90, score choice, Zoom-In, the
  default input size).
* ``latency`` -- ``set_image`` on a 320 px image (median of ``--repeats``) and click -> overlay of the widget
  (``SegmentationWidget(SamSegmenter(), image)``, ``w.click`` then ``w.last_latency_ms``) after ``set_image``,
  both with one PyTorch thread and with PyTorch's default thread count, with Zoom-In (a click that moves the
  window re-runs the encoder on it) and without. Bars: 250 ms and 15 ms.
* ``training`` -- the checkpoint's own record: feature-cache seconds, seconds per epoch, losses, IoUs.

Run: ``.venv/bin/python benchmarks/sam_style.py [--checkpoint PATH] [--duts-test DIR] [--limit N]``.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _machine import machine_info  # noqa: E402

from iseg_course.data import ImageMaskFolder, cat_split, load_dataset, load_samples  # noqa: E402
from iseg_course.evaluation import evaluate  # noqa: E402
from iseg_course.models.sam import SamSegmenter  # noqa: E402
from iseg_course.robot import ritm_click  # noqa: E402

#: NoC@90 of graph cut and of lesson 07's click U-Net on this machine (RITM robot, 20 clicks)
GRAPH_CUT_NOC90 = {"GrabCut": 8.22, "Berkeley": 12.88, "COCO_MVal cats": 13.6, "10 test cats": None,
                   "100 other cats": 10.64}
CLICK_UNET_NOC90 = {"10 test cats": 4.4, "COCO_MVal cats": 15.9, "100 other cats": 13.4}
BARS = {"GrabCut": 5.0, "Berkeley": 8.0, "COCO_MVal cats": 9.0, "10 test cats": 4.4}
LATENCY_BARS_MS = {"set_image_320px": 250, "click_to_overlay": 15}


def _stats(ms) -> dict:
    a = np.asarray(ms, float)
    return {"median_ms": round(float(np.median(a)), 2), "p90_ms": round(float(np.percentile(a, 90)), 2), "n": a.size}


def datasets(duts_test: str | None) -> dict:
    split = cat_split()
    sets = {"GrabCut": load_dataset("grabcut"), "Berkeley": load_dataset("berkeley"),
            "COCO_MVal cats": load_dataset("coco_mval_cats"), "10 test cats": load_samples(split.test),
            "100 other cats": load_samples(split.other)}
    if duts_test:
        sets["DUTS test"] = ImageMaskFolder(Path(duts_test) / "images", Path(duts_test) / "masks", name="duts")
    return sets


def bench_latency(seg: SamSegmenter, repeats: int) -> dict:
    from iseg_course.widgets import SegmentationWidget

    sample = load_dataset("cats")[0]
    from PIL import Image

    h, w = sample.image.shape[:2]
    s = 320 / max(h, w)
    image = np.asarray(Image.fromarray(sample.image).resize((round(w * s), round(h * s))))
    gt = np.asarray(Image.fromarray(sample.mask).resize(image.shape[1::-1], Image.NEAREST))
    out = {}
    for label, threads in (("1_thread", 1), (f"{torch.get_num_threads()}_threads", torch.get_num_threads())):
        n0 = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            ms = []
            for i in range(repeats + 3):
                t0 = time.perf_counter()
                seg.set_image(image)
                if i >= 3:
                    ms.append((time.perf_counter() - t0) * 1e3)
            widget = SegmentationWidget(seg, image)
            clicks_ms = []
            while len(clicks_ms) < repeats:
                widget.reset()
                for _ in range(8):
                    click = ritm_click(gt, widget.mask, None, widget.interactions.clicks)
                    if click is None:
                        break
                    widget.click(click.x, click.y, positive=click.positive)
                    if widget.last_error:
                        raise RuntimeError(widget.last_error)
                    clicks_ms.append(float(widget.last_latency_ms))
            out[label] = {"set_image_320px": _stats(ms), "click_to_overlay": _stats(clicks_ms[3:])}
        finally:
            torch.set_num_threads(n0)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default=None, help="default: the shipped data/models/sam_style.pt")
    ap.add_argument("--duts-test", default=None, help="a DUTS-style folder with images/ and masks/ (optional)")
    ap.add_argument("--limit", type=int, default=None, help="first N images of each set (a quick check)")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--no-latency", action="store_true")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    seg = SamSegmenter(checkpoint=args.checkpoint)
    result = {"machine": machine_info(), "torch": torch.__version__, "checkpoint": args.checkpoint or "shipped"}
    meta = getattr(seg, "meta", {})
    result["training"] = {k: meta.get(k) for k in ("cache_seconds", "train_seconds", "samples", "world_size",
                                                   "history", "config", "sources")}
    seg_whole = SamSegmenter(model=seg.model, zoom_in=False)
    seg_trained = SamSegmenter(model=seg.model, input_size=seg.model.size)
    seg_sam_prompts = SamSegmenter(model=seg.model, reject_parts=False)
    rows = []
    for name, ds in datasets(args.duts_test).items():
        for s, choice in ((seg, "score"), (seg, "oracle"), (seg_whole, "score"), (seg_trained, "score"),
                          (seg_sam_prompts, "score")):
            r = evaluate(s, ds, max_clicks=20, stop_at=0.9, limit=args.limit,
                         progress=False, method="sam-style", dataset_name=name, choice=choice)
            row = r.summary()
            row["choice"] = choice
            row["zoom_in"] = s.zoom_in
            row["input_size"] = s.input_size
            row["reject_parts"] = s.reject_parts
            row["graph_cut_NoC@90"] = GRAPH_CUT_NOC90.get(name)
            row["click_unet_NoC@90"] = CLICK_UNET_NOC90.get(name)
            rows.append(row)
            print(f"{name:16s} zoom {s.zoom_in!s:5s} {s.input_size} px {choice:6s} rule {s.reject_parts!s:5s} "
                  f"NoC@90 {row['NoC@90']:5.2f}  "
                  f"IoU@1 {row['IoU@1']:.3f}", file=sys.stderr, flush=True)
    result["noc"] = rows
    result["input_size"] = {"default": seg.input_size, "trained": seg.model.size}
    result["bars"] = {name: {"bar": bar, "NoC@90": next(r["NoC@90"] for r in rows if r["dataset"] == name and
                                                     r["choice"] == "score" and r["zoom_in"] and
                                                     r["input_size"] == seg.input_size and r["reject_parts"])}
                      for name, bar in BARS.items()}
    for v in result["bars"].values():
        v["holds"] = v["NoC@90"] <= v["bar"]
    if not args.no_latency:
        result["latency"] = {"zoom_in": bench_latency(seg, args.repeats),
                             "whole_image": bench_latency(seg_whole, args.repeats)}
        result["latency_bars_ms"] = LATENCY_BARS_MS
    cols = ["dataset", "zoom_in", "input_size", "reject_parts", "choice", "samples", "NoC@85", "NoC@90", "NoF@90",
            "IoU@1", "IoU@3", "IoU@5",
            "graph_cut_NoC@90", "click_unet_NoC@90", "s_per_click"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if r.get(c) is None else str(r.get(c)) for c in cols) + " |" for r in rows]
    print("\n".join(lines), file=sys.stderr)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
