"""Lessons 04-07: every exercise's *public* checks (what a student's ``grader.check("qN")`` runs) catch
plausible-but-wrong answers, and the master's own answer passes them.

Each wrong answer leaves out one rule that the exercise states (a ValueError, a dtype, the 1-pixel padding,
the ignore mask, indices modulo N, the previous prediction fed back, ...) or makes a typical slip (x and y
swapped, off by one, sigma instead of sigma squared). The master's answer is taken from
``solutions/NN_name.ipynb`` itself, so the test follows the master when it changes.
"""

from __future__ import annotations


import nbformat
import numpy as np
import pytest
from lesson_checks import REPO, lesson_env, public_check
from scipy import ndimage as ndi

SOLUTIONS = REPO / "solutions"


def master_answer(lesson: str, name: str, env: dict) -> dict:
    """Run the master's solution cell that defines ``name`` (``def name(`` or ``name =``) in ``env``."""
    path = sorted(SOLUTIONS.glob(f"{lesson}*.ipynb"))[0]
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and (f"def {name}(" in cell.source or cell.source.startswith(f"{name} =")):
            exec(compile(cell.source, f"<{path.name}: {name}>", "exec"), env)  # noqa: S102 - our own master
            return env
    raise LookupError(f"no solution cell defining {name} in {path.name}")


def passes(lesson: str, question: str, env: dict) -> bool:
    return bool(public_check(lesson, question, env).passed_all)


def check_question(lesson: str, question: str, name: str, wrong: dict, *, cells: int = 3, extra: dict | None = None):
    """The master's ``name`` passes ``question``'s public checks; every answer in ``wrong`` fails them."""
    env = master_answer(lesson, name, lesson_env(lesson, cells=cells, extra=extra))
    assert passes(lesson, question, env), f"lesson {lesson} {question}: the master's answer fails the public checks"
    slipped = [label for label, answer in wrong.items()
               if passes(lesson, question, lesson_env(lesson, cells=cells, extra={**(extra or {}), name: answer}))]
    assert not slipped, f"lesson {lesson} {question}: the public checks let these wrong answers pass: {slipped}"


# ------------------------------------------------------------------------------------------------ lesson 04
def _gaussian(clicks, shape, sigma, *, swap=False, raise_on=lambda s: not s > 0, square=True, combine=np.maximum,
              dtype=np.float32, truncate=None):
    with np.errstate(divide="ignore", invalid="ignore"):  # the answers without the ValueError divide by 0
        return _gaussian_map(clicks, shape, sigma, swap, raise_on, square, combine, dtype, truncate)


def _gaussian_map(clicks, shape, sigma, swap, raise_on, square, combine, dtype, truncate):
    if raise_on(sigma):
        raise ValueError("sigma")
    h, w = shape
    rows, cols = np.mgrid[:h, :w]
    out = np.zeros((h, w))
    for x, y in clicks:
        if swap:
            x, y = y, x
        d2 = (cols - x) ** 2 + (rows - y) ** 2
        g = np.exp(-d2 / (2.0 * (sigma ** 2 if square else sigma)))
        if truncate is not None:
            g[d2 > (truncate * sigma) ** 2] = 0
        out = combine(out, g)
    return out.astype(dtype)


def _disk(clicks, shape, radius, *, swap=False, strict=False, raise_on=lambda r: not r > 0):
    if raise_on(radius):
        raise ValueError("radius")
    h, w = shape
    rows, cols = np.mgrid[:h, :w]
    out = np.zeros((h, w), bool)
    for x, y in clicks:
        if swap:
            x, y = y, x
        d2 = (cols - x) ** 2 + (rows - y) ** 2
        out |= d2 < radius ** 2 if strict else d2 <= radius ** 2
    return out.astype(np.float32)


