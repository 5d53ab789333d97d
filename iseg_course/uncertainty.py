"""How unsure is the click model? Sampled predictions, pixel uncertainty maps and image scores (for the active-learning lesson).

Active learning picks the unlabelled images the model is least sure about. This module measures that for
lesson 07's click model (:class:`~iseg_course.models.ClickSegmenter` around a
:class:`~iseg_course.models.ClickUNet`), in three steps:

1. **Samples**: several probability maps for one image and its clicks, a stack ``(N, H, W) float32`` in
   [0, 1] at the image's size. The estimators (all callables ``estimator(segmenter, image, clicks,
   prev_mask=None) -> stack``):

   * :class:`SinglePass`: the model once (``N = 1``): only the predictive entropy is informative;
   * :class:`MCDropout`: the model's ``Dropout2d`` layers stay on at test time, ``N`` passes in one
     batched forward (Gal & Ghahramani, "Dropout as a Bayesian Approximation: Representing Model
     Uncertainty in Deep Learning", ICML 2016);
   * :class:`Ensemble`: differently trained models, one pass each (Lakshminarayanan, Pritzel & Blundell,
     "Simple and Scalable Predictive Uncertainty Estimation using Deep Ensembles", NeurIPS 2017);
   * :class:`TestTimeAugmentation`: the same model on flipped and rescaled copies of the input, each
     answer mapped back to the original image (Wang et al., "Aleatoric uncertainty estimation with
     test-time augmentation for medical image segmentation with convolutional neural networks",
     Neurocomputing 338, 2019).

2. **Pixel maps** ``(H, W) float32`` from a stack ``p`` of ``N`` maps (binary object / background):

   * :func:`variance_map`: ``Var_n p_n`` (the lecture's "variance of model predictions");
   * :func:`predictive_entropy`: ``H[p̄]`` with ``p̄ = mean_n p_n`` and
     ``H[q] = -q ln q - (1 - q) ln(1 - q)``, in nats (0 .. ln 2);
   * :func:`expected_entropy`: ``mean_n H[p_n]`` (the part the model expects even when sure of its weights);
   * :func:`mutual_information`: ``H[p̄] - mean_n H[p_n]``, the BALD score (Houlsby, Huszár, Ghahramani &
     Lengyel, "Bayesian Active Learning for Classification and Preference Learning", arXiv 1112.5745,
     2011), in nats, ``0 <= MI <= H[p̄]``: high where the samples disagree, 0 where they agree.

3. **Image scores** (:func:`image_score`): the mean of a pixel map over the image (MONAI Label's
   epistemic score takes the mean since its pull request #486, 2021, because a sum grows with the image's
   size), or the mean of its top-k fraction of pixels (uncertainty concentrated on a small object part).

The lecture lists these four sources of "informativeness" (ensembles, MC dropout, test-time augmentation,
an auxiliary network) after Jungo & Reyes, "Assessing reliability and challenges of uncertainty estimations
for medical image segmentation" (MICCAI 2019). The fourth is here too: :class:`ErrorHead`, a small network
trained beside the frozen click model to predict, per pixel, where the model is wrong (the lecture's
error-map head; the image-level cousin is Yoo & Kweon's loss prediction module, "Learning Loss for Active
Learning", CVPR 2019), trained by :func:`train_error_head` and used through :class:`AuxiliaryError`, whose
one map is the head's error score (measure ``"error"``).

All maps are the model's raw probabilities: unlike ``ClickSegmenter.predict``, regions without a positive
click are *not* removed (``keep_clicked``), so that every sample is the network's own answer.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .guidance import CropWindow
from .interactions import Click, Interactions

__all__ = [
    "MEASURES", "REDUCTIONS", "ESTIMATORS",
    "binary_entropy", "variance_map", "predictive_entropy", "expected_entropy", "mutual_information", "error_map",
    "pixel_map", "image_score",
    "dropout_layers", "mc_dropout_mode",
    "SinglePass", "MCDropout", "Ensemble", "ENSEMBLE_MEMBERS", "load_ensemble_members", "TestTimeAugmentation",
    "make_estimator", "Estimator",
    "ErrorHead", "AuxiliaryError", "train_error_head", "save_error_head", "load_error_head", "ERROR_HEAD",
]

#: Pixel uncertainty maps :func:`pixel_map` computes.
MEASURES = ("variance", "entropy", "expected_entropy", "mutual_information", "error")
#: How :func:`image_score` reduces a pixel map to one number.
REDUCTIONS = ("mean", "topk")
#: Estimator names :func:`make_estimator` builds.
ESTIMATORS = ("single", "mc_dropout", "ensemble", "tta", "aux")

#: Probabilities are clipped to [EPS, 1 - EPS] before taking logarithms.
EPS = 1e-7

#: ``estimator(segmenter, image, clicks, prev_mask=None) -> (N, H, W) float32``.
Estimator = Callable[..., np.ndarray]


# ------------------------------------------------------------------------------------------------ pixel maps
def _stack(probs: np.ndarray) -> np.ndarray:
    """``probs`` as a float64 ``(N, H, W)`` array in [0, 1]; ValueError otherwise."""
    p = np.asarray(probs)
    if p.ndim != 3 or p.shape[0] < 1 or p.shape[1] < 1 or p.shape[2] < 1:
        raise ValueError(f"expected a stack of probability maps of shape (N, H, W) with N >= 1, got {p.shape}")
    if not np.issubdtype(p.dtype, np.floating):
        raise ValueError(f"expected float probabilities, got dtype {p.dtype}")
    p = p.astype(np.float64)
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise ValueError("expected probabilities in [0, 1] without NaN or infinity")
    return p


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Entropy of a Bernoulli(``p``) variable in nats, elementwise: ``-p ln p - (1 - p) ln(1 - p)``.

    ``p``: any shape, values in [0, 1] (clipped to ``[EPS, 1 - EPS]``, so 0 and 1 give ~0). Returns
    float64 of the same shape, in ``[0, ln 2]``. Equals ``scipy.stats.entropy([p, 1 - p])``.

    Used by :func:`predictive_entropy` and :func:`expected_entropy`.
    """
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return -(q * np.log(q) + (1 - q) * np.log1p(-q))


