"""The Segmenter protocol: the seam between models, widgets, robot users, training and evaluation.

Every interactive method in the course (graph cut, GrabCut, geodesic, snakes, the click model) implements
two methods:

* ``set_image(image)``: heavy per-image work done once (colour models, an image encoder, ...);
* ``predict(interactions, prev_mask=None)``: ``(H, W) float32`` probabilities of "object" in ``[0, 1]``, or
  a :class:`Prediction` for a method that gives more (K candidate masks with predicted scores,
  low-resolution logits for the next click, opaque per-session state).

A method declares the interaction kinds it ``accepts`` (:data:`INTERACTION_KINDS`); the session checks
them once, with a message naming the method and the kind. :func:`check_prediction` is the one check of
what ``predict`` returned (shape, dtype, range, NaN), used by :class:`BaseSegmenter` and the session alike.
A widget, a robot user or the evaluation harness only ever talks to this protocol, so any method can be
clicked, simulated or benchmarked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Protocol, runtime_checkable

import numpy as np

from .interactions import Box, Click, ExtremePoints, Interaction, Interactions, Polygon, Scribble


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate an RGB image and return it as a C-contiguous ``(H, W, 3) uint8`` array.

    Raises:
        TypeError: if ``image`` is not a NumPy array.
        ValueError: if it is not ``(H, W, 3)`` with ``uint8`` values or is empty.

    Used by :class:`BaseSegmenter` and iseg_course.session.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected an image as a NumPy array (H, W, 3) uint8, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected an image of dtype uint8 (0..255), got {image.dtype}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"expected an image of at least 2x2 pixels, got shape {image.shape}")
    return np.ascontiguousarray(image)


def check_mask(mask: np.ndarray, shape: tuple[int, ...] | None = None, name: str = "mask") -> np.ndarray:
    """Validate a binary mask and return it as ``(H, W) bool``.

    Accepts bool arrays and integer arrays holding only {0, 1} or {0, 255}.

    Raises:
        ValueError: on a wrong number of dimensions, a shape different from ``shape[:2]``, or values that
            are not binary.

    Used by iseg_course.metrics, iseg_course.robot and iseg_course.classical (graph cut).
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected {name} of shape (H, W), got shape {mask.shape}")
    if shape is not None and mask.shape != tuple(shape[:2]):
        raise ValueError(f"expected {name} of shape {tuple(shape[:2])} (the image's H, W), got {mask.shape}")
    if mask.dtype == bool:
        return mask
    values = np.unique(mask)
    if np.all(np.isin(values, (0, 1))):
        return mask.astype(bool)
    if np.all(np.isin(values, (0, 255))):
        return mask == 255
    raise ValueError(f"expected a binary {name} (bool, {{0, 1}} or {{0, 255}}), found values {values[:8].tolist()}")


