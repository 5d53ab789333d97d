"""Backpropagating refinement (BRS, f-BRS): make the click model obey the clicks at inference time.

A trained click model can ignore a click: the pixel the user marked as object comes back as background.
Backpropagating refinement fixes this for every new click by minimising an energy over a small set of
auxiliary variables ``Delta`` while the network's weights stay fixed:

    E(Delta) = sum_i (l_i - p_i(Delta))^2  +  lambda * ||Delta||^2
               corrective energy             inertial energy

with ``l_i`` in {0, 1} the label of click ``i`` and ``p_i`` the network's output probability (sigmoid of
the logit) at the clicked pixel. The corrective energy pulls the clicked pixels to their labels, the
inertial energy keeps the change small -- an adversarial example for the network, made on purpose.

What ``Delta`` is depends on the mode (for our :class:`~iseg_course.models.unet.ClickUNet` with
``levels = 4``: encoder blocks ``down[0..2]`` with 16/32/64 channels, bottleneck ``down[3]`` with 128,
decoder blocks ``up[0..2]`` with 64/32/16, then the 1x1 convolution ``head``):

=============  ====================================================================  =====================
mode           Delta                                                                 re-run per evaluation
=============  ====================================================================  =====================
none           nothing: one forward pass (the plain click model)                     --
distmap-brs    additive correction of the two click maps (input channels 3, 4),      the whole network
               ``(2, S, S)`` (Jang & Kim, CVPR 2019: "DistMap-BRS")                   (forward + backward)
rgb-brs        additive correction of the RGB image (channels 0-2, in [0, 1] units)  the whole network
               ``(3, S, S)`` (Sofiiuk et al., CVPR 2020: "RGB-BRS")
f-brs-a        per-channel scale and bias of the output of ``down[2]`` (the last      bottleneck ``down[3]``,
               encoder block, 64 channels; used as the bottleneck's input and as      decoder ``up[0..2]``,
               the skip of ``up[0]``)                                                 ``head``
f-brs-b        per-channel scale and bias of the output of the bottleneck             decoder ``up[0..2]``,
               ``down[3]`` (128 channels)                                            ``head``
f-brs-c        per-channel scale and bias of the output of ``up[2]`` (the last        ``head`` only
               decoder block, 16 channels), i.e. right before ``head``
=============  ====================================================================  =====================

f-BRS ("feature BRS", Sofiiuk et al., "f-BRS: Rethinking Backpropagating Refinement for Interactive
Segmentation", CVPR 2020) optimises ``2 C`` numbers (scale ``s = 1 + Delta_s`` and bias ``b = Delta_b``,
``g(s * F(x) + b)``) instead of a whole input map; the activations before the scale/bias are computed once
per image and clicks and cached, so every energy evaluation only re-runs the layers after it. Their f-BRS-A/B/C
sit after the ResNet backbone / after ASPP / after the first decoder block of DeepLabV3+; ours are the U-Net
counterparts listed above (our C sits right before the head, the cheapest and most local choice).

The energy is minimised with L-BFGS (``scipy.optimize.fmin_l_bfgs_b`` with ``m = 20, factr = 0,
pgtol = 1e-8`` as in the reference implementation of f-BRS), starting from ``Delta = 0`` (or, with
``warm_start``, from the last click's ``Delta`` when the clicks only grew), with at most ``max_evals``
energy evaluations (20 by default) and an early stop as soon as every click is satisfied (its
probability at least ``margin`` on the right side of 0.5): a click the network already obeys costs one
evaluation. The clicked pixels are the clicks' positions in the image; their logits are read from
the working grid with the same bilinear mapping that brings the prediction back to the image, so "satisfied"
in the energy means satisfied in the returned map.

``network_clicks = N``: only the first N clicks go into the network's click maps; later clicks act only
through the refinement (RITM's "net clicks limit": Sofiiuk et al., ICIP 2022 use 8 for f-BRS, 5 for
DistMap-/RGB-BRS). Zoom-In is a separate on/off factor (``zoom_in``; the window and the input are those of
:class:`~iseg_course.models.click.ClickSegmenter`, whose ``zoom_window`` is reused).

The SAM-style model of lesson 10 takes f-BRS on its image embedding (:class:`RefinedSamSegmenter`, modes
:data:`SAM_MODES`): its encoder runs once per image, so the scale and bias act on the embedding and every
evaluation re-runs only the prompt encoder and the mask decoder; the same energy and L-BFGS loop
(:func:`_minimise`) serve both models.

Also here: :func:`click_satisfaction` (the share of clicks whose pixel ends with the clicked label) and
:func:`add_click_channels`, BRS's training-free conversion (Jang & Kim, CVPR 2019, section 3) of a U-Net
trained without clicks into a click model with zero-initialised click channels.
"""

