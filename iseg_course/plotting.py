"""The figures the lessons draw again and again: images with masks and interactions, galleries, curves.

Conventions (the same as :mod:`iseg_course.interactions`): images are ``(H, W, 3)`` RGB (``uint8`` or float
in ``[0, 1]``) or ``(H, W)`` single-channel maps drawn with a colour map; masks are ``(H, W)`` bool (numeric
masks are thresholded at 0.5); points are ``(x, y)`` = (column, row) in pixels, pixel centres at integers.

Colours, everywhere in the course: positive interactions green (``lime``), negative ones red, each marker and
stroke with a black edge and a white halo so it shows on any image; predictions yellow, ground truth white,
ignored pixels orange; boxes cyan, extreme points and polygons magenta; in an error view missed object
(FN) green and wrongly taken background (FP) red.
"""

from __future__ import annotations

import textwrap
from typing import Any, Iterable, Mapping, Sequence

import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .interactions import Box, Click, ExtremePoints, Interaction, Polygon, Scribble

POSITIVE, NEGATIVE = "lime", "red"
PREDICTION, GROUND_TRUTH, IGNORE = "yellow", "white", (1.0, 0.5, 0.0, 0.55)
BOX, SHAPE = "cyan", "magenta"  # boxes; extreme points and polygon vertices
FN_TINT, FP_TINT = (0.0, 1.0, 0.0, 0.45), (1.0, 0.0, 0.0, 0.45)
EDGE, HALO = "black", "white"
FONT_SIZE = 10  # points; titles in figures that a notebook shrinks to its width stay >= 9 pt legible
_TYPES = (Click, Scribble, Box, ExtremePoints, Polygon)


def _halo(width: float) -> list:  # a white rim around a black-edged marker
    return [pe.withStroke(linewidth=width, foreground=HALO)]


def _outlined(width: float, alpha: float = 1.0) -> list:  # a dark edge under a line
    return [pe.Stroke(linewidth=width + 2.0, foreground=EDGE, alpha=alpha), pe.Normal()]


def _as_mask(mask: Any, shape: tuple[int, int], what: str) -> np.ndarray:
    m = np.asarray(mask)
    if m.shape != shape:
        raise ValueError(f"{what} has shape {m.shape}, expected {shape} (the image's (H, W))")
    return m if m.dtype == bool else m >= 0.5


def _as_items(interactions: Any) -> list[Interaction]:
    items = [interactions] if isinstance(interactions, _TYPES) else list(interactions)
    for it in items:
        if not isinstance(it, _TYPES):
            raise TypeError(f"expected interactions (Click, Scribble, Box, ExtremePoints, Polygon), got "
                            f"{type(it).__name__}: {it!r}")
    return items


def _outline(ax: Axes, mask: np.ndarray, colour: Any, width: float) -> None:
    """Contour of a bool mask, with a dark edge; padded so that a mask touching the border is closed and an
    empty one draws nothing."""
    if mask.any():
        h, w = mask.shape
        cs = ax.contour(np.arange(-1, w + 1), np.arange(-1, h + 1), np.pad(mask, 1).astype(np.float32),
                        levels=[0.5], colors=[colour], linewidths=width)
        cs.set_path_effects(_outlined(width, alpha=0.5))


