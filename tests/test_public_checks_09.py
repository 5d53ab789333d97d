"""Lesson 09: every exercise's *public* checks (what a student's ``grader.check("qN")`` runs) catch
plausible-but-wrong answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer breaks one rule that the exercise states or makes a typical slip (a mean instead of BRS's sum,
labels -1/+1, logits taken for probabilities, the norm instead of the squared norm, scale as the change of the
scale, the last clicks instead of the first).
"""

from __future__ import annotations

import pytest
from lesson_checks import check_question


@pytest.fixture(scope="module")
def one_thread(torch_one_thread):
    yield


# ------------------------------------------------------------------------------------------------ q1
def _energy(probs, clicks, *, reduce="sum", neg_label=0.0, swap=False, power=2, only_positive=False,
            invert=False):
    import numpy as np

    probs = np.asarray(probs, np.float64)
    terms = []
    for c in clicks:
        if only_positive and not c.positive:
            continue
        label = (1.0 if c.positive else neg_label)
        if invert:
            label = 1.0 - label
        p = probs[int(c.x), int(c.y)] if swap else probs[int(c.y), int(c.x)]
        terms.append(abs(label - p) ** power)
    if reduce == "mean":
        return float(np.mean(terms)) if terms else float("nan")
    return float(sum(terms))


def test_lesson09_q1_click_energy():
    check_question("09", "q1", "click_energy", {
        "a mean over the clicks": lambda p, c: _energy(p, c, reduce="mean"),
        "label -1 for a negative click": lambda p, c: _energy(p, c, neg_label=-1.0),
        "probs[x, y] instead of probs[y, x]": lambda p, c: _energy(p, c, swap=True),
        "absolute instead of squared differences": lambda p, c: _energy(p, c, power=1),
        "negative clicks left out": lambda p, c: _energy(p, c, only_positive=True),
        "labels inverted": lambda p, c: _energy(p, c, invert=True),
    })


# ------------------------------------------------------------------------------------------------ q2
def _eg(delta, logits_at_clicks, labels, inertia, *, sigmoid=True, squared=True, reduce="sum",
        inertial_grad="autograd", gdtype="float64", as_torch=False, neg_label=0.0, use_inertia=True):
    import numpy as np
    import torch

    d = torch.from_numpy(np.asarray(delta, np.float32)).requires_grad_(True)
    z = logits_at_clicks(d)
    p = torch.sigmoid(z) if sigmoid else z
    lab = torch.as_tensor(np.asarray(labels), dtype=p.dtype)
    lab = torch.where(lab > 0.5, lab, torch.full_like(lab, neg_label))
    sq = (lab - p) ** 2
    corrective = sq.sum() if reduce == "sum" else sq.mean()
    norm2 = (d ** 2).sum()
    inertial = inertia * (norm2 if squared else torch.sqrt(norm2 + 1e-12))
    if not use_inertia:
        inertial = 0.0 * norm2
    if inertial_grad == "autograd":
        e = corrective + inertial
        (g,) = torch.autograd.grad(e, d)
    else:  # corrective by autograd, the inertial gradient by hand without the factor 2
        (g,) = torch.autograd.grad(corrective, d)
        g = g + inertia * d.detach()
        e = corrective + inertial
    if as_torch:
        return e.detach(), g
    g = g.double().numpy() if gdtype == "float64" else g.numpy()
    return float(e.detach()), g