from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..guidance import CropWindow
from ..interactions import Click, Interactions
from ..segmenter import BaseSegmenter
from ..validate import integer, number
from .click import ClickSegmenter, clicked_components
from .encoding import IN_CHANNELS
from .unet import ClickUNet

__all__ = ["MODES", "BRS_MODES", "FBRS_MODES", "INPUT_MODES", "SAM_MODES", "RefineInfo", "RefinedClickSegmenter",
           "RefinedSamSegmenter", "refine",
           "click_satisfaction", "corrective_energy", "add_click_channels"]

#: The refinement modes, in the order of the lesson.
MODES = ("none", "distmap-brs", "rgb-brs", "f-brs-a", "f-brs-b", "f-brs-c")
#: Every mode that refines (all but ``"none"``).
BRS_MODES = MODES[1:]
#: Modes that correct the network's input (full forward and backward pass per evaluation).
INPUT_MODES = ("distmap-brs", "rgb-brs")
#: Modes that scale and shift intermediate features (only the later layers are re-run).
FBRS_MODES = ("f-brs-a", "f-brs-b", "f-brs-c")
#: Modes that apply to the SAM-style model (f-BRS-B: scale and bias of its image embedding).
SAM_MODES = ("none", "f-brs-b")


def check_mode(mode: str) -> str:
    """``mode`` lower-cased if it is one of :data:`MODES`; ValueError listing them otherwise."""
    m = str(mode).strip().lower() if isinstance(mode, str) else mode
    if m not in MODES:
        raise ValueError(f"unknown refinement mode {mode!r}; expected one of {', '.join(MODES)}")
    return m


# ------------------------------------------------------------------------------------------------ measures
def click_satisfaction(prob: np.ndarray, clicks: list[Click] | Interactions, threshold: float = 0.5) -> float:
    """The share of clicks whose pixel ends with the clicked label: ``prob[y, x] >= threshold`` for a
    positive click, ``< threshold`` for a negative one (the session's binarisation).

    Args:
        prob: ``(H, W)`` object probabilities in [0, 1] (float), in image pixels.
        clicks: the clicks (image pixels), or an Interactions log (its clicks are used).
        threshold: the probability at which a pixel counts as object.

    Returns:
        A float in [0, 1]; 1.0 for no clicks.

    Raises:
        ValueError: ``prob`` not 2-D, or a click outside it.

    The measure of "the network obeys the clicks" behind BRS (Jang & Kim, CVPR 2019).
    """
    prob = np.asarray(prob)
    if prob.ndim != 2:
        raise ValueError(f"expected prob of shape (H, W), got {prob.shape}")
    clicks = clicks.clicks if isinstance(clicks, Interactions) else list(clicks)
    if not clicks:
        return 1.0
    ok = 0
    for c in clicks:
        if not (0 <= c.y < prob.shape[0] and 0 <= c.x < prob.shape[1]):
            raise ValueError(f"click {c} lies outside a probability map of shape {prob.shape}")
        ok += bool(prob[int(c.y), int(c.x)] >= threshold) == bool(c.positive)
    return ok / len(clicks)


def corrective_energy(probs, labels):
    """BRS's corrective energy ``sum_i (l_i - p_i)^2``: NumPy arrays or torch tensors of shape ``(n,)``.

    ``probs``: output probabilities at the clicked pixels; ``labels``: 1 (positive) or 0 (negative).
    Returns a scalar of the same library (a torch scalar keeps the graph). Jang & Kim, CVPR 2019, eq. (3).
    Raises ValueError for different shapes.
    """
    if tuple(np.shape(probs)) != tuple(np.shape(labels)):
        raise ValueError(f"probs and labels differ in shape: {tuple(np.shape(probs))} vs {tuple(np.shape(labels))}")
    return ((labels - probs) ** 2).sum()


