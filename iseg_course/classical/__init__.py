"""Classical interactive segmentation: active contours (snakes), graph cut (Boykov & Jolly), GrabCut, geodesic.

Names are imported lazily (on first access), so ``import iseg_course.classical`` stays cheap and one
missing optional module does not break the others::

    from iseg_course.classical import GraphCutSegmenter, GrabCutSegmenter
"""

from __future__ import annotations

import importlib

#: public name -> submodule that defines it
_LAZY = {
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
#: other classical modules whose public names are looked up on demand (written separately; may be absent)
_OTHER_MODULES = ("snakes",)


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    if not name.startswith("_"):
        for sub in _OTHER_MODULES:
            try:
                module = importlib.import_module(f"{__name__}.{sub}")
            except ModuleNotFoundError as e:
                if e.name != f"{__name__}.{sub}":
                    raise  # the module exists but one of its own imports is missing: say so
                continue
            if name in getattr(module, "__all__", ()) or (
                "__all__" not in vars(module) and not name.startswith("_") and hasattr(module, name)
            ):
                return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