def variance_map(probs: np.ndarray) -> np.ndarray:
    """Variance over the samples of each pixel's probability, ``(H, W) float32`` (population variance,
    ``ddof=0``; 0 .. 0.25). ``probs``: ``(N, H, W)`` in [0, 1]. Raises ValueError for another shape or range.

    Written for the active-learning lesson.
    """
    return _stack(probs).var(axis=0).astype(np.float32)


def predictive_entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy of the mean prediction, ``H[mean_n p_n]``, ``(H, W) float32`` in nats (0 .. ln 2 ≈ 0.693).

    High where the averaged model is unsure (total uncertainty: the samples disagree, or all say ~0.5).
    ``probs``: ``(N, H, W)`` in [0, 1]. Raises ValueError for another shape or range.

    Written for the active-learning lesson.
    """
    return binary_entropy(_stack(probs).mean(axis=0)).astype(np.float32)


def expected_entropy(probs: np.ndarray) -> np.ndarray:
    """Mean of the samples' entropies, ``mean_n H[p_n]``, ``(H, W) float32`` in nats (0 .. ln 2).

    ``probs``: ``(N, H, W)`` in [0, 1]. Raises ValueError for another shape or range.

    Written for the active-learning lesson.
    """
    return binary_entropy(_stack(probs)).mean(axis=0).astype(np.float32)


def mutual_information(probs: np.ndarray) -> np.ndarray:
    """Mutual information between the prediction and the model (BALD; Houlsby et al. 2011), ``(H, W)
    float32`` in nats: ``H[mean_n p_n] - mean_n H[p_n]``.

    Always ``0 <= MI <= predictive entropy`` (the entropy is concave; rounding below 0 is clipped); 0 when all
    samples agree (e.g. MC dropout with dropout off), large where they disagree with confidence (some
    samples ~0, others ~1: the epistemic part of the uncertainty). ``probs``: ``(N, H, W)`` in [0, 1].
    Raises ValueError for another shape or range.

    Written for the active-learning lesson.
    """
    p = _stack(probs)
    mi = binary_entropy(p.mean(axis=0)) - binary_entropy(p).mean(axis=0)
    return np.maximum(mi, 0.0).astype(np.float32)


def error_map(probs: np.ndarray) -> np.ndarray:
    """The mean of a stack ``(N, H, W)``: ``(H, W) float32``. Meant for :class:`AuxiliaryError`, whose one map
    is the auxiliary network's error score at each pixel (unitless, 0 .. 1)."""
    return _stack(probs).mean(axis=0).astype(np.float32)


