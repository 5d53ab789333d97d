"""Training the SAM-style model as Segment Anything trains: simulated interactive prompts, 11 rounds a sample.

Kirillov et al., "Segment Anything", ICCV 2023, appendix A ("Training algorithm", "Losses"):

* **Prompts.** The first prompt is, with equal probability, one foreground point sampled uniformly from the
  ground-truth mask or a box: the mask's bounding box with noise of standard deviation 10 % of the box's side
  on each coordinate (at most 20 px). Each later point is sampled from the **error region** between the
  previous prediction and the ground truth -- a positive point on a false negative, a negative one on a
  false positive -- and the previous **low-resolution logits** are fed back as a mask prompt. Besides SAM's
  uniform sample, half of the later points here are drawn with weights that favour the error region's
  interior (the local error density to the 4th power), closer to the robot user the course evaluates with.
* **Rounds.** 11 per sample: the first prompt, 8 sampled points, and 2 rounds with no new point (the mask
  and the earlier points only): one inserted at random among the point rounds, one at the end.
* **Loss.** focal : dice = 20 : 1 on the mask, plus the mean-squared error between the predicted IoU and the
  mask's actual IoU. For an ambiguous first prompt (one point) the model returns 3 masks and only the one with
  the lowest loss backpropagates (the IoU head is trained on all three).
* **Frozen encoder, cached features.** The backbone is frozen, so its features of every training image are
  computed once (:func:`build_feature_cache`, a progress bar, a folder outside the repository) and training
  reads them: the encoder never runs during training. Flips are applied to the cached features and masks
  together (exact for the masks, approximate for the features, which a CNN does not make flip-equivariant).

Training runs in one process, or under ``torchrun`` (PyTorch DistributedDataParallel: gloo on the CPU, nccl on
GPUs): ``torchrun --nproc_per_node 2 -m iseg_course.cli train sam --images DIR --masks DIR``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from filelock import FileLock
from torch import nn

from .encoder import FEATURE_CHANNELS, FEATURE_STRIDES
from .model import SamStyleModel, resize_longest
from .prompt import BOX_BOTTOM_RIGHT, BOX_TOP_LEFT, NEGATIVE, PAD, POSITIVE

#: Mask values in the cache: 0 background, 1 object, 2 ignored (annotation border, padding).
BACKGROUND, OBJECT, IGNORED = 0, 1, 2
CACHE_VERSION = 1


# ------------------------------------------------------------------------------------------------ cache
def default_cache_root() -> Path:
    """``$ISEG_CACHE`` or ``~/.cache/iseg-course``: where feature caches go (never inside the repository)."""
    return Path(os.environ.get("ISEG_CACHE", Path.home() / ".cache" / "iseg-course"))


def _pairs_key(folders: Sequence, size: int) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION} size={size}".encode())
    for ds in folders:
        for name in ds.names:
            for p in (ds.image_path(name), ds.mask_path(name)):
                st = p.stat()
                h.update(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


class FeatureCache:
    """The frozen backbone's features and the masks of a training set, as memory-mapped ``.npy`` files.

    Files in ``folder``: ``f4.npy (N, 24, S/4, S/4)``, ``f8.npy (N, 40, S/8, S/8)``, ``f16.npy (N, 112,
    S/16, S/16)``, ``f32.npy (N, 320, S/32, S/32)`` float16; ``masks.npy (N, S, S) uint8`` (0/1/2, see
    :data:`IGNORED`); ``meta.json`` (size, names, sources). ``len(cache)``; ``cache.batch(indices)`` ->
    ``(features: list of 4 float32 tensors, masks: (B, S, S) uint8 array)``.
    """

    levels = ("f4", "f8", "f16", "f32")

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        meta_path = self.folder / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"no feature cache in {self.folder} (build one with build_feature_cache)")
        self.meta = json.loads(meta_path.read_text())
        self.size = int(self.meta["size"])
        self.arrays = {k: np.load(self.folder / f"{k}.npy", mmap_mode="r") for k in (*self.levels, "masks")}

    def __len__(self) -> int:
        return int(self.arrays["masks"].shape[0])

    def batch(self, indices: Sequence[int]) -> tuple[list[torch.Tensor], np.ndarray]:
        idx = np.sort(np.asarray(indices))
        order = np.argsort(np.argsort(np.asarray(indices)))
        feats = [torch.from_numpy(np.asarray(self.arrays[k][idx])[order].astype(np.float32)) for k in self.levels]
        return feats, np.asarray(self.arrays["masks"][idx])[order]


def _cache_mask(sample, size: int, scale: float) -> np.ndarray:
    from PIL import Image

    h, w = sample.mask.shape
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    lab = np.where(sample.mask, OBJECT, BACKGROUND).astype(np.uint8)
    if sample.ignore is not None:
        lab[sample.ignore] = IGNORED
    small = np.asarray(Image.fromarray(lab).resize((nw, nh), Image.NEAREST))
    out = np.full((size, size), IGNORED, np.uint8)
    out[:nh, :nw] = small
    return out


def training_folders(images: Sequence[str | os.PathLike] = (), masks: Sequence[str | os.PathLike] = (),
                     with_cats: bool = False) -> list:
    """The image/mask folder pairs to train on: each ``images[i]`` with ``masks[i]``, plus (``with_cats``)
    the shipped cats that lesson 07 neither tests on nor keeps as "other cats" (both stay evaluation-only).

    Raises ValueError when the lists differ in length or nothing is given; the folders' own errors
    (FileNotFoundError for a missing folder, ValueError for mismatched stems) as ImageMaskFolder raises them.
    """
    from ...data import ImageMaskFolder, cat_split, load_dataset

    if len(images) != len(masks):
        raise ValueError(f"expected one masks folder per images folder, got {len(images)} and {len(masks)}")
    folders = [ImageMaskFolder(i, m) for i, m in zip(images, masks)]
    if with_cats:
        split = cat_split()
        held_out = set(split.test) | set(split.other)
        cats = load_dataset("cats")
        folders.append(cats.subset([n for n in cats.names if n not in held_out]))
    if not folders:
        raise ValueError("expected at least one --images/--masks folder pair (or the shipped cats)")
    return folders


def _portable(folder: Path) -> str:
    """A folder as recorded in caches and checkpoints: relative to the repository when inside it (the shipped
    data), else as the user gave it -- never this machine's absolute path to the course."""
    from ...data import REPO_ROOT

    try:
        return Path(folder).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(folder)


