"""Lesson 10: every exercise's *public* checks (what a student's ``grader.check("qN")`` runs) catch
plausible-but-wrong answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer breaks one rule that the exercise states or makes a typical slip (x and y swapped, the sines
and cosines interleaved, >= instead of >, the global random generator instead of the one passed in).
"""

from __future__ import annotations

import math

import pytest
from lesson_checks import check_question

POSITIVE, NEGATIVE, PAD = 1, 0, -1


@pytest.fixture(scope="module")
def one_thread(torch_one_thread):
    yield


# ------------------------------------------------------------------------------------------------ q1
def _ff(coords, matrix, *, mapped=True, two_pi=True, order="sin-cos", swap=False):
    import torch

    c = coords.flip(-1) if swap else coords
    v = 2 * c - 1 if mapped else c
    u = (2 * math.pi if two_pi else 1.0) * (v @ matrix)
    s, co = torch.sin(u), torch.cos(u)
    if order == "cos-sin":
        return torch.cat([co, s], dim=-1)
    if order == "interleaved":
        return torch.stack([s, co], dim=-1).flatten(-2)
    return torch.cat([s, co], dim=-1)


def test_lesson10_q1_fourier_features():
    check_question("10", "q1", "fourier_features", {
        "coordinates not mapped to [-1, 1]": lambda c, m: _ff(c, m, mapped=False),
        "no 2 pi": lambda c, m: _ff(c, m, two_pi=False),
        "cosines first": lambda c, m: _ff(c, m, order="cos-sin"),
        "sines and cosines interleaved": lambda c, m: _ff(c, m, order="interleaved"),
        "x and y swapped": lambda c, m: _ff(c, m, swap=True),
        "float64 output": lambda c, m: _ff(c.double(), m.double()),
        "only the first position of a batch": lambda c, m: _ff(c.reshape(-1, 2)[:1], m),
    })


# ------------------------------------------------------------------------------------------------ q2
def _best(losses, ambiguous, *, tokens="1-3", index="token", use_flag=True, reduce="mean", detach=False,
          pick="min", as_long=True):
    import torch

    if tokens == "all":
        best = losses.detach().argmin(1)
    else:
        part = losses[:, 1:].detach()
        best = (part.argmax(1) if pick == "max" else part.argmin(1)) + (1 if index == "token" else 0)
    chosen = torch.where(ambiguous, best, torch.zeros_like(best)) if use_flag else best
    picked = losses[torch.arange(len(losses)), chosen]
    if reduce == "all3":
        loss = losses[:, 1:].mean()
    else:
        loss = picked.mean() if reduce == "mean" else picked.sum()
    if detach:
        loss = loss.detach()
    return (chosen if as_long else chosen.float()), loss


def test_lesson10_q2_best_of_three():
    check_question("10", "q2", "best_of_three", {
        "token 0 allowed for an ambiguous prompt": lambda l, a: _best(l, a, tokens="all"),
        "index 0..2 among the candidates instead of the token index": lambda l, a: _best(l, a, index="candidate"),
        "the ambiguous flag ignored": lambda l, a: _best(l, a, use_flag=False),
        "the largest loss": lambda l, a: _best(l, a, pick="max"),
        "sum instead of mean over the batch": lambda l, a: _best(l, a, reduce="sum"),
        "the mean of all three candidates' losses": lambda l, a: _best(l, a, reduce="all3"),
        "the loss detached": lambda l, a: _best(l, a, detach=True),
        "chosen as floats": lambda l, a: _best(l, a, as_long=False),
    })


