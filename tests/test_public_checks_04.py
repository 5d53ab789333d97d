"""Lesson 04: every exercise's *public* checks (what a student's ``grader.check("qN")`` runs) catch
plausible-but-wrong answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer leaves out one rule that the exercise states or makes a typical slip (x and y swapped, off
by one, sigma instead of sigma squared).
"""

from __future__ import annotations

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


def _disk(clicks, shape, radius, *, swap=False, strict=False, raise_on=lambda r: not r > 0):
    if raise_on(radius):
        raise ValueError("radius")
    h, w = shape
    rows, cols = np.mgrid[:h, :w]
    out = np.zeros((h, w), bool)
    for x, y in clicks:
        if swap:
            x, y = y, x
        d2 = (cols - x) ** 2 + (rows - y) ** 2
        out |= d2 < radius ** 2 if strict else d2 <= radius ** 2
    return out.astype(np.float32)


def _euclid(clicks, shape, truncate=255.0, *, swap_channels=False, swap_xy=False, cap=True, dtype=np.float32):
    h, w = shape
    rows, cols = np.mgrid[:h, :w]
    out = np.full((2, h, w), float(truncate) if cap else np.inf)
    for c in clicks:
        ch = int(c.positive) if swap_channels else int(not c.positive)
        x, y = (c.y, c.x) if swap_xy else (c.x, c.y)
        out[ch] = np.minimum(out[ch], np.hypot(cols - x, rows - y))
    if not cap:
        out[np.isinf(out)] = truncate
    return out.astype(dtype)


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


def test_lesson04_q2_disk_map():
    check_question("04", "q2", "disk_map", {
        "x and y swapped": lambda c, s, r: _disk(c, s, r, swap=True),
        "boundary excluded (< radius)": lambda c, s, r: _disk(c, s, r, strict=True),
        "no ValueError": lambda c, s, r: _disk(c, s, r, raise_on=lambda v: False),
        "ValueError only for radius < 0": lambda c, s, r: _disk(c, s, r, raise_on=lambda v: v < 0),
        "bool output": lambda c, s, r: _disk(c, s, r).astype(bool),
    })


def test_lesson04_q3_euclidean_channels():
    check_question("04", "q3", "euclidean_channels", {
        "channels swapped": lambda c, s, truncate=255.0: _euclid(c, s, truncate, swap_channels=True),
        "x and y swapped": lambda c, s, truncate=255.0: _euclid(c, s, truncate, swap_xy=True),
        "not capped at truncate": lambda c, s, truncate=255.0: _euclid(c, s, truncate, cap=False),
        "float64 output": lambda c, s, truncate=255.0: _euclid(c, s, truncate, dtype=np.float64),
    })


def test_lesson04_q4_geodesic_1d():
    check_question("04", "q4", "geodesic_1d", {
        "forward sweep only": lambda c, s: _geo1d(c, s, backward=False),
        "step costs cost[p + 1], not the mean": lambda c, s: _geo1d(c, s, step_rule="next"),
        "float32 output": lambda c, s: _geo1d(c, s, dtype=np.float32),
        "zeros without a seed": lambda c, s: _geo1d(c, s, no_seed=0.0),
    })