def test_lesson09_q2_energy_and_gradient(one_thread):
    check_question("09", "q2", "energy_and_gradient", {
        "logits taken as probabilities (no sigmoid)": lambda d, f, l, lam: _eg(d, f, l, lam, sigmoid=False),
        "lambda * ||delta|| (norm, not squared)": lambda d, f, l, lam: _eg(d, f, l, lam, squared=False),
        "a mean over the clicks": lambda d, f, l, lam: _eg(d, f, l, lam, reduce="mean"),
        "inertial gradient lambda * delta (factor 2 missing)": lambda d, f, l, lam: _eg(d, f, l, lam,
                                                                                      inertial_grad="by hand"),
        "gradient left in float32": lambda d, f, l, lam: _eg(d, f, l, lam, gdtype="float32"),
        "torch tensors returned": lambda d, f, l, lam: _eg(d, f, l, lam, as_torch=True),
        "label -1 for a negative click": lambda d, f, l, lam: _eg(d, f, l, lam, neg_label=-1.0),
        "no inertial energy": lambda d, f, l, lam: _eg(d, f, l, lam, use_inertia=False),
    })


# ------------------------------------------------------------------------------------------------ q3
def _sb(features, scale, bias, *, kind="right"):
    import torch

    s, b = scale.view(1, -1, 1, 1), bias.view(1, -1, 1, 1)
    if kind == "delta scale":
        return features * (1 + s) + b
    if kind == "bias scaled":
        return (features + b) * s
    if kind == "last axis":
        return features * scale + bias
    if kind == "in place":
        return features.mul_(s).add_(b)
    if kind == "detached":
        with torch.no_grad():
            return features * s + b
    if kind == "one scale":
        return features * scale.mean() + bias.mean()
    return features * s + b


def test_lesson09_q3_scale_and_bias(one_thread):
    check_question("09", "q3", "scale_and_bias", {
        "scale taken as the change of the scale (1 + s)": lambda f, s, b: _sb(f, s, b, kind="delta scale"),
        "the bias scaled too: s * (F + b)": lambda f, s, b: _sb(f, s, b, kind="bias scaled"),
        "scale and bias along the last axis": lambda f, s, b: _sb(f, s, b, kind="last axis"),
        "the features changed in place": lambda f, s, b: _sb(f, s, b, kind="in place"),
        "computed without gradients": lambda f, s, b: _sb(f, s, b, kind="detached"),
        "one scale and bias for all channels": lambda f, s, b: _sb(f, s, b, kind="one scale"),
    })


# ------------------------------------------------------------------------------------------------ q4
def _split(clicks, network_clicks, *, kind="right"):
    n = len(clicks) if network_clicks is None else min(len(clicks), network_clicks)
    if kind == "last":
        k = len(clicks) - n
        return list(clicks[k:]), list(clicks[:k])
    if kind == "off by one":
        n = max(n - 1, 0) if network_clicks is not None else n
        return list(clicks[:n]), list(clicks[n:])
    if kind == "no check":
        n = len(clicks) if network_clicks is None else max(min(len(clicks), network_clicks), 0)
        return list(clicks[:n]), list(clicks[n:])
    if network_clicks is not None and network_clicks < 1:
        raise ValueError("network_clicks must be >= 1")
    if kind == "none means none":
        n = 0 if network_clicks is None else n
        return list(clicks[:n]), list(clicks[n:])
    if kind == "positives first":
        ordered = sorted(clicks, key=lambda c: not c.positive)
        return ordered[:n], ordered[n:]
    if kind == "tuples":
        return tuple(clicks[:n]), tuple(clicks[n:])
    if kind == "all refine":
        return list(clicks[:n]), list(clicks)
    return list(clicks[:n]), list(clicks[n:])


def test_lesson09_q4_split_clicks():
    check_question("09", "q4", "split_clicks", {
        "the last N clicks into the network": lambda c, n: _split(c, n, kind="last"),
        "N - 1 clicks into the network": lambda c, n: _split(c, n, kind="off by one"),
        "no ValueError for network_clicks = 0": lambda c, n: _split(c, n, kind="no check"),
        "None: no click into the network": lambda c, n: _split(c, n, kind="none means none"),
        "positive clicks first": lambda c, n: _split(c, n, kind="positives first"),
        "tuples instead of lists": lambda c, n: _split(c, n, kind="tuples"),
        "every click in the refinement list": lambda c, n: _split(c, n, kind="all refine"),
    })
