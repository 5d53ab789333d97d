"""Automatic mask generation: "segment everything" by prompting the model with a regular grid of points.

Kirillov et al., "Segment Anything", ICCV 2023, §5 ("Zero-shot object proposals") and appendix A/B (the fully
automatic stage of the data engine), as ``segment_anything.SamAutomaticMaskGenerator`` does it:

1. **Point grid.** ``points_per_side x points_per_side`` points at the centres of a regular grid over the image.
2. **Batched prompts.** The image encoder runs **once**; the points go through prompt encoder + mask decoder in
   batches of ``points_per_batch``, one positive point each, with **multimask output**: 3 candidate masks per
   point (whole, part, subpart), each with the model's predicted IoU.
3. **Filters.** Keep a mask when its predicted IoU exceeds ``pred_iou_thresh`` and its **stability score**
   (:func:`stability_score`: the IoU of the mask thresholded at logit ``+offset`` with the one at ``-offset``)
   reaches ``stability_score_thresh``: a confident mask barely changes when the threshold moves.
4. **Box NMS.** Many points hit the same object: of masks whose bounding boxes overlap by more than
   ``box_nms_thresh`` (box IoU), only the one with the highest predicted IoU stays
   (``torchvision.ops.batched_nms`` on ``torchvision.ops.masks_to_boxes``).
5. **Clean-up.** Holes and disconnected islands smaller than ``min_area`` pixels are filled / removed
   (:func:`remove_small_regions`), then NMS runs again, preferring the masks the clean-up left unchanged.

SAM also runs the grid on zoomed-in image crops (``crop_n_layers``) and drops masks touching a crop's edge;
that multi-scale part is left out here (one image, one grid).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from scipy import ndimage
from torchvision.ops import batched_nms, masks_to_boxes

from .prompt import POSITIVE

#: The keys of every record :meth:`AutomaticMaskGenerator.generate` returns.
RECORD_KEYS = ("segmentation", "area", "bbox", "predicted_iou", "stability_score", "point")


def point_grid(points_per_side: int, height: int, width: int) -> np.ndarray:
    """The centres of a ``points_per_side x points_per_side`` grid over an ``height x width`` image.

    Returns ``(points_per_side**2, 2) float32`` pixel coordinates ``(x, y)`` in row-major order (left to right,
    then top to bottom), as SAM's ``build_point_grid``: cell centres at ``(i + 0.5) / n`` of the image size,
    minus half a pixel so that they are pixel coordinates (pixel centres at integers). Raises ValueError for
    ``points_per_side < 1`` or an empty image.
    """
    if int(points_per_side) < 1:
        raise ValueError(f"expected points_per_side >= 1, got {points_per_side}")
    if height < 1 or width < 1:
        raise ValueError(f"expected a non-empty image, got {height}x{width}")
    n = int(points_per_side)
    centres = (np.arange(n) + 0.5) / n
    xs, ys = centres * width - 0.5, centres * height - 0.5
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)


def mask_areas(masks: torch.Tensor) -> torch.Tensor:
    """``(..., H, W)`` bool -> ``(...)`` int32 pixel counts (rows summed in int16 first: 4x faster than a plain
    ``sum``, which converts every pixel to int64; SAM's trick)."""
    row_dtype = torch.int16 if masks.shape[-1] < 2 ** 15 else torch.int32
    return masks.sum(-1, dtype=row_dtype).sum(-1, dtype=torch.int32)


def stability_score(logits: torch.Tensor | np.ndarray, threshold: float = 0.0, offset: float = 1.0) -> torch.Tensor:
    """How much a mask changes when its threshold moves: IoU of the masks at ``threshold +/- offset``.

    The mask thresholded at the higher logit ``threshold + offset`` is contained in the one thresholded at
    ``threshold - offset``, so their IoU is simply ``area(high) / area(low)``. A value near 1 means the logits
    are steep at the mask's boundary (a confident mask); a blurry mask loses or gains many pixels.

    Args:
        logits: ``(..., H, W)`` mask logits (float tensor or array).
        threshold: the logit at which the mask is cut (SAM: 0.0, i.e. probability 0.5).
        offset: how far the threshold moves each way, in logits (SAM's ``stability_score_offset``: 1.0).

    Returns:
        ``(...)`` float32 tensor in ``[0, 1]``; 0 for a mask that is empty even at the lower threshold.

    Raises ValueError for ``offset < 0`` or logits with fewer than 2 dimensions.

    Kirillov et al., ICCV 2023, appendix B ("Automatic stage"; SAM's ``calculate_stability_score``).
    """
    logits = torch.as_tensor(logits)
    if logits.ndim < 2:
        raise ValueError(f"expected logits of shape (..., H, W), got shape {tuple(logits.shape)}")
    if offset < 0:
        raise ValueError(f"expected offset >= 0, got {offset}")
    high = mask_areas(logits > threshold + offset)  # pixels that stay in when the cut moves up
    low = mask_areas(logits > threshold - offset)  # pixels that are in when it moves down
    score = high.float() / low.clamp(min=1).float()
    return torch.where(low > 0, score, torch.zeros_like(score))


def remove_small_regions(mask: np.ndarray, min_area: int, mode: str) -> tuple[np.ndarray, bool]:
    """Fill holes (``mode="holes"``) or drop islands (``mode="islands"``) smaller than ``min_area`` pixels.

    Connected components (8-connectivity, ``scipy.ndimage.label``) of the background (holes; the outer
    background counts too, so only regions below ``min_area`` change) or of the mask (islands). When every
    island is small, the largest one is kept (SAM's rule), so a small object is not erased.

    Args:
        mask: ``(H, W)`` bool. min_area: area threshold in pixels (``<= 0``: nothing changes).
        mode: ``"holes"`` or ``"islands"``.

    Returns ``(cleaned (H, W) bool, changed)``. Raises ValueError for another mode.

    SAM's ``remove_small_regions`` (Kirillov et al., ICCV 2023, appendix B: "we remove small disconnected
    regions and holes ... below 100 pixels").
    """
    if mode not in ("holes", "islands"):
        raise ValueError(f"expected mode 'holes' or 'islands', got {mode!r}")
    mask = np.asarray(mask, dtype=bool)
    if min_area <= 0:
        return mask, False
    target = ~mask if mode == "holes" else mask
    labels, n = ndimage.label(target, structure=np.ones((3, 3), bool))
    if n == 0:
        return mask, False
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]  # component k + 1 has sizes[k] pixels
    small = np.flatnonzero(sizes < min_area) + 1
    if small.size == 0:
        return mask, False
    if mode == "holes":
        return mask | np.isin(labels, small), True
    keep = np.setdiff1d(np.arange(1, n + 1), small)
    if keep.size == 0:
        keep = np.array([int(np.argmax(sizes)) + 1])
    return np.isin(labels, keep), True


