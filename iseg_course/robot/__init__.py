"""Robot users: simulated annotators that place the next interaction from the ground truth.

"A simulated model that mimics the behaviour of a real human annotator. The robot user leverages
ground-truth labels to simulate user interactions at plausible locations" (Marinov et al., "Deep
Interactive Segmentation of Medical Images: A Systematic Review and Taxonomy", TPAMI 2024). Robot users
place the interactions in training (far too many for real people: 100,000 images need at least 100,000
clicks) and in evaluation (NoC@90 and friends).

One protocol (:class:`Robot`, in :mod:`.base`): a robot is any callable
``robot(gt, pred, ignore, previous) -> Interaction | None``, where ``previous`` holds the interactions
placed so far (any types) and the result is the next interaction of any type, or None when nothing is left
to correct. All robots are seeded and deterministic (the random functions take ``rng``: a
``numpy.random.Generator``, an int seed, or None, see :func:`as_generator`) and picklable.

The families, one module each:

* :mod:`.regions`: the error regions every robot reads (:func:`error_regions`,
  :func:`largest_error_region`, :func:`interior_distance`, :func:`distance_to_boundary`,
  :func:`principal_axis`);
* :mod:`.clicks`: ``f(gt, pred, ignore=None, clicked=(), *, rng=None) -> Click | None`` —
  :func:`ritm_click` (the default clicker: RITM, Sofiiuk et al., ICIP 2022), :func:`centre_click`,
  :func:`random_click`, :func:`uniform_click`, :func:`dt_prior_click`, :func:`boundary_click`,
  :func:`long_axis_click`; :mod:`.click_robot`: :func:`perturb_click`, ``CLICK_ROBOTS``,
  :class:`ClickRobot`, :func:`make_click_robot`;
* :mod:`.scribbles` (with :mod:`.skeleton`): :func:`skeleton_scribble`, :func:`error_scribble`,
  :func:`boundary_scribble`, :func:`broken_skeleton`, :func:`warped_scribble`, :class:`ScribbleRobot`;
* :mod:`.boxes`: :func:`perfect_box`, :func:`perturbed_box`, :func:`relaxed_box`, :func:`extreme_points`,
  :class:`BoxThenClicks`;
* :mod:`.polygons`: :func:`mask_to_polygon`, :func:`vertex_errors`, :func:`worst_vertex_correction`;
* :mod:`.registry`: :func:`make_robot` and ``ROBOT_NAMES``, every robot by name.
"""

from .base import RandomState, Robot, as_generator, clicks_of, sample_generator
from .boxes import BoxThenClicks, extreme_points, perfect_box, perturbed_box, relaxed_box
from .click_robot import CLICK_ROBOTS, ClickRobot, make_click_robot, perturb_click
from .clicks import (boundary_click, centre_click, dt_prior_click, long_axis_click, random_click, ritm_click,
                     uniform_click)
from .polygons import mask_to_polygon, vertex_errors, worst_vertex_correction
from .regions import distance_to_boundary, error_regions, interior_distance, largest_error_region, principal_axis
from .registry import ROBOT_NAMES, make_robot
from .scribbles import (ScribbleRobot, boundary_scribble, broken_skeleton, error_scribble, skeleton_scribble,
                        warped_scribble)
from .skeleton import skeleton_paths

__all__ = [
    "Robot", "RandomState", "as_generator", "sample_generator", "clicks_of",
    "interior_distance", "error_regions", "largest_error_region", "distance_to_boundary", "principal_axis",
    "ritm_click", "centre_click", "random_click", "uniform_click", "dt_prior_click", "boundary_click",
    "long_axis_click", "perturb_click", "CLICK_ROBOTS", "ClickRobot", "make_click_robot",
    "skeleton_scribble", "skeleton_paths", "error_scribble", "boundary_scribble", "broken_skeleton",
    "warped_scribble", "ScribbleRobot",
    "perfect_box", "relaxed_box", "perturbed_box", "extreme_points", "BoxThenClicks",
    "mask_to_polygon", "vertex_errors", "worst_vertex_correction",
    "ROBOT_NAMES", "make_robot",
]