# ------------------------------------------------------------------------------------------------ the network in stages
def _decoder(model: ClickUNet, skips: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``ClickUNet.forward`` from the bottleneck output ``x`` on (``skips``: outputs of ``down[0..L-2]``),
    up to the last decoder block; the same operations in the same order."""
    skips = list(skips)
    for block in model.up:
        skip = skips.pop()
        x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
        x = block(torch.cat([x, skip], dim=1))
    return x


def _features(model: ClickUNet, x: torch.Tensor, mode: str) -> dict:
    """The activations before the scale/bias of an f-BRS mode (computed once, cached)."""
    x = torch.cat([(x[:, :3] - model.mean) / model.std, x[:, 3:]], dim=1)
    skips = []
    last = len(model.down) - 1 if mode == "f-brs-a" else len(model.down)
    for i in range(last):
        x = model.down[i](x if i == 0 else F.max_pool2d(x, 2))
        skips.append(x)
    if mode == "f-brs-a":
        return {"skips": skips[:-1], "feat": skips[-1]}
    bottleneck = skips.pop()
    if mode == "f-brs-b":
        return {"skips": skips, "feat": bottleneck}
    return {"feat": _decoder(model, skips, bottleneck)}  # f-brs-c


def _tail(model: ClickUNet, cache: dict, mode: str, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Logits ``(1, 1, S, S)`` from the cached activations with ``scale * F + bias`` applied per channel."""
    feat = cache["feat"] * scale.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)
    if mode == "f-brs-a":
        x = model.down[-1](F.max_pool2d(feat, 2))
        return model.head(_decoder(model, [*cache["skips"], feat], x))
    if mode == "f-brs-b":
        return model.head(_decoder(model, cache["skips"], feat))
    return model.head(feat)


def feature_channels(model: ClickUNet, mode: str) -> int:
    """The number of channels ``C`` the scale and bias of an f-BRS mode act on (ValueError for another mode)."""
    mode = check_mode(mode)
    if mode not in FBRS_MODES:
        raise ValueError(f"{mode!r} is not an f-BRS mode ({', '.join(FBRS_MODES)})")
    base, levels = model.config["base"], model.config["levels"]
    return {"f-brs-a": base * 2 ** (levels - 2), "f-brs-b": base * 2 ** (levels - 1), "f-brs-c": base}[mode]


# ------------------------------------------------------------------------------------------------ the segmenter
@dataclass
class RefineInfo:
    """What one refined prediction did (``RefinedClickSegmenter.last_info`` and ``.records``).

    Attributes:
        mode: the refinement mode.
        clicks: clicks in the log; ``network_clicks``: of them, those in the network's click maps.
        evaluations: energy evaluations (forward passes of the re-run part; 1 = nothing to refine).
        satisfied_before, satisfied_after: clicks satisfied at the starting ``Delta`` (0 = the plain network,
            or the last click's with ``warm_start``) / by the returned map (:func:`click_satisfaction` of
            the final map times ``clicks``).
        energy_before, energy_after: total energy at the starting ``Delta`` and at the chosen one.
        delta_norm: ``||Delta||_2`` of the chosen correction (0 for mode none).
        seconds: wall-clock seconds of the whole prediction.
        energies: the energy at every evaluation, in order (what L-BFGS saw; empty for mode none).
        satisfied: the clicks satisfied at every evaluation (same order).
    """

    mode: str
    clicks: int
    network_clicks: int
    evaluations: int
    satisfied_before: int
    satisfied_after: int
    energy_before: float
    energy_after: float
    delta_norm: float
    seconds: float
    energies: list[float] = field(default_factory=list)
    satisfied: list[int] = field(default_factory=list)


class _Stop(Exception):
    """Raised inside the energy function to end L-BFGS (all clicks satisfied, or the budget spent)."""


