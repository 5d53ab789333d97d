"""BRS / f-BRS benchmark (lesson 09): NoC and seconds per click of every refinement mode x Zoom-In; prints JSON.

For every mode of :data:`iseg_course.models.refine.MODES` (or ``--modes``) and every Zoom-In setting
(``--zoom on|off|both``), the shipped cat click model (or ``--checkpoint PATH``) wrapped in
:class:`~iseg_course.models.refine.RefinedClickSegmenter` runs the NoC protocol of
:func:`iseg_course.evaluation.evaluate` (RITM robot user, ``--max-clicks`` clicks, early stop at IoU 0.90
after 5 clicks unless ``--all-clicks``) on one set, on the CPU with one PyTorch thread. Per row:

* ``NoC@85``, ``NoC@90``, ``NoF@90``, ``IoU@1``, ``IoU@5``, ``s_per_click`` (mean seconds of one predict);
* ``click_satisfaction``: satisfied clicks / clicks over every prediction (a click counts at every
  prediction after it is placed; satisfied = its pixel ends with the clicked label);
* ``evals_per_click``: mean energy evaluations per prediction (1 = the click was already obeyed);
* ``refined_share``: share of predictions that needed more than one evaluation; ``s_per_refined_click``:
  mean seconds of those predictions, ``s_per_evaluation_refined``: their seconds per energy evaluation
  (null when no prediction was refined);
* ``curve``: the NoC-IoU curve (mean IoU after click 1..max_clicks).

``--model sam``: the SAM-style model of lesson 10 instead, with f-BRS on its image embedding
(:class:`~iseg_course.models.refine.RefinedSamSegmenter`; modes ``none`` and ``f-brs-b``).

The ratios ``fbrs_b_over_none`` and ``distmap_over_fbrs_b`` of seconds per click (same run, same images, zoom
on) go with the lesson's bars (<= 4 and >= 3). ``--network-clicks N`` puts only the first N clicks into the
network (RITM uses 8 for f-BRS, 5 for DistMap-/RGB-BRS); the default gives the network every click.

Sets: ``test-cats`` (the 10 test cats of ``cat_split()``), ``other-cats`` (its 100 other cats),
``coco_mval_cats``, ``grabcut``, ``berkeley``. ``--limit N`` evaluates the first N images.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/brs.py --set test-cats --modes none f-brs-b distmap-brs
--zoom on``. Not part of the test suite.
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

import torch  # noqa: E402
from _machine import machine_info  # noqa: E402

from iseg_course.data import cat_split, load_dataset, load_samples  # noqa: E402
from iseg_course.evaluation import evaluate  # noqa: E402
from iseg_course.models import ClickSegmenter  # noqa: E402
from iseg_course.models.refine import MODES, SAM_MODES, RefinedClickSegmenter, RefinedSamSegmenter  # noqa: E402

SETS = ("test-cats", "other-cats", "coco_mval_cats", "grabcut", "berkeley")
#: published NoC@90 (lecture slides): BRS-DenseNet (Jang & Kim 2019), f-BRS-B ResNet-50 (Sofiiuk et al. 2020)
PUBLISHED = {"BRS-DenseNet": {"grabcut": 3.60, "berkeley": 5.08},
             "f-BRS-B ResNet-50": {"grabcut": 2.98, "berkeley": 4.34}}


def load_set(name: str):
    """The samples of one benchmark set (see the module docstring); ValueError for another name."""
    if name == "test-cats":
        return load_samples(cat_split().test)
    if name == "other-cats":
        return load_samples(cat_split().other)
    if name in ("coco_mval_cats", "grabcut", "berkeley"):
        return list(load_dataset(name))
    raise ValueError(f"unknown set {name!r}; expected one of {SETS}")


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def run(args) -> dict:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    samples = load_set(args.set)
    if args.limit:
        samples = samples[: args.limit]
    if args.model == "sam":
        from iseg_course.models.sam import SamSegmenter

        if args.network_clicks is not None or set(args.modes) - set(SAM_MODES):
            raise SystemExit(f"--model sam takes --modes among {' '.join(SAM_MODES)} and no --network-clicks")
    else:
        base = ClickSegmenter(checkpoint=args.checkpoint, device="cpu", threads=1)
    zooms = {"on": [True], "off": [False], "both": [True, False]}[args.zoom]
    rows = []
    for zoom in zooms:
        for mode in args.modes:
            if args.model == "sam":
                seg = RefinedSamSegmenter(SamSegmenter(checkpoint=args.checkpoint, zoom_in=zoom), mode=mode,
                                          max_evals=args.max_evals, inertia=args.inertia)
            else:
                seg = RefinedClickSegmenter(base, mode=mode, network_clicks=args.network_clicks, zoom_in=zoom,
                                            max_evals=args.max_evals, inertia=args.inertia)
            name = f"{mode} zoom {'on' if zoom else 'off'}"
            res = evaluate(seg, samples, max_clicks=args.max_clicks, stop_at=None if args.all_clicks else 0.90,
                           progress=False, method=name, dataset_name=args.set)
            s = res.summary()
            recs = seg.records
            row = {"mode": mode, "zoom": zoom, **{k: s[k] for k in ("NoC@85", "NoC@90", "NoF@90", "IoU@1", "IoU@5")},
                   "s_per_click": s["s_per_click"], "click_satisfaction": round(seg.satisfaction_rate(), 4),
                   "evals_per_click": round(sum(r.evaluations for r in recs) / len(recs), 2),
                   "refined_share": round(sum(r.evaluations > 1 for r in recs) / len(recs), 3),
                   "s_per_refined_click": _mean([r.seconds for r in recs if r.evaluations > 1]),
                   "s_per_evaluation_refined": _ratio(sum(r.seconds for r in recs if r.evaluations > 1),
                                                      sum(r.evaluations for r in recs if r.evaluations > 1)),
                   "clicks": len(recs), "total_s": s["total_s"],
                   "curve": [round(float(v), 4) for v in res.curve()]}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "curve"}), file=sys.stderr, flush=True)
    out = {"benchmark": "brs", "model": args.model, "set": args.set, "samples": len(samples), "max_clicks": args.max_clicks,
           "early_stop": None if args.all_clicks else 0.90, "network_clicks": args.network_clicks,
           "max_evals": args.max_evals, "inertia": args.inertia, "checkpoint": args.checkpoint or "shipped",
           "threads": 1, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "rows": rows,
           "published_noc90": PUBLISHED, "machine": machine_info()}
    spc = {(r["mode"], r["zoom"]): r["s_per_click"] for r in rows}
    z = zooms[0]
    if ("f-brs-b", z) in spc and ("none", z) in spc:
        out["fbrs_b_over_none"] = round(spc[("f-brs-b", z)] / spc[("none", z)], 2)
    if ("f-brs-b", z) in spc and ("distmap-brs", z) in spc:
        out["distmap_over_fbrs_b"] = round(spc[("distmap-brs", z)] / spc[("f-brs-b", z)], 2)
        per_eval = {r["mode"]: r["s_per_evaluation_refined"] for r in rows if r["zoom"] == z}
        if per_eval.get("f-brs-b") and per_eval.get("distmap-brs"):
            out["distmap_over_fbrs_b_per_evaluation"] = round(per_eval["distmap-brs"] / per_eval["f-brs-b"], 2)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set", default="test-cats", choices=SETS)
    p.add_argument("--limit", type=int, default=None, help="first N images of the set")
    p.add_argument("--max-clicks", type=int, default=20)
    p.add_argument("--model", default="click", choices=("click", "sam"),
                   help="lesson 07's click U-Net (every mode) or the SAM-style model (none, f-brs-b on its embedding)")
    p.add_argument("--modes", nargs="+", default=None, choices=MODES, help="default: every mode the model takes")
    p.add_argument("--zoom", default="both", choices=("on", "off", "both"))
    p.add_argument("--network-clicks", type=int, default=None)
    p.add_argument("--max-evals", type=int, default=20)
    p.add_argument("--inertia", type=float, default=1e-3)
    p.add_argument("--all-clicks", action="store_true", help="no early stop at IoU 0.90")
    p.add_argument("--checkpoint", default=None, help="a checkpoint of the model (default: the shipped one)")
    args = p.parse_args(argv)
    if args.modes is None:
        args.modes = list(SAM_MODES if args.model == "sam" else MODES)
    t0 = time.perf_counter()
    out = run(args)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
