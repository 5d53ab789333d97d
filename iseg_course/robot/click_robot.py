"""Seeded, named click robots: position noise (:func:`perturb_click`), the registry ``CLICK_ROBOTS``,
:class:`ClickRobot` and :func:`make_click_robot`."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..interactions import Click, Interaction
from ..segmenter import check_mask
from ..validate import integer, number
from .base import RandomState, _image_hw, as_generator, clicks_of, sample_generator
from .clicks import (boundary_click, centre_click, dt_prior_click, long_axis_click, random_click, ritm_click,
                     uniform_click)


def perturb_click(click: Click, sigma_px: float, shape: tuple[int, ...], rng: RandomState = None) -> Click:
    """Add Gaussian position noise to a click: a user never hits the exact centre.

    ``x' = round(x + N(0, sigma_px^2))``, ``y'`` likewise, clipped into the image ``shape`` ``(H, W[, C])``;
    the label is kept, so a perturbed click may land on the wrong side of the boundary (a user error on
    purpose). ``sigma_px = 0`` returns the click unchanged. Used as data augmentation in training
    (the lecture's "random X, Y shift") and to test a model's robustness to sloppy clicks.

    Raises:
        TypeError: ``click`` is not a Click or ``rng`` is not valid.
        ValueError: ``sigma_px < 0`` or a bad ``shape``.

    Used in lesson 05.
    """
    if not isinstance(click, Click):
        raise TypeError(f"expected a Click, got {type(click).__name__}")
    sigma_px = number(sigma_px, "sigma_px", minimum=0.0)
    h, w = _image_hw(shape)
    gen = as_generator(rng)
    if sigma_px == 0:
        return click
    dx, dy = gen.normal(0.0, sigma_px, size=2)
    x = int(np.clip(round(click.x + dx), 0, w - 1))
    y = int(np.clip(round(click.y + dy), 0, h - 1))
    return Click(x, y, click.positive)


CLICK_ROBOTS: dict[str, Callable[..., Click | None]] = {
    "ritm": ritm_click,
    "centre": centre_click,
    "random": random_click,
    "uniform": uniform_click,
    "dt_prior": dt_prior_click,
    "boundary": boundary_click,
    "long_axis": long_axis_click,
}
"""The click robot users by name: ``f(gt, pred, ignore=None, clicked=(), *, rng=None) -> Click | None``
(``ritm_click`` takes no ``rng``: it is deterministic).

Used in lesson 05."""


class ClickRobot:
    """A named, seeded click robot: ``robot(gt, pred, ignore=None, previous=()) -> Click | None``.

    Made by :func:`make_click_robot`; fits the :class:`~iseg_course.robot.Robot` protocol, reading only
    the ``Click`` items of ``previous``. The random strategies draw from a ``Generator`` that is re-seeded
    at the first click of every sample (a call with no earlier click) from ``(seed, a checksum of the
    ground-truth mask)`` (:func:`~iseg_course.robot.sample_generator`). So the clicks on a sample depend
    only on the seed, the sample and the predictions, not on which samples were evaluated before it or
    in which worker process — a whole evaluation is reproducible, in any order. Picklable (for
    multi-process evaluation).

    Attributes: ``name``, ``seed``, ``kwargs`` (passed to the strategy), ``perturb_px``.

    Used in lesson 05 (through :func:`make_click_robot`).
    """

    def __init__(self, name: str, seed: int = 0, perturb_px: float = 0.0, **kwargs) -> None:
        if name not in CLICK_ROBOTS:
            raise ValueError(f"unknown click robot {name!r}; expected one of {sorted(CLICK_ROBOTS)}")
        self.name = name
        self.seed = integer(seed, "seed", minimum=0)
        self.perturb_px = number(perturb_px, "perturb_px", minimum=0.0)
        if name == "ritm" and kwargs:
            raise TypeError(f"the ritm robot takes no options, got {sorted(kwargs)}")
        self.kwargs = dict(kwargs)
        self.rng = sample_generator(self.seed)

    def reseed(self, gt: np.ndarray | None = None) -> None:
        """Re-seed the Generator from ``seed`` (and the mask ``gt`` when given)."""
        self.rng = sample_generator(self.seed, gt)

    def __call__(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        ignore: np.ndarray | None = None,
        previous: Sequence[Interaction] = (),
    ) -> Click | None:
        clicked = clicks_of(previous)
        if not clicked:
            self.reseed(check_mask(gt, name="ground-truth mask"))
        fn = CLICK_ROBOTS[self.name]
        if self.name == "ritm":
            click = fn(gt, pred, ignore, clicked)
        else:
            click = fn(gt, pred, ignore, clicked, rng=self.rng, **self.kwargs)
        if click is not None and self.perturb_px > 0:
            click = perturb_click(click, self.perturb_px, np.shape(gt), self.rng)
        return click

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        pert = f", perturb_px={self.perturb_px}" if self.perturb_px else ""
        return f"ClickRobot({self.name!r}, seed={self.seed}{pert}{opts})"


def make_click_robot(name: str, seed: int = 0, **kw) -> ClickRobot:
    """A click robot user by name, with its own seeded random generator.

    Args:
        name: one of ``CLICK_ROBOTS``: "ritm", "centre", "random", "uniform", "dt_prior", "boundary",
            "long_axis".
        seed: int >= 0; see :class:`ClickRobot` for how it is used per sample.
        **kw: options of the strategy (e.g. ``power=2`` for "dt_prior", ``band_px=(2, 8)`` for
            "boundary"), and ``perturb_px`` (default 0): Gaussian position noise added to every click
            (:func:`perturb_click`).

    Returns:
        ``robot(gt, pred, ignore=None, previous=()) -> Click | None``, the signature
        :func:`iseg_course.evaluation.simulate_clicks` and ``evaluate`` expect.

    Raises:
        ValueError: an unknown name or a bad seed; TypeError: options for a strategy that takes none.

    >>> robot = make_click_robot("dt_prior", seed=1, power=2)
    >>> robot
    ClickRobot('dt_prior', seed=1, power=2)

    Used in lesson 05 and by iseg_course.cli (``iseg-course evaluate --robot``).
    """
    return ClickRobot(name, seed, **kw)
