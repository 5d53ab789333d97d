"""User interactions: clicks, scribbles, boxes, extreme points, polygons, and an ordered log with undo.

Coordinates are image pixels given as ``(x, y)`` = (column, row), the convention SAM uses. A point is
inside an image of shape ``(H, W)`` when ``0 <= x <= W - 1`` and ``0 <= y <= H - 1``.

The interaction types follow the lecture's taxonomy (clicks, scribbles, bounding boxes given by two corners
or by extreme points, boundary polygons); see Marinov et al., "Deep Interactive Segmentation of Medical
Images: A Systematic Review and Taxonomy", IEEE TPAMI 2024, and Papadopoulos et al., "Extreme clicking for
efficient object annotation", ICCV 2017.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence, Union

import numpy as np
from scipy.ndimage import binary_dilation
from skimage.draw import line
from skimage.draw import polygon as draw_polygon
from skimage.morphology import disk

Point = tuple[float, float]


def _check_point(x: float, y: float, shape: tuple[int, ...], what: str) -> None:
    """Raise ValueError unless ``(x, y)`` lies inside an image of ``shape`` ``(H, W[, C])``."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"{what} at (x={x}, y={y}) is not a finite coordinate")
    h, w = int(shape[0]), int(shape[1])
    if not (0 <= x <= w - 1 and 0 <= y <= h - 1):
        raise ValueError(
            f"{what} at (x={x}, y={y}) is outside the image: expected 0 <= x <= {w - 1} and "
            f"0 <= y <= {h - 1} for an image of height {h} and width {w} (coordinates are (x, y) = (column, row))"
        )


def _points(points: Iterable[Sequence[float]], what: str, min_count: int) -> tuple[Point, ...]:
    pts = tuple((float(p[0]), float(p[1])) for p in points)
    if len(pts) < min_count:
        raise ValueError(f"{what} needs at least {min_count} points (x, y), got {len(pts)}")
    return pts


@dataclass(frozen=True)
class Click:
    """A single click at pixel ``(x, y)``; ``positive=True`` marks the object, False the background.

    Used in lessons 00, 01, 02, 03, 04, 05, 07.
    """

    x: float
    y: float
    positive: bool = True

    def validate(self, shape: tuple[int, ...]) -> None:
        """Raise ValueError if the click lies outside an image of ``shape`` ``(H, W[, C])``."""
        _check_point(self.x, self.y, shape, "Click")

    @property
    def rc(self) -> tuple[int, int]:
        """The click as integer ``(row, col)`` array indices (rounded)."""
        return int(round(self.y)), int(round(self.x))


@dataclass(frozen=True)
class Scribble:
    """A free-hand stroke: a polyline of ``(x, y)`` points (at least one), positive or negative.

    Used in lessons 03, 04, 05.
    """

    points: tuple[Point, ...]
    positive: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", _points(self.points, "Scribble", 1))

    def validate(self, shape: tuple[int, ...]) -> None:
        """Raise ValueError if any point lies outside an image of ``shape``."""
        for x, y in self.points:
            _check_point(x, y, shape, "Scribble point")

    @property
    def length(self) -> float:
        """Polyline length in pixels."""
        p = np.asarray(self.points, dtype=float)
        return float(np.sum(np.hypot(*np.diff(p, axis=0).T))) if len(p) > 1 else 0.0