def draw_interactions(ax: Axes, interactions: Any, marker_size: float = 9.0, marker: str | None = None,
                      numbered: bool = False) -> Axes:
    """Draw clicks, scribbles, boxes, extreme points and polygons on ``ax`` in image coordinates.

    Args:
        ax: the axes (an image drawn with ``imshow``, so that ``(x, y)`` are columns and rows).
        interactions: an :class:`~iseg_course.interactions.Interactions` log, a list of interactions or one.
        marker_size: click diameter in points.
        marker: the click marker for both polarities (default ``"o"`` positive, ``"X"`` negative).
        numbered: write each click's rank (1, 2, ...) next to it.

    Clicks: one scatter collection per polarity (green / red, black edge, white halo). Scribbles: lines
    in the polarity's colour; boxes: cyan rectangles through the two corners; extreme points: magenta
    stars on a dashed cyan box; polygons: closed magenta lines with their vertices. Returns ``ax``.
    :func:`show_mask` draws its interactions with this function. Raises TypeError for a non-interaction.

    Used in lessons 04, 05.
    """
    items = _as_items(interactions)
    clicks = [c for c in items if isinstance(c, Click)]
    for positive in (True, False):
        group = [c for c in clicks if c.positive == positive]
        if group:
            sc = ax.scatter([c.x for c in group], [c.y for c in group], s=marker_size ** 2,
                            marker=marker or ("o" if positive else "X"), c=POSITIVE if positive else NEGATIVE,
                            edgecolors=EDGE, linewidths=1.2, zorder=4)
            sc.set_path_effects(_halo(3.0))
    for it in items:
        if isinstance(it, Scribble):
            p = np.asarray(it.points, dtype=float)
            ax.plot(p[:, 0], p[:, 1], "-", lw=2.5, color=POSITIVE if it.positive else NEGATIVE, zorder=3,
                    solid_capstyle="round", path_effects=_outlined(2.5))
        elif isinstance(it, (Box, ExtremePoints)):
            b = it.box if isinstance(it, ExtremePoints) else it
            dashed = isinstance(it, ExtremePoints)  # the box the extreme points span: thin, dashed
            ax.add_patch(Rectangle((b.x0, b.y0), b.x1 - b.x0, b.y1 - b.y0, fill=False, ec=BOX,
                                   lw=1.5 if dashed else 2, ls="--" if dashed else "-", zorder=3,
                                   path_effects=None if dashed else _outlined(2)))
            if isinstance(it, ExtremePoints):
                p = np.asarray(it.points, dtype=float)
                sc = ax.scatter(p[:, 0], p[:, 1], s=(1.5 * marker_size) ** 2, marker="*", c=SHAPE,
                                edgecolors=EDGE, linewidths=1.0, zorder=4)
                sc.set_path_effects(_halo(3.0))
        elif isinstance(it, Polygon):
            v = np.asarray(it.vertices + it.vertices[:1], dtype=float)
            ax.plot(v[:, 0], v[:, 1], "-o", ms=3, lw=1.5, color=SHAPE, zorder=3, path_effects=_outlined(1.5))
    if numbered:
        for k, c in enumerate(clicks, start=1):
            ax.annotate(str(k), (c.x, c.y), xytext=(6, 6), textcoords="offset points", color="white",
                        fontsize=9, fontweight="bold", path_effects=_outlined(0.5), zorder=5)
    return ax


def show_mask(ax: Axes, image: np.ndarray, mask: Any = None, interactions: Any = (), title: str | None = None,
              contour: bool = True, mask_colour: Any = PREDICTION, gt: Any = None, ignore: Any = None,
              errors: bool = False, cmap: str = "gray", vmin: float | None = None, vmax: float | None = None,
              alpha: float = 0.45, marker_size: float = 9.0, numbered: bool = False,
              fontsize: float = FONT_SIZE) -> Axes:
    """An image with a mask, the ground truth, the ignore region and interactions on one axes.

    Args:
        ax: the axes to draw on (its axis lines are switched off).
        image: ``(H, W, 3)`` RGB (``uint8``, or float in [0, 1]) or ``(H, W)`` map drawn with ``cmap``.
        mask: ``(H, W)`` bool prediction (numeric: ``>= 0.5``), or None. Drawn as an outline
            (``contour=True``) or a tint of opacity ``alpha``, in ``mask_colour`` (default yellow).
        interactions: what :func:`draw_interactions` accepts.
        title: the axes title (``fontsize`` points).
        gt: ``(H, W)`` bool ground truth, drawn as a white outline.
        ignore: ``(H, W)`` bool ignored pixels, tinted orange.
        errors: with ``mask`` and ``gt``: tint missed object (FN) green and wrongly taken background (FP) red
            (outside ``ignore``: ignored pixels are no errors).
        cmap, vmin, vmax: colour map and range of a single-channel ``image``.

    The axis limits stay those of the image, ``x`` in ``[-0.5, W - 0.5]`` and ``y`` from ``H - 0.5`` (bottom)
    to ``-0.5`` (top), whatever is drawn. Returns ``ax``. :func:`gallery` and :func:`show_sample` call this.

    Raises ValueError for an image that is neither ``(H, W)`` nor ``(H, W, 3|4)``, a mask, ``gt`` or
    ``ignore`` of another shape, ``errors=True`` without both ``mask`` and ``gt``, or an interaction outside
    the image; TypeError for something that is not an interaction.

    Used in lessons 03, 04, 05, 06.
    """
    img = np.asarray(image)
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))) or 0 in img.shape[:2]:
        raise ValueError(f"expected an (H, W) map or an (H, W, 3) RGB image, got an array of shape {img.shape}")
    shape = img.shape[:2]
    h, w = shape
    items = _as_items(interactions)
    for it in items:
        it.validate(shape)
    pred = None if mask is None else _as_mask(mask, shape, "mask")
    truth = None if gt is None else _as_mask(gt, shape, "gt")
    if errors and (pred is None or truth is None):
        raise ValueError("errors=True needs both a mask (the prediction) and gt (the ground truth)")
    if img.ndim == 2:
        ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax)
    else:
        ax.imshow(img)
    tint = np.zeros(shape + (4,))
    ign = np.zeros(shape, bool) if ignore is None else _as_mask(ignore, shape, "ignore")
    tint[ign] = IGNORE
    if errors:
        tint[truth & ~pred & ~ign] = FN_TINT
        tint[pred & ~truth & ~ign] = FP_TINT
    if pred is not None and not contour:
        tint[pred & ~tint[..., 3].astype(bool)] = to_rgba(mask_colour, alpha)
    if tint[..., 3].any():
        ax.imshow(tint)
    if truth is not None:
        _outline(ax, truth, GROUND_TRUTH, 1.0)
    if pred is not None and contour:
        _outline(ax, pred, mask_colour, 1.5)
    draw_interactions(ax, items, marker_size=marker_size, numbered=numbered)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    if title is not None:
        ax.set_title(title, fontsize=fontsize)
    ax.axis("off")
    return ax


