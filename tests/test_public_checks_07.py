"""Lesson 07: every exercise's *public* checks (what a student's ``grader.check("qN")`` runs) catch
plausible-but-wrong answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer leaves out one rule that the exercise states or makes a typical slip (x and y swapped, off
by one, sigma instead of sigma squared).
"""

from __future__ import annotations

import numpy as np
import pytest
from lesson_checks import check_question, lesson_env, master_answer, passes


def _noc(ious, target=0.9, max_clicks=20, *, base=1, strict=False, budget=True, never="max", as_type=int):
    values = list(ious)[:max_clicks] if budget else list(ious)
    for k, v in enumerate(values):
        if (v > target) if strict else (v >= target):
            return as_type(k + base)
    return as_type(max_clicks if never == "max" else len(values))


def _click_loop(segmenter, sample, n_clicks=10, *, feed_back="prob", accumulate=True, set_image_each=False,
                threshold=">=", ignore=True, iou_ignore=True, stop=True):
    from iseg_course import Interactions
    from iseg_course.metrics import iou
    from iseg_course.robot import ritm_click

    segmenter.set_image(sample.image)
    interactions = Interactions()
    pred = np.zeros_like(sample.mask, dtype=bool)
    prob = None
    ious = []
    ign = sample.ignore if ignore else None
    for _ in range(n_clicks):
        click = ritm_click(sample.mask, pred, ign, interactions.clicks)
        if click is None and stop:
            break
        if not accumulate:
            interactions = Interactions()
        interactions.add(click)
        if set_image_each:
            segmenter.set_image(sample.image)
        prev = {"prob": prob, "none": None, "mask": None if prob is None else pred.astype(np.float32)}[feed_back]
        prob = segmenter.predict(interactions, prev_mask=prev)
        pred = prob >= 0.5 if threshold == ">=" else prob > 0.5
        ious.append(float(iou(pred, sample.mask, ign if iou_ignore else None)))
    return ious


def _update(model, optimizer, images, labels, n_clicks=10, loss_on="all", *, reduce="mean", honour_loss_on=True,
            zero_grad=True, set_train=False):
    import torch

    from iseg_course.training import segmentation_loss, simulate_training_clicks

    if set_train:
        model.train()
    mode = loss_on if honour_loss_on else "all"
    logits, _, _ = simulate_training_clicks(model, images, labels, n_clicks, grad=mode)
    target = torch.from_numpy(labels).to(next(model.parameters()).device)
    if mode == "last":
        loss = segmentation_loss(logits[-1], target)
    else:
        losses = torch.stack([segmentation_loss(lg, target) for lg in logits])
        loss = losses.mean() if reduce == "mean" else losses.sum()
    if zero_grad:
        optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.item())


@pytest.fixture(scope="module")
def one_thread(torch_one_thread):
    yield


def test_lesson07_q1_noc_from_ious():
    check_question("07", "q1", "noc_from_ious", {
        "0-based index": lambda i, t=0.9, m=20: _noc(i, t, m, base=0),
        "IoU > target instead of >=": lambda i, t=0.9, m=20: _noc(i, t, m, strict=True),
        "the budget ignored": lambda i, t=0.9, m=20: _noc(i, t, m, budget=False),
        "len(ious) when never reached": lambda i, t=0.9, m=20: _noc(i, t, m, never="len"),
        "a float": lambda i, t=0.9, m=20: _noc(i, t, m, as_type=float),
    })


def test_lesson07_q2_iterative_click_loop(one_thread):
    check_question("07", "q2", "iterative_click_loop", {
        "the previous prediction not fed back": lambda s, x, n=10: _click_loop(s, x, n, feed_back="none"),
        "the binary mask fed back instead of the probabilities": lambda s, x, n=10: _click_loop(
            s, x, n, feed_back="mask"),
        "only the newest click passed": lambda s, x, n=10: _click_loop(s, x, n, accumulate=False),
        "set_image before every prediction": lambda s, x, n=10: _click_loop(s, x, n, set_image_each=True),
        "prob > 0.5 instead of >= 0.5": lambda s, x, n=10: _click_loop(s, x, n, threshold=">"),
        "the ignore mask left out": lambda s, x, n=10: _click_loop(s, x, n, ignore=False),
        "the ignore mask left out of the IoU": lambda s, x, n=10: _click_loop(s, x, n, iou_ignore=False),
        "no check for the robot's None (nothing left to click)": lambda s, x, n=10: _click_loop(
            s, x, n, stop=False),
    })


def test_lesson07_q3_update_after_last_click(one_thread):
    check_question("07", "q3", "update_after_last_click", {
        "sum instead of mean over the clicks": lambda *a, **k: _update(*a, **k, reduce="sum"),
        "loss_on ignored (always all clicks)": lambda *a, **k: _update(*a, **k, honour_loss_on=False),
        "no optimizer.zero_grad()": lambda *a, **k: _update(*a, **k, zero_grad=False),
        "model.train() called inside": lambda *a, **k: _update(*a, **k, set_train=True),
    })


def test_lesson07_q4_my_clicks(one_thread):
    from iseg_course import Click

    first = Click(111, 94, True)
    extra = {"FIRST_CLICK": first}
    env = master_answer("07", "my_clicks", lesson_env("07", extra=extra))
    assert passes("07", "q4", env), "lesson 07 q4: the master's clicks fail the public checks"
    wrong = {
        "no correction": [first],
        "the corrections as positive clicks": [first, Click(247, 15, True), Click(138, 126, True),
                                               Click(65, 123, True)],
        "x and y swapped": [first, Click(15, 247, False), Click(126, 138, False), Click(123, 65, False)],
        "one correction only (IoU below 0.85)": [first, Click(138, 126, False)],
        "the first click left out": [Click(247, 15, False), Click(138, 126, False), Click(65, 123, False)],
        "five clicks": [first, Click(247, 15, False), Click(138, 126, False), Click(65, 123, False),
                        Click(60, 20, False)],
    }
    slipped = [label for label, clicks in wrong.items()
               if passes("07", "q4", lesson_env("07", extra={**extra, "my_clicks": clicks}))]
    assert not slipped, f"lesson 07 q4: the public checks let these wrong answers pass: {slipped}"
