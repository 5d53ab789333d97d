"""Lesson 04: every exercise's *public* checks (what a student's ``grader.check("qN")`` runs) catch
plausible-but-wrong answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer leaves out one rule that the exercise states or makes a typical slip (x and y swapped, off
by one, sigma instead of sigma squared, a wrong window, a pass or a neighbour left out).
"""

from __future__ import annotations

import math

import numpy as np
from lesson_checks import check_question


def _gaussian(clicks, shape, sigma, *, swap=False, raise_on=lambda s: not s > 0, square=True, combine=np.maximum,
              dtype=np.float32, truncate=None):
    with np.errstate(divide="ignore", invalid="ignore"):  # the answers without the ValueError divide by 0
        return _gaussian_map(clicks, shape, sigma, swap, raise_on, square, combine, dtype, truncate)


def _gaussian_map(clicks, shape, sigma, swap, raise_on, square, combine, dtype, truncate):
    if raise_on(sigma):
        raise ValueError("sigma")
    h, w = shape
    rows, cols = np.mgrid[:h, :w]
    out = np.zeros((h, w))
    for x, y in clicks:
        if swap:
            x, y = y, x
        d2 = (cols - x) ** 2 + (rows - y) ** 2
        g = np.exp(-d2 / (2.0 * (sigma ** 2 if square else sigma)))
        if truncate is not None:
            g[d2 > (truncate * sigma) ** 2] = 0
        out = combine(out, g)
    return out.astype(dtype)


def _paste(heatmap, click, sigma, truncate=4.0, *, combine="max", cut=True, strict_cut=False, clip=True,
           reach_rule=math.floor, swap=False, in_place=True, check_sigma=True, check_click=True, square=True):
    """``paste_gaussian`` with one rule changed (see the keyword arguments)."""
    if check_sigma and not sigma > 0:
        raise ValueError("sigma")
    h, w = heatmap.shape
    x, y = (click[1], click[0]) if swap else click
    if check_click and not (0 <= x < w and 0 <= y < h):
        raise ValueError("click")
    with np.errstate(divide="ignore", invalid="ignore"):
        R = int(reach_rule(truncate * sigma))
    r0, c0 = (max(y - R, 0), max(x - R, 0)) if clip else (y - R, x - R)
    rows, cols = slice(r0, min(y + R + 1, h)), slice(c0, min(x + R + 1, w))
    target = heatmap if in_place else heatmap.copy()
    rr, cc = np.mgrid[max(r0, 0):rows.stop, max(c0, 0):cols.stop]
    d2 = (rr - y) ** 2 + (cc - x) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.exp(-d2 / (2.0 * (sigma ** 2 if square else sigma)))
    if cut:
        g[(d2 >= (truncate * sigma) ** 2) if strict_cut else (d2 > (truncate * sigma) ** 2)] = 0.0
    view = target[rows, cols]
    if view.shape == g.shape:
        if combine == "max":
            target[rows, cols] = np.maximum(view, g)
        elif combine == "sum":
            target[rows, cols] = view + g
        else:
            target[rows, cols] = g
    return rows, cols


def _geo2d(cost, seeds, n_rounds=None, *, neighbours=8, diag_length=math.sqrt(2), step_rule="mean", backward=True,
           until_change=True, honour_rounds=True, dtype=np.float64, no_seed=np.inf):
    """``raster_scan_geodesic`` with one rule changed (see the keyword arguments)."""
    cost = np.asarray(cost, float)
    seeds = np.asarray(seeds, bool)
    h, w = cost.shape
    if not seeds.any():
        return np.full((h, w), no_seed, dtype)
    d = np.where(seeds, 0.0, np.inf)
    fwd = [(0, -1, 1.0), (-1, 0, 1.0)]
    if neighbours == 8:
        fwd += [(-1, -1, diag_length), (-1, 1, diag_length)]
    bwd = [(-a, -b, ln) for a, b, ln in fwd]
    passes = [(range(h), range(w), fwd)] + ([(range(h - 1, -1, -1), range(w - 1, -1, -1), bwd)] if backward else [])
    rounds = n_rounds if honour_rounds else None
    if not until_change and rounds is None:
        rounds = 1
    done = 0
    while rounds is None or done < rounds:
        done += 1
        changed = False
        for rows, cols, nb in passes:
            for i in rows:
                for j in cols:
                    for di, dj, ln in nb:
                        r, c = i + di, j + dj
                        if 0 <= r < h and 0 <= c < w:
                            step = ln * ((cost[i, j] + cost[r, c]) / 2 if step_rule == "mean" else cost[i, j])
                            if d[r, c] + step < d[i, j]:
                                d[i, j] = d[r, c] + step
                                changed = True
        if not changed:
            break
    return d.astype(dtype)