def show_sample(ax: Axes, sample: Any, pred: Any = None, interactions: Any = (), title: str | None = None,
                **kwargs: Any) -> Axes:
    """:func:`show_mask` for a :class:`~iseg_course.data.Sample`: its image, ground truth (white outline) and
    ignore region (orange), with an optional prediction ``pred`` (``(H, W)`` bool) and interactions.

    ``kwargs`` go to :func:`show_mask` (e.g. ``errors=True``). Returns ``ax``.

    Used in lessons 05, 07.
    """
    return show_mask(ax, sample.image, pred, interactions, title, gt=sample.mask, ignore=sample.ignore, **kwargs)


def _wrap(title: str | None, width_in: float, fontsize: float) -> str | None:
    if title is None:
        return None
    chars = max(12, int(width_in * 72 / (0.5 * fontsize)))  # average glyph about 0.5 em wide
    return "\n".join(textwrap.fill(line, chars) for line in str(title).split("\n"))


def gallery(items: Sequence[Mapping[str, Any]], ncols: int | None = None, panel_size: float = 3.0,
            max_cols: int = 4, suptitle: str | None = None, fontsize: float = FONT_SIZE) -> tuple[Figure, np.ndarray]:
    """A grid of :func:`show_mask` panels, sized to stay legible at notebook width.

    Args:
        items: one dict of :func:`show_mask` keyword arguments per panel (``image`` required), e.g.
            ``{"image": s.image, "mask": pred, "gt": s.mask, "interactions": clicks, "title": "..."}``;
            a ``sample`` key stands for ``image``, ``gt`` and ``ignore`` of a :class:`~iseg_course.data.Sample`.
        ncols: panels per row (default ``min(len(items), max_cols)``).
        panel_size: width of a panel in inches; the height follows the first image's aspect ratio.
        max_cols: the most panels per row when ``ncols`` is not given (4: a 12-inch figure that a notebook
            shows at about its own width, so ``fontsize``-point titles stay above 9 pt on screen).
        suptitle: a title over the grid.

    Titles are wrapped to the panel width; unused cells of the last row are switched off. Returns
    ``(fig, axes)``, ``axes`` a flat array of ``len(items)`` axes in reading order.

    Raises ValueError for no items, ``ncols``/``max_cols`` < 1 or ``panel_size`` <= 0 (and whatever
    :func:`show_mask` raises for a panel).

    Used in lessons 00, 03, 04, 05, 06, 07.
    """
    items = list(items)
    if not items:
        raise ValueError("gallery needs at least one item (a dict of show_mask arguments)")
    if (ncols is not None and ncols < 1) or max_cols < 1 or not panel_size > 0:
        raise ValueError(f"expected ncols >= 1, max_cols >= 1 and panel_size > 0, got {ncols}, {max_cols}, "
                         f"{panel_size}")
    ncols = min(len(items), ncols or max_cols)
    nrows = -(-len(items) // ncols)
    panels = []
    for item in items:
        kw = dict(item)
        if "sample" in kw:
            s = kw.pop("sample")
            kw = {"image": s.image, "gt": s.mask, "ignore": s.ignore, **kw}
        kw["fontsize"] = kw.get("fontsize", fontsize)
        kw["title"] = _wrap(kw.get("title"), panel_size, kw["fontsize"])
        panels.append(kw)
    first = np.asarray(panels[0]["image"])
    lines = max((kw["title"] or "").count("\n") + 1 for kw in panels)  # the tallest title sets every row's
    row = panel_size * first.shape[0] / max(first.shape[1], 1) + lines * fontsize * 1.4 / 72 + 0.15
    title = _wrap(suptitle, ncols * panel_size, fontsize + 1)
    top = (title.count("\n") + 1) * (fontsize + 1) * 1.5 / 72 if title else 0.0
    fig, grid = plt.subplots(nrows, ncols, figsize=(ncols * panel_size, nrows * row + top), squeeze=False,
                             layout="constrained")
    axes = grid.ravel()
    for ax, kw in zip(axes, panels):
        show_mask(ax, **kw)
    for ax in axes[len(items):]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=fontsize + 1)
    return fig, axes[: len(items)]


