"""Classical interactive segmentation: active contours (snakes), graph cut (Boykov & Jolly), GrabCut, geodesic.

Names are imported lazily (on first access), so ``import iseg_course.classical`` stays cheap and one
missing optional module does not break the others::

    from iseg_course.classical import GraphCutSegmenter, GrabCutSegmenter

The submodules: :mod:`.snakes` (a package: energies, solver, contours, Segmenter), :mod:`.graphcut` (a
package: n-links, t-links, min cut, Segmenter), :mod:`.grabcut` and :mod:`.geodesic`.
"""

from __future__ import annotations

import importlib

#: public name -> submodule that defines it
_LAZY = {
    # active contours (Kass, Witkin & Terzopoulos, IJCV 1988)
    "SnakeSegmenter": "snakes",
    "Spring": "snakes",
    "BOUNDARY_CONDITIONS": "snakes",
    "internal_energy_matrix": "snakes",
    "internal_energy": "snakes",
    "smooth_image": "snakes",
    "image_energy": "snakes",
    "force_field": "snakes",
    "bilinear_sample": "snakes",
    "external_force": "snakes",
    "SplineForce": "snakes",
    "spring_terms": "snakes",
    "semi_implicit_inverse": "snakes",
    "snake_step": "snakes",
    "snake_iterations": "snakes",
    "active_contour": "snakes",
    "snake_to_mask": "snakes",
    "circle_contour": "snakes",
    "ellipse_contour": "snakes",
    "box_contour": "snakes",
    "resample_contour": "snakes",
    # graph cut (Boykov & Jolly, ICCV 2001)
    "GraphCutSegmenter": "graphcut",
    "NLinks": "graphcut",
    "estimate_sigma": "graphcut",
    "nlink_map": "graphcut",
    "nlink_grid": "graphcut",
    "nlink_weights": "graphcut",
    "hard_seed_capacity": "graphcut",
    "colour_bin_index": "graphcut",
    "colour_likelihood": "graphcut",
    "regional_term": "graphcut",
    "tlinks_from_regional": "graphcut",
    "tlink_weights": "graphcut",
    "build_graph_networkx": "graphcut",
    "min_cut_networkx": "graphcut",
    "build_graph_maxflow": "graphcut",
    "min_cut_maxflow": "graphcut",
    "segmentation_energy": "graphcut",
    # GrabCut (Rother, Kolmogorov & Blake, SIGGRAPH 2004)
    "GrabCutSegmenter": "grabcut",
    "grabcut_init_mask": "grabcut",
    # geodesic segmentation (Bai & Sapiro 2009; Criminisi et al. 2008)
    "GeodesicSegmenter": "geodesic",
}


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
