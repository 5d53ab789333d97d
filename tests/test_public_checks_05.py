"""Lesson 05: every exercise's *public* checks (what a student's ``grader.check("qN")`` runs) catch
plausible-but-wrong answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer leaves out one rule that the exercise states or makes a typical slip (x and y swapped, off
by one, sigma instead of sigma squared).
"""

from __future__ import annotations

import numpy as np
from lesson_checks import check_question
from scipy import ndimage as ndi

def _ritm(gt, pred, ignore=None, *, pad=True, ties="negative", use_ignore=True, swap=False, as_float=False):
    from iseg_course import Click

    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    valid = np.ones_like(gt) if ignore is None or not use_ignore else ~np.asarray(ignore, bool)
    fn, fp = gt & ~pred & valid, pred & ~gt & valid
    edt = (lambda m: ndi.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]) if pad else ndi.distance_transform_edt
    d_fn, d_fp = edt(fn), edt(fp)
    if d_fn.max() == 0 and d_fp.max() == 0:
        return None
    positive = bool(d_fn.max() > d_fp.max()) if ties == "negative" else bool(d_fn.max() >= d_fp.max())
    d = d_fn if positive else d_fp
    r, c = np.unravel_index(int(np.argmax(d)), d.shape)
    x, y = (int(r), int(c)) if swap else (int(c), int(r))
    return Click(float(x), float(y), positive) if as_float else Click(x, y, positive)


def _dt_prior(gt, pred, ignore=None, power=1.0, *, structure=np.ones((3, 3)), pad=True, use_ignore=True,
              tie="fp", dtype=np.float64):
    from iseg_course import robot as R

    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    valid = np.ones_like(gt) if ignore is None or not use_ignore else ~np.asarray(ignore, bool)
    order = ((pred & ~gt & valid), (gt & ~pred & valid))
    if tie == "fn":
        order = order[::-1]
    best = None
    for region in order:
        labels, n = ndi.label(region, structure=structure)
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel())[1:]
        i = int(np.argmax(sizes))
        if best is None or sizes[i] > best[0]:
            best = (sizes[i], labels == i + 1)
    if best is None:
        return None
    edt = R.interior_distance(best[1]) if pad else ndi.distance_transform_edt(best[1])
    w = edt ** power * best[1]
    return (w / w.sum()).astype(dtype)


def _worst_vertex(polygon, gt, k=1, *, wrap=True, clip=True, sides=(-1, 1), move_all=False):
    from iseg_course import Polygon
    from iseg_course import robot as R

    errors, nearest = R.vertex_errors(polygon, gt)
    if errors.max() == 0:
        return polygon
    v = np.array(polygon.vertices, dtype=float)
    n = len(v)
    i = int(np.argmax(errors))
    idx = range(n) if move_all else sorted({i + s * m for s in sides for m in range(k + 1)})
    for j in idx:
        v[j % n if wrap else j] = nearest[j % n if wrap else j]
    if clip:
        h, w = np.shape(gt)
        v[:, 0] = np.clip(v[:, 0], 0, w - 1)
        v[:, 1] = np.clip(v[:, 1], 0, h - 1)
    return Polygon([tuple(p) for p in v])


def test_lesson05_q1_ritm_next_click():
    check_question("05", "q1", "ritm_next_click", {
        "no 1-pixel padding": lambda g, p, i=None: _ritm(g, p, i, pad=False),
        "ties go to a positive click": lambda g, p, i=None: _ritm(g, p, i, ties="positive"),
        "ignore mask not used": lambda g, p, i=None: _ritm(g, p, i, use_ignore=False),
        "x and y swapped": lambda g, p, i=None: _ritm(g, p, i, swap=True),
        "float coordinates": lambda g, p, i=None: _ritm(g, p, i, as_float=True),
    })


def test_lesson05_q2_dt_prior_map():
    check_question("05", "q2", "dt_prior_map", {
        "4-connected components (ndi.label's default)": lambda g, p, i=None, power=1.0: _dt_prior(
            g, p, i, power, structure=None),
        "EDT without the padding": lambda g, p, i=None, power=1.0: _dt_prior(g, p, i, power, pad=False),
        "ignore mask not used": lambda g, p, i=None, power=1.0: _dt_prior(g, p, i, power, use_ignore=False),
        "a tie goes to the false negatives": lambda g, p, i=None, power=1.0: _dt_prior(g, p, i, power, tie="fn"),
        "float32 output": lambda g, p, i=None, power=1.0: _dt_prior(g, p, i, power, dtype=np.float32),
    })


def test_lesson05_q3_worst_vertex_step():
    def no_wrap(poly, gt, k=1):  # Python's negative indices wrap one side only; i + m runs off the end
        return _worst_vertex(poly, gt, k, wrap=False)

    check_question("05", "q3", "worst_vertex_step", {
        "indices not taken modulo N": no_wrap,
        "no clipping into the image": lambda poly, gt, k=1: _worst_vertex(poly, gt, k, clip=False),
        "neighbours on one side only": lambda poly, gt, k=1: _worst_vertex(poly, gt, k, sides=(1,)),
        "every vertex moved": lambda poly, gt, k=1: _worst_vertex(poly, gt, k, move_all=True),
    })
