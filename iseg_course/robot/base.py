"""The robot protocol, and the seeding every robot user shares.

A robot user is any callable ``robot(gt, pred, ignore, previous) -> Interaction | None`` (:class:`Robot`):
it sees the ground truth, the current prediction and the interactions placed so far, and returns the next
interaction — a Click, Scribble, Box, ExtremePoints or Polygon — or None when nothing is left to correct.
"""

from __future__ import annotations

import zlib
from typing import Iterable, Protocol, Sequence, Union

import numpy as np

from ..interactions import Click, Interaction

RandomState = Union[np.random.Generator, int, None]


class Robot(Protocol):
    """A simulated annotator: the next interaction from the ground truth, the prediction and the history.

    ``robot(gt, pred, ignore, previous) -> Interaction | None``, all arguments positional:

    * ``gt``: ``(H, W)`` bool ground-truth mask (``{0, 1}`` / ``{0, 255}`` integers are accepted too); it
      must hold at least one object pixel outside ``ignore``.
    * ``pred``: ``(H, W)`` bool current binary prediction (all False before the first interaction).
    * ``ignore``: ``(H, W)`` bool mask of pixels that are never interacted with and never count as errors,
      or None for none.
    * ``previous``: the interactions placed so far on this sample, oldest first — a list, a tuple or an
      :class:`iseg_course.interactions.Interactions` log, of any interaction types (Click, Scribble, Box,
      ExtremePoints, Polygon). A robot reads only the items it needs: the click robots look at the
      ``Click`` items only (to avoid clicking a pixel twice), :class:`~iseg_course.robot.ScribbleRobot`
      at whether a scribble was already drawn.

    Returns the next interaction of any type (in pixel coordinates ``(x, y)`` of ``gt``), or None when
    there is nothing left to correct (the prediction equals the ground truth outside ``ignore``). Raises
    ValueError for masks of different shapes, non-binary masks, or an empty ground truth.

    A robot must be deterministic given its seed: the same sample, predictions and ``previous`` give the
    same interaction whatever ran before (robots seed per sample, see :func:`sample_generator`); and it
    must be picklable, since :func:`iseg_course.evaluation.evaluate` sends it to worker processes. Every
    click function of this package (:func:`~iseg_course.robot.ritm_click`, ...), every
    :class:`~iseg_course.robot.ClickRobot` and the robots of :func:`~iseg_course.robot.make_robot` fit.

    Used by iseg_course.evaluation and iseg_course.training, which call their ``robot`` argument this way.
    """

    def __call__(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        ignore: np.ndarray | None = None,
        previous: Sequence[Interaction] = (),
        /,
    ) -> Interaction | None: ...


def clicks_of(previous: Iterable[Interaction]) -> list[Click]:
    """The ``Click`` items of a history of interactions, in order (a list, tuple or ``Interactions`` log).

    Used by the click robots (lesson 05) and :class:`~iseg_course.robot.BoxThenClicks`.
    """
    return [p for p in previous if isinstance(p, Click)]


def as_generator(rng: RandomState) -> np.random.Generator:
    """Turn ``rng`` into a NumPy ``Generator``.

    * a ``Generator`` is used as it is (its state advances);
    * an ``int`` (>= 0) seeds a new ``Generator`` (the same int always gives the same draws);
    * ``None`` seeds a new ``Generator`` from NumPy's global (legacy) random state, as scikit-learn's
      ``random_state=None`` does: reproducible after ``iseg_course.setup()`` / ``np.random.seed``, and a
      different draw on each call.

    Raises:
        TypeError: anything else (a float, a string, a legacy ``RandomState``...).
        ValueError: a negative seed.

    Used by every random robot of iseg_course.robot (lesson 05).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(int(np.random.randint(0, 2**31 - 1)))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"expected a seed >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"expected rng as a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def sample_generator(seed: int, gt: np.ndarray | None = None, *step: int) -> np.random.Generator:
    """A ``Generator`` seeded from ``(seed, a CRC-32 checksum of the mask gt, *step)``.

    The draws of a robot on a sample then depend only on its seed, the sample (and the step, e.g. the
    number of interactions so far), never on which samples came before or on which worker process runs
    it: a whole evaluation is reproducible in any order. Without ``gt`` the key is ``seed`` alone.

    Used by ClickRobot (lesson 05), ScribbleRobot and BoxThenClicks.
    """
    key = [int(seed)]
    if gt is not None:
        key.append(zlib.crc32(np.packbits(np.asarray(gt, dtype=bool)).tobytes()))
    key.extend(int(s) for s in step)
    return np.random.default_rng(key)


def _image_hw(shape) -> tuple[int, int]:
    """``(H, W)`` of an image shape ``(H, W[, C])``; ValueError for anything else."""
    if not isinstance(shape, (tuple, list)) or len(shape) < 2 or min(int(shape[0]), int(shape[1])) < 1:
        raise ValueError(f"expected an image shape (H, W[, C]), got {shape!r}")
    return int(shape[0]), int(shape[1])


def _cumulative_length(points: np.ndarray) -> np.ndarray:
    """Arc length from the first point to each point of a polyline ``(N, 2)``: ``(N,) float64``, starts at 0."""
    p = np.asarray(points, dtype=float)
    if len(p) < 2:
        return np.zeros(len(p))
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])
