"""The auxiliary error network of lesson 08: train it beside the frozen cat click model, and measure whether it
predicts the model's errors better than MC dropout; prints one JSON object.

Training (:func:`iseg_course.uncertainty.train_error_head`): lesson 07's 90 training cats, the RITM robot's
1st, 2nd and 3rd click with the shipped model, ``--epochs`` passes, seed 0. Evaluation on the 10 test cats and
the first 20 ``other`` cats of ``cat_split()`` (never trained on), after the centre click
(:func:`iseg_course.active_learning.first_click`):

* ``pixel_auroc``: mean over images of the ROC AUC of a pixel map against "the model's mask is wrong here"
  (the auxiliary network's error probability; MC dropout's predictive entropy, N = 10);
* ``spearman_vs_error``: Spearman rank correlation between the image score (mean of the map) and 1 - IoU.

``--out PATH`` saves the head (:func:`iseg_course.uncertainty.save_error_head`; the shipped one is
``data/models/cat_error_head.pt``). Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/error_head.py
[--epochs 5] [--out FILE]`` (about a minute on 2 CPU cores). Not part of the test suite.
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
from scipy.stats import rankdata, spearmanr  # noqa: E402

from iseg_course.active_learning import first_click  # noqa: E402
from iseg_course.data import cat_split, load_samples  # noqa: E402
from iseg_course.interactions import Interactions  # noqa: E402
from iseg_course.metrics import iou  # noqa: E402
from iseg_course.models import ClickSegmenter  # noqa: E402
from iseg_course.uncertainty import (AuxiliaryError, MCDropout, image_score, pixel_map, save_error_head,  # noqa: E402
                                     train_error_head)


def auroc(wrong: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of ``score`` for the boolean ``wrong`` (Mann-Whitney U with mid-ranks for ties)."""
    r = rankdata(score)
    n1 = int(wrong.sum())
    n0 = wrong.size - n1
    return float((r[wrong].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.out is not None and args.out.exists():
        p.error(f"{args.out} exists")
    torch.set_num_threads(1)
    split = cat_split()
    seg = ClickSegmenter(device="cpu")
    t0 = time.perf_counter()
    head, losses = train_error_head(seg, load_samples(split.train), epochs=args.epochs, seed=args.seed,
                                    progress=False)
    train_s = time.perf_counter() - t0
    estimators = {"aux": (AuxiliaryError(head), "error"), "mc_dropout": (MCDropout(10, seed=args.seed), "entropy")}
    au = {k: [] for k in estimators}
    scores = {k: [] for k in estimators}
    errors = []
    test = load_samples(split.test + split.other[:20])
    for s in test:
        clicks = first_click(s)
        seg.set_image(s.image)
        prob = seg.predict(Interactions(clicks))
        valid = np.ones(s.mask.shape, bool) if s.ignore is None else ~s.ignore
        wrong = (prob >= 0.5) != s.mask
        errors.append(1 - iou(prob >= 0.5, s.mask, s.ignore))
        for k, (est, measure) in estimators.items():
            m = pixel_map(est(seg, s.image, clicks), measure)
            scores[k].append(image_score(m))
            if wrong[valid].any() and (~wrong[valid]).any():
                au[k].append(auroc(wrong[valid], m[valid]))
    out = {"benchmark": "error_head", "train_images": len(split.train), "clicks": [1, 2, 3], "epochs": args.epochs,
           "seed": args.seed, "train_seconds": round(train_s, 1), "train_loss": losses,
           "test_images": len(test), "pixel_auroc": {k: round(float(np.mean(v)), 3) for k, v in au.items()},
           "spearman_vs_error": {k: round(float(spearmanr(v, errors)[0]), 3) for k, v in scores.items()},
           "machine": machine_info()}
    if args.out is not None:
        save_error_head(head, args.out, meta={k: out[k] for k in out if k != "machine"})
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
