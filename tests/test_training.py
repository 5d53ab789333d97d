"""Interactive training of the click model (iseg_course.training): the cat split, the loss, the augmentation
of image and label together, the robot-user click loop and the trainer, on tiny sizes and real cats."""

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi
from torchvision.transforms import v2

from iseg_course.data import Sample, cat_split, load_dataset, load_samples
from iseg_course.models import ClickUNet
from iseg_course.robot import ritm_click
from iseg_course.training import (
    IGNORE,
    OBJECT,
    InteractiveTrainer,
    TrainConfig,
    make_transform,
    prepare_batch,
    ritm_training_step,
    sample_to_tensors,
    segmentation_loss,
    simulate_training_clicks,
    train_cats,
)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def tiny_config(**kw):
    """A seconds-long configuration: size 32, base 8, 3 clicks, CPU."""
    args = dict(epochs=1, size=32, batch_size=2, n_clicks=3, base=8, device="cpu")
    args.update(kw)
    return TrainConfig(**args)


@pytest.fixture(scope="module")
def split():
    return cat_split()


@pytest.fixture(scope="module")
def train4(split):
    return load_samples(split.train[:4])


@pytest.fixture(scope="module")
def test2(split):
    return load_samples(split.test[:2])


# ------------------------------------------------------------------------------------------------ cat split
def test_cat_split_sizes_and_sources(split):
    names = load_dataset("cats").names
    assert (len(split.train), len(split.test), len(split.other)) == (90, 10, 100)
    assert len(set(split.train) | set(split.test) | set(split.other)) == 200  # disjoint, no duplicates
    assert set(split.train + split.test + split.other) <= set(names)
    assert all(n.startswith("ox_") for n in split.train + split.test)
    assert len(split.rest) == len(names) - 10 == 875
    assert set(split.rest) == set(names) - set(split.test)
    assert len(set(split.rest)) == len(split.rest)


def test_cat_split_reproducible(split):
    again = cat_split()
    assert (again.train, again.test, again.other, again.rest) == (split.train, split.test, split.other, split.rest)
    other_seed = cat_split(seed=1)
    assert other_seed.test != split.test and set(other_seed.train) != set(split.train)


@pytest.mark.parametrize("kw", [dict(n_test=0), dict(n_test=100), dict(n_labelled=50, n_test=60),
                                dict(n_labelled=800, n_other=100)])
def test_cat_split_bad_counts(kw):
    with pytest.raises(ValueError):
        cat_split(**kw)


def test_load_samples_order(split):
    names = split.test[:3][::-1]
    assert [s.name for s in load_samples(names)] == names
    with pytest.raises(KeyError):
        load_samples(["no_such_cat"])


# ------------------------------------------------------------------------------------------------ config
@pytest.mark.parametrize("kw", [dict(size=36), dict(size=0), dict(epochs=0), dict(n_clicks=0), dict(batch_size=0),
                                dict(max_free_clicks=-1), dict(max_free_clicks=1.5), dict(max_free_clicks=True)])
def test_train_config_validation(kw):
    with pytest.raises(ValueError):
        TrainConfig(**kw)


def test_train_config_defaults_are_valid():
    c = TrainConfig()
    assert c.size % 8 == 0 and c.epochs >= 1 and c.n_clicks >= 1
    assert c.kind in ("disk", "gaussian")
    assert c.max_free_clicks is None, "RITM's random click count is off by default (the lecture's 10 clicks)"


# ------------------------------------------------------------------------------------------------ loss
def test_loss_hand_computed():
    # one image, 2x2 background, logits 0: BCE = ln 2; Dice = 1 - 1 / (0.5 * 4 + 0 + 1) = 2/3
    logits = torch.zeros(1, 1, 2, 2)
    labels = torch.zeros(1, 2, 2, dtype=torch.uint8)
    assert segmentation_loss(logits, labels).item() == pytest.approx(np.log(2) + 2 / 3, rel=1e-6)
    # everything ignored: nothing to learn, loss 0
    assert segmentation_loss(torch.randn(1, 1, 2, 2), torch.full((1, 2, 2), IGNORE, dtype=torch.uint8)).item() == 0


