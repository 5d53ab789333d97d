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


def _tlx(ratings, choices, *, reverse_performance=False, tally="picked", divide=15, check_pairs=True,
         raw_as_sum=False):
    from iseg_course.metrics import TLX_PAIRS, TLX_SCALES

    choices = list(choices)
    if len(choices) != 15:
        raise ValueError("15 choices")
    if check_pairs and any(c not in pair for pair, c in zip(TLX_PAIRS, choices)):
        raise ValueError("a choice outside its pair")
    r = {s: float(ratings[s]) for s in TLX_SCALES}
    if reverse_performance:
        r["performance"] = 100 - r["performance"]
    if tally == "picked":
        w = {s: choices.count(s) for s in TLX_SCALES}
    else:  # the scale *not* picked in each pair
        lost = [b if c == a else a for (a, b), c in zip(TLX_PAIRS, choices)]
        w = {s: lost.count(s) for s in TLX_SCALES}
    raw = sum(r.values()) if raw_as_sum else sum(r.values()) / 6
    return float(raw), float(sum(w[s] * r[s] for s in TLX_SCALES) / divide)


def _sus_ci(sus_a, sus_b, n_resamples=10000, confidence=0.95, seed=0, *, sign=1, paired=True, fixed_level=None,
            one_sided=False, fixed_n=None, seeded=True, check_lengths=True, normal=False):
    a, b = np.asarray(sus_a, dtype=np.float64), np.asarray(sus_b, dtype=np.float64)
    if check_lengths and (len(a) != len(b) or len(a) < 2):
        raise ValueError("same n >= 2")
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    d = sign * (b - a)
    rng = np.random.default_rng(seed if seeded else None)
    n_res = fixed_n or n_resamples
    if paired:
        means = d[rng.integers(0, n, size=(n_res, n))].mean(axis=1)
    else:
        means = sign * (b[rng.integers(0, n, size=(n_res, n))].mean(axis=1) - a[rng.integers(0, n, size=(n_res, n))].mean(axis=1))
    alpha = 1 - (fixed_level or confidence)
    if normal:
        se = d.std(ddof=1) / np.sqrt(n)
        return float(d.mean()), float(d.mean() - 1.96 * se), float(d.mean() + 1.96 * se)
    q = [100 * alpha, 100 * (1 - alpha)] if one_sided else [100 * alpha / 2, 100 * (1 - alpha / 2)]
    low, high = np.percentile(means, q)
    return float(d.mean()), float(low), float(high)


def _q4_master(name: str):
    """The master's version of one of q4's two functions (the public checks of q4 test both)."""
    from lesson_checks import master_solution

    from iseg_course import metrics

    env = {"np": np, "metrics": metrics}
    exec(compile(master_solution("06", name), "<master 06 q4>", "exec"), env)  # noqa: S102 - our own master
    return env[name]


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


def test_lesson06_q4_tlx_scores():
    check_question("06", "q4", "tlx_scores", {
        "performance reversed (100 - rating)": lambda r, c: _tlx(r, c, reverse_performance=True),
        "weights tallied for the scale not picked": lambda r, c: _tlx(r, c, tally="lost"),
        "weighted TLX divided by 6 instead of 15": lambda r, c: _tlx(r, c, divide=6),
        "raw TLX as the sum of the ratings": lambda r, c: _tlx(r, c, raw_as_sum=True),
        "picks not checked against their pairs": lambda r, c: _tlx(r, c, check_pairs=False),
        "a dict instead of a tuple": lambda r, c: dict(zip(("raw", "weighted"), _tlx(r, c))),
    }, extra={"sus_difference_ci": _q4_master("sus_difference_ci")})


def test_lesson06_q4_sus_difference_ci():
    check_question("06", "q4", "sus_difference_ci", {
        "A minus B": lambda a, b, n_resamples=10000, confidence=0.95, seed=0: _sus_ci(
            a, b, n_resamples, confidence, seed, sign=-1),
        "unpaired (the two lists resampled independently)": lambda a, b, n_resamples=10000, confidence=0.95, seed=0:
            _sus_ci(a, b, n_resamples, confidence, seed, paired=False),
        "the confidence level ignored (always 95 %)": lambda a, b, n_resamples=10000, confidence=0.95, seed=0:
            _sus_ci(a, b, n_resamples, confidence, seed, fixed_level=0.95),
        "percentiles alpha and 1 - alpha": lambda a, b, n_resamples=10000, confidence=0.95, seed=0: _sus_ci(
            a, b, n_resamples, confidence, seed, one_sided=True),
        "n_resamples ignored (always 10,000)": lambda a, b, n_resamples=10000, confidence=0.95, seed=0: _sus_ci(
            a, b, n_resamples, confidence, seed, fixed_n=10000),
        "the seed not used": lambda a, b, n_resamples=10000, confidence=0.95, seed=0: _sus_ci(
            a, b, n_resamples, confidence, seed, seeded=False),
        "lists of different lengths cut to the shorter": lambda a, b, n_resamples=10000, confidence=0.95, seed=0:
            _sus_ci(a, b, n_resamples, confidence, seed, check_lengths=False),
        "a normal-approximation interval (mean +- 1.96 standard errors)":
            lambda a, b, n_resamples=10000, confidence=0.95, seed=0: _sus_ci(a, b, n_resamples, confidence, seed,
                                                                               normal=True),
    }, extra={"tlx_scores": _q4_master("tlx_scores")})
