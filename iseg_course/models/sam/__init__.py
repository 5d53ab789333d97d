"""A SAM-style promptable model, small enough to train on a laptop CPU (Kirillov et al., ICCV 2023).

Modules, one per part: :mod:`.encoder` (EfficientNet-Lite0, pretrained, and the neck), :mod:`.prompt`
(Fourier-feature point encoding, mask encoder), :mod:`.decoder` (two-way transformer, hypernetwork heads),
:mod:`.model` (the three assembled), :mod:`.training` (feature cache, prompt simulation, loss, training loop),
:mod:`.segmenter` (the Segmenter used by widgets, robot users and evaluation).
"""

from .model import SamStyleModel, resize_longest
from .segmenter import SamSegmenter, sam_style_model

__all__ = ["SamStyleModel", "SamSegmenter", "resize_longest", "sam_style_model"]