def test_loss_ignores_label_2():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (2, 16, 16), generator=g).to(torch.uint8)
    logits = torch.randn(2, 1, 16, 16, generator=g)
    base = segmentation_loss(logits, labels)
    ign = (labels == IGNORE)[:, None]
    for value in (30.0, -30.0):
        changed = torch.where(ign, torch.full_like(logits, value), logits)
        assert segmentation_loss(changed, labels).item() == pytest.approx(base.item(), rel=1e-6)
    # the same logit change on counted pixels does change it
    counted = torch.where(~ign, torch.full_like(logits, 30.0), logits)
    assert segmentation_loss(counted, labels).item() != pytest.approx(base.item(), rel=1e-3)


def test_loss_prefers_the_right_answer():
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 3, (2, 16, 16), generator=g).to(torch.uint8)
    good = torch.where(labels == OBJECT, 6.0, -6.0)[:, None].float()
    lg, lb = segmentation_loss(good, labels), segmentation_loss(-good, labels)
    assert torch.isfinite(lg) and torch.isfinite(lb) and lg.ndim == 0
    assert lg.item() < 0.05 < lb.item()


# ------------------------------------------------------------------------------------------------ augmentation
def _painted_sample(h=60, w=80):
    """A dark grey image with a bright off-centre rectangle (the object) and an ignored dark patch."""
    img = np.full((h, w, 3), 20, np.uint8)
    img[8:30, 44:72] = 235
    mask = np.zeros((h, w), bool)
    mask[8:30, 44:72] = True
    ignore = np.zeros((h, w), bool)
    ignore[40:55, 5:25] = True  # next to background only: a bilinear label resize would create 1s here
    return Sample("painted", img, mask, ignore)


def test_transform_keeps_image_and_label_aligned():
    items = [sample_to_tensors(_painted_sample())] * 3
    tf = make_transform(32, augment=True)
    flipped = 0
    for seed in range(8):
        torch.manual_seed(seed)
        images, labels = prepare_batch(items, tf)
        assert images.shape == (3, 3, 32, 32) and images.dtype == torch.float32
        assert 0 <= images.min() and images.max() <= 1
        assert labels.shape == (3, 32, 32) and labels.dtype == np.uint8
        assert set(np.unique(labels)) <= {0, 1, 2}
        for img, lab in zip(images.numpy(), labels):
            bright = img.mean(axis=0) > 0.5
            obj = lab == OBJECT
            assert obj.any()
            # object pixels and bright pixels coincide up to a 2-pixel border
            assert not (obj & ~ndi.binary_dilation(bright, iterations=2)).any()
            assert not (bright & ~ndi.binary_dilation(obj, iterations=2)).any()
            assert (obj & bright).sum() >= 0.7 * max(obj.sum(), bright.sum())
            # the object lies right of the centre unless flipped
            cx = np.nonzero(obj)[1].mean()
            flipped += cx < 16
    assert 0 < flipped < 24, "random horizontal flips expected (applied to image and label together)"


def test_transform_without_augmentation_is_a_resize():
    s = _painted_sample()
    images, labels = prepare_batch([sample_to_tensors(s)], make_transform(32, augment=False))
    lab = labels[0]
    # nearest-neighbour: rows 8..29 of 60 -> about 4..15 of 32; cols 44..71 of 80 -> about 17..28
    rows, cols = np.nonzero(lab == OBJECT)
    assert abs(rows.min() - 8 * 32 / 60) <= 1 and abs(rows.max() + 1 - 30 * 32 / 60) <= 1
    assert abs(cols.min() - 44 * 32 / 80) <= 1 and abs(cols.max() + 1 - 72 * 32 / 80) <= 1
    assert (lab == IGNORE).any()