class _Refiner(BaseSegmenter):
    """What the refinement wrappers share: the mode (checked against ``modes``), the energy's parameters
    (``inertia``, ``max_evals``, ``margin``), the warm start, the records and their satisfaction rate."""

    #: The modes a wrapper takes (the widget offers them in its "refine" menu), and what it wraps.
    modes: tuple = MODES
    model_name = "the click model"

    def _setup(self, base, mode: str, inertia: float, max_evals: int, margin: float, warm_start: bool,
               history: bool) -> None:
        self._last: tuple | None = None  # what the warm start continues from
        self.mode = mode
        self.base = base
        self.inertia = number(inertia, "inertia", minimum=0)
        self.max_evals = integer(max_evals, "max_evals", minimum=1)
        self.margin = number(margin, "margin", minimum=0, maximum=0.5)
        if self.margin >= 0.5:
            raise ValueError(f"expected margin < 0.5, got {self.margin}")
        self.warm_start, self.history = bool(warm_start), bool(history)
        self.records: list[RefineInfo] = []
        self.last_info: RefineInfo | None = None

    @property
    def mode(self) -> str:
        """The refinement mode (one of ``modes``); setting it applies from the next prediction."""
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        mode = check_mode(value)
        if mode not in self.modes:
            raise ValueError(f"refinement {value!r} does not apply to {self.model_name}; expected one of "
                             f"{', '.join(self.modes)}")
        self._mode, self._last = mode, None

    def set_image(self, image: np.ndarray) -> None:
        """Validate and keep ``image`` (``(H, W, 3) uint8``) for this wrapper and its base; forget the last
        refinement."""
        super().set_image(image)
        self.base.set_image(self.image)
        self._last = None

    def satisfaction_rate(self) -> float:
        """Satisfied clicks / clicks over all ``records`` (every click of every prediction counts; 1.0 if none)."""
        n = sum(r.clicks for r in self.records)
        return 1.0 if n == 0 else sum(r.satisfied_after for r in self.records) / n

    def _record(self, info: RefineInfo, t0: float) -> None:
        """Finish ``info`` (seconds since ``t0``) and keep it as ``last_info`` (and in ``records``)."""
        info.seconds = time.perf_counter() - t0
        self.last_info = info
        if self.history:
            self.records.append(info)