_MEASURE_FUNCS = {"variance": variance_map, "entropy": predictive_entropy, "expected_entropy": expected_entropy,
                  "mutual_information": mutual_information, "error": error_map}


def pixel_map(probs: np.ndarray, measure: str = "entropy") -> np.ndarray:
    """The pixel uncertainty map ``measure`` (one of :data:`MEASURES`) of a stack ``(N, H, W)``: ``(H, W)
    float32`` (variance unitless 0 .. 0.25; entropies and mutual information in nats; ``"error"``: the
    auxiliary network's error score, 0 .. 1, :func:`error_map`).

    Raises ValueError for an unknown measure or a bad stack.

    Used by iseg_course.active_learning (``score_pool``).
    """
    if measure not in _MEASURE_FUNCS:
        raise ValueError(f"unknown uncertainty measure {measure!r}; expected one of {MEASURES}")
    return _MEASURE_FUNCS[measure](probs)


def image_score(pixels: np.ndarray, reduce: str = "mean", k: float = 0.05, valid: np.ndarray | None = None) -> float:
    """One uncertainty number for an image from a pixel map ``(H, W)``.

    Args:
        pixels: an ``(H, W)`` pixel map (e.g. from :func:`pixel_map`), finite values.
        reduce: ``"mean"``: the mean over the pixels (MONAI Label's epistemic score with its mean flag,
            pull request #486: a sum would favour large images); ``"topk"``: the mean of the ``k`` fraction
            of pixels with the highest values (at least one pixel): an image whose uncertainty sits on a
            small region (a tail, an ear) is not averaged away by its confident background.
        k: fraction of pixels for ``"topk"``, in ``(0, 1]`` (1 gives the mean).
        valid: optional ``(H, W) bool``: only these pixels count (e.g. inside an ignore border).

    Returns a Python float in the units of the map. Raises ValueError for an unknown reduction, ``k``
    outside ``(0, 1]``, a map that is not 2-D or not finite, a ``valid`` of another shape or without a
    pixel.

    Used by iseg_course.active_learning (``score_pool``).
    """
    a = np.asarray(pixels, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"expected an (H, W) pixel map, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("expected a finite pixel map (no NaN or infinity)")
    if reduce not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduce!r}; expected one of {REDUCTIONS}")
    if not (0 < float(k) <= 1):
        raise ValueError(f"expected k in (0, 1] (a fraction of the pixels), got {k}")
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != a.shape:
            raise ValueError(f"expected valid of shape {a.shape}, got {valid.shape}")
        if not valid.any():
            raise ValueError("valid marks no pixel: nothing to score")
        a = a[valid]
    a = a.ravel()
    if reduce == "mean":
        return float(a.mean())
    n = max(1, int(math.ceil(float(k) * a.size)))
    return float(np.partition(a, a.size - n)[a.size - n:].mean())


# ------------------------------------------------------------------------------------------------ dropout
def dropout_layers(model: nn.Module) -> list[nn.Module]:
    """The dropout modules of ``model`` (``nn.Dropout``, ``nn.Dropout2d``, ... : every ``_DropoutNd``).

    Used by :func:`mc_dropout_mode`.
    """
    return [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]