def test_crop_that_loses_the_object_falls_back_to_the_whole_image():
    img = np.full((64, 64, 3), 20, np.uint8)
    img[:6, :6] = 235
    mask = np.zeros((64, 64), bool)
    mask[:6, :6] = True
    items = [sample_to_tensors(Sample("corner", img, mask, None))]
    # a centre crop always loses the corner object: the whole image comes back, resized
    tf = v2.Compose([v2.CenterCrop(20), v2.Resize((32, 32))])
    images, labels = prepare_batch(items, tf)
    assert images.shape == (1, 3, 32, 32) and labels.shape == (1, 32, 32)
    assert (labels[0] == OBJECT).any()
    assert labels[0][:3, :3].all() and images[0, :, 1, 1].min() > 0.5
    # the random resized crop: the label always has object pixels
    tf = make_transform(32, augment=True)
    for seed in range(15):
        torch.manual_seed(seed)
        _, labels = prepare_batch(items, tf)
        assert (labels[0] == OBJECT).any()


# ------------------------------------------------------------------------------------------------ click loop
@pytest.fixture(scope="module")
def batch(train4):
    items = [sample_to_tensors(s) for s in train4[:2]]
    return prepare_batch(items, make_transform(32, augment=False))


def _assert_previous_prediction_fed_back(seen, images):
    """``seen``: (input, logits, grad) per forward pass. Every input holds the image; the first has no previous
    prediction, each later one the sigmoid of the pass before."""
    for k, (x, _, _) in enumerate(seen):
        assert torch.equal(x[:, :3], images)
        if k == 0:
            assert not x[:, 5].any()
        else:
            torch.testing.assert_close(x[:, 5:6], torch.sigmoid(seen[k - 1][1]))


def test_click_loop(batch):
    images, labels = batch
    torch.manual_seed(0)
    model = ClickUNet(base=8).train()
    seen = []
    hook = model.register_forward_hook(lambda m, inp, out: seen.append((inp[0].detach().clone(),
                                                                        out.detach().clone(), out.requires_grad)))
    try:
        logits, clicks, passes = simulate_training_clicks(model, images, labels, n_clicks=3, grad="last")
    finally:
        hook.remove()
    assert passes == 3 and len(seen) == 3 and len(logits) == 3
    assert all(lg.shape == (2, 1, 32, 32) for lg in logits)
    assert [g for _, _, g in seen] == [False, False, True]  # only the last pass keeps gradients
    assert [lg.requires_grad for lg in logits] == [False, False, True]
    for i, c in enumerate(clicks):
        assert 1 <= len(c) <= 3
        # step I: the first click is the robot's click on an empty prediction (centre of the object), positive
        first = ritm_click(labels[i] == OBJECT, np.zeros((32, 32), bool), labels[i] == IGNORE)
        assert c[0] == first and c[0].positive
    # the input: the image, clicks accumulating in the guidance maps, the previous prediction fed back
    _assert_previous_prediction_fed_back(seen, images)
    for k in range(1, len(seen)):  # clicks accumulate in the guidance maps
        assert (seen[k][0][:, 3:5].sum(dim=(1, 2, 3)) >= seen[k - 1][0][:, 3:5].sum(dim=(1, 2, 3))).all()


def test_click_loop_without_gradients(batch):
    images, labels = batch
    model = ClickUNet(base=8).eval()
    logits, clicks, passes = simulate_training_clicks(model, images, labels, n_clicks=2)
    assert not any(lg.requires_grad for lg in logits) and passes == 2


def test_click_loop_gradients_on_every_pass(batch):
    """grad="all": every click's prediction keeps its graph, but no gradient flows through the fed-back mask."""
    images, labels = batch
    torch.manual_seed(0)
    model = ClickUNet(base=8).train()
    logits, _, _ = simulate_training_clicks(model, images, labels, n_clicks=3, grad="all")
    assert [lg.requires_grad for lg in logits] == [True, True, True]
    # the fed-back probabilities are detached: click 2's prediction does not depend on click 1's graph
    assert torch.autograd.grad(logits[1].sum(), logits[0], allow_unused=True)[0] is None
    with pytest.raises(ValueError, match="grad"):
        simulate_training_clicks(model, images, labels, n_clicks=1, grad="first")


def test_click_loop_robot_that_stops(batch):
    """A robot with nothing left to click (None) adds no click; the passes still run."""
    images, labels = batch

    def once(gt, pred, ignore, clicked):
        return None if clicked else ritm_click(gt, pred, ignore, clicked)

    model = ClickUNet(base=8).eval()
    _, clicks, passes = simulate_training_clicks(model, images, labels, n_clicks=3, robot=once)
    assert passes == 3 and [len(c) for c in clicks] == [1, 1]


# ------------------------------------------------------------------------------------------------ trainer
@pytest.fixture(scope="module")
def trained(train4, test2):
    """One epoch on 4 real cats at size 32 with 3 clicks; the weights before and after."""
    trainer = InteractiveTrainer(train4, test2, tiny_config())
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit(progress=False)
    return trainer, before


def test_one_epoch(trained, train4):
    trainer, before = trained
    h = trainer.history
    for values in h.to_dict().values():
        assert len(values) == 1
    assert h.forward_passes == [4 * 3]  # images x clicks: interactive training is linearly slower
    assert np.isfinite(h.train_loss[0]) and np.isfinite(h.test_loss[0]) and h.train_loss[0] > 0
    assert 0 <= h.test_iou[0] <= 1 and h.seconds[0] > 0
    after = trainer.model.state_dict()
    conv = [k for k in after if k.endswith("weight") and after[k].ndim == 4]
    assert all(not torch.equal(before[k], after[k]) for k in conv), "every conv layer should be updated"
    assert not trainer.model.training  # fit leaves the model in eval mode
    meta = trainer.meta()
    assert meta["train_config"]["size"] == 32 and meta["history"]["forward_passes"] == [12]
    assert meta["train_names"] == [s.name for s in train4]


def test_same_seed_same_loss(trained, train4, test2):
    trainer, _ = trained
    again = InteractiveTrainer(train4, test2, tiny_config()).fit(progress=False)
    assert again.train_loss == trainer.history.train_loss
    assert again.test_loss == trainer.history.test_loss


def test_overfits_two_images(train4):
    cfg = tiny_config(epochs=8, n_clicks=2, augment=False, dropout=0.0)
    h = InteractiveTrainer(train4[:2], [], cfg).fit(progress=False)
    assert len(h.train_loss) == 8 and np.isnan(h.test_loss).all()  # no test set
    # seeds 0-2 end at 0.74-0.87 of the first epoch's loss (default lr); the loss keeps going down
    assert h.train_loss[-1] < 0.9 * h.train_loss[0], h.train_loss
    assert h.train_loss[-1] <= min(h.train_loss) + 0.01, h.train_loss


def test_trainer_bad_input():
    with pytest.raises(ValueError, match="training sample"):
        InteractiveTrainer([], [], tiny_config())
    with pytest.raises(ValueError, match="split"):
        train_cats(tiny_config(), split="bogus")


def test_fit_twice_continues(train4):
    """A second ``fit`` (a notebook cell run again) trains ``config.epochs`` more epochs; the history grows.

    (Bug reported to the lead: the OneCycleLR schedule is sized for one ``fit``, so today the second call
    raises "Tried to step 2 times. The specified number of total steps is 1".)
    """
    trainer = InteractiveTrainer(train4[:2], [], tiny_config(n_clicks=1))
    trainer.fit(progress=False)
    h = trainer.fit(progress=False)
    assert len(h.train_loss) == 2 and h.forward_passes == [2, 2]
    assert all(np.isfinite(h.train_loss))


# ------------------------------------------------------------------------------------------------ RITM's step
def _recording(model):
    """Forward hook recording (input, output, output.requires_grad) of every pass; returns (seen, handle)."""
    seen = []
    handle = model.register_forward_hook(lambda m, inp, out: seen.append((inp[0].detach().clone(),
                                                                          out.detach().clone(), out.requires_grad)))
    return seen, handle


@pytest.mark.parametrize("max_free", [0, 2, 4])
def test_ritm_step_rounds(batch, max_free):
    """n ~ U{0..N} from the generator; n gradient-free passes, then one with gradients; the previous
    probabilities fed back; the loss is the last prediction's; one update."""
    images, labels = batch
    torch.manual_seed(0)
    model = ClickUNet(base=8, dropout=0.0).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)    # weights stay: the loss can be recomputed
    for seed in range(4):
        expected_n = int(np.random.default_rng(seed).integers(0, max_free + 1))
        seen, handle = _recording(model)
        try:
            loss, n = ritm_training_step(model, opt, images, labels, max_free, np.random.default_rng(seed))
        finally:
            handle.remove()
        assert isinstance(loss, float) and isinstance(n, int) and n == expected_n
        assert len(seen) == n + 1
        assert [g for _, _, g in seen] == [False] * n + [True]
        _assert_previous_prediction_fed_back(seen, images)
        assert loss == pytest.approx(segmentation_loss(seen[-1][1], torch.from_numpy(labels)).item(), rel=1e-5)
        assert all(p.grad is not None for p in model.parameters())


def test_ritm_step_equals_the_click_loop_with_one_graded_pass(batch):
    """The step is simulate_training_clicks(n + 1, grad="last") + the loss of the last logits + one AdamW step."""
    import copy

    images, labels = batch
    torch.manual_seed(1)
    m1 = ClickUNet(base=8, dropout=0.0).train()
    m2 = copy.deepcopy(m1)
    o1 = torch.optim.AdamW(m1.parameters(), lr=1e-3)
    o2 = torch.optim.AdamW(m2.parameters(), lr=1e-3)
    rng = np.random.default_rng(5)
    ref_rng = np.random.default_rng(5)
    for _ in range(3):   # successive calls draw successive values from the same generator
        loss, n = ritm_training_step(m1, o1, images, labels, 3, rng)
        assert n == int(ref_rng.integers(0, 4))
        logits, _, passes = simulate_training_clicks(m2, images, labels, n + 1, grad="last")
        ref = segmentation_loss(logits[-1], torch.from_numpy(labels))
        o2.zero_grad()
        ref.backward()
        o2.step()
        assert passes == n + 1 and loss == pytest.approx(ref.item(), rel=1e-6)
        for a, b in zip(m1.parameters(), m2.parameters()):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-7)


def test_ritm_step_draws_uniformly_and_reproducibly(batch):
    images, labels = batch
    model = ClickUNet(base=4, levels=2, dropout=0.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    rng = np.random.default_rng(0)
    draws = [ritm_training_step(model, opt, images[:1], labels[:1], 2, rng)[1] for _ in range(60)]
    assert set(draws) == {0, 1, 2} and min(np.bincount(draws)) >= 12  # about 20 each
    # one draw per call: the sequence is that of the generator's own integers(0, N + 1)
    ref = np.random.default_rng(0)
    assert draws == [int(ref.integers(0, 3)) for _ in range(60)]
    # an int seed gives the same draw as a generator made from it
    assert ritm_training_step(model, opt, images[:1], labels[:1], 5, 7)[1] == int(np.random.default_rng(7).integers(0, 6))


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_ritm_step_bad_max(batch, bad):
    images, labels = batch
    model = ClickUNet(base=4, levels=2)
    with pytest.raises((ValueError, TypeError)):
        ritm_training_step(model, torch.optim.SGD(model.parameters(), lr=0.0), images, labels, bad, 0)


def test_trainer_with_random_free_clicks(train4):
    """TrainConfig(max_free_clicks=N): one graded pass per batch after n ~ U{0..N} free rounds; the passes
    counted are the batches' n + 1 per image; the same seed gives the same run."""
    cfg = tiny_config(max_free_clicks=2, augment=False, dropout=0.0)
    t = InteractiveTrainer(train4, [], cfg)
    draws = np.random.default_rng(cfg.seed).integers(0, 3, size=2)   # 2 batches of 2 images
    h = t.fit(progress=False)
    assert h.forward_passes == [int(2 * (draws + 1).sum())]
    assert np.isfinite(h.train_loss[0]) and h.train_loss[0] > 0
    again = InteractiveTrainer(train4, [], cfg).fit(progress=False)
    assert again.train_loss == h.train_loss and again.forward_passes == h.forward_passes
    # the default scheme is untouched: 4 images x 3 clicks
    assert InteractiveTrainer(train4[:2], [], tiny_config()).train_epoch(progress=False)[1] == 2 * 3