def check_ground_truth(gt: np.ndarray, ignore: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a ground-truth mask and its optional ignore mask; return ``(gt, valid)``, ``(H, W) bool`` each.

    ``valid`` marks the pixels that count (not ignored). Metrics and robot users share this check.

    Raises:
        ValueError: a mask that is not ``(H, W)`` binary, an ignore mask of another shape, or a ground truth
            with no object pixel outside the ignore mask (IoU and a robot user's clicks are undefined then).

    Used by iseg_course.metrics and iseg_course.robot.
    """
    gt = check_mask(gt, name="ground-truth mask")
    valid = np.ones_like(gt) if ignore is None else ~check_mask(ignore, gt.shape, name="ignore mask")
    if not (gt & valid).any():
        raise ValueError("the ground-truth mask is empty (no object pixels outside the ignore mask)")
    return gt, valid


#: Interaction kinds a segmenter can accept: name -> interaction class. ``"mask"`` is a mask prompt: the
#: previous prediction (or a user's mask) fed back as ``prev_mask`` -- not an item of the interaction log.
INTERACTION_KINDS: dict[str, type | None] = {
    "click": Click,
    "scribble": Scribble,
    "box": Box,
    "extreme_points": ExtremePoints,
    "polygon": Polygon,
    "mask": None,
}
ALL_KINDS: frozenset[str] = frozenset(INTERACTION_KINDS)
_KIND_OF = {cls: name for name, cls in INTERACTION_KINDS.items() if cls is not None}


def interaction_kind(item: Interaction) -> str:
    """The kind name of an interaction (``"click"``, ``"scribble"``, ``"box"``, ``"extreme_points"``,
    ``"polygon"``). Raises TypeError for anything else.

    Used by iseg_course.session and :func:`check_accepts`.
    """
    try:
        return _KIND_OF[type(item)]
    except KeyError:
        raise TypeError(f"expected an interaction ({', '.join(c.__name__ for c in _KIND_OF)}), "
                        f"got {type(item).__name__}") from None


def accepted_kinds(segmenter) -> frozenset[str]:
    """The interaction kinds ``segmenter`` declares in its ``accepts`` attribute (all kinds when it has none).

    Raises ValueError for an unknown kind name in ``accepts``.

    Used by iseg_course.session, iseg_course.widgets and iseg_course.methods.
    """
    kinds = frozenset(getattr(segmenter, "accepts", ALL_KINDS))
    unknown = kinds - ALL_KINDS
    if unknown:
        raise ValueError(f"{type(segmenter).__name__}.accepts names unknown kinds {sorted(unknown)}; "
                         f"expected some of {sorted(ALL_KINDS)}")
    return kinds


class UnsupportedInteraction(ValueError):
    """An interaction of a kind the segmenter does not accept (e.g. a Box given to a click-only model).

    Used by :func:`check_accepts` (so by ``BaseSegmenter.predict``, iseg_course.session and the widget).
    """


def _kinds_text(kinds: frozenset[str]) -> str:
    names = {"click": "clicks", "scribble": "scribbles", "box": "boxes", "extreme_points": "extreme points",
             "polygon": "polygons"}
    shown = [names[k] for k in INTERACTION_KINDS if k in kinds and k in names]
    if len(shown) == 1:
        return f"{shown[0]} only"
    return ", ".join(shown[:-1]) + f" and {shown[-1]}" if shown else "no interactions"


def check_accepts(segmenter, items: Iterable[Interaction]) -> None:
    """Raise :class:`UnsupportedInteraction` (a ValueError) naming the method and the first interaction of a
    kind ``segmenter`` does not accept, e.g. ``"ClickSegmenter accepts clicks only; got Box"``.

    Used by :class:`BaseSegmenter` and iseg_course.session (checked once, when the interaction is added).
    """
    kinds = accepted_kinds(segmenter)
    for item in items:
        if interaction_kind(item) not in kinds:
            raise UnsupportedInteraction(f"{type(segmenter).__name__} accepts {_kinds_text(kinds)}; "
                                         f"got {type(item).__name__}")


# ------------------------------------------------------------------------------------------------ predictions
@dataclass
class Prediction:
    """What a segmenter may return instead of a single ``(H, W)`` map: K candidates with scores and state.

    A SAM-style model answers an ambiguous click with several masks (whole cat, head, eye) and its own
    estimate of each mask's IoU; it also wants its low-resolution logits back on the next click, and a
    refinement method (f-BRS) or a zoom-in keeps per-session parameters between clicks. The session stores
    the whole Prediction, passes it back as ``previous`` to segmenters that set ``takes_previous = True``,
    and restores it on undo.

    Attributes:
        masks: ``(K, H, W) float32`` object probabilities in ``[0, 1]``, K >= 1.
        scores: ``(K,) float32`` predicted quality of each mask (e.g. SAM's predicted IoU), or None.
        low_res_logits: ``(K, h, w) float32`` logits to feed back on the next click, or None.
        state: anything the segmenter wants back on the next call (opaque to everyone else).
        chosen: index of the candidate shown / used as the previous mask (default: the best score, else 0).

    Kirillov et al., "Segment Anything", ICCV 2023 (multimask output with predicted IoU).

    Used by iseg_course.session and iseg_course.widgets (the candidate-mask buttons).
    """

    masks: np.ndarray
    scores: np.ndarray | None = None
    low_res_logits: np.ndarray | None = None
    state: Any = None
    chosen: int | None = None

    def __post_init__(self) -> None:
        if self.chosen is None:
            self.chosen = self.best_by_score()

    @property
    def k(self) -> int:
        """The number of candidate masks."""
        return int(np.shape(self.masks)[0])

    @property
    def probabilities(self) -> np.ndarray:
        """The chosen candidate, ``(H, W) float32``."""
        return self.masks[self.chosen]

    def best_by_score(self) -> int:
        """Index of the candidate with the highest predicted score (0 without scores): SAM's choice."""
        return 0 if self.scores is None else int(np.argmax(self.scores))

    def choose(self, index: int) -> "Prediction":
        """A copy with candidate ``index`` chosen. Raises IndexError outside ``0 .. K-1``."""
        index = int(index)
        if not 0 <= index < self.k:
            raise IndexError(f"candidate {index} does not exist: expected 0 <= index < {self.k}")
        return replace(self, chosen=index)


def check_prediction(out, shape: tuple[int, ...], name: str = "segmenter"):
    """Validate what ``predict`` returned; return a float32 copy of the same kind.

    Args:
        out: an ``(H, W)`` probability map (array-like) or a :class:`Prediction`.
        shape: the image's shape ``(H, W[, C])``.
        name: the method's name for the messages.

    Returns:
        ``(H, W) float32`` array, or a :class:`Prediction` whose ``masks`` are ``(K, H, W) float32`` and
        whose ``scores`` (if any) are ``(K,) float32``.

    Raises:
        RuntimeError: None, a wrong shape, values outside ``[0, 1]`` or NaN, scores of the wrong length or
            not finite, a chosen index outside ``0 .. K-1`` -- the segmenter's fault, not the user's.

    Used by :class:`BaseSegmenter` and iseg_course.session (so the widget and ``evaluate`` alike).
    """
    h, w = int(shape[0]), int(shape[1])
    if out is None:
        raise RuntimeError(f"{name}.predict returned None; expected an (H, W) float32 map or a Prediction")
    if isinstance(out, Prediction):
        masks = np.array(out.masks, dtype=np.float32)
        if masks.ndim != 3 or masks.shape[1:] != (h, w) or masks.shape[0] < 1:
            raise RuntimeError(f"{name}.predict returned masks of shape {masks.shape}; expected (K, {h}, {w})")
        _check_range(masks, name)
        scores = None
        if out.scores is not None:
            scores = np.array(out.scores, dtype=np.float32).reshape(-1)
            if scores.shape != (masks.shape[0],) or not np.all(np.isfinite(scores)):
                raise RuntimeError(f"{name}.predict returned {scores.size} scores for {masks.shape[0]} masks "
                                   f"(or non-finite scores); expected ({masks.shape[0]},) finite values")
        chosen = out.chosen if out.chosen is not None else 0
        if not 0 <= int(chosen) < masks.shape[0]:
            raise RuntimeError(f"{name}.predict chose candidate {chosen} of {masks.shape[0]}")
        low = None if out.low_res_logits is None else np.asarray(out.low_res_logits, dtype=np.float32)
        return Prediction(masks, scores, low, out.state, int(chosen))
    probs = np.array(out, dtype=np.float32)
    if probs.shape != (h, w):
        raise RuntimeError(f"{name}.predict returned shape {probs.shape}; expected {(h, w)}")
    _check_range(probs, name)
    return probs


def _check_range(a: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(a)) or a.min() < 0.0 or a.max() > 1.0:
        raise RuntimeError(f"{name}.predict returned values outside [0, 1] (or NaN)")


def as_prediction(out) -> Prediction:
    """A checked ``predict`` result as a :class:`Prediction` (a plain map becomes K = 1).

    Used by iseg_course.session.
    """
    return out if isinstance(out, Prediction) else Prediction(np.asarray(out, np.float32)[None])


# ------------------------------------------------------------------------------------------------ protocol
@runtime_checkable
class Segmenter(Protocol):
    """Anything that turns interactions on an image into an object probability map.

    Optional attributes: ``accepts`` (a set of :data:`INTERACTION_KINDS` names; all when absent) and
    ``takes_previous`` (True: ``predict`` also takes ``previous=`` the last :class:`Prediction`).

    Used in lesson 07.
    """

    def set_image(self, image: np.ndarray) -> None:
        """Prepare for ``image`` (``(H, W, 3) uint8`` RGB); heavy per-image work goes here."""

    def predict(self, interactions: Interactions, prev_mask: np.ndarray | None = None) -> np.ndarray | Prediction:
        """Return ``(H, W) float32`` object probabilities in ``[0, 1]`` (or a :class:`Prediction`)."""


class BaseSegmenter:
    """Convenience base class: validates the image and the interactions, stores the image.

    Subclasses implement :meth:`_predict` (returning an ``(H, W)`` map or a :class:`Prediction`), may set
    ``accepts`` (the interaction kinds they understand, default all but the mask prompt) and may extend
    :meth:`set_image` (call ``super().set_image``). A subclass that wants its last :class:`Prediction` back
    (low-resolution logits, state) sets ``takes_previous = True`` and overrides :meth:`_predict_previous`.

    Used by iseg_course.classical and iseg_course.models (every segmenter of the course derives from it).
    """

    image: np.ndarray | None = None
    accepts: frozenset[str] = frozenset(INTERACTION_KINDS) - {"mask"}
    takes_previous: bool = False

    def set_image(self, image: np.ndarray) -> None:
        """Validate ``image`` (``(H, W, 3) uint8`` RGB) and store it; TypeError/ValueError as :func:`check_image`."""
        self.image = check_image(image)

    def predict(self, interactions: Interactions, prev_mask: np.ndarray | None = None,
                previous: Prediction | None = None) -> np.ndarray | Prediction:
        """Validate and delegate to ``_predict``; the result is ``(H, W) float32`` in ``[0, 1]`` (or a
        checked :class:`Prediction` for a method that returns several candidates).

        Raises:
            RuntimeError: if ``set_image`` has not been called, or the method returned something malformed.
            ValueError: if an interaction is outside the image, of a kind the method does not accept
                (:class:`UnsupportedInteraction`), or ``prev_mask`` has the wrong shape.
        """
        if self.image is None:
            raise RuntimeError(f"{type(self).__name__}.predict called before set_image(image)")
        if not isinstance(interactions, Interactions):
            interactions = Interactions(list(interactions))
        interactions.validate(self.image.shape)
        check_accepts(self, interactions)
        if prev_mask is not None:
            prev_mask = np.asarray(prev_mask)
            if prev_mask.shape != self.image.shape[:2]:
                raise ValueError(f"expected prev_mask of shape {self.image.shape[:2]}, got {prev_mask.shape}")
        out = self._predict_previous(interactions, prev_mask, previous)
        return check_prediction(out, self.image.shape, type(self).__name__)

    def _predict_previous(self, interactions: Interactions, prev_mask: np.ndarray | None,
                          previous: Prediction | None):
        return self._predict(interactions, prev_mask)

    def _predict(self, interactions: Interactions, prev_mask: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError
