"""BRS's training-free conversion, measured (lesson 09; Jang & Kim, CVPR 2019, sec. 3): prints one JSON object.

1. Train a U-Net **without clicks** (``ClickUNet(in_channels=3)``: RGB in, one logit per pixel out) on lesson 07's
   90 training cats: plain supervised segmentation, one forward pass per image, the same size (128 px),
   augmentation, loss (BCE + soft Dice) and optimiser (AdamW, one-cycle schedule) as lesson 07's click model.
2. Convert it with :func:`iseg_course.models.refine.add_click_channels`: zero-initialised click channels in
   the first convolution, so the converted network computes exactly what the RGB-only one did and ignores
   the clicks.
3. Let refinement alone make it interactive: the NoC protocol (RITM robot user, 20 clicks, early stop at IoU
   0.90) on the 10 test cats for every refinement mode (``none``: the clicks do nothing but choose the
   connected components; ``distmap-brs`` cannot move a zero-weighted input, see ``add_click_channels``), next
   to lesson 07's trained click model without refinement.

Per row: NoC@85/90, NoF@90, IoU@1/5, seconds per click, click satisfaction. Also the RGB-only model's IoU on
the test cats without any click, and the training time. Seeds set (``--seed``); one PyTorch thread.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/brs_conversion.py [--epochs 30] [--out FILE]``
(a few minutes on 2 CPU cores). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _machine import machine_info  # noqa: E402

from iseg_course.data import cat_split, load_samples  # noqa: E402
from iseg_course.evaluation import evaluate  # noqa: E402
from iseg_course.metrics import iou  # noqa: E402
from iseg_course.models import ClickSegmenter, ClickUNet  # noqa: E402
from iseg_course.models.refine import MODES, RefinedClickSegmenter, add_click_channels  # noqa: E402
from iseg_course.training import make_transform, prepare_batch, sample_to_tensors, segmentation_loss  # noqa: E402


def train_rgb_unet(samples, epochs: int, size: int = 128, batch_size: int = 8, lr: float = 3e-3,
                   seed: int = 0) -> tuple[ClickUNet, list[float], float]:
    """A U-Net without click channels trained on ``samples``; returns (model, loss per epoch, seconds)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = ClickUNet(in_channels=3)
    items = [sample_to_tensors(s) for s in samples]
    transform = make_transform(size, augment=True)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * int(np.ceil(len(items) / batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    losses, t0 = [], time.perf_counter()
    model.train()
    for _ in range(epochs):
        order, total = rng.permutation(len(items)), 0.0
        for i in range(0, len(order), batch_size):
            images, labels = prepare_batch([items[j] for j in order[i:i + batch_size]], transform)
            loss = segmentation_loss(model(images), torch.from_numpy(labels))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(images)
        losses.append(round(total / len(items), 4))
    return model.eval(), losses, time.perf_counter() - t0


@torch.no_grad()
def no_click_iou(model: ClickUNet, samples, size: int = 128) -> float:
    """Mean IoU of the RGB-only model's mask (no click at all) on ``samples``."""
    transform = make_transform(size, augment=False)
    out = []
    for s in samples:
        images, _ = prepare_batch([sample_to_tensors(s)], transform)
        logits = torch.nn.functional.interpolate(model(images), size=s.mask.shape, mode="bilinear",
                                                 align_corners=False)[0, 0]
        out.append(iou(logits.numpy() > 0, s.mask, s.ignore))
    return float(np.mean(out))


def row(name: str, seg, samples, max_clicks: int) -> dict:
    res = evaluate(seg, samples, max_clicks=max_clicks, stop_at=0.90, progress=False, method=name)
    s = res.summary()
    out = {"method": name, **{k: s[k] for k in ("NoC@85", "NoC@90", "NoF@90", "IoU@1", "IoU@5", "s_per_click")}}
    if hasattr(seg, "satisfaction_rate"):
        out["click_satisfaction"] = round(seg.satisfaction_rate(), 4)
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-clicks", type=int, default=20)
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here (refused if it exists)")
    args = p.parse_args(argv)
    if args.out is not None and args.out.exists():
        p.error(f"{args.out} exists")
    torch.set_num_threads(1)
    split = cat_split()
    train, test = load_samples(split.train), load_samples(split.test)
    t0 = time.perf_counter()
    rgb, losses, train_s = train_rgb_unet(train, args.epochs, seed=args.seed)
    converted = add_click_channels(rgb)
    seg = ClickSegmenter(model=converted, device="cpu", meta={"train_config": {"size": 128}})
    rows = [row("trained click model (lesson 07), none", ClickSegmenter(device="cpu"), test, args.max_clicks)]
    for mode in args.modes:
        rows.append(row(f"converted, {mode}", RefinedClickSegmenter(seg, mode=mode), test, args.max_clicks))
    out = {"benchmark": "brs_conversion", "train_images": len(train), "test_images": len(test),
           "epochs": args.epochs, "seed": args.seed, "train_seconds": round(train_s, 1), "train_loss": losses,
           "rgb_only_iou_no_click": round(no_click_iou(rgb, test), 4), "max_clicks": args.max_clicks,
           "rows": rows, "seconds": round(time.perf_counter() - t0, 1), "machine": machine_info()}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