@contextmanager
def mc_dropout_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Inside the block the model is in ``eval()`` mode except its dropout layers, which sample as in
    training (MC dropout, Gal & Ghahramani 2016); afterwards every module's mode is restored.

    Group norm behaves the same in both modes, so only the dropout layers differ from ``eval()``.
    Raises ValueError if the model has no dropout layer (nothing would vary: train it with ``dropout > 0``).

    Used by :class:`MCDropout`.
    """
    layers = dropout_layers(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no dropout layer: MC dropout needs a model built with "
                         f"dropout > 0 (ClickUNet(dropout=0.1))")
    modes = {m: m.training for m in model.modules()}
    model.eval()
    for m in layers:
        m.train()
    try:
        yield model
    finally:
        for m, mode in modes.items():
            m.training = mode


# ------------------------------------------------------------------------------------------------ the input
def _model_of(segmenter) -> nn.Module:
    model = getattr(segmenter, "model", None)
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a ClickSegmenter (with a .model network), got {type(segmenter).__name__}")
    return model


def _clicks(clicks: Sequence[Click] | Interactions) -> list[Click]:
    items = list(clicks.clicks) if isinstance(clicks, Interactions) else list(clicks)
    if not all(isinstance(c, Click) for c in items):
        raise ValueError("expected clicks only (iseg_course.interactions.Click)")
    return items


def _prepare(segmenter, image: np.ndarray, clicks, prev_mask) -> tuple[np.ndarray, list[Click], np.ndarray | None]:
    """Check the inputs and set the segmenter's image; returns ``(image, clicks, prev)``."""
    from .segmenter import check_image

    image = check_image(image)
    clicks = _clicks(clicks)
    for c in clicks:
        c.validate(image.shape)
    prev = None
    if prev_mask is not None:
        prev = np.clip(np.asarray(prev_mask, dtype=np.float32), 0, 1)
        if prev.shape != image.shape[:2]:
            raise ValueError(f"expected prev_mask of shape {image.shape[:2]}, got {prev.shape}")
    segmenter.set_image(image)
    return image, clicks, prev


def _to_probs(win: CropWindow, logits: torch.Tensor) -> np.ndarray:
    """Logits ``(N, 1, s, s)`` on the window's grid -> probabilities ``(N, H, W) float32`` in the image."""
    out = win.uncrop_torch(logits.float(), fill=float("-inf"))  # 0 outside the window, as in predict
    return torch.sigmoid(out)[:, 0].cpu().numpy().astype(np.float32)


# ------------------------------------------------------------------------------------------------ estimators
def _network_input(segmenter, image, clicks, prev_mask):
    """``(model, window, x)``: the segmenter's network, its window for these clicks and the network input
    ``(1, C, S, S)`` on the network's device -- what every estimator starts from."""
    model = _model_of(segmenter)
    _, clicks, prev = _prepare(segmenter, image, clicks, prev_mask)
    win = segmenter.window(clicks, prev)
    return model, win, segmenter.network_input(win, clicks, prev)


class SinglePass:
    """One deterministic pass of the model (``eval()`` mode): a stack of ``N = 1`` map.

    ``__call__(segmenter, image, clicks, prev_mask=None) -> (1, H, W) float32``; ``segmenter`` is a
    :class:`~iseg_course.models.ClickSegmenter` (its window, Zoom-In, encoding and device are used;
    ``set_image`` is called here). ``image``: ``(H, W, 3) uint8``; ``clicks``: Clicks in image pixels (an
    empty list gives the model's answer without a click, outside its training); ``prev_mask``: ``(H, W)``
    previous probabilities or None. Raises ValueError for a bad image, clicks outside it, other interaction
    kinds or a ``prev_mask`` of another size; TypeError for a segmenter without a ``model`` network.

    Only the predictive entropy of one map carries information (variance and mutual information are 0).

    Used by iseg_course.active_learning.
    """

    name = "single"

    def passes(self) -> int:
        """Forward passes (images through the network) per call."""
        return 1

    @torch.no_grad()
    def __call__(self, segmenter, image: np.ndarray, clicks, prev_mask: np.ndarray | None = None) -> np.ndarray:
        model, win, x = _network_input(segmenter, image, clicks, prev_mask)
        with segmenter.cpu_threads():
            model.eval()
            return _to_probs(win, model(x))

    def __repr__(self) -> str:
        return "SinglePass()"


