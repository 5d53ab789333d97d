"""Robot users: simulated annotators that place the next interaction from the ground truth.

The default clicker follows the protocol of RITM (Sofiiuk, Petrov & Konushin, "Reviving Iterative Training
with Mask Guidance for Interactive Segmentation", ICIP 2022), itself the protocol of Xu et al., "Deep
Interactive Object Selection", CVPR 2016: click at the interior-most pixel of the larger error region.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt

from .interactions import Click
from .segmenter import check_mask


def interior_distance(region: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance of each pixel of ``region`` to the nearest pixel outside it.

    The image border counts as outside (1-pixel zero padding, as RITM does), so a region touching the
    border is not treated as extending beyond it. ``region``: ``(H, W)`` bool; returns ``(H, W) float64``
    in pixels (0 outside the region).
    """
    return distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]


def ritm_click(
    gt: np.ndarray,
    pred: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: list[Click] | tuple[Click, ...] = (),
) -> Click | None:
    """The next click of the RITM robot user.

    1. False negatives ``FN = gt & ~pred`` and false positives ``FP = pred & ~gt``, with ignored pixels removed.
    2. Distance transform of each (:func:`interior_distance`: exact EDT with 1-pixel zero padding); pixels
       already clicked get distance 0.
    3. The click goes to the larger maximum distance: positive in FN, negative in FP; on a tie, negative.
       Its position is the first pixel (row-major) reaching that maximum.

    Args:
        gt: ``(H, W)`` ground-truth mask (bool or {0, 1}/{0, 255}).
        pred: ``(H, W)`` current binary prediction (threshold probabilities at 0.5 first).
        ignore: optional ``(H, W)`` bool mask of pixels never clicked and not counted as errors.
        clicked: earlier clicks, excluded as positions.

    Returns:
        ``Click(x, y, positive)`` in pixels, or None when no error pixel is left to click.

    Raises:
        ValueError: masks of different shapes or non-binary values.
    """
    gt = check_mask(gt, name="ground-truth mask")
    pred = check_mask(pred, gt.shape, name="predicted mask")
    valid = np.ones_like(gt) if ignore is None else ~check_mask(ignore, gt.shape, name="ignore mask")
    fn = gt & ~pred & valid
    fp = pred & ~gt & valid
    for c in clicked:
        r, col = c.rc
        if 0 <= r < gt.shape[0] and 0 <= col < gt.shape[1]:
            fn[r, col] = fp[r, col] = False
    d_fn, d_fp = interior_distance(fn), interior_distance(fp)
    fn_max, fp_max = d_fn.max(), d_fp.max()
    if fn_max == 0 and fp_max == 0:
        return None
    positive = bool(fn_max > fp_max)
    d, m = (d_fn, fn_max) if positive else (d_fp, fp_max)
    r, col = np.unravel_index(np.flatnonzero(d.ravel() == m)[0], d.shape)
    return Click(int(col), int(r), positive)
