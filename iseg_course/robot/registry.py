"""Every robot user by name: :func:`make_robot` (click robots, and the scribble and box-then-click robots)."""

from __future__ import annotations

from .boxes import BoxThenClicks
from .click_robot import CLICK_ROBOTS, make_click_robot
from .scribbles import ScribbleRobot

_SESSION_ROBOTS = {"scribble": ScribbleRobot, "box_then_clicks": BoxThenClicks}

ROBOT_NAMES: tuple[str, ...] = (*CLICK_ROBOTS, *_SESSION_ROBOTS)
"""The names :func:`make_robot` knows: the click robots of ``CLICK_ROBOTS``, then "scribble" and
"box_then_clicks"."""


def make_robot(name: str, seed: int = 0, **kw):
    """A seeded robot user of any interaction type by name, fitting the :class:`~iseg_course.robot.Robot` protocol.

    Args:
        name: a click robot ("ritm", "centre", "random", "uniform", "dt_prior", "boundary", "long_axis":
            :func:`~iseg_course.robot.make_click_robot`), "scribble" (:class:`~iseg_course.robot.ScribbleRobot`)
            or "box_then_clicks" (:class:`~iseg_course.robot.BoxThenClicks`).
        seed: int >= 0.
        **kw: the options of that robot (e.g. ``perturb_px=3`` for a click robot, ``warp_px=4`` for
            "scribble", ``max_shift_px=10, clicker="centre"`` for "box_then_clicks").

    Returns:
        ``robot(gt, pred, ignore=None, previous=()) -> Interaction | None``, picklable and deterministic.

    Raises:
        ValueError: an unknown name or a bad seed/option; TypeError: an option the robot does not take.

    >>> make_robot("box_then_clicks", seed=2, max_shift_px=8)
    BoxThenClicks(seed=2, max_shift_px=8.0, clicker=ClickRobot('ritm', seed=2))

    Not used in a lesson yet; the click names give the robots of lesson 05.
    """
    if name in CLICK_ROBOTS:
        return make_click_robot(name, seed, **kw)
    if name in _SESSION_ROBOTS:
        return _SESSION_ROBOTS[name](seed, **kw)
    raise ValueError(f"unknown robot {name!r}; expected one of {list(ROBOT_NAMES)}")