def _geo1d(cost, seeds, *, backward=True, step_rule="mean", dtype=np.float64, no_seed=np.inf):
    cost = np.asarray(cost, float)
    seeds = np.asarray(seeds, bool)
    if not seeds.any():
        return np.full(cost.shape, no_seed, dtype)
    d = np.where(seeds, 0.0, np.inf)
    step = 0.5 * (cost[:-1] + cost[1:]) if step_rule == "mean" else cost[1:]
    for j in range(1, len(d)):
        d[j] = min(d[j], d[j - 1] + step[j - 1])
    if backward:
        for j in range(len(d) - 2, -1, -1):
            d[j] = min(d[j], d[j + 1] + step[j])
    return d.astype(dtype)


def test_lesson04_q1_gaussian_heatmap():
    from iseg_course import guidance as G

    check_question("04", "q1", "gaussian_heatmap", {
        "x and y swapped": lambda c, s, sg: _gaussian(c, s, sg, swap=True),
        "no ValueError": lambda c, s, sg: _gaussian(c, s, sg, raise_on=lambda v: False),
        "ValueError only for sigma == 0": lambda c, s, sg: _gaussian(c, s, sg, raise_on=lambda v: v == 0),
        "sigma instead of sigma squared": lambda c, s, sg: _gaussian(c, s, sg, square=False),
        "sum instead of max over clicks": lambda c, s, sg: _gaussian(c, s, sg, combine=np.add),
        "float64 output": lambda c, s, sg: _gaussian(c, s, sg, dtype=np.float64),
        "truncated at 3 sigma": lambda c, s, sg: _gaussian(c, s, sg, truncate=3.0),
        "the library's map (truncated at 4 sigma)": lambda c, s, sg: G.gaussian_heatmap(c, s, sg),
    })


def test_lesson04_q2_paste_gaussian():
    check_question("04", "q2", "paste_gaussian", {
        "sum instead of max": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate, combine="sum"),
        "window overwritten instead of max": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate, combine="set"),
        "no truncation in the window": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate, cut=False),
        "truncation excludes d == truncate * sigma": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate,
                                                                                          strict_cut=True),
        "window not clipped at the top/left border": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate,
                                                                                          clip=False),
        "R = ceil(truncate * sigma)": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate, reach_rule=math.ceil),
        "R = round(truncate * sigma)": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate, reach_rule=round),
        "x and y swapped": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate, swap=True),
        "a new map instead of in place": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate, in_place=False),
        "no ValueError for sigma <= 0": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate, check_sigma=False),
        "no ValueError for a click outside": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate,
                                                                                  check_click=False),
        "sigma instead of sigma squared": lambda m, c, s, truncate=4.0: _paste(m, c, s, truncate, square=False),
    })


def test_lesson04_q3_geodesic_1d():
    check_question("04", "q3", "geodesic_1d", {
        "forward sweep only": lambda c, s: _geo1d(c, s, backward=False),
        "step costs cost[p + 1], not the mean": lambda c, s: _geo1d(c, s, step_rule="next"),
        "float32 output": lambda c, s: _geo1d(c, s, dtype=np.float32),
        "zeros without a seed": lambda c, s: _geo1d(c, s, no_seed=0.0),
    })


def test_lesson04_q4_raster_scan_geodesic():
    check_question("04", "q4", "raster_scan_geodesic", {
        "4 neighbours only": lambda c, s, n_rounds=None: _geo2d(c, s, n_rounds, neighbours=4),
        "diagonal steps of length 1": lambda c, s, n_rounds=None: _geo2d(c, s, n_rounds, diag_length=1.0),
        "step costs cost[p], not the mean": lambda c, s, n_rounds=None: _geo2d(c, s, n_rounds, step_rule="target"),
        "forward passes only": lambda c, s, n_rounds=None: _geo2d(c, s, n_rounds, backward=False),
        "one round when n_rounds is None": lambda c, s, n_rounds=None: _geo2d(c, s, n_rounds, until_change=False),
        "n_rounds ignored (always until no change)": lambda c, s, n_rounds=None: _geo2d(c, s, n_rounds,
                                                                                       honour_rounds=False),
        "float32 output": lambda c, s, n_rounds=None: _geo2d(c, s, n_rounds, dtype=np.float32),
        "zeros without a seed": lambda c, s, n_rounds=None: _geo2d(c, s, n_rounds, no_seed=0.0),
    })
