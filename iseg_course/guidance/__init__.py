"""Guidance signals: how user interactions are presented to a segmentation model.

The lecture (after Marinov et al., "Deep Interactive Segmentation of Medical Images: A Systematic Review
and Taxonomy", IEEE TPAMI 2024) calls a *guidance signal* the form in which the interactions reach the
model. **Explicit** signals are extra input maps computed deterministically from the interactions (and
perhaps the image); **implicit** signals act on the model's training or input instead (a loss that weighs
pixels near the clicks more, a crop around a box).

The parts, by concept:

* :mod:`~iseg_course.guidance.seeds`: interactions -> seed pixels (:func:`seed_points`, :func:`seed_mask`);
* :mod:`~iseg_course.guidance.explicit`: the explicit maps (Gaussian heatmap, disk, Euclidean distance,
  location prior, attraction field) and the two-channel :func:`guidance_maps` of any :data:`KINDS`;
* :mod:`~iseg_course.guidance.distances`: the distance kernels (nearest-seed distance, :func:`gradient_cost`,
  the raster-scan :func:`geodesic_distance`, the plain two-pass scan :func:`raster_scan_distance`) and
  the geodesic maps;
* :mod:`~iseg_course.guidance.implicit`: :func:`click_weight_map` with :func:`weighted_bce`, and the box crop
  (:class:`CropWindow`, :func:`box_crop`, :func:`box_uncrop`) and the Zoom-In window :func:`zoom_in_box`;
* :mod:`~iseg_course.guidance.incremental`: :class:`IncrementalGuidance`, local maps updated click by click.

Everything is importable from here (``from iseg_course import guidance as G``).

References: Xu et al., "Deep Interactive Object Selection", CVPR 2016 (Euclidean maps, truncated at 255);
Maninis et al., "Deep Extreme Cut (DEXTR)", CVPR 2018 (Gaussian heatmaps, box crop); Benenson et al.,
"Large-scale interactive object segmentation with human annotators", CVPR 2019 (disks vs Gaussians);
Criminisi, Sharp & Blake, "GeoS: Geodesic Image Segmentation", ECCV 2008; Toivanen, "New geodesic distance
transforms for gray-scale images", Pattern Recognition Letters 1996 (raster scans); Wang et al.,
"DeepIGeoS", IEEE TPAMI 2019 (geodesic maps as CNN input); Sun et al., "A point says a lot", MLMI 2017
(location prior); Aresta et al., "iW-Net", Scientific Reports 2019 (attraction field).
"""

from .distances import (
    exp_geodesic_map,
    geodesic_distance,
    geodesic_distance_map,
    gradient_cost,
    raster_scan_distance,
)
from .explicit import (
    KINDS,
    attraction_field,
    canny_edges,
    disk_map,
    euclidean_distance_map,
    gaussian_heatmap,
    guidance_maps,
    location_prior,
)
from .implicit import CropWindow, box_crop, box_uncrop, click_weight_map, weighted_bce, zoom_in_box
from .incremental import IncrementalGuidance
from .seeds import seed_mask, seed_points

__all__ = [
    "KINDS",
    "seed_points",
    "seed_mask",
    "gaussian_heatmap",
    "disk_map",
    "euclidean_distance_map",
    "gradient_cost",
    "geodesic_distance",
    "raster_scan_distance",
    "geodesic_distance_map",
    "exp_geodesic_map",
    "canny_edges",
    "location_prior",
    "attraction_field",
    "guidance_maps",
    "click_weight_map",
    "weighted_bce",
    "CropWindow",
    "box_crop",
    "box_uncrop",
    "zoom_in_box",
    "IncrementalGuidance",
]