def _euclid(clicks, shape, truncate=255.0, *, swap_channels=False, swap_xy=False, cap=True, dtype=np.float32):
    h, w = shape
    rows, cols = np.mgrid[:h, :w]
    out = np.full((2, h, w), float(truncate) if cap else np.inf)
    for c in clicks:
        ch = int(c.positive) if swap_channels else int(not c.positive)
        x, y = (c.y, c.x) if swap_xy else (c.x, c.y)
        out[ch] = np.minimum(out[ch], np.hypot(cols - x, rows - y))
    if not cap:
        out[np.isinf(out)] = truncate
    return out.astype(dtype)


def _geo1d(cost, seeds, *, backward=True, step_rule="mean", dtype=np.float64, no_seed=np.inf):
    cost = np.asarray(cost, float)
    seeds = np.asarray(seeds, bool)
    if not seeds.any():
        return np.full(cost.shape, no_seed, dtype)
    d = np.where(seeds, 0.0, np.inf)
    step = 0.5 * (cost[:-1] + cost[1:]) if step_rule == "mean" else cost[1:]
    for j in range(1, len(d)):
        d[j] = min(d[j], d[j - 1] + step[j - 1])
    if backward:
        for j in range(len(d) - 2, -1, -1):
            d[j] = min(d[j], d[j + 1] + step[j])
    return d.astype(dtype)


def test_lesson04_q1_gaussian_heatmap():
    from iseg_course import guidance as G

    check_question("04", "q1", "gaussian_heatmap", {
        "x and y swapped": lambda c, s, sg: _gaussian(c, s, sg, swap=True),
        "no ValueError": lambda c, s, sg: _gaussian(c, s, sg, raise_on=lambda v: False),
        "ValueError only for sigma == 0": lambda c, s, sg: _gaussian(c, s, sg, raise_on=lambda v: v == 0),
        "sigma instead of sigma squared": lambda c, s, sg: _gaussian(c, s, sg, square=False),
        "sum instead of max over clicks": lambda c, s, sg: _gaussian(c, s, sg, combine=np.add),
        "float64 output": lambda c, s, sg: _gaussian(c, s, sg, dtype=np.float64),
        "truncated at 3 sigma": lambda c, s, sg: _gaussian(c, s, sg, truncate=3.0),
        "the library's map (truncated at 4 sigma)": lambda c, s, sg: G.gaussian_heatmap(c, s, sg),
    })


def test_lesson04_q2_disk_map():
    check_question("04", "q2", "disk_map", {
        "x and y swapped": lambda c, s, r: _disk(c, s, r, swap=True),
        "boundary excluded (< radius)": lambda c, s, r: _disk(c, s, r, strict=True),
        "no ValueError": lambda c, s, r: _disk(c, s, r, raise_on=lambda v: False),
        "ValueError only for radius < 0": lambda c, s, r: _disk(c, s, r, raise_on=lambda v: v < 0),
        "bool output": lambda c, s, r: _disk(c, s, r).astype(bool),
    })


def test_lesson04_q3_euclidean_channels():
    check_question("04", "q3", "euclidean_channels", {
        "channels swapped": lambda c, s, truncate=255.0: _euclid(c, s, truncate, swap_channels=True),
        "x and y swapped": lambda c, s, truncate=255.0: _euclid(c, s, truncate, swap_xy=True),
        "not capped at truncate": lambda c, s, truncate=255.0: _euclid(c, s, truncate, cap=False),
        "float64 output": lambda c, s, truncate=255.0: _euclid(c, s, truncate, dtype=np.float64),
    })


def test_lesson04_q4_geodesic_1d():
    check_question("04", "q4", "geodesic_1d", {
        "forward sweep only": lambda c, s: _geo1d(c, s, backward=False),
        "step costs cost[p + 1], not the mean": lambda c, s: _geo1d(c, s, step_rule="next"),
        "float32 output": lambda c, s: _geo1d(c, s, dtype=np.float32),
        "zeros without a seed": lambda c, s: _geo1d(c, s, no_seed=0.0),
    })


# ------------------------------------------------------------------------------------------------ lesson 05
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


# ------------------------------------------------------------------------------------------------ lesson 07
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


