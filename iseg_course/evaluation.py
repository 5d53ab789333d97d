"""Running the interactive loop with a robot user: click -> predict -> score, repeated.

``simulate_clicks`` is the loop one sample at a time; lessons, tests and benchmarks all use it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .data import Sample
from .interactions import Click, Interactions
from .metrics import iou
from .robot import ritm_click
from .segmenter import Segmenter

Robot = Callable[..., "Click | None"]


@dataclass
class ClickLoopResult:
    """What one run of the loop produced.

    Attributes:
        ious: IoU after each click (len = number of clicks made).
        masks: the ``(H, W) bool`` prediction after each click.
        interactions: the clicks, in order.
        seconds: wall-clock seconds of each ``predict`` call.
    """

    ious: list[float] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    interactions: Interactions = field(default_factory=Interactions)
    seconds: list[float] = field(default_factory=list)


def simulate_clicks(
    segmenter: Segmenter, sample: Sample, n_clicks: int, robot: Robot = ritm_click, threshold: float = 0.5
) -> ClickLoopResult:
    """Run ``n_clicks`` rounds of robot click -> ``segmenter.predict`` -> IoU on one sample.

    The previous probability map is passed back as ``prev_mask``. The loop stops early when the robot
    finds no error left to click (the prediction is perfect on the non-ignored pixels).

    Args:
        segmenter: any Segmenter; ``set_image`` is called here.
        sample: a :class:`~iseg_course.data.Sample` (image, mask, ignore).
        n_clicks: the click budget (>= 1).
        robot: ``robot(gt, pred, ignore, clicked) -> Click | None`` (default: the RITM clicker).
        threshold: probability threshold for the binary prediction.

    Raises:
        ValueError: ``n_clicks < 1``.
    """
    if n_clicks < 1:
        raise ValueError(f"expected n_clicks >= 1, got {n_clicks}")
    segmenter.set_image(sample.image)
    out = ClickLoopResult()
    pred = np.zeros_like(sample.mask)
    prob = None
    for _ in range(n_clicks):
        click = robot(sample.mask, pred, sample.ignore, out.interactions.clicks)
        if click is None:
            break
        out.interactions.add(click)
        t0 = time.perf_counter()
        prob = segmenter.predict(out.interactions, prev_mask=prob)
        out.seconds.append(time.perf_counter() - t0)
        pred = prob >= threshold
        out.ious.append(iou(pred, sample.mask, sample.ignore))
        out.masks.append(pred)
    return out
