"""Interactive training of the click model with a robot user: the cat working example (lesson 07).

The lecture's training phase: 100 labelled cats, 90 train / 10 test. For every training image the robot
user simulates 10 iterative clicks (step I: a click at the object pixel farthest from its border; step III:
a click at the deepest error, the pixel farthest from the border of its own error region), the clicks accumulate in the guidance signal G, the previous prediction is
fed back, and the model is updated after the 10th click. Train and test loss are recorded every epoch.
10 clicks x 100 images = 1000 forward passes per epoch, where non-interactive training needs 100:
interactive training is linearly slower in the number of simulated clicks.

The iterative scheme follows Mahadevan et al., "Iteratively Trained Interactive Segmentation" (BMVC 2018)
and RITM (Sofiiuk et al., "Reviving Iterative Training with Mask Guidance for Interactive Segmentation",
ICIP 2022); the robot user is :func:`iseg_course.robot.ritm_click`. RITM's own recipe -- a random number of
gradient-free click rounds, then one graded forward pass and one update -- is :func:`ritm_training_step`,
switched on in the trainer by ``TrainConfig(max_free_clicks=N)`` (off by default: the lecture's 10 clicks).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .data import Sample, cat_split, load_samples
from .metrics import iou
from .models import ClickUNet, click_maps
from .robot import ritm_click
from .session import robot_step

#: Label values of the training targets: background, object, ignored (trimap border, GrabCut band).
BACKGROUND, OBJECT, IGNORE = 0, 1, 2


# ------------------------------------------------------------------------------------------------ config
@dataclass
class TrainConfig:
    """Knobs of the interactive training (defaults: lesson 07's full run on a CPU).

    Attributes:
        epochs: passes over the training images.
        size: working size ``S`` in pixels (images and masks resized to ``S x S``; >= 16, divisible by 8).
        batch_size: images simulated and updated together.
        n_clicks: robot clicks per image before the update (the lecture: 10).
        lr, weight_decay: AdamW optimiser settings; the learning rate follows a cosine schedule.
        kind, radius: click encoding (``"disk"`` or ``"gaussian"``) and its radius / sigma in pixels at ``S``.
        base, dropout: U-Net width and dropout (see :class:`~iseg_course.models.ClickUNet`).
        augment: torchvision v2 augmentation (random resized crop, flip, colour jitter) on the training images.
        seed: seeds Python, NumPy and PyTorch (weights, batch order, augmentation).
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cuda"``, ``"mps"`` or ``"cpu"``.
        amp: mixed precision (float16 autocast + gradient scaling), used on CUDA only.
        loss_on: ``"all"``: the loss is the mean over the predictions after each of the ``n_clicks`` clicks;
            ``"last"``: only the prediction after the last click counts. Either way the model is updated
            once per batch, after the last click. ``"last"`` is cheaper per epoch, but with a fixed
            ``n_clicks`` and a loss on the last prediction only, the predictions after the earlier clicks
            are never graded: with the lesson's defaults otherwise (15 epochs), IoU@1 on the 10 test cats
            is 0.49 against 0.69 for ``"all"`` (IoU@10 0.92 against 0.96; NoC@90 8.0 against 4.4).
        max_free_clicks: ``None`` (default): the lecture's scheme above, ``n_clicks`` clicks per batch.
            An int ``N >= 0``: RITM's iterative training instead (:func:`ritm_training_step`): every batch
            draws ``n`` uniformly from ``0..N`` (NumPy generator seeded with ``seed``), runs ``n`` click rounds
            without gradients and one more click whose prediction alone gets the loss (``loss_on`` is then not
            used). ``n_clicks`` still sets the clicks of the test measurement.

    Used in lesson 07.
    """

    epochs: int = 15
    size: int = 128
    batch_size: int = 8
    n_clicks: int = 10
    lr: float = 3e-3
    weight_decay: float = 1e-4
    kind: str = "disk"
    radius: float = 5.0
    base: int = 16
    dropout: float = 0.1
    augment: bool = True
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    loss_on: str = "all"
    max_free_clicks: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "size", "batch_size", "n_clicks", "base"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"expected {name} >= 1, got {getattr(self, name)}")
        if self.max_free_clicks is not None and (isinstance(self.max_free_clicks, bool)
                                                 or int(self.max_free_clicks) != self.max_free_clicks
                                                 or self.max_free_clicks < 0):
            raise ValueError(f"expected max_free_clicks None or an int >= 0, got {self.max_free_clicks!r}")
        if self.loss_on not in ("all", "last"):
            raise ValueError(f"expected loss_on 'all' or 'last', got {self.loss_on!r}")
        if self.size % 8 or self.size < 16:
            raise ValueError(f"expected size >= 16 and divisible by 8 (the U-Net pools 3 times), got {self.size}")


@dataclass
class History:
    """What happened per epoch: train loss, test loss (after the last click), test IoU after the first
    click (``test_iou1``) and after the last (``test_iou``), training seconds and forward passes.

    Used in lesson 07.
    """

    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_iou1: list[float] = field(default_factory=list)
    test_iou: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    forward_passes: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The lists as a plain dict (JSON-ready; stored in checkpoints)."""
        return asdict(self)


def plot_history(history: History | dict, ax=None):
    """Train and test loss per epoch (the lecture's "Loss on Train & Test" plot). Returns the axes.

    The drawing is :func:`iseg_course.plotting.loss_curves`.

    Used in lesson 07.
    """
    from .plotting import loss_curves

    return loss_curves(history, ax)


# ------------------------------------------------------------------------------------------------ tensors
def sample_to_tensors(sample: Sample) -> tuple[torch.Tensor, torch.Tensor]:
    """``(3, H, W) uint8`` image and ``(H, W) uint8`` label (0 background, 1 object, 2 ignored).

    Used in lesson 07.
    """
    label = sample.mask.astype(np.uint8) * OBJECT
    if sample.ignore is not None:
        label[sample.ignore] = IGNORE
    return torch.from_numpy(sample.image.transpose(2, 0, 1).copy()), torch.from_numpy(label)


def make_transform(size: int, augment: bool):
    """torchvision transforms v2 applied to image and label together.

    With ``augment``: random resized crop to ``size x size`` (60-100 % of the area), horizontal flip and
    colour jitter (image only; v2 leaves ``tv_tensors.Mask`` colours alone and resizes it with nearest
    neighbours). Without: a plain resize to ``size x size``.

    Used in lesson 07.
    """
    from torchvision.transforms import v2

    if not augment:
        return v2.Resize((size, size), antialias=True)
    return v2.Compose([
        v2.RandomResizedCrop((size, size), scale=(0.6, 1.0), ratio=(0.75, 1.333), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02),
    ])


def prepare_batch(items: Sequence[tuple[torch.Tensor, torch.Tensor]], transform) -> tuple[torch.Tensor, np.ndarray]:
    """Transform each (image, label) pair; returns images ``(B, 3, S, S) float32`` in [0, 1] and labels
    ``(B, S, S) uint8``. A crop that lost the object falls back to the whole image resized.

    Used in lesson 07.
    """
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    images, labels = [], []
    for img, lab in items:
        out_img, out_lab = transform(tv_tensors.Image(img), tv_tensors.Mask(lab))
        if not (out_lab == OBJECT).any():
            size = out_lab.shape[-2:]
            out_img, out_lab = v2.Resize(tuple(size), antialias=True)(tv_tensors.Image(img), tv_tensors.Mask(lab))
        images.append(out_img.float() / 255)
        labels.append(out_lab.numpy().astype(np.uint8))
    return torch.stack(images), np.stack(labels)


def segmentation_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy + soft Dice loss over the non-ignored pixels.

    ``logits`` ``(B, 1, S, S)``; ``labels`` ``(B, S, S)`` with 0/1/2 (2 = ignored). Returns a scalar.

    Used in lesson 07.
    """
    logits = logits[:, 0].float()
    valid = (labels != IGNORE).float()
    target = (labels == OBJECT).float()
    bce = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * valid).sum() / valid.sum().clamp(min=1)
    prob = torch.sigmoid(logits) * valid
    inter = (prob * target).sum(dim=(1, 2))
    dice = 1 - (2 * inter + 1) / (prob.sum(dim=(1, 2)) + (target * valid).sum(dim=(1, 2)) + 1)
    return bce + dice.mean()


# ------------------------------------------------------------------------------------------------ click loop
def simulate_training_clicks(model, images: torch.Tensor, labels: np.ndarray, n_clicks: int = 10,
                             robot: Callable = ritm_click, kind: str = "disk", radius: float = 5.0,
                             grad: str = "none", amp: bool = False):
    """The iterative click loop of one batch: ``n_clicks`` robot clicks, each followed by a forward pass.

    Click ``k``: the robot user looks at the ground truth and the current prediction (step I: the object
    pixel farthest from its border; step III: the deepest error pixel), the click is added to that image's clicks, the
    guidance maps are re-encoded from all clicks so far, and the model runs on image + maps + previous
    probabilities. The previous probabilities are fed back detached: gradients never flow from one click
    into the next.

    Args:
        model: a ``ClickUNet`` (its device is used).
        images: ``(B, 3, S, S) float32`` in [0, 1]; labels: ``(B, S, S) uint8`` (0/1/2).
        n_clicks: clicks per image (>= 1).
        robot: ``robot(gt, pred, ignore, clicked) -> Click | None``.
        kind, radius: click encoding, radius in pixels at ``S``.
        grad: which forward passes keep gradients: ``"none"`` (evaluation), ``"last"`` (only the pass after
            the last click) or ``"all"`` (every pass, for a loss on every click's prediction).
        amp: float16 autocast on CUDA.

    Returns:
        ``(logits, clicks, passes)``: the logits ``(B, 1, S, S)`` after each click (a list of ``n_clicks``
        tensors), each image's clicks, and the number of forward passes run (``n_clicks``; each covers the
        whole batch).

    Raises ValueError for an unknown ``grad`` or ``n_clicks < 1``.

    Used in lesson 07.
    """
    if grad not in ("none", "last", "all"):
        raise ValueError(f"expected grad 'none', 'last' or 'all', got {grad!r}")
    if n_clicks < 1:
        raise ValueError(f"expected n_clicks >= 1, got {n_clicks}")
    device = next(model.parameters()).device
    b, _, s, _ = images.shape
    gts, ignores = labels == OBJECT, labels == IGNORE
    clicks: list[list] = [[] for _ in range(b)]
    preds = np.zeros((b, s, s), bool)
    prev = torch.zeros(b, 1, s, s, device=device)
    images = images.to(device)
    autocast = torch.autocast("cuda", dtype=torch.float16) if amp and device.type == "cuda" else nullcontext()
    all_logits = []
    for k in range(n_clicks):
        for i in range(b):  # the session's robot turn, once per image of the batch
            click = robot_step(robot, gts[i], preds[i], ignores[i], clicks[i])
            if click is not None:
                clicks[i].append(click)
        maps = np.stack([click_maps(c, (s, s), kind, radius) for c in clicks])
        x = torch.cat([images, torch.from_numpy(maps).to(device), prev], dim=1)
        with torch.set_grad_enabled(grad == "all" or (grad == "last" and k == n_clicks - 1)), autocast:
            logits = model(x)
        all_logits.append(logits)
        prev = torch.sigmoid(logits.detach().float())
        preds = (prev[:, 0] >= 0.5).cpu().numpy()
    return all_logits, clicks, n_clicks


def ritm_training_step(model, optimizer, images: torch.Tensor, labels: np.ndarray, max_free_clicks: int = 3,
                       rng: np.random.Generator | int | None = None, *, robot: Callable = ritm_click,
                       kind: str = "disk", radius: float = 5.0, amp: bool = False, scaler=None) -> tuple[float, int]:
    """One update of RITM's iterative training: a random number of gradient-free click rounds, then one graded pass.

    1. ``n = int(rng.integers(0, max_free_clicks + 1))``: one draw, uniform over ``0..max_free_clicks``;
    2. ``n`` click rounds without gradients: the robot clicks on each image (step I, then step III on the
       current prediction), the model predicts from the image, all clicks so far and its previous
       probabilities, and the new probabilities are fed back (detached);
    3. one more robot click and one forward pass **with** gradients; the loss is :func:`segmentation_loss`
       of that prediction alone;
    4. ``optimizer.zero_grad()``, backward, ``optimizer.step()`` -- one update.

    Steps 2-3 are ``simulate_training_clicks(model, images, labels, n + 1, grad="last")``: ``n + 1``
    forward passes, only the last with gradients. Every batch is thus graded after a random number of
    clicks (1 to ``max_free_clicks + 1``), and always on a prediction made from the model's *own* previous
    answer, which a loss after a fixed number of clicks does not give. After Sofiiuk, Petrov & Konushin,
    "Reviving Iterative Training with Mask Guidance for Interactive Segmentation", ICIP 2022 (their code
    draws ``random.randint(0, max_num_next_clicks)``, 3 in their configurations, and runs the free rounds
    with the network in ``eval()`` mode); unlike RITM the first click here is the robot's step I (the
    object pixel farthest from the object's border), not a set of random initial clicks, and the model is
    used in the mode it is in.

    Args:
        model: a ``ClickUNet`` (its device is used; the caller sets ``train()`` / ``eval()``).
        optimizer: a ``torch.optim`` optimizer over ``model``'s parameters.
        images: ``(B, 3, S, S) float32`` tensor in [0, 1].
        labels: ``(B, S, S) uint8`` NumPy array, 0 background / 1 object / 2 ignored.
        max_free_clicks: ``N >= 0``, the most gradient-free rounds.
        rng: a ``numpy.random.Generator`` (used as is, so successive calls draw successive values), an int
            seed or None (fresh entropy).
        robot, kind, radius: as in :func:`simulate_training_clicks`.
        amp: float16 autocast on CUDA; scaler: an optional ``torch.amp.GradScaler`` for the backward pass.

    Returns:
        ``(loss, n)``: the loss before the update (Python float) and the number of free rounds (int).

    Raises:
        ValueError: ``max_free_clicks`` not an int >= 0.

    Used in lesson 07 (exercise q1) and by :class:`InteractiveTrainer` with ``TrainConfig(max_free_clicks=N)``.
    """
    if isinstance(max_free_clicks, bool) or int(max_free_clicks) != max_free_clicks or max_free_clicks < 0:
        raise ValueError(f"expected max_free_clicks an int >= 0, got {max_free_clicks!r}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n = int(gen.integers(0, int(max_free_clicks) + 1))
    logits, _, _ = simulate_training_clicks(model, images, labels, n + 1, robot, kind, radius, grad="last", amp=amp)
    loss = segmentation_loss(logits[-1], torch.from_numpy(labels).to(logits[-1].device))
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    return float(loss.item()), n


def _batch_iou(logits: torch.Tensor, labels: np.ndarray) -> list[float]:
    """IoU (:func:`iseg_course.metrics.iou`, ignored pixels left out) of each image's mask ``logits > 0``."""
    preds = (logits[:, 0] > 0).cpu().numpy()
    return [iou(p, lab == OBJECT, lab == IGNORE) for p, lab in zip(preds, labels)]


# ------------------------------------------------------------------------------------------------ training
class InteractiveTrainer:
    """Train a click model with a simulated user, epoch by epoch.

    Args:
        train: training samples; test: test samples (loss and IoU after the last click, every epoch).
        config: a :class:`TrainConfig`.
        model: start from this ``ClickUNet`` (e.g. a loaded checkpoint); default a fresh one.
        robot: the robot user (default :func:`~iseg_course.robot.ritm_click`).

    ``fit(callback=None)`` runs ``config.epochs`` epochs (a ``tqdm`` bar each) and returns the
    :class:`History`; ``callback(history)`` is called after every epoch (e.g. a live plot).
    Raises ValueError for an empty training set.

    Used in lesson 07.
    """

    def __init__(self, train: Sequence[Sample], test: Sequence[Sample], config: TrainConfig | None = None,
                 model=None, robot: Callable = ritm_click):
        from .device import best_device
        from .notebook import seed_everything

        self.config = config or TrainConfig()
        if not train:
            raise ValueError("expected at least one training sample")
        seed_everything(self.config.seed)
        self.device = torch.device(best_device(self.config.device))
        self.model = (model or ClickUNet(base=self.config.base, dropout=self.config.dropout)).to(self.device)
        self.robot = robot
        self.train_items = [sample_to_tensors(s) for s in train]
        self.test_items = [sample_to_tensors(s) for s in test]
        self.train_names = [s.name for s in train]
        self.test_names = [s.name for s in test]
        self.amp = bool(self.config.amp and self.device.type == "cuda")
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.config.lr,
                                           weight_decay=self.config.weight_decay)
        self.scheduler = None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.generator = torch.Generator().manual_seed(self.config.seed)
        self.click_rng = np.random.default_rng(self.config.seed)   # RITM's free rounds (max_free_clicks)
        self.history = History()
        self._train_tf = make_transform(self.config.size, self.config.augment)
        self._test_tf = make_transform(self.config.size, False)
        self._test_batches = [prepare_batch(self.test_items[i:i + self.config.batch_size], self._test_tf)
                              for i in range(0, len(self.test_items), self.config.batch_size)]

    def _clicks(self, model, images, labels, grad):
        c = self.config
        return simulate_training_clicks(model, images, labels, c.n_clicks, self.robot, c.kind, c.radius,
                                        grad=grad, amp=self.amp)

    def train_epoch(self, progress: bool = True) -> tuple[float, int]:
        """One epoch over the shuffled training images; returns ``(mean train loss, forward passes)``.

        Forward passes are counted per image: ``n_images x n_clicks`` (with ``max_free_clicks``: the sum of
        each batch's ``n + 1`` passes times its images).
        """
        from tqdm.auto import tqdm

        c = self.config
        self.model.train()
        order = torch.randperm(len(self.train_items), generator=self.generator).tolist()
        losses, passes = [], 0
        batches = [order[i:i + c.batch_size] for i in range(0, len(order), c.batch_size)]
        for idx in tqdm(batches, desc=f"epoch {len(self.history.train_loss) + 1}", disable=not progress,
                        unit="batch", leave=False):
            images, labels = prepare_batch([self.train_items[i] for i in idx], self._train_tf)
            if c.max_free_clicks is not None:  # RITM: n free rounds, one graded pass, one update
                value, n_free = ritm_training_step(self.model, self.optimizer, images, labels, c.max_free_clicks,
                                                   self.click_rng, robot=self.robot, kind=c.kind, radius=c.radius,
                                                   amp=self.amp, scaler=self.scaler)
                passes += (n_free + 1) * len(idx)
                if self.scheduler is not None:
                    self.scheduler.step()
                losses.append(value * len(idx))
                continue
            logits, _, n = self._clicks(self.model, images, labels, grad=c.loss_on)
            passes += n * len(idx)
            # the update after the 10th click: loss of the last prediction, or the mean over every click's
            target = torch.from_numpy(labels).to(self.device)
            if c.loss_on == "last":
                loss = segmentation_loss(logits[-1], target)
            else:
                loss = torch.stack([segmentation_loss(lg, target) for lg in logits]).mean()
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.scheduler is not None:
                self.scheduler.step()
            losses.append(loss.item() * len(idx))
        return float(np.sum(losses) / len(order)), passes

    @torch.no_grad()
    def test_epoch(self) -> tuple[float, float, float]:
        """On the test images (model in ``eval()`` mode): loss after the last click, mean IoU after the
        first click and mean IoU after the last click (at the working size)."""
        if not self._test_batches:
            return float("nan"), float("nan"), float("nan")
        self.model.eval()
        losses, first, last, n = 0.0, [], [], 0
        for images, labels in self._test_batches:
            logits, _, _ = self._clicks(self.model, images, labels, grad="none")
            losses += segmentation_loss(logits[-1], torch.from_numpy(labels).to(self.device)).item() * len(labels)
            first += _batch_iou(logits[0], labels)
            last += _batch_iou(logits[-1], labels)
            n += len(labels)
        return losses / n, float(np.mean(first)), float(np.mean(last))

    def fit(self, callback: Callable[[History], None] | None = None, progress: bool = True) -> History:
        """Train ``config.epochs`` epochs; returns the :class:`History` (also kept in ``self.history``)."""
        from tqdm.auto import tqdm

        # one learning-rate schedule (warm-up, then cosine decay) per call: fit() may be called again to go on
        steps = self.config.epochs * -(-len(self.train_items) // self.config.batch_size)
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=self.config.lr,
                                                             total_steps=max(steps, 1), pct_start=0.15)
        for _ in tqdm(range(self.config.epochs), desc="training", disable=not progress, unit="epoch"):
            t0 = time.perf_counter()
            loss, passes = self.train_epoch(progress=progress)
            seconds = time.perf_counter() - t0
            test_loss, test_iou1, test_iou = self.test_epoch()
            h = self.history
            h.train_loss.append(loss)
            h.test_loss.append(test_loss)
            h.test_iou1.append(test_iou1)
            h.test_iou.append(test_iou)
            h.seconds.append(seconds)
            h.forward_passes.append(passes)
            if callback is not None:
                callback(h)
        self.model.eval()
        return self.history

    def segmenter(self, device: str | None = None):
        """The trained model as a :class:`~iseg_course.models.ClickSegmenter` (its defaults: Zoom-In, clicked
        components only), on ``device`` (default: the training device)."""
        from .models import ClickSegmenter

        return ClickSegmenter(model=self.model, meta=self.meta(), device=device or self.device.type)

    def meta(self) -> dict:
        """What a checkpoint should remember: the config, the history and the image names."""
        return {"train_config": asdict(self.config), "history": self.history.to_dict(),
                "train_names": self.train_names, "test_names": self.test_names}


def train_cats(config: TrainConfig | None = None, split: str = "lesson", limit: int | None = None,
               callback: Callable[[History], None] | None = None, progress: bool = True) -> InteractiveTrainer:
    """Train the cat click model: ``split="lesson"`` (90 train / 10 test) or ``"all"`` (every cat but the
    10 test cats). ``limit`` keeps only the first ``limit`` training and test images (FAST mode).

    Returns the :class:`InteractiveTrainer` after ``fit`` (model, history, meta).
    Raises ValueError for an unknown split.

    Used by iseg_course.cli (``iseg-course train``) and benchmarks/click_model.py.
    """
    s = cat_split()
    if split == "lesson":
        train_names = s.train
    elif split == "all":
        train_names = s.rest
    else:
        raise ValueError(f"unknown split {split!r}; expected 'lesson' or 'all'")
    test_names = s.test
    if limit is not None:
        train_names, test_names = train_names[:limit], test_names[:limit]
    trainer = InteractiveTrainer(load_samples(train_names), load_samples(test_names), config)
    trainer.fit(callback=callback, progress=progress)
    return trainer
