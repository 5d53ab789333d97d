"""Drawing for the segmentation widget: the mask overlay (RGBA or a fast palette PNG), clicks, strokes, boxes.

Kept apart from :mod:`iseg_course.widgets` (the interactive view) so the widget module holds only the view
logic. Colours: green = object, red = background (each mark has a contrasting outline so it shows on any
colour), yellow = box, blue = the predicted mask. Used by iseg_course.widgets (lessons 00-07).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .interactions import Box, Click, Scribble

POSITIVE_COLOUR = "#00c853"  # green: object
NEGATIVE_COLOUR = "#ff1744"  # red: background
BOX_COLOUR = "#ffd600"  # yellow: bounding box
MASK_RGB = (30, 144, 255)  # overlay colour of the predicted object (dodger blue)

_CLICK_RADIUS = 5.0  # canvas pixels
_STROKE_WIDTH = 3.0  # canvas pixels


def overlay_rgba(mask: np.ndarray, opacity: float, colour: tuple[int, int, int] = MASK_RGB, outline: bool = True) -> np.ndarray:
    """RGBA image of a mask overlay: ``colour`` at ``opacity`` inside the mask, transparent outside.

    Args:
        mask: ``(h, w)`` bool mask at display (canvas) resolution.
        opacity: alpha of the filled region in ``[0, 1]``.
        colour: RGB fill colour (0..255).
        outline: draw the mask's inner boundary (4-neighbourhood) fully opaque, so the object stays
            visible at opacity 0.

    Returns:
        ``(h, w, 4) uint8`` RGBA array.

    Used by iseg_course.widgets.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"expected a (h, w) mask, got shape {mask.shape}")
    alpha = int(round(255 * float(np.clip(opacity, 0.0, 1.0))))
    lut = np.array([(0, 0, 0, 0), (*colour, alpha), (*colour, 255)], dtype=np.uint8)
    code = _overlay_codes(mask, outline)
    rgba = lut[code]
    return rgba


def _overlay_codes(mask: np.ndarray, outline: bool = True) -> np.ndarray:
    """``(h, w) uint8``: 0 outside the mask, 1 inside, 2 on its inner boundary (4-neighbourhood)."""
    code = mask.astype(np.uint8)
    if outline and mask.any():
        inner = mask.copy()
        inner[1:, :] &= mask[:-1, :]
        inner[:-1, :] &= mask[1:, :]
        inner[:, 1:] &= mask[:, :-1]
        inner[:, :-1] &= mask[:, 1:]
        code += mask & ~inner
    return code


def _overlay_png(mask: np.ndarray, opacity: float, colour: tuple[int, int, int] = MASK_RGB) -> bytes:
    """The overlay of :func:`overlay_rgba` as a palette PNG (1 byte per pixel, fast zlib level 1).

    About 10x faster to encode than the RGBA PNG ipycanvas' ``put_image_data`` makes, which keeps the
    click -> overlay latency low on large canvases.
    """
    from PIL import Image

    code = _overlay_codes(np.asarray(mask, dtype=bool))
    im = Image.frombytes("P", (code.shape[1], code.shape[0]), code.tobytes())
    im.putpalette([0, 0, 0, *colour, *colour])
    alpha = int(round(255 * float(np.clip(opacity, 0.0, 1.0))))
    buf = io.BytesIO()
    im.save(buf, format="PNG", transparency=bytes([0, alpha, 255]), compress_level=1)
    return buf.getvalue()


def _fast_put_available() -> bool:
    """True when this ipycanvas sends ``putImageData`` as (x, y) + one encoded-image buffer, as 0.13/0.14 do.

    Then the widget sends its own palette PNG; otherwise it falls back to the public ``put_image_data``.
    """
    try:
        from ipycanvas.canvas import COMMANDS, Canvas, _CanvasManager

        return "putImageData" in COMMANDS and callable(getattr(_CanvasManager, "send_draw_command", None)) and hasattr(
            Canvas, "_canvas_manager"
        )
    except ImportError:  # pragma: no cover
        return False


