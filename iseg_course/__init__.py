"""iseg-course: the library behind the interactive image segmentation course."""

from .interactions import Box, Click, ExtremePoints, Interactions, Polygon, Scribble
from .notebook import fast_mode, seed_everything, setup
from .segmenter import BaseSegmenter, Segmenter

__version__ = "0.1.0"
__all__ = [
    "Box", "Click", "ExtremePoints", "Interactions", "Polygon", "Scribble",
    "Segmenter", "BaseSegmenter", "setup", "fast_mode", "seed_everything",
]