class MCDropout(SinglePass):
    """MC dropout (Gal & Ghahramani, ICML 2016): ``n`` passes with the dropout layers on, in one batch.

    The input is repeated ``n`` times along the batch and run once with :func:`mc_dropout_mode`: each copy
    gets its own dropout masks (``Dropout2d`` drops whole channels per sample). The masks come from a
    PyTorch generator seeded with ``seed`` on every call (the global RNG is left as it was), so the same
    image and clicks give the same stack, and all images are scored with the same random draw.

    Args:
        n: number of samples (>= 2; the lecture and MONAI Label use about 10).
        seed: int >= 0.

    ``__call__`` as :class:`SinglePass`, returning ``(n, H, W) float32``. Raises ValueError as it does,
    and if the model has no dropout layer.

    Used by iseg_course.active_learning (written for the active-learning lesson).
    """

    name = "mc_dropout"

    def __init__(self, n: int = 10, seed: int = 0):
        if isinstance(n, bool) or int(n) != n or n < 2:
            raise ValueError(f"expected n >= 2 MC dropout samples, got {n!r}")
        if isinstance(seed, bool) or int(seed) != seed or seed < 0:
            raise ValueError(f"expected an int seed >= 0, got {seed!r}")
        self.n, self.seed = int(n), int(seed)

    def passes(self) -> int:
        return self.n

    @torch.no_grad()
    def __call__(self, segmenter, image: np.ndarray, clicks, prev_mask: np.ndarray | None = None) -> np.ndarray:
        model, win, x = _network_input(segmenter, image, clicks, prev_mask)
        device = x.device
        x = x.expand(self.n, -1, -1, -1).contiguous()
        devices = [device.index or 0] if device.type == "cuda" else []
        with segmenter.cpu_threads(), torch.random.fork_rng(devices=devices), mc_dropout_mode(model):
            torch.manual_seed(self.seed)
            logits = model(x)
        return _to_probs(win, logits)

    def __repr__(self) -> str:
        return f"MCDropout(n={self.n}, seed={self.seed})"


#: The shipped ensemble members beside ``models/cat_click_unet.pt`` (paths under ``data/``): lesson 07's
#: configuration trained again with seeds 1 and 2 (``iseg-course train cats --seed K``).
ENSEMBLE_MEMBERS = ("models/cat_click_unet_seed1.pt", "models/cat_click_unet_seed2.pt")


def load_ensemble_members(paths: Sequence | None = None, device: str = "cpu") -> list[nn.Module]:
    """The networks of a real ensemble for :class:`Ensemble`: ``list[ClickUNet]`` in ``eval()`` mode.

    Args:
        paths: click-model checkpoints (default: the shipped :data:`ENSEMBLE_MEMBERS`, the lesson-07 cat
            model trained with seeds 1 and 2; with the shipped seed-0 model as the segmenter's own model
            they make an ensemble of M = 3 differently seeded networks, as Lakshminarayanan et al. train it).
        device: where the networks go.

    Raises FileNotFoundError for a missing checkpoint (the message says how to train it) and ValueError for
    a file that is not a click-model checkpoint (see :func:`~iseg_course.models.load_checkpoint`).
    """
    from .data import data_root
    from .models import load_checkpoint

    if paths is None:
        paths = [data_root() / p for p in ENSEMBLE_MEMBERS]
    members = []
    for k, path in enumerate(paths, start=1):
        try:
            members.append(load_checkpoint(path, device=device)[0])
        except FileNotFoundError as e:
            raise FileNotFoundError(f"ensemble member not found: {path} (train one with `iseg-course train cats "
                                    f"--seed {k} --out {path}`)") from e
    return members


class Ensemble(SinglePass):
    """An ensemble of click models (Lakshminarayanan et al., NeurIPS 2017): one ``eval()`` pass per member.

    Args:
        members: ``ClickUNet`` networks (e.g. lesson 07's configuration trained with different seeds,
            loaded with :func:`~iseg_course.models.load_checkpoint`), all with the segmenter's input.
        include_current: also run the segmenter's own model (first in the stack). With it the ensemble
            follows a model that active learning fine-tunes; the other members stay as given.

    ``__call__`` as :class:`SinglePass`, returning ``(M, H, W) float32`` with ``M`` the number of models
    run (window, Zoom-In and encoding from the segmenter). Raises ValueError for fewer than 2 models in all.

    Used by iseg_course.active_learning (written for the active-learning lesson).
    """

    name = "ensemble"

    def __init__(self, members: Sequence[nn.Module], include_current: bool = True):
        members = list(members)
        if not all(isinstance(m, nn.Module) for m in members):
            raise ValueError("expected the ensemble members as torch networks (ClickUNet)")
        if len(members) + bool(include_current) < 2:
            raise ValueError(f"an ensemble needs at least 2 models, got {len(members) + bool(include_current)}")
        self.members, self.include_current = members, bool(include_current)

    def passes(self) -> int:
        return len(self.members) + self.include_current

    @torch.no_grad()
    def __call__(self, segmenter, image: np.ndarray, clicks, prev_mask: np.ndarray | None = None) -> np.ndarray:
        model, win, x = _network_input(segmenter, image, clicks, prev_mask)
        device = x.device
        models = ([model] if self.include_current else []) + self.members
        with segmenter.cpu_threads():
            outs = []
            for m in models:
                m.to(device).eval()
                outs.append(m(x))
        return _to_probs(win, torch.cat(outs))

    def __repr__(self) -> str:
        return f"Ensemble({len(self.members)} members, include_current={self.include_current})"