def build_feature_cache(folders: Sequence, size: int = 256, root: str | os.PathLike | None = None,
                        batch_size: int | None = None, progress: bool = True, device: str = "cpu") -> FeatureCache:
    """Run the frozen EfficientNet-Lite0 once over every image of ``folders`` and store the features.

    Args:
        folders: :class:`~iseg_course.data.ImageMaskFolder` objects (any folder pair a user brings).
        size: the model's input size ``S`` (longest side resized to ``S``, padded; padding is ignored).
        root: cache root (default :func:`default_cache_root`); the folder name is a hash of the files
            (paths, sizes, modification times) and ``size``, so a changed folder gets a new cache.
        batch_size: images per encoder pass (default: 1 on the CPU, 16 on a GPU -- on a CPU the cache of 300
            DUTS photos at 256 px took 68 ms per image in batches of 16 against 35 ms one at a time with one
            thread, 39 against 32 ms with two: ``benchmarks/sam_cache.py``); progress: a tqdm bar.

    Returns the :class:`FeatureCache` (an existing complete cache is reused, not rebuilt; an interrupted
    build resumes where it stopped).
    Raises ValueError for an empty list of folders or a folder without samples; the folder's own errors
    (missing files, mismatched stems or sizes) as :class:`~iseg_course.data.ImageMaskFolder` raises them.
    Disk: about 377 KB per image at ``S = 256`` (float16). Safe to call from several processes at once
    (``torchrun``): a file lock (the ``filelock`` package) lets one build while the others wait, and the
    builder meanwhile uses the waiting processes' threads too (``LOCAL_WORLD_SIZE`` x its own).
    """
    folders = list(folders)
    n = sum(len(ds) for ds in folders)
    if not folders or n == 0:
        raise ValueError("expected at least one image/mask folder with samples to build a feature cache")
    if batch_size is None:
        batch_size = 16 if str(device).startswith("cuda") else 1
    if batch_size < 1:
        raise ValueError(f"expected batch_size >= 1, got {batch_size}")
    folder = cache_folder(folders, size, root)
    folder.mkdir(parents=True, exist_ok=True)
    # one builder at a time: under torchrun every rank calls this; the first builds, the others wait here
    # and then find the finished cache (two trainings started on the same folders behave the same way)
    with FileLock(str(folder) + ".lock"):
        if (folder / "meta.json").is_file():
            return FeatureCache(folder)
        _encode_into(folder, folders, size, batch_size, progress, device)
    return FeatureCache(folder)


