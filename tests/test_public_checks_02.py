"""Lesson 02: the public checks (what a student's ``grader.check("qN")`` runs) catch plausible-but-wrong
answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer breaks one rule the exercise states (a ValueError on bad input, the return type, shapes,
units, edge cases) or makes a typical slip (off by one, x and y swapped).
"""

from __future__ import annotations

import numpy as np
import pytest
from lesson_checks import assert_wrong_answer_fails, check

LESSON = "02"
QUESTIONS = {"q1": "nlink_weight_map", "q2": "tlink_capacities", "q3": "cut_energy", "q4": "min_cut_nx"}  # question -> the function the exercise asks for


def _nlink(image, sigma, dy, dx, *, as_float=True, dist=True, denom=None, reduce=np.sum):
    img = np.asarray(image, np.float64) if as_float else np.asarray(image)
    h, w = img.shape[:2]
    out = np.zeros((h, w), np.float64)
    r1, c_lo, c_hi = h - dy, max(0, -dx), w - max(0, dx)
    diff = img[0:r1, c_lo:c_hi] - img[dy:r1 + dy, c_lo + dx:c_hi + dx]
    denom = 2.0 * sigma ** 2 if denom is None else denom
    out[0:r1, c_lo:c_hi] = np.exp(-reduce(diff.astype(np.float64) ** 2, axis=-1) / denom) / (np.hypot(dy, dx) if dist else 1.0)
    return out


def nlink_uint8(image, sigma, dy, dx):
    return _nlink(image, sigma, dy, dx, as_float=False)                    # uint8 differences wrap around


def nlink_no_distance(image, sigma, dy, dx):
    return _nlink(image, sigma, dy, dx, dist=False)                        # diagonals not divided by sqrt(2)


def nlink_sigma_squared(image, sigma, dy, dx):
    return _nlink(image, sigma, dy, dx, denom=sigma ** 2)                  # exp(-d^2 / sigma^2)


def nlink_channel_mean(image, sigma, dy, dx):
    return _nlink(image, sigma, dy, dx, reduce=np.mean)                    # mean over the channels, not the sum


def nlink_roll(image, sigma, dy, dx):
    img = np.asarray(image, np.float64)
    shifted = np.roll(img, (-dy, -dx), axis=(0, 1))                        # wraps around, border not zeroed
    return np.exp(-np.sum((img - shifted) ** 2, axis=-1) / (2 * sigma ** 2)) / np.hypot(dy, dx)


def nlink_offsets_swapped(image, sigma, dy, dx):
    return _nlink(image, sigma, dx, dy) if dx >= 0 else _nlink(image, sigma, dy, dx)   # (dy, dx) read as (dx, dy)


def _tlinks(r_obj, r_bkg, fg, bg, lam, K):
    fg, bg = np.asarray(fg, bool), np.asarray(bg, bool)
    if np.any(fg & bg):
        raise ValueError("overlap")
    src, snk = lam * np.asarray(r_bkg, np.float64), lam * np.asarray(r_obj, np.float64)
    src[fg], snk[fg] = K, 0.0
    src[bg], snk[bg] = 0.0, K
    return src, snk


def tlinks_in_place(r_obj, r_bkg, fg_seeds, bg_seeds, lam, K):
    fg, bg = fg_seeds, bg_seeds
    fg, bg = np.asarray(fg, bool), np.asarray(bg, bool)
    if np.any(fg & bg):
        raise ValueError("overlap")
    r_bkg *= lam                                                             # modifies the caller's arrays
    r_obj *= lam
    r_bkg[fg], r_obj[fg] = K, 0.0
    r_bkg[bg], r_obj[bg] = 0.0, K
    return r_bkg, r_obj


def tlinks_swapped(r_obj, r_bkg, fg_seeds, bg_seeds, lam, K):
    fg, bg = fg_seeds, bg_seeds
    return _tlinks(r_bkg, r_obj, fg, bg, lam, K)                            # source gets lam * R_obj


def tlinks_seed_one_side(r_obj, r_bkg, fg_seeds, bg_seeds, lam, K):
    fg, bg = fg_seeds, bg_seeds
    fg, bg = np.asarray(fg, bool), np.asarray(bg, bool)
    if np.any(fg & bg):
        raise ValueError("overlap")
    src, snk = lam * np.asarray(r_bkg, np.float64), lam * np.asarray(r_obj, np.float64)
    src[fg] = K                                                             # the seed's other t-link keeps lam * R
    snk[bg] = K
    return src, snk


def tlinks_no_overlap_check(r_obj, r_bkg, fg_seeds, bg_seeds, lam, K):
    fg, bg = fg_seeds, bg_seeds
    src, snk = lam * np.asarray(r_bkg, np.float64), lam * np.asarray(r_obj, np.float64)
    src[fg], snk[fg] = K, 0.0
    src[bg], snk[bg] = 0.0, K
    return src, snk