def _nms(masks: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices (highest score first) of the masks kept by box NMS on the masks' bounding boxes."""
    boxes = masks_to_boxes(masks).float()
    return batched_nms(boxes, scores.float(), torch.zeros(len(boxes), dtype=torch.long), iou_threshold)


class AutomaticMaskGenerator:
    """Masks for everything in an image, from a point grid: SAM's ``SamAutomaticMaskGenerator``, smaller.

    Args:
        segmenter: a :class:`~.segmenter.SamSegmenter` (its model's ``decode`` runs the point batches on the
            image embedding ``set_image`` computed once).
        points_per_side: the grid's points per side (SAM: 32; 16 gives 256 prompts, 768 candidate masks).
        points_per_batch: points decoded together (memory vs speed: each point's 3 masks are upsampled to the
            image, 32 points of a 480x640 image hold 118 MB of logits).
        pred_iou_thresh: keep masks whose predicted IoU is above this (SAM: 0.88).
        stability_score_thresh: keep masks whose :func:`stability_score` is at least this (SAM: 0.95; the course's small model has softer logits -- on GrabCut's banana1 its scores peak near 0.7 -- so the default is 0.6).
        stability_score_offset: the logit offset of the stability score (SAM: 1.0).
        box_nms_thresh: box IoU above which the lower-scored of two masks is dropped (SAM: 0.7).
        min_area: holes and islands below this many pixels are cleaned up (0: off, SAM's default; SA-1B's
            automatic masks used 100).

    ``generate(image)`` returns a list of dicts, **largest area first** (see :meth:`generate`).
    Raises ValueError for thresholds outside their ranges.
    """

    def __init__(self, segmenter, points_per_side: int = 16, points_per_batch: int = 32,
                 pred_iou_thresh: float = 0.8, stability_score_thresh: float = 0.6,
                 stability_score_offset: float = 1.0, box_nms_thresh: float = 0.7, min_area: int = 0):
        if points_per_side < 1 or points_per_batch < 1:
            raise ValueError(f"expected points_per_side, points_per_batch >= 1, got {points_per_side}, "
                             f"{points_per_batch}")
        if not 0 <= box_nms_thresh <= 1 or not stability_score_thresh <= 1 or stability_score_offset < 0:
            raise ValueError("expected 0 <= box_nms_thresh <= 1, stability_score_thresh <= 1 and "
                             "stability_score_offset >= 0")
        self.segmenter = segmenter
        self.points_per_side, self.points_per_batch = int(points_per_side), int(points_per_batch)
        self.pred_iou_thresh = float(pred_iou_thresh)
        self.stability_score_thresh = float(stability_score_thresh)
        self.stability_score_offset = float(stability_score_offset)
        self.box_nms_thresh = float(box_nms_thresh)
        self.min_area = int(min_area)

    @torch.no_grad()
    def _batch(self, points: np.ndarray) -> dict[str, torch.Tensor]:
        """One batch of points -> the candidate masks that pass the IoU and stability filters."""
        seg = self.segmenter
        model = seg.model
        b = len(points)
        coords = torch.from_numpy(points * seg.scale)[:, None, :].to(seg.device)  # (B, 1, 2) in the model frame
        labels = torch.full((b, 1), POSITIVE, dtype=torch.long, device=seg.device)
        emb = seg.embedding.expand(b, -1, -1, -1)
        skips = tuple(s.expand(b, -1, -1, -1) for s in seg.skips)
        low, iou = model.decode(emb, skips, coords, labels, None, multimask=True)  # (B, 3, S/4, S/4), (B, 3)
        k = low.shape[1]
        low, iou = low.flatten(0, 1), iou.flatten(0, 1)
        pts = torch.from_numpy(np.repeat(points, k, axis=0))
        keep = iou > self.pred_iou_thresh
        low, iou, pts = low[keep], iou[keep], pts[keep.cpu()]
        if len(low) == 0:
            return {}
        logits = seg.upsample(low[:, None])[:, 0]  # (M, H, W) logits on the image
        stab = stability_score(logits, 0.0, self.stability_score_offset)
        keep = (stab >= self.stability_score_thresh) & (mask_areas(logits > 0) > 0)  # no empty masks
        return {"masks": (logits[keep] > 0).cpu(), "iou": iou[keep].cpu(), "stability": stab[keep].cpu(),
                "points": pts[keep.cpu()]}

    def generate(self, image: np.ndarray | None = None) -> list[dict[str, Any]]:
        """All masks of ``image`` (``(H, W, 3) uint8``; None: the segmenter's current image).

        Returns a list of dicts sorted by area, largest first, each with
            ``segmentation`` ``(H, W) bool``; ``area`` int (pixels); ``bbox`` ``[x, y, w, h]`` ints (SAM's XYWH:
            top-left pixel and size, inclusive of the last row/column); ``predicted_iou`` float;
            ``stability_score`` float; ``point`` ``(x, y)`` floats, the grid point that prompted it.

        Raises RuntimeError when no image is given and the segmenter has none.
        """
        if image is not None:
            self.segmenter.set_image(image)
        if getattr(self.segmenter, "embedding", None) is None:
            raise RuntimeError("no image: pass one to generate(image) or call segmenter.set_image first")
        h, w = self.segmenter.image.shape[:2]
        grid = point_grid(self.points_per_side, h, w)
        parts = [self._batch(grid[i: i + self.points_per_batch]) for i in range(0, len(grid), self.points_per_batch)]
        parts = [p for p in parts if p]
        if not parts:
            return []
        masks, iou, stab, points = (torch.cat([p[k] for p in parts]) for k in ("masks", "iou", "stability", "points"))
        if len(masks) == 0:  # every mask filtered out (predicted IoU or stability below the thresholds)
            return []

        keep = _nms(masks, iou, self.box_nms_thresh)
        masks, iou, stab, points = masks[keep], iou[keep], stab[keep], points[keep]

        if self.min_area > 0:
            cleaned, unchanged = [], []
            for m in masks.numpy():
                m, holes = remove_small_regions(m, self.min_area, "holes")
                m, islands = remove_small_regions(m, self.min_area, "islands")
                cleaned.append(m)
                unchanged.append(not (holes or islands))
            masks = torch.from_numpy(np.stack(cleaned))
            # prefer the masks the clean-up left alone (SAM's postprocess_small_regions), then the higher IoU
            keep = _nms(masks, torch.tensor(unchanged, dtype=torch.float32) + 0.5 * iou.clamp(0, 1),
                        self.box_nms_thresh)
            masks, iou, stab, points = masks[keep], iou[keep], stab[keep], points[keep]

        boxes = masks_to_boxes(masks).round().long()
        records = []
        for m, b, q, s, p in zip(masks.numpy(), boxes.tolist(), iou.tolist(), stab.tolist(), points.tolist()):
            x0, y0, x1, y1 = b
            records.append({"segmentation": m.astype(bool), "area": int(m.sum()),
                            "bbox": [x0, y0, x1 - x0 + 1, y1 - y0 + 1], "predicted_iou": float(q),
                            "stability_score": float(s), "point": (float(p[0]), float(p[1]))})
        records.sort(key=lambda r: -r["area"])
        return records


def colour_masks(records: Sequence[dict[str, Any]], shape: tuple[int, int] | None = None, alpha: float = 0.55,
                 seed: int = 0) -> np.ndarray:
    """An RGBA overlay with every mask in its own colour (``(H, W, 4) float`` in ``[0, 1]``).

    ``records``: what :meth:`AutomaticMaskGenerator.generate` returns (or dicts with a ``segmentation``);
    drawn in order, so with the largest first the small masks stay visible on top. Colours: matplotlib's
    ``tab20`` (strong ones first), then random ones (``seed``); pixels of no mask are transparent. ``shape``: the
    ``(H, W)`` to use when ``records`` is empty. Raises ValueError when neither gives a shape.
    """
    import matplotlib

    if not records and shape is None:
        raise ValueError("no masks and no shape: pass shape=(H, W)")
    h, w = shape if shape is not None else records[0]["segmentation"].shape
    out = np.zeros((h, w, 4))
    tab20 = matplotlib.colormaps["tab20"].colors
    palette = tab20[::2] + tab20[1::2]  # the 10 strong colours first, then their light partners
    rng = np.random.default_rng(seed)
    for i, r in enumerate(records):
        rgb = palette[i] if i < len(palette) else tuple(rng.uniform(0.15, 1.0, 3))
        out[np.asarray(r["segmentation"], bool)] = (*rgb, alpha)
    return out


def show_masks(ax, image: np.ndarray, records: Sequence[dict[str, Any]], alpha: float = 0.55, points: bool = False,
               title: str | None = None, seed: int = 0):
    """Draw ``image`` with every mask of ``records`` in a distinct colour (the AMG gallery); returns ``ax``.

    ``points=True`` marks each mask's prompting grid point (white-edged dots, the course's marker style).
    """
    from ...plotting import FONT_SIZE

    ax.imshow(image)
    ax.imshow(colour_masks(records, np.asarray(image).shape[:2], alpha, seed))
    if points and records:
        xy = np.array([r["point"] for r in records])
        ax.scatter(xy[:, 0], xy[:, 1], s=14, c="black", edgecolors="white", linewidths=1.0)
    if title is not None:
        ax.set_title(title, fontsize=FONT_SIZE)
    ax.axis("off")
    return ax


def mask_gallery(image: np.ndarray, records: Sequence[dict[str, Any]], n: int = 8, panel_size: float = 3.0):
    """A figure: all masks overlaid (first panel) and the ``n`` largest one by one with their scores.

    Returns ``(fig, axes)`` from :func:`iseg_course.plotting.gallery` (yellow outlines, the course's colours).
    """
    from ...plotting import gallery

    items = [{"image": image, "title": f"{len(records)} masks"}]
    for r in list(records)[:n]:
        items.append({"image": image, "mask": r["segmentation"], "contour": False,
                      "title": f"pred. IoU {r['predicted_iou']:.2f}, stab. {r['stability_score']:.2f}"})
    fig, axes = gallery(items, panel_size=panel_size)
    axes[0].imshow(colour_masks(records, np.asarray(image).shape[:2]))
    return fig, axes