_FAST_PUT = _fast_put_available()
if _FAST_PUT:
    from ipycanvas.canvas import COMMANDS as _COMMANDS
else:  # pragma: no cover
    _COMMANDS = {}


def _display_scale(h: int, w: int, canvas_size: int) -> float:
    """Canvas pixels per image pixel: the longer side fills ``canvas_size`` (large images shrink, small ones grow,
    at most 16 times, nearest neighbour so that every image pixel stays a visible square)."""
    return min(canvas_size / max(h, w), 16.0)


def _dots(canvas, xy: np.ndarray, colour: str) -> None:
    """Filled click markers with a black outer and a white inner ring: visible on any background colour
    (a red negative click on a red object, a green one on grass)."""
    canvas.fill_style = colour
    canvas.fill_circles(xy[:, 0], xy[:, 1], _CLICK_RADIUS)
    canvas.stroke_style = "black"
    canvas.line_width = 3.0
    canvas.stroke_circles(xy[:, 0], xy[:, 1], _CLICK_RADIUS + 1.0)
    canvas.stroke_style = "white"
    canvas.line_width = 1.5
    canvas.stroke_circles(xy[:, 0], xy[:, 1], _CLICK_RADIUS)


def _stroke(canvas, pts: np.ndarray, colour: str) -> None:
    canvas.stroke_style = colour
    canvas.fill_style = colour
    canvas.line_width = _STROKE_WIDTH
    canvas.line_cap = "round"
    canvas.line_join = "round"
    if len(pts) == 1:
        canvas.fill_circle(float(pts[0, 0]), float(pts[0, 1]), _STROKE_WIDTH / 2 + 0.5)
    else:
        canvas.stroke_lines(pts)


def _box(canvas, rect: tuple[float, float, float, float]) -> None:
    canvas.stroke_style = BOX_COLOUR
    canvas.line_width = 2.0
    canvas.set_line_dash([6, 4])
    canvas.stroke_rect(*(float(v) for v in rect))
    canvas.set_line_dash([])


def _to_canvas(x: float, y: float, sx: float, sy: float) -> tuple[float, float]:
    """Canvas position of the centre of image pixel ``(x, y)``."""
    return (float(x) + 0.5) * sx, (float(y) + 0.5) * sy


def interaction_commands(interactions, sx: float, sy: float) -> list[Callable]:
    """Drawing commands (callables taking a canvas) for clicks, scribbles and boxes at ``sx``, ``sy`` canvas
    pixels per image pixel. Computed before ``hold_canvas`` so that nothing raises inside its batch.

    Used by iseg_course.widgets.
    """
    cmds: list[Callable] = []
    clicks: dict[bool, list] = {True: [], False: []}
    for it in interactions:
        if isinstance(it, Click):
            clicks[it.positive].append(_to_canvas(it.x, it.y, sx, sy))
        elif isinstance(it, Scribble):
            pts = np.array([_to_canvas(x, y, sx, sy) for x, y in it.points], dtype=float)
            colour = POSITIVE_COLOUR if it.positive else NEGATIVE_COLOUR
            cmds.append(lambda c, pts=pts, colour=colour: _stroke(c, pts, colour))
        elif isinstance(it, Box):
            x0, y0 = it.x0 * sx, it.y0 * sy
            x1, y1 = (it.x1 + 1) * sx, (it.y1 + 1) * sy
            cmds.append(lambda c, r=(x0, y0, x1 - x0, y1 - y0): _box(c, r))
    for positive, pts in clicks.items():
        if pts:
            xy = np.array(pts, dtype=float)
            colour = POSITIVE_COLOUR if positive else NEGATIVE_COLOUR
            cmds.append(lambda c, xy=xy, colour=colour: _dots(c, xy, colour))
    return cmds