class TestTimeAugmentation(SinglePass):
    """Test-time augmentation (Wang et al., Neurocomputing 2019): flipped and rescaled inputs, mapped back.

    For each scale ``s`` the window is resized to ``round(S * s)`` pixels (rounded to a multiple of the
    U-Net's ``2**(levels-1)``) instead of the working size ``S``, the clicks are encoded at that size; for
    each flip the whole input (image, click maps, previous prediction) is mirrored. The logits are
    mirrored back and resized from the window to the image, so every map of the stack is in the original
    orientation and size. The identity (scale 1, no flip) is the first map. Maps of one scale run in one
    batch.

    Args:
        flips: subset of ``("h", "v")``: horizontal (left-right) and vertical flips, each added beside the
            unflipped input (``("h",)``, the default, matches lesson 07's training augmentation; cats
            upside down were never seen).
        scales: working-size factors, each in ``[0.5, 2]``, 1.0 included or not (default 0.875, 1, 1.125).

    ``__call__`` as :class:`SinglePass`, returning ``(len(scales) * (1 + len(flips)), H, W) float32`` in
    the order scale-major, flip-minor (``[s0 none, s0 flip1, ..., s1 none, ...]`` with scales sorted so
    that 1.0 comes first). Raises ValueError for an unknown flip or a scale out of range.

    Used by iseg_course.active_learning (written for the active-learning lesson).
    """

    name = "tta"
    #: the tensor dimension each flip mirrors (input ``(N, C, H, W)``)
    _FLIP_DIMS = {"h": 3, "v": 2}

    def __init__(self, flips: Sequence[str] = ("h",), scales: Sequence[float] = (1.0, 0.875, 1.125)):
        flips = tuple(flips)
        bad = [f for f in flips if f not in self._FLIP_DIMS]
        if bad or len(set(flips)) != len(flips):
            raise ValueError(f"expected distinct flips from {tuple(self._FLIP_DIMS)}, got {flips}")
        scales = tuple(float(s) for s in scales)
        if not scales or any(not (0.5 <= s <= 2) for s in scales) or len(set(scales)) != len(scales):
            raise ValueError(f"expected distinct scales in [0.5, 2], got {scales}")
        self.flips = flips
        self.scales = tuple(sorted(scales, key=lambda s: (s != 1.0, s)))

    def passes(self) -> int:
        return len(self.scales) * (1 + len(self.flips))

    @torch.no_grad()
    def __call__(self, segmenter, image: np.ndarray, clicks, prev_mask: np.ndarray | None = None) -> np.ndarray:
        model = _model_of(segmenter)
        _, clicks, prev = _prepare(segmenter, image, clicks, prev_mask)
        k = 2 ** (model.config["levels"] - 1) if hasattr(model, "config") else 8
        out = []
        with segmenter.cpu_threads():
            model.eval()
            for s in self.scales:
                size = max(k, int(round(segmenter.size * s / k)) * k)
                win = segmenter.window(clicks, prev, size)
                x = segmenter.network_input(win, clicks, prev)
                dims = [self._FLIP_DIMS[f] for f in self.flips]
                batch = torch.cat([x] + [x.flip(d) for d in dims])
                logits = model(batch)
                back = [logits[:1]] + [logits[i + 1:i + 2].flip(d) for i, d in enumerate(dims)]
                out.append(_to_probs(win, torch.cat(back)))
        return np.concatenate(out)

    def __repr__(self) -> str:
        return f"TestTimeAugmentation(flips={self.flips}, scales={self.scales})"


