"""Lesson 06: every exercise's *public* checks (what a student's ``grader.check("qN")`` runs) catch
plausible-but-wrong answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer leaves out one rule that the exercise states or makes a typical slip (x and y swapped, off
by one, sigma instead of sigma squared).
"""

from __future__ import annotations

import numpy as np
from lesson_checks import check_question


def _noc_nof(seqs, target=0.90, max_clicks=20, *, base=1, strict=False, budget=True, fail_at_cap=False,
             numpy_types=False):
    nocs, failures = [], 0
    for seq in seqs:
        values = list(seq)[:max_clicks] if budget else list(seq)
        hit = [k + base for k, v in enumerate(values) if ((v > target) if strict else (v >= target))]
        nocs.append(hit[0] if hit else max_clicks)
        if not hit or (fail_at_cap and hit[0] >= max_clicks):
            failures += 1
    if numpy_types:
        return np.float64(np.mean(nocs)), np.int64(failures)
    return float(np.mean(nocs)), int(failures)


def _curve(seqs, max_clicks=20, *, pad="last", cut=True, dtype=np.float64, as_list=False):
    rows = []
    for seq in seqs:
        seq = list(seq)[:max_clicks] if cut else list(seq)
        fill = {"last": seq[-1], "zero": 0.0, "nan": np.nan}[pad]
        rows.append(seq + [fill] * (max_clicks - len(seq)))
    if not cut:
        width = max(len(r) for r in rows)
        rows = [r + [r[-1]] * (width - len(r)) for r in rows]
    out = np.nanmean(np.asarray(rows, dtype=np.float64), axis=0).astype(dtype)
    return out.tolist() if as_list else out


def _ci(ious, *, strict=True, denominator="clicks after the first", as_type=float):
    a = np.asarray(ious, dtype=np.float64)
    better = (a[1:] > a[:-1]) if strict else (a[1:] >= a[:-1])
    n = len(a) - 1 if denominator == "clicks after the first" else len(a)
    return as_type(better.sum() / n) if as_type is float else as_type(better.sum())


def _sus(responses, *, first_odd=True, scale=2.5, as_type=float, reverse_even=True):
    r = [int(v) for v in responses]
    odd, even = (r[0::2], r[1::2]) if first_odd else (r[1::2], r[0::2])
    total = sum(v - 1 for v in odd) + sum((5 - v) if reverse_even else (v - 1) for v in even)
    return as_type(scale * total)


def test_lesson06_q1_noc_and_nof():
    check_question("06", "q1", "noc_and_nof", {
        "0-based NoC": lambda s, t=0.9, m=20: _noc_nof(s, t, m, base=0),
        "IoU > target instead of >=": lambda s, t=0.9, m=20: _noc_nof(s, t, m, strict=True),
        "the budget ignored": lambda s, t=0.9, m=20: _noc_nof(s, t, m, budget=False),
        "reaching the target at the last click counted as a failure": lambda s, t=0.9, m=20: _noc_nof(
            s, t, m, fail_at_cap=True),
        "NumPy number types": lambda s, t=0.9, m=20: _noc_nof(s, t, m, numpy_types=True),
    })


def test_lesson06_q2_noc_iou_curve():
    check_question("06", "q2", "noc_iou_curve", {
        "padded with 0": lambda s, m=20: _curve(s, m, pad="zero"),
        "not padded (mean of the images still running)": lambda s, m=20: _curve(s, m, pad="nan"),
        "long sequences not cut": lambda s, m=20: _curve(s, m, cut=False),
        "a list": lambda s, m=20: _curve(s, m, as_list=True),
        "float32": lambda s, m=20: _curve(s, m, dtype=np.float32),
    })


def test_lesson06_q3_consistent_improvement():
    check_question("06", "q3", "consistent_improvement", {
        "an equal IoU counted as an improvement": lambda q: _ci(q, strict=False),
        "divided by the number of clicks": lambda q: _ci(q, denominator="clicks"),
        "the count, not the fraction": lambda q: _ci(q, as_type=int),
    })


def test_lesson06_q4_sus():
    check_question("06", "q4", "sus", {
        "statement 1 taken as an even one": lambda r: _sus(r, first_odd=False),
        "not scaled by 2.5": lambda r: _sus(r, scale=1.0),
        "an int": lambda r: _sus(r, as_type=int),
        "even statements not reversed": lambda r: _sus(r, reverse_even=False),
    })
