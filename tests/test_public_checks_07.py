"""Lesson 07: every exercise's *public* checks (what a student's ``grader.check("qN")`` runs) catch
plausible-but-wrong answers, and the master's own answer (read from ``solutions/``) passes them.

Each wrong answer leaves out one rule that the exercise states or makes a typical slip (x and y swapped, off
by one, sigma instead of sigma squared).
"""

from __future__ import annotations

import numpy as np
import pytest
from lesson_checks import check_question, lesson_env, master_answer, passes


def _ritm_step(model, optimizer, images, labels, max_free_clicks, rng, *, draw="inclusive", rounds="n+1",
               no_grad=True, feed_back="prob", accumulate=True, ignore=True, threshold=">=", loss_on="last",
               zero_grad=True, set_train=False, returns="loss,n"):
    import torch

    from iseg_course.models import click_maps
    from iseg_course.robot import ritm_click
    from iseg_course.training import segmentation_loss

    if set_train:
        model.train()
    n = {"inclusive": lambda: int(rng.integers(0, max_free_clicks + 1)),
         "exclusive": lambda: int(rng.integers(0, max(max_free_clicks, 1))),
         "from 1": lambda: int(rng.integers(1, max_free_clicks + 1)) if max_free_clicks else 0,
         "global": lambda: int(np.random.randint(0, max_free_clicks + 1)),
         "always max": lambda: int(max_free_clicks)}[draw]()
    total = n + 1 if rounds == "n+1" else max(n, 1)
    b, _, s, _ = images.shape
    clicks = [[] for _ in range(b)]
    prev = torch.zeros(b, 1, s, s)
    outputs = []
    for k in range(total):
        for i in range(b):
            pred = prev[i, 0].detach().numpy()
            pred = pred >= 0.5 if threshold == ">=" else pred > 0.5
            click = ritm_click(labels[i] == 1, pred, labels[i] == 2 if ignore else None, clicks[i])
            if click is not None:
                clicks[i] = clicks[i] + [click] if accumulate else [click]
        maps = torch.from_numpy(np.stack([click_maps(c, (s, s)) for c in clicks]))
        x = torch.cat([images, maps, prev], dim=1)
        if k < total - 1:
            if no_grad:
                with torch.no_grad():
                    out = model(x)
            else:
                out = model(x)
            outputs.append(out)
            new = torch.sigmoid(out.detach())
            prev = {"prob": new, "mask": (new >= 0.5).float(), "none": torch.zeros_like(new)}[feed_back]
        else:
            logits = model(x)
            outputs.append(logits)
    target = torch.from_numpy(labels)
    if loss_on == "last":
        loss = segmentation_loss(logits, target)
    else:
        loss = torch.stack([segmentation_loss(o, target) for o in outputs]).mean()
    if zero_grad:
        optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return (float(loss.item()), n) if returns == "loss,n" else (n, float(loss.item()))


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


def test_lesson07_q1_ritm_training_step(one_thread):
    def wrong(**kw):
        return lambda m, o, x, y, mx, r: _ritm_step(m, o, x, y, mx, r, **kw)

    check_question("07", "q1", "ritm_training_step", {
        "n from 0..max_free_clicks - 1 (upper end excluded)": wrong(draw="exclusive"),
        "n from 1..max_free_clicks (never zero free rounds)": wrong(draw="from 1"),
        "n from NumPy's global generator instead of rng": wrong(draw="global"),
        "always max_free_clicks free rounds": wrong(draw="always max"),
        "n passes in all (the graded pass counted among the n)": wrong(rounds="n"),
        "gradients kept in the free rounds": wrong(no_grad=False),
        "gradients in every pass and the loss averaged over them": wrong(no_grad=False, loss_on="all"),
        "the previous prediction not fed back": wrong(feed_back="none"),
        "the binary mask fed back instead of the probabilities": wrong(feed_back="mask"),
        "only the newest click in the maps": wrong(accumulate=False),
        "the ignore mask not passed to the robot": wrong(ignore=False),
        "prev > 0.5 instead of >= 0.5 for the robot": wrong(threshold=">"),
        "no optimizer.zero_grad()": wrong(zero_grad=False),
        "model.train() called inside": wrong(set_train=True),
        "(n, loss) instead of (loss, n)": wrong(returns="n,loss"),
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
