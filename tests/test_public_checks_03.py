"""Lesson 03: the public checks (what a student's ``grader.check("qN")`` runs) catch plausible-but-wrong
answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer breaks one rule the exercise states (a ValueError on bad input, the return type, shapes,
units, edge cases) or makes a typical slip (off by one, x and y swapped).
"""

from __future__ import annotations

import numpy as np
import pytest
from lesson_checks import assert_wrong_answer_fails, check

LESSON = "03"
QUESTIONS = {"q1": "extreme_points_from_mask", "q2": "box_from_mask", "q3": "scribble_pixels", "q4": "consistent_targets"}  # question -> the function the exercise asks for


def _extremes(mask, pick, swap=False, as_numpy=False, order=(0, 1, 2, 3)):
    m = np.asarray(mask).astype(bool)
    ys, xs = np.nonzero(m)
    if len(xs) == 0:
        raise ValueError("empty mask")
    left = (xs.min(), pick(np.sort(ys[xs == xs.min()])))
    top = (pick(np.sort(xs[ys == ys.min()])), ys.min())
    right = (xs.max(), pick(np.sort(ys[xs == xs.max()])))
    bottom = (pick(np.sort(xs[ys == ys.max()])), ys.max())
    pts = [(left, top, right, bottom)[k] for k in order]
    if swap:
        pts = [(y, x) for x, y in pts]
    return [tuple(v if as_numpy else int(v) for v in p) for p in pts]


def extremes_first_tie(mask):
    return _extremes(mask, lambda v: v[0])                                   # the first tied pixel, not the middle


def extremes_upper_middle(mask):
    return _extremes(mask, lambda v: v[len(v) // 2])                         # index n // 2 instead of (n - 1) // 2


def extremes_mean_of_ties(mask):
    return _extremes(mask, lambda v: int(np.mean(v)))                        # the mean: maybe not an object pixel


def extremes_row_col(mask):
    return _extremes(mask, lambda v: v[(len(v) - 1) // 2], swap=True)        # (row, col) instead of (x, y)


def extremes_numpy_ints(mask):
    return _extremes(mask, lambda v: v[(len(v) - 1) // 2], as_numpy=True)   # np.int64, not Python int


def extremes_top_first(mask):
    return _extremes(mask, lambda v: v[(len(v) - 1) // 2], order=(1, 0, 2, 3))   # top, left, right, bottom


def _box(mask, margin=0, *, check_margin=True, exclusive=False, clip=True, as_numpy=False, yx=False):
    m = np.asarray(mask).astype(bool)
    if check_margin and margin < 0:
        raise ValueError("negative margin")
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if len(rows) == 0:
        raise ValueError("empty mask")
    h, w = m.shape
    x0, y0, x1, y1 = cols[0] - margin, rows[0] - margin, cols[-1] + margin + exclusive, rows[-1] + margin + exclusive
    if clip:
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
    out = (y0, x0, y1, x1) if yx else (x0, y0, x1, y1)
    return tuple(out) if as_numpy else tuple(int(v) for v in out)


def box_exclusive(mask, margin=0):
    return _box(mask, margin, exclusive=True)                                # x1 one past the last column


def box_not_clipped(mask, margin=0):
    return _box(mask, margin, clip=False)


def box_negative_margin_accepted(mask, margin=0):
    return _box(mask, margin, check_margin=False)                            # margin=-1 shrinks the box silently


def box_numpy_ints(mask, margin=0):
    return _box(mask, margin, as_numpy=True)


def box_rows_first(mask, margin=0):
    return _box(mask, margin, yx=True)                                       # (y0, x0, y1, x1)


def _scribble(points, shape, *, to_int=lambda v: int(round(v)), swap=False, check="all", lines=True):
    from skimage.draw import line as draw_line

    h, w = int(shape[0]), int(shape[1])
    pts = [(float(x), float(y)) for x, y in points]
    for x, y in pts:
        bad = (x > w - 1 or y > h - 1) if check == "upper" else not (0 <= x <= w - 1 and 0 <= y <= h - 1)
        if bad:
            raise ValueError("outside")
    out = np.zeros((h, w), bool)
    rc = [(to_int(y), to_int(x)) for x, y in pts]
    if swap:
        rc = [(c, r) for r, c in rc]
    if not lines:
        for r, c in rc:
            out[r, c] = True
        return out
    for (r0, c0), (r1, c1) in zip(rc, rc[1:] or rc):
        rr, cc = draw_line(r0, c0, r1, c1)
        out[rr, cc] = True
    return out


def scribble_truncated(points, shape):
    return _scribble(points, shape, to_int=int)                              # int() truncates 1.6 to 1


def scribble_xy_swapped(points, shape):
    return _scribble(points, shape, swap=True)                               # line(x0, y0, x1, y1): columns as rows


def scribble_upper_bounds_only(points, shape):
    return _scribble(points, shape, check="upper")                           # x = -1 wraps around silently


def scribble_points_only(points, shape):
    return _scribble(points, shape, lines=False)                             # the vertices, not the segments


def _consistent(interactions, candidates, *, box_exclusive=False, click_xy=False, check_types=True,
                boxes=True, names=list, rc=lambda c: c.rc):
    from iseg_course import Box as _Box, Click as _Click

    items = list(interactions)
    if check_types:
        for it in items:
            if not isinstance(it, (_Click, _Box)):
                raise TypeError(type(it).__name__)
    out = []
    for name, mask in candidates.items():
        m = np.asarray(mask, bool)
        ok = True
        for it in items:
            if isinstance(it, _Click):
                r, c = rc(it)
                ok = bool(m[c, r] if click_xy else m[r, c]) == it.positive
            elif isinstance(it, _Box) and boxes:
                inside = np.zeros_like(m)
                if box_exclusive:
                    inside[int(it.y0):int(it.y1), int(it.x0):int(it.x1)] = True
                else:
                    inside[it.slices()] = True
                ok = not (m & ~inside).any()
            if not ok:
                break
        if ok:
            out.append(name)
    return names(out)


def targets_box_exclusive(interactions, candidates):
    return _consistent(interactions, candidates, box_exclusive=True)         # the far corner left out


def targets_click_xy(interactions, candidates):
    return _consistent(interactions, candidates, click_xy=True)             # mask[x, y] instead of mask[row, col]


def targets_boxes_ignored(interactions, candidates):
    return _consistent(interactions, candidates, boxes=False)


def targets_no_type_error(interactions, candidates):
    return _consistent(interactions, candidates, check_types=False)         # a scribble is silently accepted


def targets_sorted(interactions, candidates):
    return _consistent(interactions, candidates, names=sorted)              # alphabetical, not the dict's order


def targets_truncated_click(interactions, candidates):
    return _consistent(interactions, candidates, rc=lambda c: (int(c.y), int(c.x)))   # int() instead of click.rc


WRONG = {
    "q1": [extremes_first_tie, extremes_upper_middle, extremes_mean_of_ties, extremes_row_col, extremes_numpy_ints, extremes_top_first],
    "q2": [box_exclusive, box_not_clipped, box_negative_margin_accepted, box_numpy_ints, box_rows_first],
    "q3": [scribble_truncated, scribble_xy_swapped, scribble_upper_bounds_only, scribble_points_only],
    "q4": [targets_box_exclusive, targets_click_xy, targets_boxes_ignored, targets_no_type_error, targets_sorted, targets_truncated_click],
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
