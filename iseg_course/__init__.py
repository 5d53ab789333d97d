"""iseg-course: the library behind the interactive image segmentation course.

The modules, by concept:

* ``interactions``: clicks, scribbles, boxes, extreme points, polygons, and the ordered log of them;
* ``segmenter``: the seam between methods and everything else: the ``Segmenter`` protocol, ``Prediction``
  (K candidate masks with scores) and ``accepts`` (the interaction kinds a method takes);
* ``session``: the interactive loop, written once (predict, event log, undo/redo, robot runs);
* ``methods``: the registry of segmenters by name; ``data``: the shipped datasets and image/mask folders;
* ``guidance/``: guidance signals (click maps, distances, seeds); ``robot/``: simulated users;
* ``metrics``: IoU, NoC, NoF, IoU@k, user time, SUS, NASA-TLX; ``evaluation``: the NoC protocol on a dataset;
* ``classical/``: snakes, graph cut, GrabCut, geodesic; ``models/``: the click U-Net; ``training``: training
  it with a robot user;
* ``widgets`` + ``overlay``: the ipycanvas widget and its drawing; ``plotting``: the lessons' figures;
  ``questionnaires``: SUS and NASA-TLX forms;
* ``grading/``: the otter-grader pipeline; ``cli``: the ``iseg-course`` command; ``validate``: checked
  numbers; ``notebook`` and ``device``: ``setup()``, ``FAST`` and the compute device.
"""

from .interactions import Box, Click, ExtremePoints, Interactions, Polygon, Scribble
from .notebook import fast_mode, seed_everything, setup
from .segmenter import BaseSegmenter, Segmenter

__version__ = "0.1.0"
__all__ = [
    "Box", "Click", "ExtremePoints", "Interactions", "Polygon", "Scribble",
    "Segmenter", "BaseSegmenter", "setup", "fast_mode", "seed_everything",
]
