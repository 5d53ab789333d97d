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
QUESTIONS = {"q1": "extreme_points_from_mask", "q2": "box_robot", "q3": "scribble_pixels", "q4": "consistent_targets"}  # question -> the function the exercise asks for


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


def _box(gt, margin_px=0.0, max_shift_px=0.0, rng=None, *, exclusive=False, clip=True, check_margin=True,
         check_shift=True, shift_int=lambda v: int(np.floor(v)), draw=None, order=(0, 1, 2, 3), clip_first=False,
         sort=True, widen=True, widen_down_only=False, margin=lambda v: v, as_tuple=False):
    from iseg_course import Box as _Box

    m = np.asarray(gt).astype(bool)
    if (check_margin and margin_px < 0) or (check_shift and max_shift_px < 0):
        raise ValueError("negative size")
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if len(rows) == 0:
        raise ValueError("empty mask")
    h, w = m.shape
    mg, k = margin(margin_px), shift_int(max_shift_px)
    s = draw(rng, k) if draw else np.random.default_rng(rng).integers(-k, k + 1, size=4)
    s = [s[i] for i in order]
    x = [cols[0] - mg, cols[-1] + exclusive + mg]
    y = [rows[0] - mg, rows[-1] + exclusive + mg]
    if clip_first:
        x, y = list(np.clip(x, 0, w - 1)), list(np.clip(y, 0, h - 1))
    x = [x[0] + s[0], x[1] + s[2]]
    y = [y[0] + s[1], y[1] + s[3]]
    if clip:
        x, y = list(np.clip(x, 0, w - 1)), list(np.clip(y, 0, h - 1))
    if sort:
        x, y = sorted(x), sorted(y)
    for v, n in ((x, w), (y, h)):
        if widen and v[1] - v[0] < 1:
            v[:] = (v[1] - 1, v[1]) if widen_down_only or v[0] + 1 > n - 1 else (v[0], v[0] + 1)
    if as_tuple:
        return (float(x[0]), float(y[0]), float(x[1]), float(y[1]))
    return _Box(x[0], y[0], x[1], y[1])


def box_exclusive(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, exclusive=True)                 # x1 one past the last column


def box_not_clipped(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, clip=False)


def box_clipped_before_the_shifts(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, clip_first=True)               # clips the relaxed box, then shifts


def box_negative_margin_accepted(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, check_margin=False)            # margin_px=-1 shrinks the box silently


def box_negative_shift_accepted(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, check_shift=False, shift_int=int)   # int(-0.5) = 0: no error


def box_shift_rounded(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, shift_int=lambda v: int(round(v)))   # 3.9 -> 4, not floor


def box_shift_upper_exclusive(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng,
                draw=lambda r, k: np.random.default_rng(r).integers(-k, k, size=4))      # never shifts by +m


def box_shifts_x0_x1_y0_y1(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, order=(0, 2, 1, 3))             # draws applied as (x0, x1, y0, y1)


def box_legacy_random(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    def draw(r, k):
        np.random.seed(r if isinstance(r, int) else 0)
        return np.random.randint(-k, k + 1, size=4)                               # np.random.seed + randint
    return _box(gt, margin_px, max_shift_px, rng, draw=draw)


def box_generator_reseeded(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    def draw(r, k):                                                               # a Generator is replaced by a fresh one
        return np.random.default_rng(r if not isinstance(r, np.random.Generator) else 0).integers(-k, k + 1, size=4)
    return _box(gt, margin_px, max_shift_px, rng, draw=draw)


def box_margin_truncated(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, margin=int)                     # int(1.5) = 1


def box_sides_not_sorted(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, sort=False)                     # widens crossed sides before Box sorts them


def box_without_area(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, widen=False)                    # a one-pixel object gives Box(5, 5, 5, 5)


def box_widened_downwards(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, widen_down_only=True)           # always x0 = x1 - 1


def box_as_tuple(gt, margin_px=0.0, max_shift_px=0.0, rng=None):
    return _box(gt, margin_px, max_shift_px, rng, as_tuple=True)                  # (x0, y0, x1, y1), not a Box


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
    "q2": [box_exclusive, box_not_clipped, box_clipped_before_the_shifts, box_negative_margin_accepted,
           box_negative_shift_accepted, box_shift_rounded, box_shift_upper_exclusive, box_shifts_x0_x1_y0_y1,
           box_legacy_random, box_generator_reseeded, box_margin_truncated, box_sides_not_sorted, box_without_area,
           box_widened_downwards, box_as_tuple],
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