# ------------------------------------------------------------------------------------------------ lesson 06
def _noc_nof(seqs, target=0.90, max_clicks=20, *, base=1, strict=False, budget=True, fail_at_cap=False,
             numpy_types=False):
    nocs, failures = [], 0
    for seq in seqs:
        values = list(seq)[:max_clicks] if budget else list(seq)
        hit = [k + base for k, v in enumerate(values) if ((v > target) if strict else (v >= target))]
        nocs.append(hit[0] if hit else max_clicks)
        if not hit or (fail_at_cap and hit[0] >= max_clicks):
            failures += 1
    if numpy_types:
        return np.float64(np.mean(nocs)), np.int64(failures)
    return float(np.mean(nocs)), int(failures)


def _curve(seqs, max_clicks=20, *, pad="last", cut=True, dtype=np.float64, as_list=False):
    rows = []
    for seq in seqs:
        seq = list(seq)[:max_clicks] if cut else list(seq)
        fill = {"last": seq[-1], "zero": 0.0, "nan": np.nan}[pad]
        rows.append(seq + [fill] * (max_clicks - len(seq)))
    if not cut:
        width = max(len(r) for r in rows)
        rows = [r + [r[-1]] * (width - len(r)) for r in rows]
    out = np.nanmean(np.asarray(rows, dtype=np.float64), axis=0).astype(dtype)
    return out.tolist() if as_list else out


def _ci(ious, *, strict=True, denominator="clicks after the first", as_type=float):
    a = np.asarray(ious, dtype=np.float64)
    better = (a[1:] > a[:-1]) if strict else (a[1:] >= a[:-1])
    n = len(a) - 1 if denominator == "clicks after the first" else len(a)
    return as_type(better.sum() / n) if as_type is float else as_type(better.sum())


def _sus(responses, *, first_odd=True, scale=2.5, as_type=float, reverse_even=True):
    r = [int(v) for v in responses]
    odd, even = (r[0::2], r[1::2]) if first_odd else (r[1::2], r[0::2])
    total = sum(v - 1 for v in odd) + sum((5 - v) if reverse_even else (v - 1) for v in even)
    return as_type(scale * total)


def test_lesson06_q1_noc_and_nof():
    check_question("06", "q1", "noc_and_nof", {
        "0-based NoC": lambda s, t=0.9, m=20: _noc_nof(s, t, m, base=0),
        "IoU > target instead of >=": lambda s, t=0.9, m=20: _noc_nof(s, t, m, strict=True),
        "the budget ignored": lambda s, t=0.9, m=20: _noc_nof(s, t, m, budget=False),
        "reaching the target at the last click counted as a failure": lambda s, t=0.9, m=20: _noc_nof(
            s, t, m, fail_at_cap=True),
        "NumPy number types": lambda s, t=0.9, m=20: _noc_nof(s, t, m, numpy_types=True),
    })


def test_lesson06_q2_noc_iou_curve():
    check_question("06", "q2", "noc_iou_curve", {
        "padded with 0": lambda s, m=20: _curve(s, m, pad="zero"),
        "not padded (mean of the images still running)": lambda s, m=20: _curve(s, m, pad="nan"),
        "long sequences not cut": lambda s, m=20: _curve(s, m, cut=False),
        "a list": lambda s, m=20: _curve(s, m, as_list=True),
        "float32": lambda s, m=20: _curve(s, m, dtype=np.float32),
    })


def test_lesson06_q3_consistent_improvement():
    check_question("06", "q3", "consistent_improvement", {
        "an equal IoU counted as an improvement": lambda q: _ci(q, strict=False),
        "divided by the number of clicks": lambda q: _ci(q, denominator="clicks"),
        "the count, not the fraction": lambda q: _ci(q, as_type=int),
    })


def test_lesson06_q4_sus():
    check_question("06", "q4", "sus", {
        "statement 1 taken as an even one": lambda r: _sus(r, first_odd=False),
        "not scaled by 2.5": lambda r: _sus(r, scale=1.0),
        "an int": lambda r: _sus(r, as_type=int),
        "even statements not reversed": lambda r: _sus(r, reverse_even=False),
    })