class RefinedClickSegmenter(_Refiner):
    """A click model wrapped with backpropagating refinement: a Segmenter, clicks in image pixels in,
    ``(H, W) float32`` probabilities out.

    The window, the input and the post-processing are those of ``base`` (a
    :class:`~iseg_course.models.click.ClickSegmenter`): Zoom-In window (``base.zoom_window``), input
    :func:`~iseg_course.models.encoding.model_input` of the first ``network_clicks`` clicks and the previous
    probabilities, logits back to the image bilinearly, ``keep_clicked`` components. Between the forward
    pass and the output, the energy of the module docstring is minimised over the mode's ``Delta`` with
    L-BFGS (bounded evaluations, early stop once every click is satisfied). Mode ``"none"`` with all clicks
    in the network returns exactly what ``base`` returns.

    Args:
        base: the click model; None = the shipped cat model (:class:`ClickSegmenter` defaults, CPU).
        mode: one of :data:`MODES` (``"none"``, ``"distmap-brs"``, ``"rgb-brs"``, ``"f-brs-a"``,
            ``"f-brs-b"``, ``"f-brs-c"``).
        network_clicks: at most this many (the first) clicks go into the network's click maps; the others
            act only through the refinement. None = all clicks (>= 1 otherwise).
        inertia: lambda, the weight of the inertial energy ``lambda * ||Delta||^2`` (>= 0; default 1e-3 as
            in the reference implementation).
        max_evals: the most energy evaluations per click (>= 1; default 20, the reference's ``maxfun``).
        margin: a click counts as satisfied during the optimisation when its probability is at least
            ``0.5 + margin`` (positive) or at most ``0.5 - margin`` (negative); in [0, 0.5).
        zoom_in: override ``base.zoom_in`` (None keeps it); ``base`` itself is not changed.
        warm_start: start L-BFGS from the last prediction's ``Delta`` when the clicks extend the last
            prediction's clicks on the same image (f-BRS: always, its scale and bias do not depend on the
            window; DistMap-/RGB-BRS: only when the window is the same), as the reference implementation
            keeps its optimisation variables between clicks; else from ``Delta = 0``.
        history: keep a :class:`RefineInfo` per prediction in ``records`` (``last_info`` is always set).

    Raises:
        ValueError: an unknown mode, a base that is not a ClickSegmenter with a ClickUNet, or a parameter
            out of range (the message says what was expected). ``predict`` raises ValueError without a
            click and RuntimeError before ``set_image``.
        TypeError: a parameter of the wrong type (e.g. ``network_clicks=2.5``, ``inertia="big"``).

    Sources: Jang & Kim, "Interactive Image Segmentation via Backpropagating Refinement Scheme", CVPR 2019;
    Sofiiuk et al., "f-BRS: Rethinking Backpropagating Refinement for Interactive Segmentation", CVPR 2020;
    Sofiiuk et al., "Reviving Iterative Training with Mask Guidance for Interactive Segmentation", ICIP 2022.
    """

    accepts = frozenset({"click", "mask"})
    modes = MODES

    def __init__(self, base: ClickSegmenter | None = None, mode: str = "f-brs-b", network_clicks: int | None = None,
                 inertia: float = 1e-3, max_evals: int = 20, margin: float = 0.01, zoom_in: bool | None = None,
                 warm_start: bool = True, history: bool = True):
        check_mode(mode)
        if base is None:
            base = ClickSegmenter()
        if not isinstance(base, ClickSegmenter):
            raise ValueError(f"expected base to be a ClickSegmenter, got {type(base).__name__}")
        if not isinstance(base.model, ClickUNet) or base.model.config["in_channels"] != IN_CHANNELS:
            raise ValueError(f"expected base.model to be a ClickUNet with {IN_CHANNELS} input channels")
        if zoom_in is not None and bool(zoom_in) != base.zoom_in:
            base = copy.copy(base)  # shares the network; only the flag differs
            base.zoom_in = bool(zoom_in)
        self._setup(base, mode, inertia, max_evals, margin, warm_start, history)
        self.network_clicks = None if network_clicks is None else integer(network_clicks, "network_clicks", minimum=1)
        self._cache_key: tuple | None = None
        self._cache: dict | None = None

    @property
    def zoom_in(self) -> bool:
        """Whether Zoom-In is on (the base model's flag)."""
        return self.base.zoom_in

    @property
    def model(self) -> ClickUNet:
        """The wrapped network."""
        return self.base.model

    def __repr__(self) -> str:
        return (f"RefinedClickSegmenter(mode={self.mode!r}, network_clicks={self.network_clicks}, "
                f"inertia={self.inertia:g}, max_evals={self.max_evals}, zoom_in={self.zoom_in})")

    def set_image(self, image: np.ndarray) -> None:
        """Validate and keep ``image`` (``(H, W, 3) uint8``), for this wrapper and its base; drop the feature cache."""
        super().set_image(image)
        self._cache_key, self._cache = None, None

    # -------------------------------------------------------------------------------------------- internals
    @staticmethod
    def _click_weights(win: CropWindow, clicks: list[Click]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bilinear read-out of the working-grid logits at the clicks' image pixels: flat indices ``(n, 4)``,
        weights ``(n, 4)`` and labels ``(n,)``. The mapping is ``uncrop_torch``'s (``align_corners=False``),
        so the value equals the returned map's logit at the click."""
        h, w = win.size
        idx, wts, labels = [], [], []
        for c in clicks:
            cx, cy = win.to_crop(c.x, c.y)
            x0, y0 = int(np.floor(cx)), int(np.floor(cy))
            x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
            fx, fy = cx - x0, cy - y0
            idx.append([y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1])
            wts.append([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx])
            labels.append(1.0 if c.positive else 0.0)
        return np.asarray(idx, np.int64), np.asarray(wts, np.float32), np.asarray(labels, np.float32)

    def _cached_features(self, x: torch.Tensor, win: CropWindow) -> dict:
        """f-BRS: the activations before the scale/bias, cached per image, window and network input."""
        digest = hashlib.sha1(x.detach().cpu().numpy().tobytes()).hexdigest()
        key = (id(self.image), self.image.shape, win, self.mode, digest)
        if key != self._cache_key:
            with torch.no_grad():
                self._cache = _features(self.model, x, self.mode)
            self._cache_key = key
        return self._cache

    def _predict(self, interactions: Interactions, prev_mask: np.ndarray | None) -> np.ndarray:
        t0 = time.perf_counter()
        clicks = interactions.clicks
        if not clicks:
            raise ValueError("the click model needs at least one click")
        base = self.base
        prev = None if prev_mask is None else np.clip(np.asarray(prev_mask, np.float32), 0, 1)
        win = base.window(clicks, prev)
        n_net = len(clicks) if self.network_clicks is None else min(len(clicks), self.network_clicks)
        x = base.network_input(win, clicks[:n_net], prev)
        with base.cpu_threads():
            logits, info = self._refine(x, win, clicks, n_net)
            with torch.inference_mode():
                prob = torch.sigmoid(win.uncrop_torch(logits, fill=float("-inf")))[0, 0].float().cpu().numpy()
        prob = clicked_components(prob, clicks) if base.keep_clicked else prob
        info.satisfied_after = round(click_satisfaction(prob, clicks) * len(clicks))
        if self.mode == "none":
            info.satisfied_before = info.satisfied_after
        self._record(info, t0)
        return prob

    def _refine(self, x: torch.Tensor, win: CropWindow, clicks: list[Click], n_net: int):
        """Minimise the energy over the mode's Delta; returns the chosen logits ``(1, 1, S, S)`` and a RefineInfo."""
        model, mode = self.model, self.mode
        info = RefineInfo(mode, len(clicks), n_net, 1, 0, 0, 0.0, 0.0, 0.0, 0.0)
        if mode == "none":
            with torch.inference_mode():
                logits = model(x)
            return logits, info
        idx_np, wts_np, lab_np = self._click_weights(win, clicks)
        idx, wts = (torch.from_numpy(a).to(x.device) for a in (idx_np, wts_np))
        if mode in FBRS_MODES:
            cache = self._cached_features(x, win)
            n = 2 * cache["feat"].shape[1]

            def logits_of(delta: torch.Tensor) -> torch.Tensor:
                scale, bias = delta.chunk(2)
                return _tail(model, cache, mode, 1 + scale, bias)
        else:
            ch = slice(3, 5) if mode == "distmap-brs" else slice(0, 3)
            shape = (ch.stop - ch.start, *x.shape[2:])
            n = int(np.prod(shape))

            def logits_of(delta: torch.Tensor) -> torch.Tensor:
                pad = torch.zeros_like(x)
                pad[0, ch] = delta.view(shape)
                return model(x + pad)

        start = np.zeros(n, np.float64)
        last = self._last
        if (self.warm_start and last is not None and last[0] == id(self.image) and last[3].size == n
                and tuple(clicks[:len(last[1])]) == last[1] and (mode in FBRS_MODES or last[2] == win)):
            start = last[3].copy()
        best = _minimise(logits_of, lambda logits: (logits.reshape(-1)[idx] * wts).sum(dim=1), lab_np, start,
                         inertia=self.inertia, margin=self.margin, max_evals=self.max_evals, info=info,
                         device=x.device)
        self._last = (id(self.image), tuple(clicks), win, best["params"])
        return best["out"], info


def _minimise(forward, read_clicks, labels: np.ndarray, start: np.ndarray, *, inertia: float, margin: float,
              max_evals: int, info: RefineInfo, device) -> dict:
    """Minimise ``E(Delta) = sum_i (l_i - sigmoid(z_i))^2 + inertia * ||Delta||^2`` with L-BFGS.

    ``forward(delta)`` -> the network's output for a float32 tensor ``Delta`` (what is re-run per evaluation);
    ``read_clicks(out)`` -> the logits ``z (n,)`` at the clicked pixels; ``labels (n,)`` 1.0 / 0.0; ``start``
    the first ``Delta`` (float64, flat). Stops once every click is satisfied (``margin``) or after
    ``max_evals`` evaluations; records every evaluation in ``info``; ``Delta`` lives on ``device``. Returns the best evaluation seen (most
    clicks satisfied, then lowest energy): ``{"ok", "value", "out" (detached), "params"}``.
    """
    from scipy.optimize import fmin_l_bfgs_b

    lab = torch.from_numpy(np.asarray(labels, np.float32)).to(device)
    lo, hi = 0.5 + margin, 0.5 - margin
    best: dict = {}
    count = [0]

    def energy(params: np.ndarray):
        count[0] += 1
        delta = torch.from_numpy(np.asarray(params, np.float32)).to(device).requires_grad_(True)
        with torch.enable_grad():
            out = forward(delta)
            z = read_clicks(out)
            p = torch.sigmoid(z)
            e = corrective_energy(p, lab) + inertia * (delta ** 2).sum()
        value = float(e.detach())
        pd = p.detach().cpu().numpy()
        ok = int(np.sum(np.where(labels > 0.5, pd >= lo, pd <= hi)))
        info.energies.append(value)
        info.satisfied.append(ok)
        if count[0] == 1:
            info.energy_before, info.satisfied_before = value, ok
        if not best or (ok, -value) > (best["ok"], -best["value"]):
            detached = tuple(t.detach() for t in out) if isinstance(out, tuple) else out.detach()
            best.update(ok=ok, value=value, out=detached, params=np.array(params, np.float64))
        if ok == len(labels) or count[0] >= max_evals:
            raise _Stop
        (grad,) = torch.autograd.grad(e, delta)
        return value, grad.double().cpu().numpy()

    try:
        fmin_l_bfgs_b(energy, start, m=20, factr=0, pgtol=1e-8, maxfun=max_evals)
    except _Stop:
        pass
    info.evaluations = count[0]
    info.energy_after, info.delta_norm = best["value"], float(np.linalg.norm(best["params"]))
    return best


class RefinedSamSegmenter(_Refiner):
    """The SAM-style model with f-BRS on its image embedding: a Segmenter taking clicks, a box and the previous
    prediction, answering a :class:`~iseg_course.segmenter.Prediction` as
    :class:`~iseg_course.models.sam.SamSegmenter` does.

    The encoder already runs once per image (or per Zoom-In window), so the natural place for f-BRS's
    per-channel scale and bias is the image embedding ``(1, D, h, w)`` -- f-BRS-B's place, after the
    encoder's neck: ``g(s * E + b)`` with ``s = 1 + Delta_s``, ``b = Delta_b`` (``2 D`` numbers), and every
    energy evaluation re-runs only the prompt encoder and the mask decoder. The energy, L-BFGS, early stop and
    warm start are those of :class:`RefinedClickSegmenter`; the logits at a clicked pixel are read from the
    low-resolution logits upsampled to the image exactly as the returned mask is. An ambiguous first click
    (SAM's three candidates) is not refined: the three masks are answers to different questions, and the
    click lies inside the best-scored one in practice. Clicks outside the current Zoom-In window cannot be
    reached by the window's embedding and are left out of the energy (they still count in ``RefineInfo``).
    Input-space BRS (DistMap, RGB) has no counterpart here: the clicks enter as tokens, not as maps.

    Args:
        base: a :class:`~iseg_course.models.sam.SamSegmenter`; None = the shipped SAM-style model.
        mode: one of :data:`SAM_MODES` (``"none"``, ``"f-brs-b"``).
        inertia, max_evals, margin, warm_start, history: as :class:`RefinedClickSegmenter`.

    Raises:
        ValueError: a mode that does not apply to this model, a base that is not a SamSegmenter, or a
            parameter out of range. ``predict`` raises as SamSegmenter's.

    Sources: Sofiiuk et al., "f-BRS: Rethinking Backpropagating Refinement for Interactive Segmentation",
    CVPR 2020; Kirillov et al., "Segment Anything", ICCV 2023.
    """

    accepts = frozenset({"click", "box", "mask"})
    takes_previous = True
    modes = SAM_MODES
    model_name = "the SAM-style model (f-BRS on its image embedding)"

    def __init__(self, base=None, mode: str = "f-brs-b", inertia: float = 1e-3, max_evals: int = 20,
                 margin: float = 0.01, warm_start: bool = True, history: bool = True):
        from .sam.segmenter import SamSegmenter

        self.mode = mode  # checked before the (slow) default base is built
        if base is None:
            base = SamSegmenter()
        if not isinstance(base, SamSegmenter):
            raise ValueError(f"expected base to be a SamSegmenter, got {type(base).__name__}")
        self._setup(base, mode, inertia, max_evals, margin, warm_start, history)
        self._info: RefineInfo | None = None

    def __repr__(self) -> str:
        return (f"RefinedSamSegmenter(mode={self.mode!r}, inertia={self.inertia:g}, max_evals={self.max_evals}, "
                f"zoom_in={self.base.zoom_in})")

    def _predict_previous(self, interactions: Interactions, prev_mask, previous):
        t0 = time.perf_counter()
        clicks = interactions.clicks
        self._info = info = RefineInfo(self.mode, len(clicks), len(clicks), 1, 0, 0, 0.0, 0.0, 0.0, 0.0)
        decode = None if self.mode == "none" else self._decode
        pred = self.base._predict_previous(interactions, prev_mask, previous, decode=decode)
        info.satisfied_after = round(click_satisfaction(pred.masks[pred.chosen], clicks) * len(clicks))
        if info.energies == []:
            info.satisfied_before = info.satisfied_after
        self._record(info, t0)
        return pred

    def _decode(self, embedding, skips, coords, labels, mask_in, *, multimask, frame, clicks):
        """SamStyleModel.decode with f-BRS's scale and bias on ``embedding``, fitted to ``clicks``."""
        base, info = self.base, self._info
        decode = base.model.decode
        if multimask or not clicks:
            return decode(embedding, skips, coords, labels, mask_in, multimask=multimask)
        inside = [c for c in clicks if frame.contains([c])]
        ys = torch.tensor([int(c.y) for c in inside], device=embedding.device)
        xs = torch.tensor([int(c.x) for c in inside], device=embedding.device)
        labels_np = np.asarray([1.0 if c.positive else 0.0 for c in inside], np.float32)
        d = embedding.shape[1]

        def forward(delta: torch.Tensor):
            scale, bias = delta.chunk(2)
            e = embedding * (1 + scale).view(1, d, 1, 1) + bias.view(1, d, 1, 1)
            return decode(e, skips, coords, labels, mask_in, multimask=False)

        def read_clicks(out) -> torch.Tensor:
            return base.upsample(out[0], frame)[0, 0, ys, xs]

        if not inside:
            return decode(embedding, skips, coords, labels, mask_in, multimask=False)
        start = np.zeros(2 * d, np.float64)
        last = self._last
        if (self.warm_start and last is not None and last[0] == id(self.image)
                and tuple(clicks[:len(last[1])]) == last[1]):
            start = last[2].copy()
        best = _minimise(forward, read_clicks, labels_np, start, inertia=self.inertia, margin=self.margin,
                         max_evals=self.max_evals, info=info, device=embedding.device)
        self._last = (id(self.image), tuple(clicks), best["params"])
        return best["out"]


def refine(segmenter, mode: str, **kwargs):
    """``segmenter`` wrapped with refinement ``mode``; ``"none"`` without ``kwargs`` returns it unchanged.

    The click model (:class:`ClickSegmenter`) takes every mode of :data:`MODES` (-> :class:`RefinedClickSegmenter`);
    the SAM-style model (:class:`~iseg_course.models.sam.SamSegmenter`) the modes of :data:`SAM_MODES`
    (-> :class:`RefinedSamSegmenter`, f-BRS on its image embedding). ``kwargs`` go to the wrapper.

    Raises ValueError for an unknown mode, a mode the model does not take, or another kind of segmenter.

    Used by iseg_course.cli (``iseg-course evaluate --refine MODE``).
    """
    from .sam.segmenter import SamSegmenter

    mode = check_mode(mode)
    if mode == "none" and not kwargs:
        return segmenter
    if isinstance(segmenter, SamSegmenter):
        return RefinedSamSegmenter(segmenter, mode=mode, **kwargs)
    if not isinstance(segmenter, ClickSegmenter):
        raise ValueError(f"refinement {mode!r} applies to the click model (ClickSegmenter, --method click) and "
                         f"the SAM-style model (SamSegmenter, --method sam); got {type(segmenter).__name__}")
    return RefinedClickSegmenter(segmenter, mode=mode, **kwargs)


# ------------------------------------------------------------------------------------------------ conversion
def add_click_channels(model: ClickUNet, n_new: int = IN_CHANNELS - 3) -> ClickUNet:
    """BRS's training-free conversion: a U-Net trained without clicks -> a click model with zero-initialised
    click channels.

    ``model`` is a ClickUNet with ``in_channels = 3`` (RGB only). The copy returned has ``3 + n_new`` input
    channels (default 6: RGB, positive map, negative map, previous prediction); the first convolution's
    weights for the new channels are zero and every other weight is copied, so its output equals the
    original's whatever the click maps hold. The network ignores clicks until a refinement makes it obey
    them. Note: with zero weights the gradient of the output with respect to the click maps is exactly zero,
    so DistMap-BRS cannot move it; RGB-BRS and f-BRS can (they change the image or the features).

    Raises ValueError for a model that is not a ClickUNet with 3 input channels, or ``n_new < 1``.

    Jang & Kim, "Interactive Image Segmentation via Backpropagating Refinement Scheme", CVPR 2019, sec. 3
    (generalisation to networks trained without interaction maps, their Fig. 6).
    """
    if not isinstance(model, ClickUNet) or model.config["in_channels"] != 3:
        raise ValueError("expected a ClickUNet with in_channels=3 (an RGB-only U-Net)")
    n_new = integer(n_new, "n_new", minimum=1)
    cfg = dict(model.config, in_channels=3 + n_new)
    new = ClickUNet(**cfg)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    key = "down.0.0.weight"
    w = state[key]
    state[key] = torch.cat([w, w.new_zeros(w.shape[0], n_new, *w.shape[2:])], dim=1)
    new.load_state_dict(state)
    return new.to(next(model.parameters()).device).train(model.training)
