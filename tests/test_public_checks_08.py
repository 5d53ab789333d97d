"""Lesson 08: every exercise's *public* checks (what a student's ``grader.check("qN")`` runs) catch
plausible-but-wrong answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer breaks one rule that the exercise states or makes a typical slip (the mean of the entropies
instead of the entropy of the mean, bits instead of nats, no clipping, ties in pool order, a 0-based click
count, a failed image charged the clicks it recorded instead of the budget).
"""

from __future__ import annotations

import numpy as np
from lesson_checks import check_question

EPS = 1e-7


def _h(q, *, eps=EPS, base=None, one_term=False):
    q = np.asarray(q, dtype=np.float64)
    if eps is not None:
        q = np.clip(q, eps, 1 - eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -q * np.log(q) if one_term else -(q * np.log(q) + (1 - q) * np.log(1 - q))
    return h / np.log(base) if base else h


# ------------------------------------------------------------------------------------------------ q1
def _entropy(probs, *, how="mean-first", eps=EPS, base=None, one_term=False, dtype=np.float32, axis=0):
    p = np.asarray(probs, dtype=np.float64)
    if how == "mean-of-entropies":
        out = _h(p, eps=eps, base=base, one_term=one_term).mean(axis=axis)
    elif how == "variance":
        out = p.var(axis=axis)
    else:
        out = _h(p.mean(axis=axis), eps=eps, base=base, one_term=one_term)
    return out.astype(dtype)


def test_lesson08_q1_entropy_of_mean():
    check_question("08", "q1", "entropy_of_mean", {
        "the mean of the samples' entropies": lambda probs: _entropy(probs, how="mean-of-entropies"),
        "bits (log2) instead of nats": lambda probs: _entropy(probs, base=2),
        "no clipping (NaN at 0 and 1)": lambda probs: _entropy(probs, eps=None),
        "another epsilon (1e-12)": lambda probs: _entropy(probs, eps=1e-12),
        "float64 output": lambda probs: _entropy(probs, dtype=np.float64),
        "only the -q ln q term": lambda probs: _entropy(probs, one_term=True),
        "the variance of the samples": lambda probs: _entropy(probs, how="variance"),
        "averaged over the last axis": lambda probs: _entropy(probs, axis=-1),
    })


# ------------------------------------------------------------------------------------------------ q2
def _bald(probs, *, clip_zero=True, subtract=True, reverse=False, base=None, eps=EPS, dtype=np.float32,
          measure="mi"):
    p = np.asarray(probs, dtype=np.float64)
    if measure == "variance":
        out = p.var(axis=0)
    else:
        h_mean, mean_h = _h(p.mean(axis=0), eps=eps, base=base), _h(p, eps=eps, base=base).mean(axis=0)
        out = (mean_h - h_mean if reverse else h_mean - mean_h) if subtract else h_mean
    if clip_zero:
        out = np.maximum(out, 0.0)
    return out.astype(dtype)


def test_lesson08_q2_bald():
    check_question("08", "q2", "bald", {
        "negative rounding not set to 0": lambda probs: _bald(probs, clip_zero=False),
        "the entropy of the mean alone": lambda probs: _bald(probs, subtract=False),
        "mean entropy minus entropy of the mean": lambda probs: _bald(probs, reverse=True, clip_zero=False),
        "mean entropy minus entropy of the mean, clipped at 0": lambda probs: _bald(probs, reverse=True),
        "bits (log2) instead of nats": lambda probs: _bald(probs, base=2),
        "no clipping of the probabilities (NaN)": lambda probs: _bald(probs, eps=None),
        "float64 output": lambda probs: _bald(probs, dtype=np.float64),
        "the variance of the samples": lambda probs: _bald(probs, measure="variance"),
    })


# ------------------------------------------------------------------------------------------------ q3
def _top(scores, n, seed, *, mode="library", dtype=np.int64, as_list=False):
    a = np.asarray(scores, dtype=np.float64)
    if mode == "ascending":
        perm = np.random.default_rng(seed).permutation(a.size)
        order = perm[np.argsort(a[perm], kind="stable")]
    elif mode == "pool-order":
        order = np.argsort(-a, kind="stable")
    elif mode == "reversed":
        order = np.argsort(a, kind="stable")[::-1]
    elif mode == "global-rng":
        np.random.seed(seed)
        perm = np.random.permutation(a.size)
        order = perm[np.argsort(-a[perm], kind="stable")]
    elif mode == "unstable":
        perm = np.random.default_rng(seed).permutation(a.size)
        order = perm[np.argsort(-a[perm], kind="heapsort")]
    elif mode == "unseeded":
        perm = np.random.default_rng().permutation(a.size)
        order = perm[np.argsort(-a[perm], kind="stable")]
    else:
        perm = np.random.default_rng(seed).permutation(a.size)
        order = perm[np.argsort(-a[perm], kind="stable")]
    out = order[:int(n)].astype(dtype)
    return out.tolist() if as_list else out


def test_lesson08_q3_top_n():
    check_question("08", "q3", "top_n", {
        "lowest scores first": lambda scores, n, seed: _top(scores, n, seed, mode="ascending"),
        "ties in pool order": lambda scores, n, seed: _top(scores, n, seed, mode="pool-order"),
        "ascending order reversed (ties in reverse pool order)": lambda scores, n, seed: _top(scores, n, seed,
                                                                                              mode="reversed"),
        "the legacy global generator np.random.seed": lambda scores, n, seed: _top(scores, n, seed, mode="global-rng"),
        "an unstable sort of the permuted scores": lambda scores, n, seed: _top(scores, n, seed, mode="unstable"),
        "the seed ignored": lambda scores, n, seed: _top(scores, n, seed, mode="unseeded"),
        "int32 indices": lambda scores, n, seed: _top(scores, n, seed, dtype=np.int32),
        "a list instead of an array": lambda scores, n, seed: _top(scores, n, seed, as_list=True),
    })


# ------------------------------------------------------------------------------------------------ q4
def _spent(ious_per_image, target=0.90, max_clicks=20, *, strict=False, zero_based=False, fail="budget",
           window=True, reduce="sum", as_numpy=False):
    costs = []
    for ious in ious_per_image:
        a = np.asarray(ious, dtype=np.float64)
        if window:
            a = a[:max_clicks]
        hit = np.flatnonzero(a > target if strict else a >= target)
        if hit.size:
            costs.append(int(hit[0]) + (0 if zero_based else 1))
        else:
            costs.append(len(ious) if fail == "recorded" else max_clicks)
    if reduce == "mean":
        return float(np.mean(costs)) if costs else 0.0
    total = np.sum(np.asarray(costs, dtype=np.int64))
    return total if as_numpy else int(total)


def test_lesson08_q4_clicks_spent():
    check_question("08", "q4", "clicks_spent", {
        "> instead of >=": lambda ious_per_image, target=0.90, max_clicks=20: _spent(
            ious_per_image, target, max_clicks, strict=True),
        "0-based click number": lambda ious_per_image, target=0.90, max_clicks=20: _spent(
            ious_per_image, target, max_clicks, zero_based=True),
        "a failed image costs its recorded clicks": lambda ious_per_image, target=0.90, max_clicks=20: _spent(
            ious_per_image, target, max_clicks, fail="recorded"),
        "clicks after the budget counted": lambda ious_per_image, target=0.90, max_clicks=20: _spent(
            ious_per_image, target, max_clicks, window=False),
        "the mean instead of the total": lambda ious_per_image, target=0.90, max_clicks=20: _spent(
            ious_per_image, target, max_clicks, reduce="mean"),
        "a NumPy integer instead of a Python int": lambda ious_per_image, target=0.90, max_clicks=20: _spent(
            ious_per_image, target, max_clicks, as_numpy=True),
        "the target fixed at 0.90": lambda ious_per_image, target=0.90, max_clicks=20: _spent(
            ious_per_image, 0.90, max_clicks),
    })
