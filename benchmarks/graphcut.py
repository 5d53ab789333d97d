"""Graph-cut benchmark (COURSE.md §7): prints one JSON object.

Measured (2 CPU cores is the reference machine; the JSON records what it ran on):

* ``maxflow_480x640_ms`` -- median latency of ``GraphCutSegmenter.predict`` (default settings, PyMaxflow)
  over the GrabCut images of 480 x 640 pixels, each with a simulated user adding ``--clicks`` clicks
  (RITM-style: the deepest point of the larger error region), so every prediction sees new seeds and new
  colour models. ``set_image`` (n-links, precomputed once per image) is reported separately. Also for
  8-connectivity and without flow reuse, for comparison. Bar: <= 100 ms.
* ``networkx_64x64_s`` -- ``min_cut_networkx`` on a 64 x 64 crop of a GrabCut image (graph construction +
  max-flow + reading the cut), median of 3 runs. Bar: <= 1 s.
* ``cut_value_rel_diff`` -- |cut(networkx) - cut(PyMaxflow)| / cut(PyMaxflow) on that crop. Bar: <= 1e-9.
* ``widget_click_to_overlay_ms`` -- median ``SegmentationWidget.last_latency_ms`` (click -> prediction ->
  overlay drawn) for simulated clicks with ``GraphCutSegmenter`` on a 480 x 640 GrabCut image; null when
  ``iseg_course.widgets`` cannot be imported (the reason is in ``notes``).

The NoC evaluation of graph cut on all of GrabCut (bar: <= 60 s) is measured by ``benchmarks/evaluation.py``.

Run: ``.venv/bin/python benchmarks/graphcut.py [--clicks 5]``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_info  # noqa: E402

from iseg_course.classical import graphcut as gc  # noqa: E402
from iseg_course.data import boundary_crop, load_dataset  # noqa: E402
from iseg_course.robot import ritm_click  # noqa: E402
from iseg_course.interactions import Interactions, rasterize_seeds  # noqa: E402
from iseg_course.metrics import iou  # noqa: E402


def bench_maxflow(samples, clicks: int, **kwargs) -> dict:
    predict_ms, set_image_ms, final_iou = [], [], []
    for s in samples:
        seg = gc.GraphCutSegmenter(**kwargs)
        t0 = time.perf_counter()
        seg.set_image(s.image)
        set_image_ms.append(1000 * (time.perf_counter() - t0))
        inter, pred = Interactions(), np.zeros_like(s.mask)
        for _ in range(clicks):
            inter.add(ritm_click(s.mask, pred, s.ignore))
            t0 = time.perf_counter()
            pred = seg.predict(inter) > 0.5
            predict_ms.append(1000 * (time.perf_counter() - t0))
        final_iou.append(iou(pred, s.mask, s.ignore))
    return {
        "median_ms": round(statistics.median(predict_ms), 1),
        "p90_ms": round(float(np.percentile(predict_ms, 90)), 1),
        "max_ms": round(max(predict_ms), 1),
        "n_predicts": len(predict_ms),
        "set_image_median_ms": round(statistics.median(set_image_ms), 1),
        "mean_iou_after_clicks": round(float(np.mean(final_iou)), 3),
    }


def seed_disks(gt: np.ndarray, radius: int):
    """Seed disks at the robot user's first positive click (object centre) and first negative one."""
    clicks = [ritm_click(gt, np.zeros_like(gt)), ritm_click(gt, np.ones_like(gt))]
    return rasterize_seeds(clicks, gt.shape, radius=radius)


def bench_networkx(sample, repeats: int = 3) -> dict:
    crop, gt = boundary_crop(sample, 64)
    fg, bg = seed_disks(gt, 6)
    nl = gc.nlink_grid(crop, connectivity=8)
    src, snk = gc.tlink_weights(crop, fg, bg, lam=0.1, K=gc.hard_seed_capacity(nl))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        cut_nx, mask_nx = gc.min_cut_networkx(src, snk, nl)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    cut_mf, mask_mf = gc.min_cut_maxflow(src, snk, nl)
    t_mf = time.perf_counter() - t0
    energy_nx = gc.segmentation_energy(mask_nx, src, snk, nl)
    return {
        "image": sample.name,
        "networkx_s": round(statistics.median(times), 3),
        "maxflow_ms": round(1000 * t_mf, 2),
        "cut_networkx": cut_nx,
        "cut_maxflow": cut_mf,
        "rel_diff": abs(cut_nx - cut_mf) / cut_mf,
        "energy_of_networkx_mask_rel_diff": abs(energy_nx - cut_mf) / cut_mf,
        "iou_with_gt": round(iou(mask_mf, gt), 3),
    }


def bench_widget(sample, clicks: int) -> tuple[float | None, str | None]:
    try:
        from iseg_course.widgets import SegmentationWidget
    except Exception as e:  # the widget module is written by another part of the course
        return None, f"iseg_course.widgets not importable ({type(e).__name__}: {e})"
    w = SegmentationWidget(gc.GraphCutSegmenter(), sample.image)
    latencies = []
    for _ in range(clicks):
        c = ritm_click(sample.mask, np.asarray(w.mask, bool), sample.ignore)
        w.click(c.x, c.y, positive=c.positive)
        if w.last_latency_ms is not None:
            latencies.append(float(w.last_latency_ms))
    if not latencies:
        return None, "the widget reported no latency"
    return round(statistics.median(latencies), 1), None


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clicks", type=int, default=5, help="simulated clicks per 480x640 image (default 5)")
    args = ap.parse_args(argv)

    notes = []
    info = machine_info()
    ds = load_dataset("grabcut")
    big = [ds[n] for n in ds.names if ds[n].image.shape[:2] == (480, 640)]

    default = bench_maxflow(big, args.clicks)
    eight = bench_maxflow(big, args.clicks, connectivity=8)
    no_reuse = bench_maxflow(big, args.clicks, reuse_flow=False)
    nx_res = bench_networkx(ds["flower"])
    widget_ms, why = bench_widget(ds["banana2"], args.clicks)
    if why:
        notes.append(why)

    seg = gc.GraphCutSegmenter()
    result = {
        "maxflow_480x640_ms": default["median_ms"],
        "networkx_64x64_s": nx_res["networkx_s"],
        "cut_value_rel_diff": nx_res["rel_diff"],
        "widget_click_to_overlay_ms": widget_ms,
        "bars": {"maxflow_480x640_ms": 100, "networkx_64x64_s": 1.0, "cut_value_rel_diff": 1e-9},
        "passes": {
            "maxflow_480x640_ms": default["median_ms"] <= 100,
            "networkx_64x64_s": nx_res["networkx_s"] <= 1.0,
            "cut_value_rel_diff": nx_res["rel_diff"] <= 1e-9,
        },
        "settings": {
            "segmenter": {"lam": seg.lam, "connectivity": seg.connectivity, "seed_radius": seg.seed_radius,
                          "bins": seg.bins, "reuse_flow": seg.reuse_flow},
            "images_480x640": [s.name for s in big],
            "clicks_per_image": args.clicks,
        },
        "maxflow_480x640_default": default,
        "maxflow_480x640_8_connected": eight,
        "maxflow_480x640_without_flow_reuse": no_reuse,
        "networkx_crop": nx_res,
        "machine": info,
        "notes": notes,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