def cache_folder(folders: Sequence, size: int = 256, root: str | os.PathLike | None = None) -> Path:
    """The cache folder :func:`build_feature_cache` uses for ``folders`` at input size ``size``: a hash of
    the files (paths, sizes, modification times) and ``size`` under ``root`` (default
    :func:`default_cache_root`). Its lock file is the same path with ``.lock`` appended."""
    return Path(root or default_cache_root()) / f"sam-features-{_pairs_key(list(folders), size)}"


def _encode_into(folder: Path, folders: list, size: int, batch_size: int, progress: bool, device: str) -> None:
    """Fill ``folder`` with the backbone features of every image (resuming an interrupted build); the
    caller holds the folder's lock."""
    from tqdm.auto import tqdm

    from .encoder import Backbone

    n = sum(len(ds) for ds in folders)
    # an interrupted build resumes: progress.json says how many images are already stored
    progress_file = folder / "progress.json"
    done = json.loads(progress_file.read_text())["done"] if progress_file.is_file() else 0
    mode = "r+" if done else "w+"
    arrays = {}
    for k, c, s in zip(FeatureCache.levels, FEATURE_CHANNELS, FEATURE_STRIDES):
        shape = (n, c, size // s, size // s)
        arrays[k] = (np.load(folder / f"{k}.npy", mmap_mode="r+") if done else
                     np.lib.format.open_memmap(folder / f"{k}.npy", mode, np.float16, shape))
    arrays["masks"] = (np.load(folder / "masks.npy", mmap_mode="r+") if done else
                       np.lib.format.open_memmap(folder / "masks.npy", mode, np.uint8, (n, size, size)))
    backbone = Backbone(pretrained=True).to(device).eval()
    items = [(ds, name) for ds in folders for name in ds.names]
    names = [f"{ds.name}/{name}" for ds, name in items]
    flush_every = max(1, 320 // batch_size)  # a resume point about every 320 images
    # under torchrun the other processes of this machine wait on the lock: borrow their threads meanwhile
    threads = torch.get_num_threads()
    torch.set_num_threads(threads * max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    try:
        with torch.no_grad(), tqdm(total=n, initial=done, desc="encoding images", unit="img",
                                   disable=not progress) as bar:
            for start in range(done, n, batch_size):
                chunk = items[start:start + batch_size]
                xs = []
                for j, (ds, name) in enumerate(chunk):
                    sample = ds[name]
                    x, scale = resize_longest(sample.image, size)
                    xs.append(x)
                    arrays["masks"][start + j] = _cache_mask(sample, size, scale)
                feats = backbone(torch.cat(xs).to(device))
                for k, f in zip(FeatureCache.levels, feats):
                    arrays[k][start:start + len(chunk)] = f.cpu().numpy().astype(np.float16)
                if (start // batch_size) % flush_every == flush_every - 1:
                    for a in arrays.values():
                        a.flush()
                    progress_file.write_text(json.dumps({"done": start + len(chunk)}))
                bar.update(len(chunk))
    finally:
        torch.set_num_threads(threads)
    for a in arrays.values():
        a.flush()
    meta = {"version": CACHE_VERSION, "size": size, "names": names,
            "sources": [_portable(ds.images_dir) for ds in folders]}
    tmp = folder / "meta.json.tmp"
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, folder / "meta.json")  # a reader sees no meta.json or a whole one
    progress_file.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------ prompts
def first_prompt(masks: torch.Tensor, valid: torch.Tensor, box_prob: float, generator: torch.Generator):
    """SAM's first prompt for each sample: one positive point (uniform in the object) or a noisy box.

    masks, valid: ``(B, S, S)`` bool (object; counted pixels). Returns ``(coords (B, 2, 2) float,
    labels (B, 2) long, is_box (B,) bool)``: a point is padded with a second "not a point" entry; a box is its
    two corners (labels :data:`~.prompt.BOX_TOP_LEFT`, BOX_BOTTOM_RIGHT), each coordinate moved by
    ``N(0, (0.1 * side)^2)`` clipped to +-20 px and to the image.
    """
    b, s, _ = masks.shape
    coords = torch.zeros(b, 2, 2)
    labels = torch.full((b, 2), PAD, dtype=torch.long)
    is_box = torch.rand(b, generator=generator) < box_prob
    for i in range(b):
        obj = masks[i] & valid[i]
        ys, xs = torch.nonzero(obj, as_tuple=True)
        if is_box[i]:
            x0, x1, y0, y1 = xs.min().float(), xs.max().float(), ys.min().float(), ys.max().float()
            w, h = x1 - x0 + 1, y1 - y0 + 1
            noise = torch.randn(4, generator=generator) * 0.1 * torch.stack([w, h, w, h])
            noise = noise.clamp(-20, 20)
            box = (torch.stack([x0, y0, x1, y1]) + noise).clamp(0, s - 1)
            coords[i] = torch.stack([box[:2].minimum(box[2:]), box[:2].maximum(box[2:])])
            labels[i] = torch.tensor([BOX_TOP_LEFT, BOX_BOTTOM_RIGHT])
        else:
            j = torch.randint(len(xs), (1,), generator=generator)
            coords[i, 0] = torch.stack([xs[j], ys[j]]).float().view(2)
            labels[i, 0] = POSITIVE
    return coords, labels, is_box


def error_region_points(pred: torch.Tensor, masks: torch.Tensor, valid: torch.Tensor, generator: torch.Generator,
                        interior_prob: float = 0.5, window: int = 15):
    """One corrective point per sample from the error region between ``pred`` and ``masks``.

    pred, masks, valid: ``(B, S, S)`` bool. A pixel of the error region (``pred != masks`` on valid pixels)
    is drawn uniformly (SAM), or -- with probability ``interior_prob`` -- with weights ``density^4``, where
    density is the fraction of error pixels in a ``window`` x ``window`` neighbourhood (favouring the
    interior of large errors, like the robot user). Label: positive on a false negative, negative on a false
    positive. Returns ``(coords (B, 1, 2) float, labels (B, 1) long)``; a sample with no error gets a
    padding point (label :data:`~.prompt.PAD`).
    """
    b, s, _ = masks.shape
    err = (pred != masks) & valid
    density = nn.functional.avg_pool2d(err[:, None].float(), window, stride=1, padding=window // 2,
                                       count_include_pad=False)[:, 0]
    interior = torch.rand(b, generator=generator) < interior_prob
    weights = torch.where(interior[:, None, None], density ** 4, torch.ones_like(density)) * err
    flat = weights.view(b, -1)
    has = flat.sum(1) > 0
    flat = torch.where(has[:, None], flat, torch.ones_like(flat))
    idx = torch.multinomial(flat, 1, generator=generator)[:, 0]
    ys, xs = idx // s, idx % s
    coords = torch.stack([xs, ys], -1).float()[:, None]
    fn = masks.view(b, -1).gather(1, idx[:, None])[:, 0]
    labels = torch.where(fn, POSITIVE, NEGATIVE).long()
    labels = torch.where(has, labels, torch.full_like(labels, PAD))[:, None]
    return coords, labels


# ------------------------------------------------------------------------------------------------ loss
def low_resolution_targets(masks: torch.Tensor, valid: torch.Tensor, size: int):
    """``(B, S, S)`` bool object / valid masks -> ``(B, size, size)`` bool: a low-resolution pixel is object
    when more than half of its valid input pixels are, and valid when more than half of its pixels are."""
    v = nn.functional.adaptive_avg_pool2d(valid[:, None].float(), size)[:, 0]
    o = nn.functional.adaptive_avg_pool2d((masks & valid)[:, None].float(), size)[:, 0]
    return o > 0.5 * v.clamp(min=1e-6), v > 0.5


def mask_loss(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor,
              focal_weight: float = 20.0, dice_weight: float = 1.0, alpha: float = 0.25) -> torch.Tensor:
    """SAM's mask loss per mask: ``20 * focal + 1 * dice`` over the valid pixels.

    logits: ``(B, K, S, S)``; target, valid: ``(B, S, S)`` bool. Returns ``(B, K)``. The focal loss is
    torchvision's ``sigmoid_focal_loss`` (Lin et al., ICCV 2017; gamma 2, ``alpha`` the weight of
    object pixels, -1 for none), averaged over valid pixels; the dice loss is ``1 - (2 |P T| + 1) / (|P| + |T| + 1)`` on the probabilities (Milletari et al. 2016).
    """
    from torchvision.ops import sigmoid_focal_loss

    t = target[:, None].float().expand_as(logits)
    v = valid[:, None].float()
    n = v.sum((2, 3)).clamp(min=1)
    focal = (sigmoid_focal_loss(logits, t, alpha=alpha, reduction="none") * v).sum((2, 3)) / n
    p = torch.sigmoid(logits) * v
    dice = 1 - (2 * (p * t).sum((2, 3)) + 1) / (p.sum((2, 3)) + (t * v).sum((2, 3)) + 1)
    return focal_weight * focal + dice_weight * dice


def mask_iou(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """IoU of ``logits > 0`` with ``target`` on valid pixels: ``(B, K)`` (1.0 when both are empty)."""
    p = (logits > 0) & valid[:, None]
    t = (target & valid)[:, None]
    inter = (p & t).sum((2, 3)).float()
    union = (p | t).sum((2, 3)).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


# ------------------------------------------------------------------------------------------------ training
@dataclass
class SamTrainConfig:
    """Training settings (defaults: those of the shipped checkpoint's first phase, with the click term its last
    phase added).

    epochs; batch_size: samples per step *per process* (under torchrun the effective batch is
    ``batch_size x processes``); lr (AdamW, cosine decay to 5 % after ``warmup`` steps), weight_decay; rounds: prompt
    rounds per sample (SAM: 11); mask_only_rounds: rounds without a new point (SAM: 2); box_prob: chance the
    first prompt is a box; interior_prob: see :func:`error_region_points`; focal_alpha: the focal loss's
    object weight (-1: none -- the dice term already balances object and background; with torchvision's 0.25
    a short CPU run spends its first hundred steps predicting background only); loss_rounds: rounds whose loss
    backpropagates -- the first, the last and randomly drawn others (SAM: all 11; fewer save CPU time, the
    other rounds still run, without gradients, to produce the next prompt); click_weight: weight of the
    click term (:func:`click_loss`, 0: SAM's losses only); instance_prob: chance that a sample whose mask holds
    several separate objects is trained on one of them only (:func:`instance_targets`); flip: random horizontal
    flips; seed; model: :class:`~.model.SamStyleModel` arguments; device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    epochs: int = 2
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 50
    rounds: int = 11
    mask_only_rounds: int = 2
    box_prob: float = 0.5
    interior_prob: float = 0.5
    loss_rounds: int = 4
    instance_prob: float = 0.0
    focal_alpha: float = -1.0
    click_weight: float = 1.0
    flip: bool = True
    seed: int = 0
    device: str = "auto"
    model: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rounds < 1 or not 0 <= self.mask_only_rounds < self.rounds:
            raise ValueError(f"expected rounds >= 1 and 0 <= mask_only_rounds < rounds, got {self.rounds}, "
                             f"{self.mask_only_rounds}")
        if not 0.0 <= self.instance_prob <= 1.0:
            raise ValueError(f"expected 0 <= instance_prob <= 1, got {self.instance_prob}")
        if not 1 <= self.loss_rounds <= self.rounds:
            raise ValueError(f"expected 1 <= loss_rounds <= rounds, got {self.loss_rounds}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"expected epochs >= 1 and batch_size >= 1, got {self.epochs}, {self.batch_size}")


def click_loss(low: torch.Tensor, coords: torch.Tensor, labels: torch.Tensor, size: int) -> torch.Tensor:
    """Binary cross-entropy of the low-resolution logits at the clicked pixels: every positive click's pixel
    should be object, every negative click's background.

    low: ``(B, h, w)`` logits; coords: ``(B, N, 2)`` float ``(x, y)`` in input pixels of a ``size``-pixel
    frame; labels: ``(B, N)`` long (only :data:`~.prompt.POSITIVE` / :data:`~.prompt.NEGATIVE` entries
    count; padding and box corners are left out). Returns a scalar: the mean over the clicks (0 without any).

    This is the corrective energy of BRS (Jang & Kim, "Interactive Image Segmentation via Backpropagating
    Refinement Scheme", CVPR 2019) used as a training loss, so that the network obeys the clicks itself;
    SAM's focal and dice losses average over the whole mask, where one corrective click weighs almost nothing.
    """
    b, h, w = low.shape
    is_click = (labels == POSITIVE) | (labels == NEGATIVE)
    if not bool(is_click.any()):
        return low.sum() * 0.0
    col = (coords[..., 0] * w / size).long().clamp(0, w - 1)
    row = (coords[..., 1] * h / size).long().clamp(0, h - 1)
    at = low[torch.arange(b, device=low.device)[:, None], row, col]  # (B, N)
    target = (labels == POSITIVE).to(low.dtype)
    bce = nn.functional.binary_cross_entropy_with_logits(at, target, reduction="none")
    return (bce * is_click).sum() / is_click.sum()


def interactive_rounds(model: SamStyleModel, embedding, skips, masks: torch.Tensor, valid: torch.Tensor,
                       config: SamTrainConfig, generator: torch.Generator):
    """Run the 11 simulated prompt rounds on one batch; return ``(loss, stats)``.

    masks, valid: ``(B, S, S)`` bool. The loss averages, over the ``config.loss_rounds`` rounds that learn, the mask loss of the chosen mask (the
    lowest-loss one of 3 on an ambiguous first point) and the IoU head's MSE; previous logits are fed back
    detached. ``stats``: mean IoU after the first and the last round.
    """
    s = model.size
    dev = embedding.device
    masks, valid = masks.cpu(), valid.cpu()  # prompts are sampled on the CPU (one generator everywhere)
    coords, labels, is_box = first_prompt(masks, valid, config.box_prob, generator)
    # losses and later points live at the low-resolution mask size S/4 (as SAM's 256 x 256 masks of a
    # 1024 px input): a low-res pixel is object / valid when most of its 4 x 4 input pixels are
    low_masks, low_valid = low_resolution_targets(masks, valid, s // 4)
    masks_d, valid_d = low_masks.to(dev), low_valid.to(dev)
    step = s / (s // 4)
    n_rounds = config.rounds
    mask_rounds = set()
    if config.mask_only_rounds:
        mask_rounds.add(n_rounds - 1)
        while len(mask_rounds) < config.mask_only_rounds:
            mask_rounds.add(int(torch.randint(1, n_rounds - 1, (1,), generator=generator)))
    loss_at = {0, n_rounds - 1}
    while len(loss_at) < min(config.loss_rounds, n_rounds):
        loss_at.add(int(torch.randint(1, n_rounds - 1, (1,), generator=generator)))
    rows = torch.arange(masks.shape[0], device=dev)
    # SAM's multimask rule in round 1: a single point is ambiguous -> the best of tokens 1-3 learns;
    # a box is not -> token 0 learns. Later rounds: token 0.
    first_choice = torch.ones(4, dtype=torch.bool, device=dev)[None].repeat(len(rows), 1)
    first_choice[:, 0] = is_box.to(dev)
    first_choice[:, 1:] = ~is_box.to(dev)[:, None]
    prev_low = None
    total = 0.0
    first_iou = last_iou = None
    for r in range(n_rounds):
        if r > 0 and r not in mask_rounds:
            pred = (prev_low[:, 0] > 0).cpu()
            c, lab = error_region_points(pred, low_masks, low_valid, generator, config.interior_prob, window=5)
            c = (c + 0.5) * step - 0.5  # low-res pixel centre -> input pixel
            coords, labels = torch.cat([coords, c], 1), torch.cat([labels, lab], 1)
        learns = r in loss_at
        with torch.set_grad_enabled(torch.is_grad_enabled() and learns):
            low, iou_pred = model.decode(embedding, skips, coords.to(dev), labels.to(dev), prev_low,
                                         None if r == 0 else False)
            if not learns:  # this round only makes the next prompt: token 0's mask, no loss
                prev_low = low[:, :1].detach()
                continue
            losses = mask_loss(low, masks_d, valid_d, alpha=config.focal_alpha)
        with torch.no_grad():
            ious = mask_iou(low, masks_d, valid_d)
        if r == 0:
            used = first_choice.float()
            best = losses.masked_fill(~first_choice, float("inf")).argmin(1)
            iou_loss = ((iou_pred - ious) ** 2 * used).sum() / used.sum()
        else:
            best = torch.zeros_like(rows)
            iou_loss = nn.functional.mse_loss(iou_pred, ious)
        total = total + losses[rows, best].mean() + iou_loss
        if config.click_weight:
            total = total + config.click_weight * click_loss(low[rows, best], coords.to(dev), labels.to(dev), s)
        prev_low = low[rows, best][:, None].detach()
        if r == 0:
            first_iou = ious[rows, best].mean().item()
        last_iou = ious[rows, best].mean().item()
    return total / len(loss_at), {"iou_first": first_iou, "iou_last": last_iou}


class TrainStep(nn.Module):
    """One training step's forward as a module (what DistributedDataParallel wraps): cached backbone features
    -> neck -> :func:`interactive_rounds` -> ``(loss, stats)``."""

    def __init__(self, model: SamStyleModel, config: SamTrainConfig):
        super().__init__()
        self.model, self.config = model, config

    def forward(self, feats, target, valid, generator):
        embedding, skips = self.model.embed(feats)
        return interactive_rounds(self.model, embedding, skips, target, valid, self.config, generator)


def instance_targets(masks: np.ndarray, prob: float, generator: torch.Generator,
                     min_pixels: int = 64, min_fraction: float = 0.05) -> np.ndarray:
    """Some masks that hold several separate objects -> one of those objects, the others made background.

    ``masks``: ``(B, S, S) uint8`` (:data:`OBJECT` / :data:`BACKGROUND` / :data:`IGNORED`). A sample is
    eligible when its object pixels form at least two connected components (8-connectivity) of at least
    ``max(min_pixels, min_fraction x object pixels)`` pixels each; with probability ``prob`` it keeps one of
    them (drawn uniformly), every other object pixel becomes background. About 5.8 % of DUTS train is eligible
    (a herd, a group of people, several fruit). Why: on a salient-object set the first click's mask usually
    covers *all* the objects, so the model rarely sees a negative click on a whole wrong object and learns
    negative clicks as local corrections only; Berkeley's failures are of that kind (one of three statues, one
    zebra of three). The targets are those of an instance-level set (SAM's SA-1B, COCO in RITM), cut from
    saliency masks. Returns a new array (``masks`` is not changed); ``prob == 0`` returns ``masks`` itself
    and draws nothing from ``generator``.
    """
    from scipy import ndimage

    if prob <= 0:
        return masks
    draws = torch.rand(len(masks), generator=generator).numpy()
    picks = torch.randint(0, 1 << 30, (len(masks),), generator=generator).numpy()
    out = masks.copy()
    for i, m in enumerate(masks):
        if draws[i] >= prob:
            continue
        lab, n = ndimage.label(m == OBJECT, structure=np.ones((3, 3), bool))
        if n < 2:
            continue
        areas = np.bincount(lab.ravel())[1:]
        big = np.flatnonzero(areas >= max(min_pixels, min_fraction * areas.sum())) + 1
        if len(big) < 2:
            continue
        keep = big[picks[i] % len(big)]
        out[i][(lab > 0) & (lab != keep)] = BACKGROUND
    return out


def _flip(feats: list[torch.Tensor], masks: np.ndarray, which: torch.Tensor):
    feats = [torch.where(which.view(-1, 1, 1, 1), f.flip(-1), f) for f in feats]
    masks = np.where(which.numpy()[:, None, None], masks[:, :, ::-1], masks)
    return feats, masks


def _distributed() -> tuple[int, int]:
    """``(rank, world_size)``; initialises the process group when started by ``torchrun``."""
    import torch.distributed as dist

    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        if not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            dist.init_process_group(backend)
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def train_sam(cache: FeatureCache, config: SamTrainConfig | None = None, model: SamStyleModel | None = None,
              progress: bool = True, log: list | None = None) -> tuple[SamStyleModel, dict]:
    """Train neck + prompt encoder + mask decoder on a :class:`FeatureCache`; returns ``(model, history)``.

    Under ``torchrun`` each process takes its share of every epoch (a ``DistributedSampler``) and the
    gradients are averaged by DistributedDataParallel; only rank 0 shows progress. ``history``: per epoch the
    mean loss, the mean IoU after the first and the last round, and seconds. Seeds are set from
    ``config.seed`` (same results run to run on one machine and process count).
    Raises ValueError for an empty cache.
    """
    from tqdm.auto import tqdm

    from ...device import best_device
    from ...notebook import seed_everything

    config = config or SamTrainConfig()
    if len(cache) == 0:
        raise ValueError("the feature cache holds no samples")
    rank, world = _distributed()
    seed_everything(config.seed)
    if world > 1 and torch.cuda.is_available():
        device = torch.device("cuda", rank % torch.cuda.device_count())
    else:
        device = torch.device(best_device(config.device))
    model = (model or SamStyleModel(size=cache.size, **config.model)).to(device)
    net = TrainStep(model, config)
    if world > 1:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(cache) / world / config.batch_size)
    total_steps = steps_per_epoch * config.epochs

    def lr_at(step):
        if step < config.warmup:
            return (step + 1) / config.warmup
        t = (step - config.warmup) / max(1, total_steps - config.warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    generator = torch.Generator().manual_seed(config.seed + 1000 * rank)
    history = {"loss": [], "iou_first": [], "iou_last": [], "seconds": []}
    for epoch in range(config.epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(cache), generator=torch.Generator().manual_seed(config.seed + epoch)).numpy()
        order = order[rank::world]
        sums = np.zeros(3)
        batches = [order[i:i + config.batch_size] for i in range(0, len(order), config.batch_size)]
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch", disable=not progress or rank)
        for idx in bar:
            feats, masks = cache.batch(idx)
            if config.flip:
                feats, masks = _flip(feats, masks, torch.rand(len(idx), generator=generator) < 0.5)
            masks = instance_targets(masks, config.instance_prob, generator)
            feats = [f.to(device) for f in feats]
            target = torch.from_numpy(np.ascontiguousarray(masks == OBJECT))
            valid = torch.from_numpy(np.ascontiguousarray(masks != IGNORED))
            loss, stats = net(feats, target.to(device), valid.to(device), generator)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            sums += [loss.item(), stats["iou_first"], stats["iou_last"]]
            bar.set_postfix(loss=f"{loss.item():.3f}", iou=f"{stats['iou_last']:.3f}")
        means = sums / max(1, len(batches))
        history["loss"].append(float(means[0]))
        history["iou_first"].append(float(means[1]))
        history["iou_last"].append(float(means[2]))
        history["seconds"].append(time.perf_counter() - t0)
        if log is not None and rank == 0:
            log.append({"epoch": epoch + 1, **{k: v[-1] for k, v in history.items()}})
    model.eval()
    return model, {"history": history, "config": asdict(config), "world_size": world,
                   "samples": len(cache), "sources": cache.meta.get("sources", [])}
