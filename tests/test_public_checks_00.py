"""Lesson 00: the public checks (what a student's ``grader.check("qN")`` runs) catch plausible-but-wrong
answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer breaks one rule the exercise states (a ValueError on bad input, the return type, shapes,
units, edge cases) or makes a typical slip (off by one, x and y swapped).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from lesson_checks import assert_wrong_answer_fails, check

LESSON = "00"
QUESTIONS = {"q1": "annotation_hours", "q2": "iou_with_ignore", "q3": "clicks_to_reach", "q4": "dice_from_iou"}  # question -> the function the exercise asks for


def _hours_checked(n_objects, noc, s_per_click, t_check):
    values = [float(v) for v in (n_objects, noc, s_per_click, t_check)]
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError("bad input")
    return values


def hours_without_checks(n_objects, noc, s_per_click, t_check):
    return float(n_objects) * (noc * s_per_click + t_check) / 3600    # the ValueError rules left out


def hours_nan_slips_through(n_objects, noc, s_per_click, t_check):
    if n_objects < 0 or noc < 0 or s_per_click < 0 or t_check < 0:    # NaN and inf pass these tests
        raise ValueError("negative input")
    return float(n_objects) * (noc * s_per_click + t_check) / 3600


def hours_in_seconds(n_objects, noc, s_per_click, t_check):
    n, k, s, t = _hours_checked(n_objects, noc, s_per_click, t_check)
    return n * (k * s + t)                                            # seconds, not hours


def hours_in_minutes(n_objects, noc, s_per_click, t_check):
    n, k, s, t = _hours_checked(n_objects, noc, s_per_click, t_check)
    return n * (k * s + t) / 60                                       # minutes, not hours


def hours_check_per_click(n_objects, noc, s_per_click, t_check):
    n, k, s, t = _hours_checked(n_objects, noc, s_per_click, t_check)
    return n * k * (s + t) / 3600                                     # the check paid after every click


def hours_without_check(n_objects, noc, s_per_click, t_check):
    n, k, s, t = _hours_checked(n_objects, noc, s_per_click, t_check)
    return n * k * s / 3600                                           # t_check left out


def hours_whole_clicks(n_objects, noc, s_per_click, t_check):
    n, k, s, t = _hours_checked(n_objects, noc, s_per_click, t_check)
    return n * (math.ceil(k) * s + t) / 3600                          # a mean NoC rounded up to whole clicks


def hours_rejects_zero(n_objects, noc, s_per_click, t_check):
    if not all(math.isfinite(v) and v > 0 for v in (n_objects, noc, s_per_click, t_check)):
        raise ValueError("bad input")                                 # 0 rejected, although it is valid
    return float(n_objects) * (noc * s_per_click + t_check) / 3600


def hours_int(n_objects, noc, s_per_click, t_check):
    n, k, s, t = _hours_checked(n_objects, noc, s_per_click, t_check)
    return round(n * (k * s + t) / 3600)                              # an int


def iou_without_checks(pred, gt, ignore=None):
    keep = np.ones(np.shape(gt), bool) if ignore is None else ~np.asarray(ignore, bool)
    p, g = np.asarray(pred, bool) & keep, np.asarray(gt, bool) & keep
    with np.errstate(invalid="ignore", divide="ignore"):
        return float((p & g).sum() / (p | g).sum())           # no ValueError: nan for an empty ground truth


def iou_ignore_on_pred_only(pred, gt, ignore=None):
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape or not gt.any():
        raise ValueError("bad input")
    if ignore is not None:
        pred = pred & ~np.asarray(ignore, bool)               # the ground truth keeps its ignored pixels
    return float((pred & gt).sum() / (pred | gt).sum())


def iou_ignoring_ignore(pred, gt, ignore=None):
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape or not gt.any():
        raise ValueError("bad input")
    return float((pred & gt).sum() / (pred | gt).sum())       # ignore left out


def iou_is_dice(pred, gt, ignore=None):
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape or not gt.any():
        raise ValueError("bad input")
    keep = np.ones(gt.shape, bool) if ignore is None else ~np.asarray(ignore, bool)
    p, g = pred & keep, gt & keep
    if not g.any():
        raise ValueError("bad input")
    return float(2 * (p & g).sum() / (p.sum() + g.sum()))    # Dice, not IoU


def noc_off_by_one(ious, target=0.85, max_clicks=20):
    for k, v in enumerate(list(ious)[:max_clicks]):
        if v >= target:
            return k                                          # the index, not the number of clicks
    return max_clicks


def noc_strict(ious, target=0.85, max_clicks=20):
    for k, v in enumerate(list(ious)[:max_clicks]):
        if v > target:                                        # reaching the target exactly does not count
            return k + 1
    return max_clicks


def noc_no_budget(ious, target=0.85, max_clicks=20):
    for k, v in enumerate(ious):                              # values beyond the budget count too
        if v >= target:
            return k + 1
    return max_clicks


def noc_len(ious, target=0.85, max_clicks=20):
    for k, v in enumerate(list(ious)[:max_clicks]):
        if v >= target:
            return k + 1
    return len(ious)                                          # not reached: the clicks made, not the budget


def noc_20(ious, target=0.85, max_clicks=20):
    for k, v in enumerate(list(ious)[:max_clicks]):
        if v >= target:
            return k + 1
    return 20                                                 # the default budget, whatever max_clicks says


def dice_inverse(j):
    return j / (2 - j)                                        # IoU from Dice: the formula the wrong way round


def dice_scalar_only(j):
    j = float(j)                                              # fails on arrays
    return 2 * j / (1 + j)


def dice_branch(j):
    if j == 0:                                                # a Python branch: ambiguous on arrays
        return 0.0
    return 2 * j / (1 + j)


WRONG = {
    "q1": [hours_without_checks, hours_nan_slips_through, hours_in_seconds, hours_in_minutes, hours_check_per_click,
           hours_without_check, hours_whole_clicks, hours_rejects_zero, hours_int],
    "q2": [iou_without_checks, iou_ignore_on_pred_only, iou_ignoring_ignore, iou_is_dice],
    "q3": [noc_off_by_one, noc_strict, noc_no_budget, noc_len, noc_20],
    "q4": [dice_inverse, dice_scalar_only, dice_branch],
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
