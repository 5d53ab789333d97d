"""The SAM-style model's extra parts: automatic mask generation, video propagation, the official-SAM adapter,
the tiny ViT encoder, and the lesson's two data subsets. Small random models only (no checkpoint needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from iseg_course.data import load_dataset  # noqa: E402
from iseg_course.interactions import Box, Click  # noqa: E402
from iseg_course.models.sam import SamSegmenter, SamStyleModel  # noqa: E402
from iseg_course.models.sam import amg, video  # noqa: E402
from iseg_course.segmenter import BaseSegmenter, Prediction  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def one_thread(torch_one_thread):
    yield


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return SamStyleModel(size=64, dim=32, heads=4, mlp_dim=64, pretrained=False).eval()


@pytest.fixture(scope="module")
def bear():
    ds = load_dataset("davis_bear")
    return [ds[i] for i in range(3)]


# ------------------------------------------------------------------------------------------------ AMG
def test_stability_score_by_hand():
    logits = torch.tensor([[-2.0, -0.5, 0.5, 2.0],
                           [-3.0, 0.2, 1.5, 3.0]])
    # offset 1: above +1 -> {2.0, 1.5, 3.0} = 3 pixels; above -1 -> every value but -2 and -3 = 6 pixels
    assert float(amg.stability_score(logits, 0.0, 1.0)) == pytest.approx(3 / 6)
    assert float(amg.stability_score(logits, 0.0, 0.0)) == pytest.approx(1.0)  # no offset: the same mask
    # threshold 1, offset 0.5: above 1.5 -> {2, 3} = 2; above 0.5 -> {2, 1.5, 3} = 3 (0.5 itself is not above)
    assert float(amg.stability_score(logits, 1.0, 0.5)) == pytest.approx(2 / 3)
    batch = torch.stack([logits, -10 * torch.ones(2, 4)])  # an empty mask scores 0, not NaN
    assert amg.stability_score(batch).tolist() == pytest.approx([0.5, 0.0])
    with pytest.raises(ValueError, match="offset"):
        amg.stability_score(logits, 0.0, -1.0)


def test_point_grid_is_cell_centres_in_pixels():
    g = amg.point_grid(2, 40, 100)
    assert g.shape == (4, 2) and g.dtype == np.float32
    assert g.tolist() == [[24.5, 9.5], [74.5, 9.5], [24.5, 29.5], [74.5, 29.5]]  # (x, y), row-major
    with pytest.raises(ValueError):
        amg.point_grid(0, 10, 10)


def test_remove_small_regions_fills_holes_and_drops_islands():
    m = np.zeros((12, 12), bool)
    m[2:9, 2:9] = True
    m[5, 5] = False               # a 1-pixel hole
    m[10:12, 10:12] = True        # a 4-pixel island
    filled, changed = amg.remove_small_regions(m, 3, "holes")
    assert changed and filled[5, 5] and filled.sum() == m.sum() + 1
    cleaned, changed = amg.remove_small_regions(m, 5, "islands")
    assert changed and not cleaned[10:, 10:].any() and cleaned[2:9, 2:9].sum() == 48
    same, changed = amg.remove_small_regions(m, 1, "islands")
    assert not changed and np.array_equal(same, m)
    only_small = np.zeros((8, 8), bool)
    only_small[1, 1] = only_small[5:7, 5:7] = True
    kept, _ = amg.remove_small_regions(only_small, 100, "islands")  # all small: the largest stays
    assert kept.sum() == 4 and kept[5:7, 5:7].all()


class _TwoBoxes(nn.Module):
    """A stand-in model: a point inside one of two rectangles gets that rectangle as a sharp mask (predicted
    IoU 0.95), a whole-image mask (IoU 0.5) and a blurry one (IoU 0.9, unstable); a point elsewhere gets
    empty masks. Rectangles in low-resolution cells of the 64-px frame (16 x 16)."""

    size = 64
    rects = ((2, 2, 7, 6), (9, 8, 14, 14))  # (c0, r0, c1, r1) inclusive, low-res cells

    def encode(self, x):
        return x

    def embed(self, x):
        return torch.zeros(1, 1, 4, 4), (torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 8, 8))

    def decode(self, embedding, skips, coords, labels, mask_logits=None, multimask=False):
        b = coords.shape[0]
        yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
        low = torch.full((b, 3, 16, 16), -10.0)
        for i in range(b):
            cx, cy = float(coords[i, 0, 0]) / 4, float(coords[i, 0, 1]) / 4
            for c0, r0, c1, r1 in self.rects:
                if c0 <= cx <= c1 + 1 and r0 <= cy <= r1 + 1:
                    inside = (xx >= c0) & (xx <= c1) & (yy >= r0) & (yy <= r1)
                    low[i, 0] = torch.where(inside, 10.0, -10.0)
                    low[i, 1] = 10.0
                    low[i, 2] = torch.where(inside, 0.5, -0.5)
        return low, torch.tensor([[0.95, 0.5, 0.9]]).expand(b, 3)


def test_amg_keeps_one_mask_per_object_after_filters_and_nms():
    seg = SamSegmenter(_TwoBoxes(), input_size=_TwoBoxes.size)  # the stand-in draws in its own 64-px frame
    image = np.zeros((128, 128, 3), np.uint8)  # scale 0.5: image pixel = 8 x low-res cell
    gen = amg.AutomaticMaskGenerator(seg, points_per_side=8, pred_iou_thresh=0.8, stability_score_thresh=0.9)
    records = gen.generate(image)
    # each rectangle holds several grid points: duplicates removed by NMS; whole-image (IoU 0.5) and blurry
    # (stability 0) masks filtered; points outside both rectangles give empty masks, dropped
    assert len(records) == 2
    big, small = records
    assert big["area"] >= small["area"]
    assert big["bbox"] == [72, 64, 48, 56] and small["bbox"] == [16, 16, 48, 40]  # [x, y, w, h] in pixels
    # the rectangle, its corners rounded by the bilinear upsampling of the low-resolution logits
    assert 0.98 * 48 * 56 <= big["area"] <= 48 * 56 and big["segmentation"][66:118, 74:118].all()
    assert not big["segmentation"][:64].any() and not big["segmentation"][:, :72].any()
    assert big["predicted_iou"] == pytest.approx(0.95) and big["stability_score"] > 0.95
    x, y = big["point"]
    assert 72 <= x < 120 and 64 <= y < 120
    loose = amg.AutomaticMaskGenerator(seg, points_per_side=8, pred_iou_thresh=0.8, stability_score_thresh=0.0,
                                       box_nms_thresh=1.0)
    assert len(loose.generate()) > len(records)  # without NMS (and the stability filter) duplicates stay


def _shipped_sam_checkpoint():
    from iseg_course.data import data_root
    from iseg_course.models.sam.segmenter import DEFAULT_SAM_CHECKPOINT

    return data_root() / DEFAULT_SAM_CHECKPOINT


@pytest.mark.parametrize("weights", ["random", "shipped"])
def test_amg_on_a_real_image_gives_sorted_distinct_masks(small_model, weights):
    from torchvision.ops import box_iou

    image = load_dataset("grabcut")["banana1"].image
    if weights == "shipped":  # the trained model, once data/models/sam_style.pt is there
        if not _shipped_sam_checkpoint().is_file():
            pytest.skip("no shipped SAM-style checkpoint yet")
        seg = SamSegmenter(checkpoint=_shipped_sam_checkpoint())
        thresholds = dict(pred_iou_thresh=0.5, stability_score_thresh=0.6)
    else:  # a random model answers every point with much the same mask: keep everything the filters can drop
        seg = SamSegmenter(small_model)
        thresholds = dict(pred_iou_thresh=-1e9, stability_score_thresh=0.0)
    gen = amg.AutomaticMaskGenerator(seg, points_per_side=6, box_nms_thresh=0.7, min_area=20, **thresholds)
    records = gen.generate(image)
    assert records, "a grid of 36 points gives at least one non-empty mask"
    h, w = image.shape[:2]
    for r in records:
        assert tuple(r) == amg.RECORD_KEYS
        m = r["segmentation"]
        assert m.dtype == bool and m.shape == (h, w) and r["area"] == int(m.sum()) > 0
        assert isinstance(r["area"], int) and all(isinstance(v, int) for v in r["bbox"])
        assert isinstance(r["predicted_iou"], float) and 0.0 <= r["stability_score"] <= 1.0
        x, y, bw, bh = r["bbox"]
        assert m[y: y + bh, x: x + bw].sum() == r["area"]
    areas = [r["area"] for r in records]
    assert areas == sorted(areas, reverse=True)
    boxes = torch.tensor([[x, y, x + bw - 1, y + bh - 1] for x, y, bw, bh in (r["bbox"] for r in records)],
                         dtype=torch.float32)
    overlap = box_iou(boxes, boxes) - torch.eye(len(boxes))
    assert float(overlap.max()) <= 0.7 + 1e-6  # box NMS left no near-duplicates
    fig, ax = plt.subplots()
    amg.show_masks(ax, image, records, points=True, title="all masks")
    fig2, axes = amg.mask_gallery(image, records, n=3)
    assert len(axes) == 1 + min(3, len(records))
    plt.close("all")
    overlay = amg.colour_masks(records)
    assert overlay.shape == (h, w, 4) and (overlay[..., 3] > 0).sum() == np.logical_or.reduce(
        [r["segmentation"] for r in records]).sum()


# ------------------------------------------------------------------------------------------------ video
class _Recorder(BaseSegmenter):
    """Predicts a disc around the last click (radius 6, grown by 2 px when a previous prediction is fed back)
    and records what each call received."""

    accepts = frozenset({"click", "box", "mask"})
    takes_previous = True

    def __init__(self):
        self.calls = []

    def _predict_previous(self, interactions, prev_mask, previous):
        c = list(interactions)[-1]
        self.calls.append({"click": c, "prev_mask": prev_mask, "previous": previous})
        h, w = self.image.shape[:2]
        yy, xx = np.mgrid[:h, :w]
        r = 6 + (2 if previous is not None else 0)
        disc = ((xx - c.x) ** 2 + (yy - c.y) ** 2 <= r * r).astype(np.float32)
        return Prediction(disc[None], np.array([0.9], np.float32), low_res_logits=np.zeros((1, 4, 4), np.float32))


def test_mask_centre_click_is_the_deepest_pixel():
    m = np.zeros((20, 30), bool)
    m[2:13, 4:25] = True  # rows 2..12, columns 4..24: centre row 7, the first deepest column (row-major) 9
    c = video.mask_centre_click(m)
    assert (c.y, c.positive) == (7, True) and m[c.y, c.x]
    from scipy.ndimage import distance_transform_edt

    d = distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]
    assert d[c.y, c.x] == d.max()
    assert video.mask_centre_click(np.zeros((5, 5), bool)) is None


def test_propagate_feeds_each_frame_the_previous_mask_and_its_centre(bear):
    frames = [s.image for s in bear]
    rec = _Recorder()
    masks = video.propagate(rec, frames, [Click(200, 120, True)])
    assert len(masks) == len(frames) and all(m.dtype == bool and m.shape == frames[0].shape[:2] for m in masks)
    first, *later = rec.calls
    assert first["previous"] is None and first["prev_mask"] is None
    for t, call in enumerate(later, start=1):
        assert call["click"] == video.mask_centre_click(masks[t - 1])
        assert call["previous"] is not None and call["prev_mask"].shape == masks[t - 1].shape
        assert np.array_equal(call["prev_mask"] >= 0.5, masks[t - 1])
    rec2 = _Recorder()
    plain = video.propagate(rec2, frames, [Click(200, 120, True)], mask_prompt=None)
    assert all(c["previous"] is None and c["prev_mask"] is None for c in rec2.calls)
    assert masks[1].sum() > plain[1].sum()  # the fed-back prediction changed the result
    with pytest.raises(ValueError, match="mask_prompt"):
        video.propagate(rec, frames, [Click(1, 1, True)], mask_prompt="memory")


def test_propagate_with_the_sam_style_model_differs_from_fresh_clicking(small_model, bear):
    frames, gts = [s.image for s in bear], [s.mask for s in bear]
    seg = SamSegmenter(small_model)
    first = [video.mask_centre_click(gts[0])]
    fed = video.propagate(seg, frames, first)
    assert len(fed) == 3 and all(m.shape == gts[0].shape and m.dtype == bool for m in fed)
    probs = video.propagate(seg, frames, first, mask_prompt="probabilities")
    fresh = video.click_every_frame(seg, frames, gts)
    assert len(fresh) == 3 and all(m.dtype == bool for m in fresh)
    if fed[0].any():  # frame 0 is the same prompt in both; later frames see the previous mask or not
        assert not np.array_equal(fed[1], fresh[1]) or not np.array_equal(fed[2], fresh[2])
        assert len(probs) == 3
    ious = video.iou_per_frame(fed, gts)
    assert ious.shape == (3,) and ((ious >= 0) & (ious <= 1)).all()
    ax = video.plot_iou_per_frame({"propagated": ious, "clicked": video.iou_per_frame(fresh, gts)},
                                  frame_numbers=[0, 2, 4])
    assert len(ax.get_lines()) == 2
    plt.close("all")


def test_iou_per_frame_by_hand():
    a = np.zeros((4, 4), bool)
    a[:2] = True
    b = np.zeros((4, 4), bool)
    b[1:3] = True
    assert video.iou_per_frame([a, a], [a, b]).tolist() == pytest.approx([1.0, 4 / 12])
    with pytest.raises(ValueError, match="as many"):
        video.iou_per_frame([a], [a, b])


# ------------------------------------------------------------------------------------------------ official SAM
def _tiny_sam():
    from functools import partial

    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(0)
    img, dim = 64, 32
    return Sam(
        image_encoder=ImageEncoderViT(img_size=img, patch_size=16, embed_dim=32, depth=1, num_heads=2,
                                      mlp_ratio=2.0, out_chans=dim, norm_layer=partial(nn.LayerNorm, eps=1e-6)),
        prompt_encoder=PromptEncoder(embed_dim=dim, image_embedding_size=(img // 16, img // 16),
                                     input_image_size=(img, img), mask_in_chans=4),
        mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer=TwoWayTransformer(
            depth=1, embedding_dim=dim, mlp_dim=64, num_heads=2), transformer_dim=dim, iou_head_depth=2,
            iou_head_hidden_dim=16),
    ).eval()


@pytest.fixture()
def official(monkeypatch):
    from iseg_course.models.sam.official import OfficialSamSegmenter

    seg = OfficialSamSegmenter(_tiny_sam())
    seen = []
    original = seg.predictor.predict

    def spy(**kw):
        seen.append(kw)
        return original(**kw)

    monkeypatch.setattr(seg.predictor, "predict", spy)
    seg.set_image(load_dataset("grabcut")["banana1"].image)
    return seg, seen


def test_official_adapter_passes_pixel_coordinates_and_multimask_rule(official):
    seg, seen = official
    h, w = seg.image.shape[:2]
    first = seg.predict([Click(37, 21, True)])
    assert seen[-1]["point_coords"].tolist() == [[37.0, 21.0]] and seen[-1]["point_labels"].tolist() == [1]
    assert seen[-1]["multimask_output"] is True and seen[-1]["mask_input"] is None
    assert first.masks.shape == (3, h, w) and first.scores.shape == (3,) and first.low_res_logits.shape == (3, 16, 16)
    second = seg.predict([Click(37, 21, True), Click(100, 80, False)], previous=first)
    assert seen[-1]["point_coords"].tolist() == [[37.0, 21.0], [100.0, 80.0]]
    assert seen[-1]["point_labels"].tolist() == [1, 0] and seen[-1]["multimask_output"] is False
    assert np.array_equal(seen[-1]["mask_input"], first.low_res_logits[first.chosen][None])  # logits fed back
    assert second.masks.shape == (1, h, w)
    # SamPredictor itself rescales (x, y) to its 64-px frame: x by 64 / W, y by the resized height / H
    scaled = seg.predictor.transform.apply_coords(np.array([[37.0, 21.0]]), (h, w))
    assert scaled[0, 0] == pytest.approx(37 * 64 / max(h, w), rel=0.02)


def test_official_adapter_accepts_a_box_and_a_mask(official):
    seg, seen = official
    h, w = seg.image.shape[:2]
    out = seg.predict([Box(10, 20, 200, 150)])
    assert seen[-1]["box"].tolist() == [10.0, 20.0, 200.0, 150.0] and seen[-1]["point_coords"] is None
    assert out.masks.shape == (1, h, w) and 0.0 <= out.masks.min() and out.masks.max() <= 1.0
    prev = np.zeros((h, w), np.float32)
    prev[50:100, 60:160] = 1.0
    one = seg.predict([Click(100, 70, True)], prev_mask=prev)
    assert one.k == 1 and seen[-1]["mask_input"].shape == (1, 16, 16)


def test_official_adapter_never_downloads_and_says_how_to_get_weights(monkeypatch, tmp_path):
    import segment_anything

    from iseg_course.models.sam import official as O

    monkeypatch.delenv(O.CHECKPOINT_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="ISEG_SAM_CHECKPOINT.*github.com/facebookresearch"):
        O.OfficialSamSegmenter()
    monkeypatch.setenv(O.CHECKPOINT_ENV, str(tmp_path / "sam_vit_b.pth"))
    with pytest.raises(FileNotFoundError, match="not found"):
        O.official_sam()
    with pytest.raises(ValueError, match="vit_b"):
        O.load_official_sam(tmp_path / "x.pth", model_type="vit_q")
    # with a file there, the package's own builder gets it (replaced here by the tiny model)
    (tmp_path / "sam_vit_b.pth").write_bytes(b"")
    calls = []
    monkeypatch.setitem(segment_anything.sam_model_registry, "vit_b", lambda checkpoint: calls.append(checkpoint)
                        or _tiny_sam())
    seg = O.OfficialSamSegmenter()
    assert calls == [str(tmp_path / "sam_vit_b.pth")] and seg.accepts == {"click", "box", "mask"}


# ------------------------------------------------------------------------------------------------ tiny ViT
def test_tiny_vit_matches_the_neck_interface():
    from iseg_course.models.sam.encoder import Neck
    from iseg_course.models.sam.vit import TinyViTEncoder

    torch.manual_seed(0)
    vit = TinyViTEncoder(size=256, dim=128, depth=2, heads=4).eval()
    with torch.no_grad():
        emb, (s4, s8) = vit(torch.rand(2, 3, 256, 256))
        tokens, grid = vit.tokens(torch.rand(1, 3, 256, 256))
    assert emb.shape == (2, 128, 16, 16) and s4.shape == (2, 16, 64, 64) and s8.shape == (2, 32, 32, 32)
    assert tokens.shape == (1, 256, 128) and grid == (16, 16)  # 16 px patches -> 16 x 16 tokens
    neck_emb, (n4, n8) = Neck(128)([torch.zeros(1, c, 256 // s, 256 // s) for c, s in
                                    zip((24, 40, 112, 320), (4, 8, 16, 32))])
    assert [t.shape[1:] for t in (neck_emb, n4, n8)] == [t.shape[1:] for t in (emb[:1], s4[:1], s8[:1])]
    with torch.no_grad():
        e128, _ = vit(torch.rand(1, 3, 128, 128))  # another size: positional embedding interpolated
    assert e128.shape == (1, 128, 8, 8)
    with pytest.raises(ValueError):
        TinyViTEncoder(size=250)
    with pytest.raises(ValueError):
        vit(torch.rand(1, 3, 100, 100))


def test_sam_style_model_with_the_vit_encoder_decodes_and_trains():
    from iseg_course.models.sam.vit import TinyViTEncoder, sam_style_vit_model

    torch.manual_seed(0)
    m = sam_style_vit_model(size=64, dim=32, heads=4, mlp_dim=64, vit_depth=1, vit_heads=2)
    assert isinstance(m.neck, TinyViTEncoder)
    emb, skips = m.embed(m.encode(torch.rand(2, 3, 64, 64)))
    low, iou = m.decode(emb, skips, torch.tensor([[[10.0, 20.0]], [[40.0, 30.0]]]), torch.tensor([[1], [1]]),
                        multimask=True)
    assert low.shape == (2, 3, 16, 16) and iou.shape == (2, 3)
    low.mean().backward()
    assert m.neck.pos_embed.grad is not None and m.neck.patch_embed.weight.grad.abs().sum() > 0


# ------------------------------------------------------------------------------------------------ data
def test_davis_bear_and_duts_small_load():
    bear = load_dataset("davis_bear")
    assert len(bear) == 41 and bear.names[:3] == ["00000", "00002", "00004"] and bear.names[-1] == "00080"
    s = bear[0]
    assert s.image.shape == (240, 427, 3) and s.mask.shape == (240, 427) and s.mask.any() and s.ignore is None
    duts = load_dataset("duts_small")
    assert len(duts) == 300
    for i in (0, 150, 299):
        d = duts[i]
        assert max(d.image.shape[:2]) <= 256 and d.mask.shape == d.image.shape[:2] and d.mask.any()
