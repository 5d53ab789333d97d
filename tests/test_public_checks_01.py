"""Lesson 01: the public checks (what a student's ``grader.check("qN")`` runs) catch plausible-but-wrong
answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer breaks one rule the exercise states (a ValueError on bad input, the return type, shapes,
units, edge cases) or makes a typical slip (off by one, x and y swapped).
"""

from __future__ import annotations

import numpy as np
import pytest
from lesson_checks import assert_wrong_answer_fails, check

LESSON = "01"
QUESTIONS = {"q1": "internal_matrix", "q2": "force_at_points", "q3": "semi_implicit_step", "q4": "mask_from_snake"}  # question -> the function the exercise asks for


def _stencil_matrix(n, diag, off1, off2, cyclic=True):
    A = diag * np.eye(n)
    for k, w in ((1, off1), (2, off2)):
        if cyclic:
            A += w * (np.roll(np.eye(n), k, axis=1) + np.roll(np.eye(n), -k, axis=1))
        else:
            A += w * (np.eye(n, k=k) + np.eye(n, k=-k))
    return A


def matrix_not_cyclic(n, alpha, beta):
    return _stencil_matrix(n, 2 * alpha + 6 * beta, -alpha - 4 * beta, beta, cyclic=False)   # no wrap-around


def matrix_sign_flipped(n, alpha, beta):
    return -_stencil_matrix(n, 2 * alpha + 6 * beta, -alpha - 4 * beta, beta)


def matrix_alpha_beta_swapped(n, alpha, beta):
    return _stencil_matrix(n, 2 * beta + 6 * alpha, -beta - 4 * alpha, alpha)


def matrix_float32(n, alpha, beta):
    return _stencil_matrix(n, 2 * alpha + 6 * beta, -alpha - 4 * beta, beta).astype(np.float32)


def _bilinear(field, x, y):
    h, w = field.shape[:2]
    j = np.clip(np.floor(x).astype(int), 0, w - 2)
    i = np.clip(np.floor(y).astype(int), 0, h - 2)
    a, b = (x - j)[:, None], (y - i)[:, None]
    return ((1 - a) * (1 - b) * field[i, j] + a * (1 - b) * field[i, j + 1]
            + (1 - a) * b * field[i + 1, j] + a * b * field[i + 1, j + 1])


def force_xy_swapped(field, points):
    field, points = np.asarray(field, float), np.asarray(points, float)
    h, w = field.shape[:2]
    return _bilinear(field, np.clip(points[:, 1], 0, w - 1), np.clip(points[:, 0], 0, h - 1))   # (row, col) read as (x, y)


def force_nearest(field, points):
    field, points = np.asarray(field, float), np.asarray(points, float)
    h, w = field.shape[:2]
    x = np.clip(np.rint(points[:, 0]).astype(int), 0, w - 1)
    y = np.clip(np.rint(points[:, 1]).astype(int), 0, h - 1)
    return field[y, x]                                                        # nearest pixel, not bilinear


def force_reads_past_the_edge(field, points):
    field, points = np.asarray(field, float), np.asarray(points, float)
    h, w = field.shape[:2]
    x, y = np.clip(points[:, 0], 0, w - 1), np.clip(points[:, 1], 0, h - 1)
    j, i = np.floor(x).astype(int), np.floor(y).astype(int)                  # x = W - 1 reads column W
    a, b = (x - j)[:, None], (y - i)[:, None]
    return ((1 - a) * (1 - b) * field[i, j] + a * (1 - b) * field[i, j + 1]
            + (1 - a) * b * field[i + 1, j] + a * b * field[i + 1, j + 1])


def force_not_clamped(field, points):
    field, points = np.asarray(field, float), np.asarray(points, float)
    h, w = field.shape[:2]
    x, y = points[:, 0], points[:, 1]                                         # outside points not clamped
    j = np.clip(np.floor(x).astype(int), 0, w - 2)
    i = np.clip(np.floor(y).astype(int), 0, h - 2)
    a, b = (x - j)[:, None], (y - i)[:, None]
    return ((1 - a) * (1 - b) * field[i, j] + a * (1 - b) * field[i, j + 1]
            + (1 - a) * b * field[i + 1, j] + a * b * field[i + 1, j + 1])


def force_float32(field, points):
    points = np.asarray(points, float)
    h, w = np.shape(field)[:2]
    return _bilinear(np.asarray(field, np.float32), np.clip(points[:, 0], 0, w - 1),
                     np.clip(points[:, 1], 0, h - 1)).astype(np.float32)


def step_explicit(snake, A, force, gamma):
    snake = np.asarray(snake, float)
    return snake + (np.asarray(force) - np.asarray(A) @ snake) / gamma       # explicit, not semi-implicit


def step_without_gamma_on_the_right(snake, A, force, gamma):
    snake = np.asarray(snake, float)
    return np.linalg.solve(gamma * np.eye(len(snake)) + A, snake + force)


def step_capped(snake, A, force, gamma):
    snake = np.asarray(snake, float)
    new = np.linalg.solve(gamma * np.eye(len(snake)) + A, gamma * snake + force)
    return snake + np.tanh(new - snake)                                       # scikit-image's 1-pixel move cap


def step_minus_A(snake, A, force, gamma):
    snake = np.asarray(snake, float)
    return np.linalg.solve(gamma * np.eye(len(snake)) - A, gamma * snake + force)


def _inside(snake, px, py):
    from matplotlib.path import Path as _Path
    return _Path(np.asarray(snake, float)).contains_points(np.column_stack([px, py]))


def mask_xy_swapped(snake, shape):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return _inside(snake, yy.ravel(), xx.ravel()).reshape(shape)             # points read as (row, col)


def mask_shape_swapped(snake, shape):
    w, h = shape                                                              # shape read as (W, H)
    yy, xx = np.mgrid[0:h, 0:w]
    return _inside(snake, xx.ravel(), yy.ravel()).reshape(h, w)


def mask_uint8(snake, shape):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return _inside(snake, xx.ravel(), yy.ravel()).reshape(shape).astype(np.uint8)


def mask_pixel_corners(snake, shape):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return _inside(snake, xx.ravel() + 0.5, yy.ravel() + 0.5).reshape(shape)  # centres taken at +0.5


WRONG = {
    "q1": [matrix_not_cyclic, matrix_sign_flipped, matrix_alpha_beta_swapped, matrix_float32],
    "q2": [force_xy_swapped, force_nearest, force_reads_past_the_edge, force_not_clamped, force_float32],
    "q3": [step_explicit, step_without_gamma_on_the_right, step_capped, step_minus_A],
    "q4": [mask_xy_swapped, mask_shape_swapped, mask_uint8, mask_pixel_corners],
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
