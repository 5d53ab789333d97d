"""Guidance-signal benchmark (COURSE.md §7): prints one JSON object.

Measured on the GrabCut images of 480 x 640 pixels, each with the robot user's first clicks (object centre,
a background click, a second object click):

* ``maps_ms`` -- median milliseconds of each single-channel explicit map (``gaussian``, ``disk``,
  ``euclidean``, ``geodesic``, ``exp_geodesic``, ``location_prior``, ``attraction``) for the positive clicks,
  the image-dependent part included (gradient cost for the geodesic maps, Canny edges for the location
  prior); ``image_ms`` the image-only parts alone; ``guidance_maps_2ch_ms`` the two-channel
  ``guidance_maps`` per kind.
* ``incremental`` -- pasting one click on with ``IncrementalGuidance.add`` vs recomputing both channels
  (``guidance_maps``) for Gaussian heatmaps and disks.
* ``geodesic`` -- our raster-scan ``geodesic_distance`` vs ``skimage.graph.MCP_Geometric`` on the same
  gradient cost and seeds: median ms of each (wall clock, and CPU time of the thread, which other
  processes on a shared machine disturb less) and the maximum relative difference (bar: <= 150 ms at
  480 x 640 and <= 1 %).

Run: ``.venv/bin/python benchmarks/guidance.py [--repeats 3] [--images 11]``. Not part of the test suite.
Timings on a shared machine are noisy: the JSON records the load average.
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

from iseg_course import guidance as G  # noqa: E402
from iseg_course.data import load_dataset  # noqa: E402
from iseg_course.interactions import Click, Interactions  # noqa: E402
from iseg_course.robot import ritm_click  # noqa: E402


def timed(fn, repeats: int, cpu: list | None = None) -> tuple[float, object]:
    """Median wall time (ms) of ``repeats`` calls, and the last result; appends the median CPU time of
    this thread (ms) to ``cpu`` when given (less sensitive to other processes on a shared machine)."""
    times, cpu_times, out = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.thread_time()
        out = fn()
        cpu_times.append(1000 * (time.thread_time() - c0))
        times.append(1000 * (time.perf_counter() - t0))
    if cpu is not None:
        cpu.append(statistics.median(cpu_times))
    return statistics.median(times), out


def robot_clicks(sample) -> Interactions:
    gt = sample.mask
    first = ritm_click(gt, np.zeros_like(gt), sample.ignore)
    neg = ritm_click(gt, np.ones_like(gt), sample.ignore)
    ys, xs = np.nonzero(gt)
    k = len(ys) // 3
    return Interactions([first, neg, Click(int(xs[k]), int(ys[k]), True)])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement (median)")
    ap.add_argument("--images", type=int, default=11, help="how many 480x640 GrabCut images (max 11)")
    args = ap.parse_args(argv)

    ds = load_dataset("grabcut")
    big = [ds[n] for n in ds.names if ds[n].image.shape[:2] == (480, 640)][: args.images]
    r = args.repeats

    maps_ms: dict[str, list[float]] = {k: [] for k in G.KINDS}
    two_ch_ms: dict[str, list[float]] = {k: [] for k in G.KINDS}
    image_ms: dict[str, list[float]] = {"gradient_cost": [], "canny_edges": []}
    inc_ms: dict[str, list[float]] = {"gaussian_add": [], "gaussian_full": [], "disk_add": [], "disk_full": []}
    own_ms, ref_ms, own_cpu, ref_cpu, rel_diffs = [], [], [], [], []

    for s in big:
        inter = robot_clicks(s)
        shape, img = s.mask.shape, s.image
        single = {
            "gaussian": lambda: G.gaussian_heatmap(inter, shape, 10.0, positive=True),
            "disk": lambda: G.disk_map(inter, shape, 5.0, positive=True),
            "euclidean": lambda: G.euclidean_distance_map(inter, shape, positive=True),
            "geodesic": lambda: G.geodesic_distance_map(inter, shape, img, positive=True),
            "exp_geodesic": lambda: G.exp_geodesic_map(inter, shape, img, positive=True),
            "location_prior": lambda: G.location_prior(inter, shape, img, positive=True),
            "attraction": lambda: G.attraction_field(inter, shape, positive=True),
        }
        for kind, fn in single.items():
            maps_ms[kind].append(timed(fn, r)[0])
            two_ch_ms[kind].append(timed(lambda: G.guidance_maps(inter, shape, kind, image=img), r)[0])
        t, cost = timed(lambda: G.gradient_cost(img), r)
        image_ms["gradient_cost"].append(t)
        image_ms["canny_edges"].append(timed(lambda: G.canny_edges(img), r)[0])

        for kind, kw in (("gaussian", {"sigma": 10.0}), ("disk", {"radius": 5.0})):
            def add_last():
                inc = G.IncrementalGuidance(shape, kind, **kw)
                for it in list(inter)[:-1]:
                    inc.add(it)
                t0 = time.perf_counter()
                inc.add(inter[-1])
                return 1000 * (time.perf_counter() - t0)

            inc_ms[f"{kind}_add"].append(statistics.median(add_last() for _ in range(r)))
            inc_ms[f"{kind}_full"].append(timed(lambda: G.guidance_maps(inter, shape, kind, **kw), r)[0])

        from skimage.graph import MCP_Geometric

        for positive in (True, False):
            seeds = G.seed_mask(inter, shape, positive=positive)
            t_own, d = timed(lambda: G.geodesic_distance(cost, seeds), r, own_cpu)
            t_ref, ref = timed(lambda: MCP_Geometric(cost).find_costs(list(zip(*np.nonzero(seeds))))[0], r, ref_cpu)
            off = ~seeds
            rel_diffs.append(float(np.max(np.abs(d - ref)[off] / ref[off])))
            own_ms.append(t_own)
            ref_ms.append(t_ref)

    med = lambda xs: round(statistics.median(xs), 2)  # noqa: E731
    geo = {
        "own_ms": med(own_ms),
        "own_max_ms": round(max(own_ms), 2),
        "skimage_ms": med(ref_ms),
        "own_cpu_ms": med(own_cpu),
        "own_cpu_max_ms": round(max(own_cpu), 2),
        "skimage_cpu_ms": med(ref_cpu),
        "max_rel_diff": max(rel_diffs),
        "bars": {"own_ms": 150, "max_rel_diff": 0.01},
        "passes": {"own_ms": med(own_ms) <= 150, "own_cpu_ms": med(own_cpu) <= 150,
                   "max_rel_diff": max(rel_diffs) <= 0.01},
        "n_maps": len(own_ms),
    }
    import scipy
    import skimage

    info = machine_info()
    info.update({"scipy": scipy.__version__, "scikit-image": skimage.__version__})
    result = {
        "image_size": [480, 640],
        "images": [s.name for s in big],
        "clicks": "robot user: object centre (+), background (-), a second object click (+)",
        "maps_ms": {k: med(v) for k, v in maps_ms.items()},
        "image_ms": {k: med(v) for k, v in image_ms.items()},
        "guidance_maps_2ch_ms": {k: med(v) for k, v in two_ch_ms.items()},
        "incremental": {k: round(statistics.median(v), 3) for k, v in inc_ms.items()},
        "geodesic": geo,
        "settings": {"gaussian_sigma": 10.0, "disk_radius": 5.0, "gradient_cost": {"gamma": 150.0, "sigma": 1.0},
                     "exp_geodesic_tau": 100.0, "canny_sigma": 3.0, "repeats": r},
        "machine": info,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
