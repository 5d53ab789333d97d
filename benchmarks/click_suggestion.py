"""Uncertainty as a click suggestion inside one image (lesson 08, beyond the lecture): where should the next
click go? Prints one JSON object.

For each image, :func:`iseg_course.active_learning.suggestion_session` runs a session with lesson 07's shipped cat
click model in which every corrective click is placed by one rule and labelled from the ground truth (a user
who only answers "object" or "background" at the suggested spot): ``robot`` -- the RITM robot's deepest error
(needs the ground truth to find it); ``uncertainty`` -- the most uncertain pixel by MC dropout (N = 10,
predictive entropy), found without the ground truth; ``random`` -- a uniformly random pixel. The first click
is the robot's in all three. Images: the 10 test cats and the first 20 ``other`` cats of ``cat_split()``;
20 clicks, stop at IoU 0.90.

Reports per rule and set: NoC@85, NoC@90, NoF@90, mean IoU after clicks 1..20 (held after the stop), and the
seconds per click. Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/click_suggestion.py [--other N]
[--out FILE]`` (a few minutes on 2 CPU cores; the shipped result is ``data/click_suggestion.json``). Not part
of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _machine import machine_info  # noqa: E402

from iseg_course.active_learning import SUGGESTIONS, suggestion_session  # noqa: E402
from iseg_course.data import cat_split, load_samples  # noqa: E402
from iseg_course.metrics import noc  # noqa: E402
from iseg_course.models import ClickSegmenter  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--other", type=int, default=20, help="how many of the 100 other cats (first N)")
    ap.add_argument("--max-clicks", type=int, default=20)
    ap.add_argument("--out", default=None, help="also write the JSON to this file (refuses to overwrite)")
    args = ap.parse_args(argv)
    if args.out and Path(args.out).exists():
        raise SystemExit(f"--out {args.out} exists; choose another path")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    split = cat_split()
    sets = {"10 test cats": load_samples(split.test), f"{args.other} other cats": load_samples(split.other[:args.other])}
    seg = ClickSegmenter(device="cpu", threads=1)
    rows = []
    for set_name, samples in sets.items():
        for rule in SUGGESTIONS:
            t0 = time.perf_counter()
            runs = [suggestion_session(seg, s, rule, max_clicks=args.max_clicks, seed=0) for s in samples]
            seconds = time.perf_counter() - t0
            noc90 = [noc(r, 0.90, args.max_clicks) for r in runs]  # also the clicks each session made
            rows.append({"set": set_name, "rule": rule, "images": len(samples),
                         "NoC@85": round(float(np.mean([noc(r, 0.85, args.max_clicks) for r in runs])), 2),
                         "NoC@90": round(float(np.mean(noc90)), 2),
                         "NoF@90": int(sum(max(r) < 0.90 for r in runs)),
                         "curve": [round(float(v), 4) for v in np.mean(runs, axis=0)],
                         "s_per_click": round(seconds / sum(noc90), 4)})
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "curve"}), file=sys.stderr, flush=True)
    out = {"benchmark": "click_suggestion", "model": "data/models/cat_click_unet.pt", "max_clicks": args.max_clicks,
           "stop_at": 0.90, "estimator": "MCDropout(n=10, seed=0), predictive entropy", "rows": rows,
           "machine": machine_info()}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return out


if __name__ == "__main__":
    main()