# ------------------------------------------------------------------------------------------------ q3
def _sampler(pred, masks, valid, generator, *, swap=False, invert=False, use_valid=True, pad=True,
             rng="generator", mode="uniform", kinds_equal=False):
    import numpy as np
    import torch
    from scipy import ndimage

    b, s, _ = masks.shape
    err = (pred != masks)
    if use_valid:
        err = err & valid
    err = err.reshape(b, -1)
    has = err.any(1)
    if mode == "deepest":  # the robot user's rule: the error pixel farthest from the region's border
        idx = []
        for i in range(b):
            e = err[i].reshape(s, s).numpy()
            d = ndimage.distance_transform_edt(np.pad(e, 1))[1:-1, 1:-1] if e.any() else np.zeros((s, s))
            idx.append(int(np.argmax(d)))
        idx = torch.tensor(idx)
    elif mode == "image":  # a pixel of the whole image, then labelled
        idx = torch.randint(0, s * s, (b,), generator=generator)
    else:
        w = torch.where(has[:, None], err.float(), torch.ones(b, s * s))
        if kinds_equal:  # first the kind of error (FN or FP) with probability 1/2, then uniform within it
            fn = (err & masks.reshape(b, -1)).float()
            fp = (err & ~masks.reshape(b, -1)).float()
            take_fn = torch.rand(b, generator=generator) < 0.5
            w_fn = torch.where(fn.sum(1, keepdim=True) > 0, fn, fp)
            w_fp = torch.where(fp.sum(1, keepdim=True) > 0, fp, fn)
            w = torch.where(has[:, None], torch.where(take_fn[:, None], w_fn, w_fp), w)
        idx = torch.multinomial(w, 1, generator=generator if rng == "generator" else None)[:, 0]
    x, y = idx % s, idx // s
    coords = (torch.stack([y, x], -1) if swap else torch.stack([x, y], -1)).float()[:, None]
    obj = masks.reshape(b, -1).gather(1, idx[:, None])[:, 0]
    if invert:
        obj = ~obj
    labels = torch.where(obj, POSITIVE, NEGATIVE).long()
    if pad:
        labels = torch.where(has, labels, torch.full_like(labels, PAD))
    return coords, labels[:, None]


def test_lesson10_q3_error_region_points(one_thread):
    check_question("10", "q3", "error_region_points", {
        "(row, column) instead of (x, y)": lambda p, m, v, g: _sampler(p, m, v, g, swap=True),
        "labels inverted": lambda p, m, v, g: _sampler(p, m, v, g, invert=True),
        "ignored pixels counted as errors": lambda p, m, v, g: _sampler(p, m, v, g, use_valid=False),
        "no PAD label without errors": lambda p, m, v, g: _sampler(p, m, v, g, pad=False),
        "the global random generator": lambda p, m, v, g: _sampler(p, m, v, g, rng="global"),
        "the deepest error (robot user) instead of a uniform draw": lambda p, m, v, g: _sampler(p, m, v, g,
                                                                                               mode="deepest"),
        "a pixel of the whole image": lambda p, m, v, g: _sampler(p, m, v, g, mode="image"),
        "each kind of error with probability 1/2": lambda p, m, v, g: _sampler(p, m, v, g, kinds_equal=True),
    })


# ------------------------------------------------------------------------------------------------ q4
def _stab(logits, threshold=0.0, offset=1.0, *, strict=True, invert=False, nan=False, use_threshold=True,
          one_sided=False, probs=False, flat=False, dtype="float32"):
    import torch

    t = threshold if use_threshold else 0.0
    z = torch.sigmoid(logits) if probs else logits
    if probs:
        t = 0.5
    hi_t, lo_t = t + offset, (t if one_sided else t - offset)
    dims = tuple(range(z.dim())) if flat else (-2, -1)
    hi = ((z > hi_t) if strict else (z >= hi_t)).sum(dims).float()
    lo = ((z > lo_t) if strict else (z >= lo_t)).sum(dims).float()
    if invert:
        hi, lo = lo, hi
    out = hi / lo if nan else torch.where(lo > 0, hi / lo.clamp(min=1), torch.zeros_like(lo))
    return out.double() if dtype == "float64" else out


def test_lesson10_q4_stability_score():
    check_question("10", "q4", "stability_score", {
        ">= instead of >": lambda z, threshold=0.0, offset=1.0: _stab(z, threshold, offset, strict=False),
        "low / high instead of high / low": lambda z, threshold=0.0, offset=1.0: _stab(z, threshold, offset,
                                                                                       invert=True),
        "NaN for an empty mask": lambda z, threshold=0.0, offset=1.0: _stab(z, threshold, offset, nan=True),
        "the threshold ignored": lambda z, threshold=0.0, offset=1.0: _stab(z, threshold, offset,
                                                                            use_threshold=False),
        "the cut moved up only": lambda z, threshold=0.0, offset=1.0: _stab(z, threshold, offset, one_sided=True),
        "probabilities instead of logits": lambda z, threshold=0.0, offset=1.0: _stab(z, threshold, offset,
                                                                                      probs=True),
        "one score for all masks": lambda z, threshold=0.0, offset=1.0: _stab(z, threshold, offset, flat=True),
        "float64": lambda z, threshold=0.0, offset=1.0: _stab(z, threshold, offset, dtype="float64"),
    })
