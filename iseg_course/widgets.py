"""A click / scribble / box widget for any :class:`~iseg_course.segmenter.Segmenter`.

``SegmentationWidget(segmenter, image)`` shows the image, the predicted mask as a coloured overlay and
the user's interactions on an `ipycanvas <https://ipycanvas.readthedocs.io>`_ ``MultiCanvas`` with four
layers (image, mask overlay, interactions, the stroke or box being drawn). It closes the interactive
loop of lesson 00: the user adds an interaction, the segmenter predicts, the overlay updates, the user
corrects -- and every step is written to a timed log, so user time ("seconds per click") and machine time
(prediction latency) can be measured the way the evaluation lesson does (Xu et al., "Deep Interactive
Object Selection", CVPR 2016; Sofiiuk et al., "Reviving Iterative Training with Mask Guidance for
Interactive Segmentation" (RITM), ICIP 2022, whose demo keeps the same per-click state stack for undo).

The widget is a *view* of a :class:`~iseg_course.session.Session`: the session holds the interactions, the
predictions, undo/redo and the event log; the widget turns mouse and keys into interactions and draws.
Modes the segmenter does not accept (its ``accepts``) are greyed out. A method that returns K candidate
masks (a :class:`~iseg_course.segmenter.Prediction`) shows "masks" buttons with the predicted scores; the
chosen candidate is shown and fed back on the next click.

Interacting
    * **+ click / - click** modes: a left click adds a positive (object) or negative (background) click.
    * **+ scribble / - scribble** modes: press, drag and release to draw a stroke (a ``Scribble``).
    * **box** mode: press, drag and release to draw a bounding box (a ``Box``).
    * keys (after clicking the canvas once, so it has the keyboard focus): ``p`` / ``n`` positive /
      negative clicks, ``s`` / ``d`` positive / negative scribbles, ``b`` box, ``u`` or ``z`` undo,
      ``r`` or ``y`` redo, ``1``-``9`` choose a candidate mask, ``Escape`` cancels a stroke or box being drawn. ipycanvas (0.14) reports neither the mouse button
      nor the shift key with mouse events, so negative clicks come from the mode toggle or the ``n`` key.

Programmatic use (image pixel coordinates ``(x, y)`` = (column, row))::

    w = SegmentationWidget(segmenter, image)
    w.click(120, 80)                      # positive click
    w.click(10, 10, positive=False)       # negative click
    w.scribble([(5, 5), (40, 12)], positive=False)
    w.box(30, 20, 200, 180)
    w.undo(); w.redo(); w.reset(); w.choose(1)   # choose: candidate masks of a multimask method
    w.run_robot(ritm_click, gt)           # a robot user adds a click through the same session
    w.mask, w.probabilities, w.interactions, w.log, w.last_latency_ms
    w.export_mask("mask.png"); w.export_log("log.json")

Coordinates. The image is shown so that its longer side fills ``canvas_size`` canvas pixels (aspect kept):
larger images are scaled down (Lanczos), smaller ones scaled up (nearest neighbour, so every image pixel is
a crisp block; at most 16 times). A canvas position ``(u, v)`` (continuous, pixel ``i`` covers ``[i, i + 1)``)
maps back to the image pixel ``(floor(u / sx), floor(v / sy))``, clipped to the image, where
``sx = canvas_width / W`` and ``sy = canvas_height / H``.

Errors. If the segmenter raises (or returns something that is not an ``(H, W)`` map in ``[0, 1]``) the
error is shown in the status line, the interaction that triggered it is kept in ``w.interactions`` and
``w.log`` (with an ``"error"`` entry), the mask keeps its last good value, and the widget stays usable
(undo the interaction, or add another).

Refinement. A segmenter that offers refinement modes (``modes`` and a settable ``mode``: the BRS / f-BRS
wrappers of :mod:`iseg_course.models.refine`) gets a "refine" menu, as the RITM demo has; a change applies
from the next interaction, and the status line adds the last refinement's energy evaluations and how many
clicks the mask obeys, beside the seconds of the prediction.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .interactions import Box, Click, Interactions, Scribble
from .overlay import (_COMMANDS, _FAST_PUT, MASK_RGB, CanvasFit, _overlay_png,  # noqa: F401 (MASK_RGB: API)
                      draw_live, interaction_commands, overlay_rgba)
from .segmenter import accepted_kinds
from .session import Session
from .validate import integer, number

try:  # ipywidgets / ipycanvas are dependencies of the package; keep the import error readable
    import ipywidgets as widgets
    from ipycanvas import MultiCanvas, hold_canvas
except ImportError as e:  # pragma: no cover
    raise ImportError("iseg_course.widgets needs ipywidgets and ipycanvas: pip install ipywidgets ipycanvas") from e

__all__ = ["SegmentationWidget", "MODES", "overlay_rgba"]

#: Interaction modes of the widget: value -> button label.
MODES: dict[str, str] = {
    "positive": "+ click",
    "negative": "\u2212 click",
    "scribble": "+ scribble",
    "negative_scribble": "\u2212 scribble",
    "box": "box",
}

_KEYS = {"p": "positive", "n": "negative", "s": "scribble", "d": "negative_scribble", "b": "box"}
_MODE_KIND = {"positive": "click", "negative": "click", "scribble": "scribble", "negative_scribble": "scribble",
              "box": "box"}
_TOOLTIPS = {
    "positive": "left click = object (key p)",
    "negative": "left click = background (key n)",
    "scribble": "drag to draw an object stroke (key s)",
    "negative_scribble": "drag to draw a background stroke (key d)",
    "box": "drag to draw a bounding box (key b)",
}
_LAYERS = 4  # image, overlay, interactions, live stroke/box (the top layer receives the mouse events)


class SegmentationWidget(widgets.VBox):
    """Interactive segmentation on an ipycanvas canvas, driven by any Segmenter.

    Args:
        segmenter: an object with ``set_image(image)`` and ``predict(interactions, prev_mask=None) ->
            (H, W) float32`` (the :class:`~iseg_course.segmenter.Segmenter` protocol). ``set_image`` is
            called once here; ``predict`` after every interaction, with ``prev_mask`` = the previous
            probability map (``(H, W) float32``, None before the first prediction).
        image: ``(H, W, 3) uint8`` RGB image.
        canvas_size: the longer side of the displayed image in canvas pixels (default 512); larger
            images are scaled down, smaller ones up (see the module docstring).
        opacity: alpha of the mask overlay in ``[0, 1]`` (the slider's initial value).

    Raises:
        TypeError: if ``segmenter`` lacks ``set_image``/``predict`` or ``image`` is not a NumPy array.
        ValueError: on a bad image shape/dtype, ``canvas_size`` < 16 or ``opacity`` outside ``[0, 1]``.
        Exception: whatever ``segmenter.set_image(image)`` raises.

    Attributes (read-only views of the state): :attr:`mask`, :attr:`probabilities`, :attr:`interactions`,
    :attr:`log`, :attr:`last_latency_ms`, :attr:`last_predict_ms`, :attr:`last_error`, :attr:`mode`,
    :attr:`opacity`, :attr:`scale`.

    Used in lessons 00, 01, 02, 03, 04, 05, 06, 07, 10.
    """

    def __init__(self, segmenter, image: np.ndarray, canvas_size: int = 512, opacity: float = 0.5):
        canvas_size = integer(canvas_size, "canvas_size (pixels)", minimum=16)
        opacity = number(opacity, "opacity", 0.0, 1.0)

        self._session = Session(segmenter, image, keep_going=True)  # checks the segmenter and the image
        self._modes = [m for m in MODES if _MODE_KIND[m] in accepted_kinds(segmenter)]
        if not self._modes:
            raise ValueError(f"{type(segmenter).__name__} accepts none of the widget's interactions (clicks, "
                             "scribbles, boxes)")
        self._canvas_size = int(canvas_size)
        self._callbacks: list[Callable] = []
        self._drag: dict | None = None  # stroke or box being drawn: {"kind", "points" (image px), "positive"}

        self._canvas = MultiCanvas(_LAYERS, width=16, height=16)
        self._mode_buttons = widgets.ToggleButtons(
            options=[(MODES[m], m) for m in self._modes],
            value=self._modes[0],
            description="",
            tooltips=[_TOOLTIPS[m] for m in self._modes],
            style={"button_width": "92px"},
        )
        # modes this method cannot take, greyed out (a disabled group with nothing selected)
        unavailable = [m for m in MODES if m not in self._modes]
        self._unavailable_modes = widgets.ToggleButtons(
            options=[(MODES[m], m) for m in unavailable], value=None, disabled=True,
            tooltips=[f"{type(segmenter).__name__} does not accept this interaction" for _ in unavailable],
            style={"button_width": "92px"}, layout=widgets.Layout(display="flex" if unavailable else "none"),
        )
        self._candidate_buttons = widgets.ToggleButtons(
            options=[], value=None, description="masks", tooltips=[],
            style={"button_width": "110px"}, layout=widgets.Layout(display="none"),
        )
        self._candidate_buttons.observe(lambda change: self._safe(self._on_candidate, change["new"]), names="value")
        small = dict(layout=widgets.Layout(width="84px"))
        self._undo_button = widgets.Button(description="undo", icon="undo", tooltip="remove the last interaction (key u)", **small)
        self._reset_button = widgets.Button(description="reset", icon="trash", tooltip="remove all interactions", **small)
        self._opacity_slider = widgets.FloatSlider(
            value=opacity, min=0.0, max=1.0, step=0.05, description="opacity", readout_format=".2f",
            continuous_update=True, layout=widgets.Layout(width="260px"),
        )
        self._status = widgets.HTML(value="")
        # a refinement menu for segmenters that offer modes (BRS / f-BRS wrappers: ``modes`` and a settable ``mode``)
        modes = getattr(segmenter, "modes", None)
        self._refine_menu = widgets.Dropdown(
            options=list(modes or []), value=getattr(segmenter, "mode", None) if modes else None,
            description="refine", tooltip="backpropagating refinement of every new click (BRS / f-BRS)",
            layout=widgets.Layout(width="190px", display="flex" if modes else "none"))
        self._refine_menu.observe(lambda change: self._safe(self._on_refine_mode, change["new"]), names="value")

        self._mode_buttons.observe(lambda change: self._on_mode_change(change["new"]), names="value")
        self._undo_button.on_click(lambda _b: self._safe(self.undo))
        self._reset_button.on_click(lambda _b: self._safe(self.reset))
        self._opacity_slider.observe(lambda change: self._safe(self._draw_overlay), names="value")
        self._canvas.on_mouse_down(lambda x, y: self._safe(self.handle_mouse_down, x, y))
        self._canvas.on_mouse_move(lambda x, y: self._safe(self.handle_mouse_move, x, y))
        self._canvas.on_mouse_up(lambda x, y: self._safe(self.handle_mouse_up, x, y))
        self._canvas.on_mouse_out(lambda x, y: self._safe(self.handle_mouse_out, x, y))
        self._canvas.on_key_down(lambda key, shift, ctrl, meta: self._safe(self.handle_key_down, key, shift, ctrl, meta))
        self._canvas.on_client_ready(lambda: self._safe(self.redraw))

        self._redo_button = widgets.Button(description="redo", icon="repeat", tooltip="put back the last undone interaction (key r)", **small)
        self._redo_button.on_click(lambda _b: self._safe(self.redo))
        toolbar = widgets.HBox(
            [self._mode_buttons, self._unavailable_modes, self._undo_button, self._redo_button, self._reset_button,
             self._opacity_slider, self._refine_menu],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        self._keys_hint = widgets.HTML(
            "<small>Keys work once the canvas has the focus (click it once): p / n object / background click, "
            "s / d scribbles, b box, u undo, r redo, 1-9 candidate masks, Esc cancels a stroke.</small>")
        super().__init__([toolbar, self._candidate_buttons, self._canvas, self._status, self._keys_hint])
        self.add_class("iseg-segmentation-widget")
        self._set_image(None, log=False)

    # ------------------------------------------------------------------ image and geometry
    def set_image(self, image: np.ndarray) -> None:
        """Switch to a new ``(H, W, 3) uint8`` image: calls ``segmenter.set_image``, clears the interactions.

        The log is kept (a ``"set_image"`` event is added). Raises TypeError/ValueError on a bad image.
        """
        self._set_image(image, log=True)

    def _set_image(self, image: np.ndarray, log: bool) -> None:
        if image is not None:  # None: the session's image, set in __init__
            self._session.set_image(image)
        image = self._session.image
        self._fit = CanvasFit.for_image(image.shape, self._canvas_size)
        cw, ch = self._fit.width, self._fit.height
        self._shown_rgba = self._fit.shown_rgba(image)
        self._last_latency_ms: float | None = None
        self._last_predict_ms: float | None = None
        self._drag = None
        self._canvas.width, self._canvas.height = cw, ch
        # show one canvas pixel per CSS pixel (else the output area stretches the canvas to its width);
        # the frontend maps mouse positions through the element's on-page box either way
        self._canvas.layout.width, self._canvas.layout.height = f"{cw}px", f"{ch}px"
        self._show_candidates()
        self.redraw()
        self._set_status()
        if log:
            self._notify()

    @property
    def image(self) -> np.ndarray:
        """The current ``(H, W, 3) uint8`` image (a copy)."""
        return self._session.image.copy()

    @property
    def scale(self) -> tuple[float, float]:
        """``(sx, sy)``: canvas pixels per image pixel along x (columns) and y (rows)."""
        return self._fit.sx, self._fit.sy

    @property
    def canvas_shape(self) -> tuple[int, int]:
        """``(height, width)`` of the canvas in canvas pixels."""
        return self._fit.height, self._fit.width

    @property
    def canvas(self) -> MultiCanvas:
        """The ipycanvas ``MultiCanvas`` (layers: image, overlay, interactions, live stroke)."""
        return self._canvas

    def canvas_to_image(self, x: float, y: float, clip: bool = True) -> tuple[int, int]:
        """Map a canvas position ``(x, y)`` (canvas pixels, continuous) to the image pixel ``(col, row)``:
        ``(floor(x / sx), floor(y / sy))``, clipped to the image when ``clip`` is True. Raises TypeError /
        ValueError for non-finite coordinates, or (``clip=False``) more than a pixel outside the canvas."""
        return self._fit.canvas_to_image(number(x, "canvas x"), number(y, "canvas y"), clip)

    def image_to_canvas(self, x: float, y: float) -> tuple[float, float]:
        """Canvas position of the centre of image pixel ``(x, y)``: ``((x + 0.5) sx, (y + 0.5) sy)``."""
        return self._fit.image_to_canvas(x, y)

    # ------------------------------------------------------------------ read-only state
    @property
    def mask(self) -> np.ndarray:
        """The current mask, ``(H, W) bool`` (probabilities >= 0.5); a copy."""
        return self._session.mask

    @property
    def probabilities(self) -> np.ndarray:
        """The last good prediction (the chosen candidate), ``(H, W) float32`` in ``[0, 1]`` (zeros before
        any); a copy."""
        return self._session.probabilities.copy()

    @property
    def interactions(self) -> Interactions:
        """The interactions so far (a copy of the session's ordered :class:`Interactions` log)."""
        return self._session.interactions

    @property
    def session(self) -> Session:
        """The :class:`~iseg_course.session.Session` this widget shows (its events, steps, predictions)."""
        return self._session

    @property
    def candidates(self) -> int:
        """K, the number of candidate masks of the current prediction (1 for single-mask methods)."""
        p = self._session.prediction
        return 1 if p is None else p.k

    @property
    def chosen(self) -> int:
        """Index of the candidate mask shown (0 for single-mask methods)."""
        p = self._session.prediction
        return 0 if p is None else p.chosen

    @property
    def log(self) -> list[dict]:
        """The timed interaction log, oldest first (a copy): one flat dict per
        :class:`~iseg_course.session.Event` (``"t"`` seconds since the widget was created, ``"event"``, the
        interaction's image coordinates, ``"positive"``, ``"source"``, ``"latency_ms"`` interaction ->
        updated overlay, ``"predict_ms"``, ``"n_interactions"``, ``"mask_area"``, ``"error"``, ...)."""
        return self._session.log

    @property
    def last_latency_ms(self) -> float | None:
        """Milliseconds from the last interaction to the updated overlay (prediction + redraw)."""
        return self._last_latency_ms

    @property
    def last_predict_ms(self) -> float | None:
        """Milliseconds the segmenter's last ``predict`` call took."""
        return self._last_predict_ms

    @property
    def last_error(self) -> str | None:
        """The last segmenter error message shown in the status line (None after a good prediction)."""
        return self._session.last_error

    @property
    def status(self) -> str:
        """The status line as plain text."""
        return self._status_text

    @property
    def mode(self) -> str:
        """The interaction mode: one of ``MODES`` (``"positive"``, ``"negative"``, ``"scribble"``,
        ``"negative_scribble"``, ``"box"``). Setting an unknown mode raises ValueError."""
        return self._mode_buttons.value

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown mode {value!r}; expected one of {list(MODES)}")
        if value not in self._modes:
            raise ValueError(f"{self._session.name} does not accept {MODES[value]!r} "
                             f"(mode {value!r}); available modes: {self._modes}")
        self._mode_buttons.value = value

    @property
    def opacity(self) -> float:
        """Overlay opacity in ``[0, 1]`` (the slider). Setting a value outside raises ValueError."""
        return float(self._opacity_slider.value)

    @opacity.setter
    def opacity(self, value: float) -> None:
        value = number(value, "opacity", 0.0, 1.0)
        self._opacity_slider.value = value

    # ------------------------------------------------------------------ programmatic interactions
    def click(self, x: float, y: float, positive: bool = True) -> None:
        """Add a click at image pixel ``(x, y)`` and update the prediction.

        Raises TypeError/ValueError if ``(x, y)`` is not a finite point inside the image.
        """
        self._add(Click(number(x, "x"), number(y, "y"), bool(positive)), source="api")

    def scribble(self, points: Iterable[Sequence[float]], positive: bool = True) -> None:
        """Add a scribble through image pixels ``points`` (``[(x, y), ...]``, at least one) and update.

        Raises TypeError/ValueError on non-numeric points or points outside the image.
        """
        pts = [(number(p[0], "scribble x"), number(p[1], "scribble y")) for p in points]
        self._add(Scribble(tuple(pts), bool(positive)), source="api")

    def box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Add a bounding box with corners ``(x0, y0)``, ``(x1, y1)`` (image pixels) and update.

        Raises ValueError if a corner is outside the image or the box has no area.
        """
        self._add(Box(*(number(v, n) for v, n in zip((x0, y0, x1, y1), ("x0", "y0", "x1", "y1")))), source="api")

    def undo(self) -> None:
        """Remove the newest interaction and show the prediction from before it (no new prediction)."""
        self._drag = None
        if self._session.undo() is None:
            self._set_status(note="nothing to undo")
            return
        self._after_change("undone")

    def redo(self) -> None:
        """Put back the interaction the last undo removed, with its prediction (no new prediction)."""
        self._drag = None
        if self._session.redo() is None:
            self._set_status(note="nothing to redo")
            return
        self._after_change("redone")

    def reset(self) -> None:
        """Remove all interactions and clear the mask (the log keeps a ``"reset"`` event)."""
        self._drag = None
        self._session.reset()
        self._after_change("reset")

    def choose(self, index: int) -> None:
        """Show candidate mask ``index`` (0-based) of the current prediction; it is fed back on the next
        interaction. Keys ``1``..``9`` and the "masks" buttons do the same.

        Raises RuntimeError before any prediction, IndexError for a candidate that does not exist.
        """
        self._session.choose(index, source="api")
        self._after_change(f"mask {int(index) + 1} chosen")

    def _after_change(self, note: str) -> None:
        self._show_candidates()
        self.redraw(image=False)
        self._set_status(note=note)
        self._notify()

    def run_robot(self, robot, gt: np.ndarray, ignore: np.ndarray | None = None, n: int = 1) -> None:
        """Let a robot user (``robot(gt, pred, ignore, previous)``, e.g. ``iseg_course.robot.ritm_click``) add up
        to ``n`` interactions from the ground truth ``gt`` (``(H, W)`` bool) and the shown mask, each one through
        the path a person's click takes (predict, redraw, timed log entry with source ``"robot"``).

        Raises ValueError for ``n < 1`` or a ground truth that is empty or of another shape.
        """
        from .segmenter import check_ground_truth
        from .session import robot_step

        if n < 1:
            raise ValueError(f"expected n >= 1 robot interactions, got {n}")
        gt, valid = check_ground_truth(gt, ignore)
        if gt.shape != self._session.shape:
            raise ValueError(f"expected a ground truth of shape {self._session.shape}, got {gt.shape}")
        for _ in range(int(n)):
            item = robot_step(robot, gt, self._session.mask, None if ignore is None else ~valid,
                              self._session.interactions)
            if item is None:
                break
            self._add(item, source="robot")

    def on_update(self, callback: Callable[["SegmentationWidget"], None], remove: bool = False) -> None:
        """Call ``callback(widget)`` after every change (interaction, undo, reset, new image).

        Errors raised by a callback are shown in the status line, not propagated.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        if remove:
            self._callbacks = [c for c in self._callbacks if c is not callback]
        else:
            self._callbacks.append(callback)

    # ------------------------------------------------------------------ mouse and keyboard handlers
    def handle_mouse_down(self, x: float, y: float) -> None:
        """Mouse pressed at canvas position ``(x, y)`` (canvas pixels).

        Click modes add a click at once; scribble and box modes start a stroke / box.
        Raises ValueError if the position is outside the canvas.
        """
        t = self._session.now()
        col, row = self.canvas_to_image(x, y, clip=False)
        mode = self.mode
        if mode in ("positive", "negative"):
            self._drag = None
            self._add(Click(float(col), float(row), mode == "positive"), source="mouse", t=t)
        else:
            kind = "box" if mode == "box" else "scribble"
            self._drag = {"kind": kind, "points": [(col, row)], "positive": mode != "negative_scribble", "t": t}
            self._draw_live()

    def handle_mouse_move(self, x: float, y: float) -> None:
        """Mouse moved to canvas position ``(x, y)``: extends the stroke / box being drawn (else no-op)."""
        if self._drag is None:
            return
        col, row = self.canvas_to_image(x, y, clip=True)
        pts = self._drag["points"]
        if self._drag["kind"] == "box":
            self._drag["points"] = [pts[0], (col, row)]
            self._draw_live()
        elif (col, row) != pts[-1]:
            pts.append((col, row))
            self._draw_live(segment=True)

    def handle_mouse_up(self, x: float, y: float) -> None:
        """Mouse released at canvas position ``(x, y)``: finishes a stroke (Scribble) or box (Box)."""
        if self._drag is None:
            return
        self.handle_mouse_move(x, y)
        drag, self._drag = self._drag, None
        self._canvas[3].clear()
        pts = drag["points"]
        if drag["kind"] == "box":
            (x0, y0), (x1, y1) = pts[0], pts[-1]
            if abs(x1 - x0) < 1 or abs(y1 - y0) < 1:
                self._set_status(note="box too small: press, drag and release to draw a box")
                return
            self._add(Box(float(x0), float(y0), float(x1), float(y1)), source="mouse", t=drag["t"])
        else:
            self._add(Scribble(tuple((float(a), float(b)) for a, b in pts), drag["positive"]), source="mouse", t=drag["t"])

    def handle_mouse_out(self, x: float, y: float) -> None:
        """Mouse left the canvas at ``(x, y)``: a stroke or box being drawn ends there (clipped)."""
        if self._drag is not None:
            self.handle_mouse_up(x, y)

    def handle_key_down(self, key: str, shift_key: bool = False, ctrl_key: bool = False, meta_key: bool = False) -> None:
        """Keyboard shortcuts: p/n/s/d/b switch mode, u or z undo, r or y redo, 1-9 choose a candidate mask,
        Escape cancels a stroke/box. A mode key the method does not accept says so in the status line."""
        k = str(key).lower()
        if k in _KEYS:
            self.mode = _KEYS[k]
        elif k in ("u", "z"):
            self.undo()
        elif k in ("r", "y"):
            self.redo()
        elif k.isdigit() and 1 <= int(k) <= self.candidates and self.candidates > 1:
            self.choose(int(k) - 1)
        elif k == "escape":
            self._drag = None
            self._canvas[3].clear()

    # ------------------------------------------------------------------ core update
    def _add(self, item, source: str, t: float | None = None) -> None:
        """Add through the session and redraw. Invalid input raises (nothing recorded); a failing segmenter
        does not (the session keeps the interaction and the error)."""
        step = self._session.add(item, source=source, t=t, defer=True)
        self._show_candidates()
        self.redraw(image=False)
        event = self._session.finish()
        if step.error is None:
            self._last_predict_ms = step.predict_s * 1e3
            self._last_latency_ms = event.latency_ms
        self._set_status()
        self._notify()

    def _show_candidates(self) -> None:
        """Show the "masks" buttons (with predicted scores) when the prediction has K > 1 candidates."""
        p = self._session.prediction
        buttons = self._candidate_buttons
        self._syncing = True
        try:
            if p is None or p.k < 2:
                buttons.layout.display = "none"
                buttons.options, buttons.value = [], None
                return
            labels = [f"{i + 1}" + ("" if p.scores is None else f" ({float(p.scores[i]):.2f})") for i in range(p.k)]
            buttons.options = [(label, i) for i, label in enumerate(labels)]
            buttons.tooltips = [f"show candidate mask {i + 1} (key {i + 1})" for i in range(p.k)]
            buttons.value = p.chosen
            buttons.layout.display = "flex"
        finally:
            self._syncing = False

    @property
    def refine_mode(self) -> str | None:
        """The segmenter's refinement mode (the "refine" menu), None for a segmenter without modes."""
        return self._refine_menu.value if getattr(self._session.segmenter, "modes", None) else None

    @refine_mode.setter
    def refine_mode(self, mode: str) -> None:
        if not getattr(self._session.segmenter, "modes", None):
            raise ValueError(f"{self._session.name} has no refinement modes")
        if mode not in self._refine_menu.options:
            raise ValueError(f"unknown refinement mode {mode!r}; expected one of {', '.join(self._refine_menu.options)}")
        self._refine_menu.value = mode

    def _on_refine_mode(self, mode: str) -> None:
        self._session.segmenter.mode = mode
        self._set_status(note=f"refinement {mode} from the next interaction")

    def _on_candidate(self, index) -> None:
        if getattr(self, "_syncing", False) or index is None or index == self.chosen:
            return
        self.choose(index)

    def _notify(self) -> None:
        for cb in list(self._callbacks):
            try:
                cb(self)
            except Exception as e:  # noqa: BLE001
                self._set_status(note=f"on_update callback failed: {type(e).__name__}: {e}", error=True)

    def _safe(self, fn, *args) -> None:
        """Run a UI handler; show any exception in the status line instead of losing it in the kernel log."""
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            self._set_status(note=f"{type(e).__name__}: {e}", error=True)

    def _on_mode_change(self, mode: str) -> None:
        self._drag = None
        self._canvas[3].clear()
        self._set_status()

    # ------------------------------------------------------------------ drawing
    def redraw(self, image: bool = True) -> None:
        """Redraw the layers in one batch: the image (when ``image`` is True), the overlay, the interactions."""
        overlay = self._overlay_payload()
        drawing = self._interaction_commands()
        with hold_canvas():
            if image:
                self._canvas[0].clear()
                self._canvas[0].put_image_data(self._shown_rgba, 0, 0)
                self._canvas[3].clear()
            self._put_overlay(overlay)
            layer = self._canvas[2]
            layer.clear()
            for cmd in drawing:
                cmd(layer)

    def _draw_overlay(self) -> None:
        overlay = self._overlay_payload()
        with hold_canvas():
            self._put_overlay(overlay)

    def _overlay_payload(self):
        """The overlay at canvas size, ready to send: PNG bytes (fast path), an RGBA array, or None (empty).

        Computed before ``hold_canvas`` (whose batching is not exception-safe), so drawing cannot fail midway.
        """
        mask = self._session.mask
        if not mask.any():
            return None
        shown = mask[self._fit.rows[:, None], self._fit.cols[None, :]]
        if _FAST_PUT:
            return _overlay_png(shown, self.opacity)
        return overlay_rgba(shown, self.opacity)

    def _put_overlay(self, payload) -> None:
        layer = self._canvas[1]
        layer.clear()
        if payload is None:
            return
        if isinstance(payload, bytes):
            layer._canvas_manager.send_draw_command(layer, _COMMANDS["putImageData"], [0, 0], [payload])
        else:
            layer.put_image_data(payload, 0, 0)

    def _interaction_commands(self) -> list[Callable]:
        """Drawing commands for the interactions (computed before ``hold_canvas`` so nothing raises inside)."""
        return interaction_commands(self._session.interactions, self._fit.sx, self._fit.sy)

    def _draw_live(self, segment: bool = False) -> None:
        """Draw the stroke or box being dragged on the top layer."""
        if self._drag is not None:
            with hold_canvas():
                draw_live(self._canvas[3], self._drag, self._fit.sx, self._fit.sy, segment)

    # ------------------------------------------------------------------ status and export
    def _set_status(self, note: str | None = None, error: bool = False) -> None:
        h, w = self._session.shape
        area = int(np.count_nonzero(self._session.mask))
        parts = [f"mode: {MODES[self.mode]}", f"{len(self._session)} interactions",
                 f"mask {area} px ({100.0 * area / (h * w):.1f} %)"]
        if self._last_latency_ms is not None:
            parts.append(f"last prediction {self._last_predict_ms:.1f} ms, click\u2192overlay {self._last_latency_ms:.1f} ms")
        if self.candidates > 1:
            parts.append(f"mask {self.chosen + 1} of {self.candidates} (keys 1-{self.candidates})")
        info = getattr(self._session.segmenter, "last_info", None)
        if self._last_latency_ms is not None and info is not None and hasattr(info, "evaluations"):
            parts.append(f"refinement {info.mode}: {info.evaluations} evaluations, "
                         f"{info.satisfied_after} of {info.clicks} clicks obeyed")
        text = " \u00b7 ".join(parts)
        if self._session.last_error is not None:
            text = f"segmenter error: {self._session.last_error} (the interaction is kept: undo it or add another) \u00b7 {text}"
            error = True
        if note:
            text = f"{note} \u00b7 {text}"
        self._status_text = text
        colour = "#c62828" if error else "inherit"
        self._status.value = f'<span class="iseg-status" style="color:{colour}">{html.escape(text)}</span>'

    def export_mask(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the mask as an 8-bit PNG (0 = background, 255 = object); see :meth:`Session.export_mask`."""
        return self._session.export_mask(path, overwrite)

    def export_log(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the log as JSON (``{"image_shape", "segmenter", "interactions", "log"}``); see
        :meth:`Session.export_log`."""
        return self._session.export_log(path, overwrite)
