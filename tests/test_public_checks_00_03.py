"""The public checks of lessons 00-03 catch plausible-but-wrong answers, and pass the masters' answers.

Every rule an exercise of lessons 00-03 states (a ValueError on bad input, the return type, shapes, units,
edge cases) has a public test case, i.e. one a student runs with ``grader.check("qN")``. For every question
this module feeds the lesson's public checks (as a student sees them, from ``lessons/``) a few answers that
break one stated rule each -- a missing check, an off-by-one, the wrong units, swapped coordinates -- and
asserts that the checks fail; the master's own solution (read from ``solutions/``) must pass them.

Each lesson's environment (grader, imports, FAST parameters) is built once per module; a case adds one
answer to a copy of it.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from lesson_checks import lesson_env, public_check

REPO = Path(__file__).resolve().parent.parent
LESSONS = {"00": "00_interactive_loop", "01": "01_active_contours", "02": "02_graph_cut", "03": "03_interaction_types"}


# ------------------------------------------------------------------ helpers
def master_solution(lesson: str, name: str) -> str:
    """The source of the master's solution cell that defines ``name`` (solution lines included)."""
    nb = json.loads((REPO / "solutions" / f"{LESSONS[lesson]}.ipynb").read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and f"def {name}(" in src and "# BEGIN SOLUTION" in src:
            return src
    raise LookupError(f"no solution cell defining {name} in lesson {lesson}")


_ENVS: dict[str, dict] = {}


def base_env(lesson: str) -> dict:
    """The lesson's grader and imports cells run once (FAST mode); copied for every case."""
    if lesson not in _ENVS:
        _ENVS[lesson] = lesson_env(lesson, cells=2)
    return _ENVS[lesson]


def check(lesson: str, question: str, name: str, answer) -> bool:
    """Run ``question``'s public checks with ``answer`` as ``name``: True when all pass."""
    env = dict(base_env(lesson))
    if isinstance(answer, str) and answer == "master":
        exec(compile(master_solution(lesson, name), f"<master {lesson} {name}>", "exec"), env)  # noqa: S102
    else:
        env[name] = answer
    return public_check(lesson, question, env).passed_all


QUESTIONS = {  # (lesson, question) -> the function the exercise asks for
    ("00", "q1"): "annotation_days", ("00", "q2"): "iou_with_ignore", ("00", "q3"): "clicks_to_reach",
    ("00", "q4"): "dice_from_iou",
    ("01", "q1"): "internal_matrix", ("01", "q2"): "force_at_points", ("01", "q3"): "semi_implicit_step",
    ("01", "q4"): "mask_from_snake",
    ("02", "q1"): "nlink_weight_map", ("02", "q2"): "tlink_capacities", ("02", "q3"): "cut_energy",
    ("02", "q4"): "min_cut_nx",
    ("03", "q1"): "extreme_points_from_mask", ("03", "q2"): "box_from_mask", ("03", "q3"): "scribble_pixels",
    ("03", "q4"): "consistent_targets",
}


# ------------------------------------------------------------------ lesson 00: wrong answers
def days_without_checks(hours_per_image, n_images, hours_per_day=24.0):
    h, n, d = hours_per_image, n_images, hours_per_day
    return float(h) * n / d                                   # the ValueError rules left out


def days_in_hours(hours_per_image, n_images, hours_per_day=24.0):
    h, n, d = hours_per_image, n_images, hours_per_day
    if h < 0 or n < 0 or not 0 < d <= 24:
        raise ValueError("bad input")
    return float(h) * n                                       # hours, not days


def days_floor(hours_per_image, n_images, hours_per_day=24.0):
    h, n, d = hours_per_image, n_images, hours_per_day
    if h < 0 or n < 0 or not 0 < d <= 24:
        raise ValueError("bad input")
    return float(h * n // d)                                  # whole days only


def days_always_24(hours_per_image, n_images, hours_per_day=24.0):
    h, n, d = hours_per_image, n_images, hours_per_day
    if h < 0 or n < 0 or not 0 < d <= 24:
        raise ValueError("bad input")
    return float(h) * n / 24                                  # hours_per_day ignored


def days_rejects_24(hours_per_image, n_images, hours_per_day=24.0):
    h, n, d = hours_per_image, n_images, hours_per_day
    if h < 0 or n < 0 or not 0 < d < 24:                      # (0, 24) instead of (0, 24]
        raise ValueError("bad input")
    return float(h) * n / d


def days_int(hours_per_image, n_images, hours_per_day=24.0):
    h, n, d = hours_per_image, n_images, hours_per_day
    if h < 0 or n < 0 or not 0 < d <= 24:
        raise ValueError("bad input")
    return round(h * n / d)                                   # an int


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


# ------------------------------------------------------------------ lesson 01: wrong answers
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


# ------------------------------------------------------------------ lesson 02: wrong answers
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



# ------------------------------------------------------------------ lesson 03: wrong answers
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


# ------------------------------------------------------------------ the cases
WRONG = {
    ("00", "q1"): [days_without_checks, days_in_hours, days_floor, days_always_24, days_rejects_24, days_int],
    ("00", "q2"): [iou_without_checks, iou_ignore_on_pred_only, iou_ignoring_ignore, iou_is_dice],
    ("00", "q3"): [noc_off_by_one, noc_strict, noc_no_budget, noc_len, noc_20],
    ("00", "q4"): [dice_inverse, dice_scalar_only, dice_branch],
    ("01", "q1"): [matrix_not_cyclic, matrix_sign_flipped, matrix_alpha_beta_swapped, matrix_float32],
    ("01", "q2"): [force_xy_swapped, force_nearest, force_reads_past_the_edge, force_not_clamped, force_float32],
    ("01", "q3"): [step_explicit, step_without_gamma_on_the_right, step_capped, step_minus_A],
    ("01", "q4"): [mask_xy_swapped, mask_shape_swapped, mask_uint8, mask_pixel_corners],
    ("02", "q1"): [nlink_uint8, nlink_no_distance, nlink_sigma_squared, nlink_channel_mean, nlink_roll,
                   nlink_offsets_swapped],
    ("02", "q2"): [tlinks_in_place, tlinks_swapped, tlinks_seed_one_side, tlinks_no_overlap_check, tlinks_list],
    ("02", "q3"): [energy_swapped_caps, energy_edges_twice, energy_column_major],
    ("02", "q4"): [min_cut_one_direction, min_cut_flat_mask, min_cut_column_major, min_cut_nx_minimum_cut],
    ("03", "q1"): [extremes_first_tie, extremes_upper_middle, extremes_mean_of_ties, extremes_row_col,
                   extremes_numpy_ints, extremes_top_first],
    ("03", "q2"): [box_exclusive, box_not_clipped, box_negative_margin_accepted, box_numpy_ints, box_rows_first],
    ("03", "q3"): [scribble_truncated, scribble_xy_swapped, scribble_upper_bounds_only, scribble_points_only],
    ("03", "q4"): [targets_box_exclusive, targets_click_xy, targets_boxes_ignored, targets_no_type_error,
                   targets_sorted, targets_truncated_click],
}


@pytest.mark.parametrize("lesson, question", sorted(k for k in QUESTIONS if k in WRONG))
def test_master_answer_passes_the_public_checks(lesson, question):
    assert check(lesson, question, QUESTIONS[lesson, question], "master"), \
        f"lesson {lesson} {question}: the master's solution fails the public checks"


@pytest.mark.parametrize("lesson, question, wrong",
                         [(lq[0], lq[1], w) for lq, ws in WRONG.items() for w in ws],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_plausible_wrong_answer_fails_the_public_checks(lesson, question, wrong):
    name = QUESTIONS[lesson, question]
    master = {"np": np}
    exec(compile(master_solution(lesson, name), "<master>", "exec"), master)  # noqa: S102
    assert list(inspect.signature(wrong).parameters) == list(inspect.signature(master[name]).parameters), \
        f"{wrong.__name__} must take the exercise's parameters (a keyword call must not fail for that reason)"
    assert not check(lesson, question, QUESTIONS[lesson, question], wrong), \
        f"lesson {lesson} {question}: the wrong answer {wrong.__name__} passes the public checks"


def test_every_question_has_wrong_answers():
    assert set(WRONG) == set(QUESTIONS), sorted(set(QUESTIONS) - set(WRONG))