def noc_iou_curves(results: Any, ax: Axes | None = None, targets: Iterable[float] | None = (0.85, 0.9),
                   labels: Sequence[str] | None = None, **line_kwargs: Any) -> Axes:
    """NoC–IoU curves: the mean IoU after click 1, 2, ... of one or several evaluations.

    Args:
        results: an :class:`~iseg_course.evaluation.EvaluationResult` or a sequence of them; each gives
            ``curve()`` (``(max_clicks,) float64``), ``max_clicks``, ``method`` and ``dataset``.
        ax: the axes (a new 5 x 3.5 inch figure if None).
        targets: IoU targets drawn as dotted grey lines (each once per axes, however often it is called).
        labels: one legend label per result (default ``"method (dataset)"``).
        line_kwargs: passed to ``ax.plot`` for every curve (e.g. ``color``, ``ls``).

    The x axis runs over clicks 1 .. the largest ``max_clicks``. Returns ``ax``.

    Raises ValueError for no results, a label count that differs from the result count, or a target
    outside (0, 1]. ``EvaluationResult.plot`` calls this.

    Used in lessons 06, 07.
    """
    results = [results] if hasattr(results, "curve") else list(results)
    if not results:
        raise ValueError("noc_iou_curves needs at least one EvaluationResult")
    if labels is not None and len(labels) != len(results):
        raise ValueError(f"got {len(labels)} labels for {len(results)} results")
    targets = [float(t) for t in (targets or ())]
    if any(not 0 < t <= 1 for t in targets):
        raise ValueError(f"expected IoU targets in (0, 1], got {targets}")
    ax = plt.subplots(figsize=(5, 3.5))[1] if ax is None else ax
    for i, r in enumerate(results):
        curve = np.asarray(r.curve(), dtype=float)
        label = labels[i] if labels is not None else f"{r.method} ({r.dataset})"
        ax.plot(np.arange(1, len(curve) + 1), curve, **{"marker": "o", "ms": 3, "label": label, **line_kwargs})
    drawn = {line.get_gid() for line in ax.get_lines()}
    for t in targets:
        if f"target {t:g}" not in drawn:
            ax.axhline(t, color="grey", lw=0.8, ls=":", gid=f"target {t:g}")
    n = max(int(r.max_clicks) for r in results)
    k = np.arange(1, n + 1)
    ax.set_xlim((1, n) if n > 1 else (0.5, 1.5))
    ax.set_xticks(k[::2] if n > 10 else k)
    ax.set_xlabel("number of clicks")
    ax.set_ylabel("mean IoU")
    ax.legend(loc="lower right")
    return ax


def loss_curves(history: Any, ax: Axes | None = None) -> Axes:
    """Train and test loss per epoch (the lecture's "Loss on Train & Test" plot).

    Args:
        history: a :class:`~iseg_course.training.History` or its ``to_dict()``: ``train_loss`` and
            ``test_loss``, one float per epoch (``test_loss`` may be empty: no test set).
        ax: the axes (a new 5 x 3 inch figure if None).

    Returns ``ax`` with one line per loss, epochs 1, 2, ... on x. Raises ValueError when ``train_loss`` is
    missing or empty or ``test_loss`` has another length. ``training.plot_history`` calls this.

    Used in lesson 07.
    """
    h = history.to_dict() if hasattr(history, "to_dict") else dict(history)
    train, test = list(h.get("train_loss") or []), list(h.get("test_loss") or [])
    if not train:
        raise ValueError("history has no train_loss: nothing to plot (expected one loss per epoch)")
    if test and len(test) != len(train):
        raise ValueError(f"history has {len(train)} train losses but {len(test)} test losses")
    ax = plt.subplots(figsize=(5, 3))[1] if ax is None else ax
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, "o-", label="train loss")
    if test:
        ax.plot(epochs, test, "s-", label="test loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (BCE + Dice)")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend()
    ax.grid(alpha=0.3)
    return ax