def make_estimator(name: str, **kw) -> SinglePass:
    """An estimator by name (:data:`ESTIMATORS`): ``"single"``, ``"mc_dropout"`` (``n``, ``seed``),
    ``"ensemble"`` (``members``, ``include_current``), ``"tta"`` (``flips``, ``scales``) or ``"aux"``
    (``head``, an :class:`ErrorHead`).

    Raises ValueError for an unknown name or bad options, TypeError for options the estimator does not take.

    Used by iseg_course.active_learning and benchmarks/active_learning.py.
    """
    classes = {"single": SinglePass, "mc_dropout": MCDropout, "ensemble": Ensemble, "tta": TestTimeAugmentation,
               "aux": AuxiliaryError}
    if name not in classes:
        raise ValueError(f"unknown uncertainty estimator {name!r}; expected one of {ESTIMATORS}")
    return classes[name](**kw)


# ------------------------------------------------------------------------------------------------ auxiliary network
class ErrorHead(nn.Module):
    """The auxiliary network: per pixel, a score in [0, 1] for "the click model's mask is wrong here".

    Trained with a class-balanced loss (wrong pixels are rare), so the score ranks pixels (higher = more
    likely wrong) but is not a calibrated probability: it over-states the share of wrong pixels.

    Input ``(B, C + 17, S, S)``: the click model's own input (``C = 6``: RGB, positive and negative click
    maps, previous mask), its last decoder block's features (``up[-1]``, 16 channels for the course's
    U-Net) and its output logit; output ``(B, 1, S, S)`` error logits. Three small convolutions (the second
    dilated, for context); about 16 k parameters. Trained by :func:`train_error_head` with the click model
    frozen ("beside the model": it never changes the model's answer).
    """

    def __init__(self, in_channels: int = 6 + 16 + 1, width: int = 32):
        super().__init__()
        self.config = {"in_channels": int(in_channels), "width": int(width)}
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=2, dilation=2), nn.ReLU(inplace=True),
            nn.Conv2d(width, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _head_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The click model's input, last decoder features and logit, concatenated (the model in eval mode)."""
    feats = {}
    hook = model.up[-1].register_forward_hook(lambda m, a, out: feats.__setitem__("f", out))
    try:
        model.eval()
        logit = model(x)
    finally:
        hook.remove()
    return torch.cat([x, feats["f"], logit], dim=1)


class AuxiliaryError(SinglePass):
    """The auxiliary network as an estimator: a "stack" of one map, the head's error score at each pixel,
    ``(1, H, W) float32`` in [0, 1] (0 outside a Zoom-In window; see :class:`ErrorHead`: it ranks, it is not
    calibrated). Use it with the measure ``"error"`` (:func:`pixel_map`), whose image score (mean) is the
    mean error score. Same arguments and errors as :class:`SinglePass`; one pass of the model plus the head.

    Args:
        head: a trained :class:`ErrorHead` (:func:`train_error_head`).
    """

    name = "aux"

    def __init__(self, head: ErrorHead):
        if not isinstance(head, ErrorHead):
            raise TypeError(f"expected an ErrorHead, got {type(head).__name__}")
        self.head = head

    @torch.no_grad()
    def __call__(self, segmenter, image: np.ndarray, clicks, prev_mask: np.ndarray | None = None) -> np.ndarray:
        model, win, x = _network_input(segmenter, image, clicks, prev_mask)
        with segmenter.cpu_threads():
            self.head.to(x.device).eval()
            return _to_probs(win, self.head(_head_input(model, x)))

    def __repr__(self) -> str:
        return f"AuxiliaryError({self.head.config})"


def train_error_head(segmenter, samples, clicks: Sequence[int] = (1, 2, 3), epochs: int = 5, lr: float = 3e-3,
                     seed: int = 0, progress: bool = True) -> tuple[ErrorHead, list[float]]:
    """Train an :class:`ErrorHead` beside the frozen click model of ``segmenter``.

    For each sample the RITM robot user clicks ``max(clicks)`` times with the model
    (:func:`~iseg_course.evaluation.simulate_clicks`); after each number of clicks in ``clicks`` the network
    input (window, click maps, previous mask, exactly as ``predict`` builds them) is kept with the target
    "the model's mask is wrong here" (``(p >= 0.5) != gt`` at the image's pixels, ignored pixels and pixels
    outside a Zoom-In window left out).
    The head learns it with a class-balanced binary cross-entropy (wrong pixels are rare), computed at the
    image's resolution; AdamW, ``epochs`` passes in a seeded order.

    Returns ``(head, loss per epoch)``. Raises ValueError for no samples or click counts below 1.
    Source: the lecture's auxiliary error network; Yoo & Kweon, CVPR 2019 (learning to predict the loss).
    """
    from tqdm.auto import tqdm

    from .evaluation import simulate_clicks

    samples = list(samples)
    if not samples or not clicks or min(clicks) < 1:
        raise ValueError("expected at least one sample and click counts >= 1")
    torch.manual_seed(seed)
    model = _model_of(segmenter)
    items = []
    for s in tqdm(samples, desc="robot clicks", disable=not progress, leave=False):
        run = simulate_clicks(segmenter, s, max(clicks), keep_masks=False)
        preds = run.session.predictions
        cl = run.interactions.clicks
        for k in sorted(set(clicks)):
            if k > len(cl):
                continue
            prev = None if k == 1 else preds[k - 2].probabilities
            win = segmenter.window(cl[:k], prev)
            x = segmenter.network_input(win, cl[:k], prev)
            wrong = (preds[k - 1].probabilities >= 0.5) != s.mask
            valid = np.ones_like(wrong) if s.ignore is None else ~s.ignore
            inside = win.uncrop_torch(torch.ones(1, 1, *win.size), fill=0.0)[0, 0].numpy() > 0.5
            valid = valid & inside  # outside a Zoom-In window the head has nothing to say
            items.append((x.cpu(), win, torch.from_numpy(wrong & valid).float(), torch.from_numpy(valid).float()))
    head = ErrorHead(in_channels=items[0][0].shape[1] + model.up[-1][0].out_channels + 1)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    rng = np.random.default_rng(seed)
    losses = []
    dev = next(model.parameters()).device
    for _ in tqdm(range(epochs), desc="error head", disable=not progress, leave=False):
        total = 0.0
        head.train()
        for i in rng.permutation(len(items)):
            x, win, target, valid = items[i]
            with torch.no_grad():
                inp = _head_input(model, x.to(dev)).cpu()
            logits = win.uncrop_torch(head(inp), fill=-20.0)[0, 0]
            pos = float((target * valid).sum())
            weight = valid * torch.where(target > 0, 0.5 / max(pos, 1.0), 0.5 / max(float(valid.sum()) - pos, 1.0))
            loss = (nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none") * weight).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        losses.append(round(total / len(items), 4))
    return head.eval(), losses


#: The shipped error head (trained on lesson 07's 90 training cats by ``benchmarks/error_head.py``), relative
#: to the data folder.
ERROR_HEAD = "models/cat_error_head.pt"
_HEAD_FORMAT = "iseg-course-error-head"


def save_error_head(head: ErrorHead, path, meta: dict | None = None, overwrite: bool = False) -> None:
    """Write ``head`` (its configuration, weights and ``meta``) to ``path``; FileExistsError if it exists and
    not ``overwrite``."""
    from pathlib import Path

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    torch.save({"format": _HEAD_FORMAT, "version": 1, "config": head.config,
                "state_dict": head.state_dict(), "meta": dict(meta or {})}, path)


def load_error_head(path=None) -> tuple[ErrorHead, dict]:
    """``(head, meta)`` from ``path`` (default: the shipped :data:`ERROR_HEAD`). FileNotFoundError for a
    missing file, ValueError for a file that is not an error head."""
    from pathlib import Path

    if path is None:
        from .data import data_root

        path = data_root() / ERROR_HEAD
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"error head not found: {path} (train one with benchmarks/error_head.py)")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != _HEAD_FORMAT:
        raise ValueError(f"{path} is not an error head (expected format {_HEAD_FORMAT!r})")
    head = ErrorHead(**ckpt["config"])
    head.load_state_dict(ckpt["state_dict"])
    return head.eval(), ckpt.get("meta", {})
