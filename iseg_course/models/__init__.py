"""Deep interactive segmentation models; each is wrapped as a :class:`~iseg_course.segmenter.Segmenter`.

* :mod:`iseg_course.models.click_model`: the click model of the cat working example (lesson 07): a small
  U-Net whose input is the image, positive/negative click maps and the previous prediction.
"""

from .click_model import (
    DEFAULT_CHECKPOINT,
    ClickSegmenter,
    ClickUNet,
    cat_click_model,
    click_maps,
    clicked_components,
    load_checkpoint,
    model_input,
    save_checkpoint,
)

__all__ = [
    "DEFAULT_CHECKPOINT",
    "ClickSegmenter",
    "ClickUNet",
    "cat_click_model",
    "click_maps",
    "clicked_components",
    "load_checkpoint",
    "model_input",
    "save_checkpoint",
]