def draw_live(layer, drag: dict, sx: float, sy: float, segment: bool = False) -> None:
    """Draw the stroke or box being dragged (``drag``: ``{"kind", "points" (image px), "positive"}``).

    Used by iseg_course.widgets.
    """
    pts = drag["points"]
    if drag["kind"] == "box":
        (x0, y0), (x1, y1) = pts[0], pts[-1]
        xa, xb = sorted((x0, x1))
        ya, yb = sorted((y0, y1))
        layer.clear()
        _box(layer, (xa * sx, ya * sy, (xb + 1 - xa) * sx, (yb + 1 - ya) * sy))
        return
    colour = POSITIVE_COLOUR if drag["positive"] else NEGATIVE_COLOUR
    tail = pts[-2:] if segment and len(pts) > 1 else pts[-1:]
    xy = np.array([_to_canvas(x, y, sx, sy) for x, y in tail], dtype=float)
    if len(xy) == 1:
        layer.fill_style = colour
        layer.fill_circle(float(xy[0, 0]), float(xy[0, 1]), _STROKE_WIDTH / 2 + 0.5)
    else:
        layer.stroke_style = colour
        layer.line_width = _STROKE_WIDTH
        layer.line_cap = "round"
        layer.stroke_line(float(xy[0, 0]), float(xy[0, 1]), float(xy[1, 0]), float(xy[1, 1]))


@dataclass(frozen=True)
class CanvasFit:
    """How an ``(H, W)`` image sits on the widget's canvas: its canvas size and the mapping both ways.

    ``sx = width / W``, ``sy = height / H`` canvas pixels per image pixel; ``rows`` / ``cols`` give, for each
    canvas pixel centre, the image pixel under it (nearest neighbour). Used by iseg_course.widgets.
    """

    h: int
    w: int
    width: int
    height: int
    rows: np.ndarray
    cols: np.ndarray

    @classmethod
    def for_image(cls, shape: tuple[int, ...], canvas_size: int) -> "CanvasFit":
        """The fit of an image of ``shape`` whose longer side fills ``canvas_size`` (see :func:`_display_scale`)."""
        h, w = int(shape[0]), int(shape[1])
        scale = _display_scale(h, w, canvas_size)
        cw, ch = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
        rows = np.minimum((np.arange(ch) + 0.5) * h / ch, h - 1).astype(np.intp)
        cols = np.minimum((np.arange(cw) + 0.5) * w / cw, w - 1).astype(np.intp)
        return cls(h, w, cw, ch, rows, cols)

    @property
    def sx(self) -> float:
        return self.width / self.w

    @property
    def sy(self) -> float:
        return self.height / self.h

    def shown_rgba(self, image: np.ndarray) -> np.ndarray:
        """The image at canvas size as ``(height, width, 4) uint8`` (RGBA, so ipycanvas sends a lossless PNG):
        nearest neighbour when enlarged, Lanczos when reduced."""
        if (self.width, self.height) == (self.w, self.h):
            shown = image
        elif self.width > self.w:
            shown = image[self.rows][:, self.cols]
        else:
            from PIL import Image

            shown = np.asarray(Image.fromarray(image).resize((self.width, self.height), Image.Resampling.LANCZOS))
        return np.dstack([shown, np.full((self.height, self.width), 255, np.uint8)])

    def canvas_to_image(self, x: float, y: float, clip: bool = True) -> tuple[int, int]:
        """Image pixel ``(col, row)`` under canvas position ``(x, y)``; see ``SegmentationWidget.canvas_to_image``."""
        if not clip and not (-1.0 <= x <= self.width + 1.0 and -1.0 <= y <= self.height + 1.0):
            raise ValueError(f"canvas position (x={x}, y={y}) is outside the {self.width}x{self.height} canvas "
                             f"(expected 0 <= x <= {self.width}, 0 <= y <= {self.height})")
        col = min(max(int(math.floor(x / self.sx)), 0), self.w - 1)
        row = min(max(int(math.floor(y / self.sy)), 0), self.h - 1)
        return col, row

    def image_to_canvas(self, x: float, y: float) -> tuple[float, float]:
        """Canvas position of the centre of image pixel ``(x, y)``."""
        return _to_canvas(x, y, self.sx, self.sy)