def tlinks_list(r_obj, r_bkg, fg_seeds, bg_seeds, lam, K):
    fg, bg = fg_seeds, bg_seeds
    return list(_tlinks(r_obj, r_bkg, fg, bg, lam, K))                     # a list, not a tuple


def _energy(mask, src, snk, edges, weights, order="C", edge_factor=1.0, swap=False):
    mask = np.asarray(mask, bool)
    if swap:
        src, snk = snk, src
    flat = mask.ravel(order=order)
    edges = np.asarray(edges)
    e = np.sum(snk[mask]) + np.sum(src[~mask])
    return float(e + edge_factor * np.sum(np.asarray(weights)[flat[edges[:, 0]] != flat[edges[:, 1]]]))


def energy_swapped_caps(mask, source_caps, sink_caps, edges, weights):
    return _energy(mask, source_caps, sink_caps, edges, weights, swap=True)   # object pixels pay source_caps


def energy_edges_twice(mask, source_caps, sink_caps, edges, weights):
    return _energy(mask, source_caps, sink_caps, edges, weights, edge_factor=2.0)   # p -> q and q -> p both counted


def energy_column_major(mask, source_caps, sink_caps, edges, weights):
    return _energy(mask, source_caps, sink_caps, edges, weights, order="F")  # p = c * H + r


def _min_cut(src, snk, edges, weights, *, both=True, order="C", flat=False, nx_cut=False):
    import networkx as nx
    h, w = np.shape(src)
    G = nx.DiGraph()
    G.add_nodes_from(["S", "T"])
    G.add_nodes_from(range(h * w))
    for p, (cs, ct) in enumerate(zip(np.ravel(src, order=order).tolist(), np.ravel(snk, order=order).tolist())):
        G.add_edge("S", p, capacity=cs)
        G.add_edge(p, "T", capacity=ct)
    for (p, q), b in zip(np.asarray(edges).tolist(), np.asarray(weights).tolist()):
        G.add_edge(p, q, capacity=b)
        if both:
            G.add_edge(q, p, capacity=b)
    if nx_cut:
        value, (side, _) = nx.minimum_cut(G, "S", "T")
    else:
        value, flow = nx.maximum_flow(G, "S", "T")

        def residual(u, v):
            cap = G[u][v]["capacity"] if G.has_edge(u, v) else 0.0
            return cap - flow[u].get(v, 0.0) + flow[v].get(u, 0.0)

        tol = 1e-9 * max(1.0, float(np.max(src)), float(np.max(snk)))
        side, stack = {"S"}, ["S"]
        while stack:
            u = stack.pop()
            for v in set(G.successors(u)) | set(G.predecessors(u)):
                if v not in side and residual(u, v) > tol:
                    side.add(v)
                    stack.append(v)
    mask = np.zeros(h * w, bool)
    mask[[p for p in side if p not in ("S", "T")]] = True
    return float(value), (mask if flat else mask.reshape((h, w), order=order))


def min_cut_one_direction(source_caps, sink_caps, edges, weights):
    return _min_cut(source_caps, sink_caps, edges, weights, both=False)     # only p -> q for each n-link


def min_cut_flat_mask(source_caps, sink_caps, edges, weights):
    return _min_cut(source_caps, sink_caps, edges, weights, flat=True)      # (H*W,) instead of (H, W)


def min_cut_column_major(source_caps, sink_caps, edges, weights):
    return _min_cut(source_caps, sink_caps, edges, weights, order="F")      # pixels numbered column by column


def min_cut_nx_minimum_cut(source_caps, sink_caps, edges, weights):
    return _min_cut(source_caps, sink_caps, edges, weights, nx_cut=True)    # the exact flow == capacity test


WRONG = {
    "q1": [nlink_uint8, nlink_no_distance, nlink_sigma_squared, nlink_channel_mean, nlink_roll, nlink_offsets_swapped],
    "q2": [tlinks_in_place, tlinks_swapped, tlinks_seed_one_side, tlinks_no_overlap_check, tlinks_list],
    "q3": [energy_swapped_caps, energy_edges_twice, energy_column_major],
    "q4": [min_cut_one_direction, min_cut_flat_mask, min_cut_column_major, min_cut_nx_minimum_cut],
}


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_master_answer_passes_the_public_checks(question):
    assert check(LESSON, question, QUESTIONS[question], "master"), \
        f"lesson {LESSON} {question}: the master's solution fails the public checks"


@pytest.mark.parametrize("question, wrong", [(q, w) for q, ws in WRONG.items() for w in ws],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_plausible_wrong_answer_fails_the_public_checks(question, wrong):
    assert_wrong_answer_fails(LESSON, question, QUESTIONS[question], wrong)


def test_every_question_has_wrong_answers():
    assert set(WRONG) == set(QUESTIONS), sorted(set(QUESTIONS) - set(WRONG))
