"""The methods registry: every interactive segmenter of the course by name, with what it needs and accepts.

A method is one :class:`Method` entry: a name, a ``"package.module:factory"`` that builds the Segmenter
without arguments, the interaction kinds it accepts, whether it runs PyTorch, the worker processes an
evaluation should use by default, and the lesson that introduces it. The ``iseg-course evaluate`` command
and the benchmarks look methods up here, so adding a model to the course is one entry in :data:`METHODS`;
``make("package.module:factory")`` still builds any method that is not registered.

>>> sorted(METHODS)[:3]
['click', 'geodesic', 'grabcut']
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .segmenter import ALL_KINDS, accepted_kinds

__all__ = ["Method", "METHODS", "get", "make", "load_factory", "default_workers_for"]

_CLASSICAL = frozenset(ALL_KINDS - {"mask"})


@dataclass(frozen=True)
class Method:
    """One registered method.

    Attributes:
        name: the short name (``iseg-course evaluate --method NAME``).
        factory: ``"package.module:attribute"`` of a callable returning a Segmenter when called without
            arguments.
        description: one line for listings.
        accepts: the interaction kinds it understands (:data:`iseg_course.segmenter.INTERACTION_KINDS`).
        uses_torch: it runs PyTorch (an evaluation then uses one process by default: each worker would start
            its own PyTorch threads on the same cores).
        default_workers: worker processes for an evaluation; None = all cores (see ``default_workers``).
        lesson: the lesson that introduces it.

    Used by :func:`get`, :func:`make` and iseg_course.cli (``iseg-course evaluate --method``).
    """

    name: str
    factory: str
    description: str
    accepts: frozenset[str] = _CLASSICAL
    uses_torch: bool = False
    default_workers: int | None = None
    lesson: str = ""


#: The registered methods, by name.
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("graphcut", "iseg_course.classical.graphcut:GraphCutSegmenter",
           "Boykov-Jolly graph cut (PyMaxflow), seeds from any interaction", lesson="02"),
    Method("grabcut", "iseg_course.classical.grabcut:GrabCutSegmenter",
           "GrabCut (OpenCV): iterated graph cut with colour GMMs", _CLASSICAL | {"mask"}, lesson="02"),
    Method("geodesic", "iseg_course.classical.geodesic:GeodesicSegmenter",
           "geodesic distance to object vs background seeds (GeoS style)", lesson="04"),
    Method("click", "iseg_course.models:cat_click_model",
           "the cat click U-Net of lesson 07 (shipped checkpoint; ISEG_CHECKPOINT for another)",
           frozenset({"click", "mask"}), uses_torch=True, default_workers=1, lesson="07"),
    Method("cats-al", "iseg_course.models.click:cats_al_model",
           "the cat click U-Net after lesson 08's active-learning rounds (shipped checkpoint)",
           frozenset({"click", "mask"}), uses_torch=True, default_workers=1, lesson="08"),
    Method("sam", "iseg_course.models.sam:sam_style_model",
           "the SAM-style model of lesson 10: EfficientNet-Lite0 encoder once per image, prompt encoder + "
           "mask decoder per click (ISEG_SAM_STYLE_CHECKPOINT for another)",
           frozenset({"click", "box", "mask"}), uses_torch=True, default_workers=1, lesson="10"),
    Method("sam-official", "iseg_course.models.sam.official:official_sam",
           "Meta's Segment Anything through SamPredictor (needs ISEG_SAM_CHECKPOINT; nothing is downloaded)",
           frozenset({"click", "box", "mask"}), uses_torch=True, default_workers=1, lesson="10"),
)}


def load_factory(spec: str):
    """The callable named by ``"package.module:attribute"`` (dotted attributes allowed).

    Raises ValueError saying what was expected when the module, the attribute or the call form is wrong.

    Used by :func:`get` and :func:`make`.
    """
    if ":" not in spec:
        raise ValueError(f"unknown method {spec!r}: expected one of {sorted(METHODS)} or 'package.module:factory'")
    mod_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        raise ValueError(f"method {spec!r}: cannot import module {mod_name!r} ({e})") from e
    factory = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise ValueError(f"method {spec!r}: module {mod_name!r} has no attribute {attr!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise ValueError(f"method {spec!r}: {attr!r} is not callable")
    return factory


def get(spec: str) -> Method:
    """The :class:`Method` for a registered name, or an ad-hoc entry for ``"package.module:factory"``
    (accepting everything, not PyTorch unless it is a registered factory).

    Raises ValueError for an unknown name that is not of the ``module:factory`` form.

    Used by :func:`make` and :func:`default_workers_for`.
    """
    if spec in METHODS:
        return METHODS[spec]
    for m in METHODS.values():
        if m.factory == spec:
            return m
    load_factory(spec)  # ValueError with the expected forms
    return Method(spec, spec, f"user method {spec}", accepts=ALL_KINDS)


def make(spec: str, **kwargs):
    """Build the Segmenter of a registered name or of ``"package.module:factory"`` (``kwargs`` go to the
    factory).

    Raises:
        ValueError: unknown name, an import or attribute that fails, a factory that cannot be called with
            these arguments, or one that returns something without ``set_image``/``predict``.

    Used by iseg_course.cli (``iseg-course evaluate``) and the benchmarks.
    """
    method = get(spec)
    factory = load_factory(method.factory)
    try:
        seg = factory(**kwargs)
    except TypeError as e:
        raise ValueError(f"method {spec!r}: {method.factory.partition(':')[2]} cannot be called "
                         f"{'with ' + str(sorted(kwargs)) if kwargs else 'without arguments'} ({e})") from e
    if not (callable(getattr(seg, "set_image", None)) and callable(getattr(seg, "predict", None))):
        raise ValueError(f"method {spec!r}: {method.factory.partition(':')[2]}() returned {type(seg).__name__}, "
                         "which is not a Segmenter (needs set_image(image) and predict(interactions, prev_mask=None))")
    if spec in METHODS and accepted_kinds(seg) != method.accepts:
        raise RuntimeError(f"registry entry {spec!r} says it accepts {sorted(method.accepts)}, but "
                           f"{type(seg).__name__}.accepts is {sorted(accepted_kinds(seg))}")
    return seg


def default_workers_for(spec: str) -> int:
    """Worker processes for evaluating ``spec`` on this machine: the entry's ``default_workers``, 1 for
    PyTorch methods, else every core (:func:`iseg_course.evaluation.default_workers`).

    Used by iseg_course.cli (``iseg-course evaluate``).
    """
    from .evaluation import default_workers

    m = get(spec)
    if m.default_workers is not None:
        return m.default_workers
    return 1 if m.uses_torch else default_workers()
