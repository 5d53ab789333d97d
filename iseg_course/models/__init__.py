"""Deep interactive segmentation models; each is wrapped as a :class:`~iseg_course.segmenter.Segmenter`.

The click model of the cat working example (lesson 07), in parts:

* :mod:`iseg_course.models.unet`: :class:`ClickUNet`, a small U-Net (image, click maps, previous prediction in;
  one logit per pixel out);
* :mod:`iseg_course.models.encoding`: its input channels (:func:`model_input`, :func:`click_maps`);
* :mod:`iseg_course.models.checkpoint`: the versioned checkpoint file (:func:`save_checkpoint`,
  :func:`load_checkpoint`, :data:`DEFAULT_CHECKPOINT`);
* :mod:`iseg_course.models.click`: :class:`ClickSegmenter`, the trained model as a Segmenter, and
  :func:`cat_click_model`, the shipped cat model; :func:`cats_al_model`, the same after active learning.
"""

from .checkpoint import DEFAULT_CHECKPOINT, load_checkpoint, save_checkpoint
from .click import ClickSegmenter, cat_click_model, cats_al_model, clicked_components
from .encoding import click_maps, model_input
from .unet import ClickUNet

__all__ = [
    "DEFAULT_CHECKPOINT",
    "ClickSegmenter",
    "ClickUNet",
    "cat_click_model",
    "cats_al_model",
    "click_maps",
    "clicked_components",
    "load_checkpoint",
    "model_input",
    "save_checkpoint",
]