@dataclass(frozen=True)
class Box:
    """An axis-aligned bounding box given by two corners ``(x0, y0)`` and ``(x1, y1)`` in pixels.

    The corners may be given in any order; they are stored sorted so that ``x0 <= x1`` and ``y0 <= y1``.

    Used in lessons 01, 02, 03, 04, 05, 07.
    """

    x0: float
    y0: float
    x1: float
    y1: float

    def __post_init__(self) -> None:
        x0, x1 = sorted((float(self.x0), float(self.x1)))
        y0, y1 = sorted((float(self.y0), float(self.y1)))
        object.__setattr__(self, "x0", x0)
        object.__setattr__(self, "x1", x1)
        object.__setattr__(self, "y0", y0)
        object.__setattr__(self, "y1", y1)

    positive = True

    def validate(self, shape: tuple[int, ...]) -> None:
        """Raise ValueError if a corner lies outside the image or the box has no area."""
        _check_point(self.x0, self.y0, shape, "Box corner")
        _check_point(self.x1, self.y1, shape, "Box corner")
        if self.x1 - self.x0 < 1 or self.y1 - self.y0 < 1:
            raise ValueError(f"Box {self} has no area: expected x1 > x0 and y1 > y0 by at least one pixel")

    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices covering the box, inclusive of both corners."""
        return (slice(int(round(self.y0)), int(round(self.y1)) + 1), slice(int(round(self.x0)), int(round(self.x1)) + 1))


@dataclass(frozen=True)
class ExtremePoints:
    """The four extreme points of an object (left-most, top-most, right-most, bottom-most), as ``(x, y)``.

    Papadopoulos et al., ICCV 2017. ``box`` gives the bounding box they span.

    Used in lesson 03.
    """

    points: tuple[Point, ...]

    positive = True

    def __post_init__(self) -> None:
        pts = _points(self.points, "ExtremePoints", 4)
        if len(pts) != 4:
            raise ValueError(f"ExtremePoints needs exactly 4 points (left, top, right, bottom), got {len(pts)}")
        object.__setattr__(self, "points", pts)

    def validate(self, shape: tuple[int, ...]) -> None:
        """Raise ValueError if any point lies outside an image of ``shape``."""
        for x, y in self.points:
            _check_point(x, y, shape, "Extreme point")

    @property
    def box(self) -> Box:
        """The :class:`Box` the four points span."""
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return Box(min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True)
class Polygon:
    """A closed boundary polygon of at least three ``(x, y)`` vertices (the object is inside).

    Used in lessons 03, 05.
    """

    vertices: tuple[Point, ...]

    positive = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "vertices", _points(self.vertices, "Polygon", 3))

    def validate(self, shape: tuple[int, ...]) -> None:
        """Raise ValueError if any vertex lies outside an image of ``shape``."""
        for x, y in self.vertices:
            _check_point(x, y, shape, "Polygon vertex")

    def to_mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """Rasterise the polygon's inside into an ``(H, W)`` bool mask (scikit-image ``draw.polygon``)."""
        v = np.asarray(self.vertices, dtype=float)
        mask = np.zeros(shape[:2], dtype=bool)
        rr, cc = draw_polygon(v[:, 1], v[:, 0], shape=shape[:2])
        mask[rr, cc] = True
        return mask


Interaction = Union[Click, Scribble, Box, ExtremePoints, Polygon]
_TYPES = {cls.__name__: cls for cls in (Click, Scribble, Box, ExtremePoints, Polygon)}


def to_dict(item: Interaction) -> dict:
    """A JSON-ready dict with a ``type`` key (the class name).

    Used by iseg_course.session (the event log, ``export_log``).
    """
    if isinstance(item, Click):
        return {"type": "Click", "x": item.x, "y": item.y, "positive": item.positive}
    if isinstance(item, Scribble):
        return {"type": "Scribble", "points": [list(p) for p in item.points], "positive": item.positive}
    if isinstance(item, Box):
        return {"type": "Box", "x0": item.x0, "y0": item.y0, "x1": item.x1, "y1": item.y1}
    if isinstance(item, ExtremePoints):
        return {"type": "ExtremePoints", "points": [list(p) for p in item.points]}
    if isinstance(item, Polygon):
        return {"type": "Polygon", "vertices": [list(p) for p in item.vertices]}
    raise TypeError(f"expected an interaction (Click, Scribble, Box, ExtremePoints, Polygon), got {type(item).__name__}")


def from_dict(d: dict) -> Interaction:
    """Inverse of :func:`to_dict`; raises ValueError on an unknown ``type``.

    Used in lesson 03.
    """
    d = dict(d)
    kind = d.pop("type", None)
    if kind not in _TYPES:
        raise ValueError(f"unknown interaction type {kind!r}; expected one of {sorted(_TYPES)}")
    if kind in ("Scribble", "ExtremePoints"):
        d["points"] = tuple(tuple(p) for p in d["points"])
    if kind == "Polygon":
        d["vertices"] = tuple(tuple(p) for p in d["vertices"])
    return _TYPES[kind](**d)


