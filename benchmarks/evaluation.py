"""NoC evaluation benchmark (COURSE.md §7): prints one JSON object.

By default it times exactly what ``iseg-course evaluate --method graphcut --images data/grabcut/images
--masks data/grabcut/masks`` does: graph cut on all 50 GrabCut images, the RITM robot user, up to 20 clicks,
early stop at IoU >= 0.90 after at least 5 clicks, one worker process per CPU core. Bar: <= 60 s on 2 cores.

``--table`` also evaluates graph cut, GrabCut and the geodesic method on GrabCut (50) and Berkeley (100)
and reports NoC@85/90, NoF@90, IoU@1/3/5 and seconds per click next to the published classical rows
(f-BRS, Sofiiuk et al. CVPR 2020, Table 3: graph cut 7.98 / 10.00 on GrabCut and 14.22 NoC@90 on Berkeley;
geodesic matting 13.32 / 14.57 and 15.96).

Run: ``.venv/bin/python benchmarks/evaluation.py [--table] [--workers N] [--all-clicks]``. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_info  # noqa: E402

from iseg_course import methods  # noqa: E402
from iseg_course.data import load_dataset  # noqa: E402
from iseg_course.evaluation import default_workers, evaluate  # noqa: E402

#: published NoC rows (f-BRS, CVPR 2020, Table 3), as (NoC@85 GrabCut, NoC@90 GrabCut, NoC@90 Berkeley)
PUBLISHED = {"graphcut": (7.98, 10.00, 14.22), "geodesic": (13.32, 14.57, 15.96), "grabcut": (None, None, None)}


def run(method: str, dataset: str, workers: int, all_clicks: bool) -> dict:
    res = evaluate(methods.make(method), load_dataset(dataset), workers=workers, progress=False,
                   stop_at=None if all_clicks else 0.90, method=method, dataset_name=dataset)
    return res.summary()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", action="store_true", help="all three classical methods on GrabCut and Berkeley")
    ap.add_argument("--workers", type=int, default=0, help="processes (default: all CPU cores)")
    ap.add_argument("--all-clicks", action="store_true", help="no early stop (all 20 clicks on every image)")
    args = ap.parse_args(argv)
    workers = args.workers or default_workers()
    headline = run("graphcut", "grabcut", workers, args.all_clicks)
    result = {
        "noc_eval_grabcut_graphcut_s": headline["total_s"],
        "bar_s": 60,
        "passes": headline["total_s"] <= 60,
        "workers": workers,
        "early_stop": None if args.all_clicks else "IoU >= 0.90 after >= 5 clicks",
        "graphcut_grabcut": headline,
    }
    if args.table:
        rows = []
        for method in ("graphcut", "grabcut", "geodesic"):
            for dataset in ("grabcut", "berkeley"):
                row = headline if (method, dataset) == ("graphcut", "grabcut") else run(
                    method, dataset, workers, args.all_clicks)
                pub = PUBLISHED[method]
                row["published_NoC@85"] = pub[0] if dataset == "grabcut" else None
                row["published_NoC@90"] = pub[1] if dataset == "grabcut" else pub[2]
                rows.append(row)
        result["table"] = rows
    result["machine"] = machine_info()
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