@dataclass
class Interactions:
    """An ordered log of interactions with undo.

    >>> log = Interactions()
    >>> log.add(Click(10, 20, positive=True))
    >>> log.add(Click(5, 5, positive=False))
    >>> len(log), len(log.clicks)
    (2, 2)
    >>> log.undo()
    Click(x=5, y=5, positive=False)

    Used in lessons 00, 01, 02, 03, 04, 05, 07.
    """

    items: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.items = list(self.items)
        for it in self.items:
            to_dict(it)  # type check

    def add(self, item: Interaction, shape: tuple[int, ...] | None = None) -> None:
        """Append an interaction; when ``shape`` is given, validate it first (ValueError if outside)."""
        to_dict(item)
        if shape is not None:
            item.validate(shape)
        self.items.append(item)

    def undo(self) -> Interaction | None:
        """Remove and return the newest interaction (None when the log is empty)."""
        return self.items.pop() if self.items else None

    def clear(self) -> None:
        """Remove every interaction."""
        self.items.clear()

    def copy(self) -> "Interactions":
        """A new log holding the same interactions (the interactions themselves are immutable)."""
        return Interactions(list(self.items))

    def validate(self, shape: tuple[int, ...]) -> None:
        """Raise ValueError if any interaction lies outside an image of ``shape`` ``(H, W[, C])``."""
        for it in self.items:
            it.validate(shape)

    def __iter__(self) -> Iterator[Interaction]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    @property
    def clicks(self) -> list[Click]:
        """The clicks, oldest first."""
        return [i for i in self.items if isinstance(i, Click)]

    @property
    def scribbles(self) -> list[Scribble]:
        """The scribbles, oldest first."""
        return [i for i in self.items if isinstance(i, Scribble)]

    @property
    def boxes(self) -> list[Box]:
        """Boxes, including the boxes spanned by extreme points."""
        out = []
        for i in self.items:
            if isinstance(i, Box):
                out.append(i)
            elif isinstance(i, ExtremePoints):
                out.append(i.box)
        return out

    @property
    def polygons(self) -> list[Polygon]:
        """The polygons, oldest first."""
        return [i for i in self.items if isinstance(i, Polygon)]

    def to_json(self) -> str:
        """The log as a JSON list of :func:`to_dict` dicts."""
        return json.dumps([to_dict(i) for i in self.items])

    @classmethod
    def from_json(cls, text: str) -> "Interactions":
        """Read :meth:`to_json` output back; ValueError on an unknown ``type``."""
        return cls([from_dict(d) for d in json.loads(text)])


def polyline_pixels(points: Iterable[Sequence[float]]) -> np.ndarray:
    """The pixels of a polyline through ``(x, y)`` points: ``(N, 2) int64`` ``(row, col)`` indices, in order.

    Points are rounded to the nearest pixel and consecutive points joined by Bresenham lines
    (``skimage.draw.line``); a single point gives its own pixel. Shared corners appear twice.

    Raises ValueError for an empty list of points.

    Used by iseg_course.guidance (seed maps) and :func:`rasterize_seeds`.
    """
    pts = [(int(round(y)), int(round(x))) for x, y in points]
    if not pts:
        raise ValueError("a polyline needs at least one (x, y) point")
    if len(pts) == 1:
        return np.array(pts, dtype=np.int64)
    parts = [np.stack(line(r0, c0, r1, c1), axis=1) for (r0, c0), (r1, c1) in zip(pts, pts[1:])]
    return np.concatenate(parts).astype(np.int64)


def rasterize_seeds(
    interactions: Iterable[Interaction], shape: tuple[int, ...], radius: int = 3, validate: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Turn interactions into hard seed masks ``(fg, bg)``, each ``(H, W)`` bool.

    Clicks become disks of ``radius`` pixels, scribbles thick polylines (``radius`` pixels each side),
    extreme points disks on the object; a box marks everything outside it as background; a polygon marks
    its inside as object and a 2-pixel band outside it as background. Where a later interaction
    contradicts an earlier one, the later wins.

    Raises ValueError if an interaction lies outside the image.

    Used in lesson 03.
    """

    h, w = int(shape[0]), int(shape[1])
    footprint = disk(radius).astype(bool)
    fg = np.zeros((h, w), dtype=bool)
    bg = np.zeros((h, w), dtype=bool)

    def stamp(target, other, pts):
        path = np.zeros((h, w), dtype=bool)
        rc = polyline_pixels(pts)
        path[rc[:, 0], rc[:, 1]] = True
        rows, cols = np.nonzero(path)
        r0, r1 = max(rows.min() - radius, 0), min(rows.max() + radius + 1, h)
        c0, c1 = max(cols.min() - radius, 0), min(cols.max() + radius + 1, w)
        window = binary_dilation(path[r0:r1, c0:c1], structure=footprint)
        target[r0:r1, c0:c1] |= window
        other[r0:r1, c0:c1] &= ~window

    for it in interactions:
        if validate:
            it.validate((h, w))
        if isinstance(it, Click):
            t, o = (fg, bg) if it.positive else (bg, fg)
            stamp(t, o, [(it.x, it.y)])
        elif isinstance(it, Scribble):
            t, o = (fg, bg) if it.positive else (bg, fg)
            stamp(t, o, it.points)
        elif isinstance(it, (Box, ExtremePoints)):
            box = it.box if isinstance(it, ExtremePoints) else it
            outside = np.ones((h, w), dtype=bool)
            outside[box.slices()] = False
            bg |= outside
            fg &= ~outside
            if isinstance(it, ExtremePoints):
                for p in it.points:
                    stamp(fg, bg, [p])
        elif isinstance(it, Polygon):
            inside = it.to_mask((h, w))
            band = binary_dilation(inside, iterations=2) & ~inside
            fg |= inside
            bg &= ~inside
            bg |= band
            fg &= ~band
    return fg, bg
