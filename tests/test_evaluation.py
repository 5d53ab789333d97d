"""The NoC evaluation harness (iseg_course.evaluation.evaluate) and ``iseg-course evaluate``."""

import json
import shutil

import numpy as np
import pytest

from iseg_course import metrics
from iseg_course.classical import GraphCutSegmenter
from iseg_course.cli import load_method, main
from iseg_course.data import load_dataset
from iseg_course.evaluation import EvaluationResult, evaluate, results_table, simulate_clicks
from iseg_course.segmenter import BaseSegmenter


@pytest.fixture(scope="module")
def grabcut():
    return load_dataset("grabcut")


class OracleSegmenter(BaseSegmenter):
    """Predicts the ground truth of whichever sample's image it is given (a perfect method)."""

    def __init__(self, dataset):
        self.by_bytes = {s.image.tobytes(): s.mask for s in dataset}

    def _predict(self, interactions, prev_mask):
        return self.by_bytes[self.image.tobytes()].astype(np.float32)


class NothingSegmenter(BaseSegmenter):
    """Always predicts background (a method that never helps)."""

    def _predict(self, interactions, prev_mask):
        return np.zeros(self.image.shape[:2], np.float32)


def test_perfect_method_needs_one_click(grabcut):
    few = [grabcut[i] for i in range(3)]
    res = evaluate(OracleSegmenter(few), few, max_clicks=20, progress=False)
    assert res.n_samples == 3
    assert res.noc == {0.85: 1.0, 0.90: 1.0}
    assert res.nof == {0.85: 0, 0.90: 0}
    assert res.iou_at((1, 3, 5)) == {1: 1.0, 3: 1.0, 5: 1.0}
    # the robot finds nothing left to click after the perfect first prediction
    assert all(len(s) == 1 for s in res.ious.values())
    assert np.allclose(res.curve(), 1.0) and res.curve().shape == (20,)


def test_useless_method_counts_the_click_budget(grabcut):
    few = [grabcut[i] for i in range(2)]
    res = evaluate(NothingSegmenter(), few, max_clicks=4, progress=False)
    assert res.noc == {0.85: 4.0, 0.90: 4.0}          # never reached -> counts max_clicks
    assert res.nof == {0.85: 2, 0.90: 2}
    assert all(s == [0.0] * 4 for s in res.ious.values())


def test_graph_cut_on_grabcut_images_matches_the_click_loop(grabcut):
    few = [grabcut["teddy"], grabcut["sheep"]]
    res = evaluate(GraphCutSegmenter(), few, max_clicks=6, progress=False, method="graphcut", dataset_name="grabcut")
    for s in few:
        loop = simulate_clicks(GraphCutSegmenter(), s, 6)
        assert res.ious[s.name] == pytest.approx(loop.ious)
        assert len(res.seconds[s.name]) == len(loop.ious)
    expected = np.mean([metrics.noc(res.ious[s.name], 0.90, 6) for s in few])
    assert res.noc[0.90] == pytest.approx(expected)
    assert 0 < res.iou_at((1,))[1] < 1
    assert res.seconds_per_click > 0 and res.total_seconds > 0
    # deterministic: a second run gives the same IoU sequences
    again = evaluate(GraphCutSegmenter(), few, max_clicks=6, progress=False)
    assert again.ious == res.ious
    table = res.table()
    assert "NoC@90" in table and "graphcut" in table and "IoU@5" in table
    d = json.loads(json.dumps(res.to_dict()))
    assert d["samples"] == 2 and len(d["curve"]) == 6 and set(d["ious"]) == {"teddy", "sheep"}


def test_early_stop_keeps_noc_and_iou_at_5(grabcut):
    few = [grabcut["teddy"], grabcut["banana1"]]
    full = evaluate(GraphCutSegmenter(), few, max_clicks=12, progress=False)
    early = evaluate(GraphCutSegmenter(), few, max_clicks=12, progress=False, stop_at=0.90)
    assert early.noc == full.noc and early.nof == full.nof
    assert early.iou_at() == full.iou_at()
    for name, seq in early.ious.items():
        assert seq == full.ious[name][: len(seq)]
        assert len(seq) >= min(5, len(full.ious[name]))
        if len(seq) < 12:
            assert seq[-1] >= 0.90 or len(seq) == len(full.ious[name])


def test_workers_give_the_same_result(grabcut):
    few = [grabcut["teddy"], grabcut["sheep"]]
    one = evaluate(GraphCutSegmenter(), few, max_clicks=3, progress=False)
    two = evaluate(GraphCutSegmenter(), few, max_clicks=3, progress=False, workers=2)
    assert two.ious == one.ious and list(two.ious) == list(one.ious)


def test_plot_and_results_table(grabcut):
    import matplotlib

    matplotlib.use("Agg")
    res = EvaluationResult("m", "d", {"a": [0.5, 0.95], "b": [0.2, 0.4, 0.86]}, {"a": [0.1, 0.1], "b": [0.1] * 3},
                           max_clicks=3)
    assert res.noc == {0.85: pytest.approx(2.5), 0.90: pytest.approx(2.5)}  # a: 2 and 2; b: 3 and never (3)
    assert res.nof == {0.85: 0, 0.90: 1}
    assert res.curve() == pytest.approx([0.35, 0.675, 0.905])
    ax = res.plot()
    assert ax.get_xlabel() == "number of clicks" and len(ax.lines) >= 1
    text = results_table([res, res])
    assert len(text.splitlines()) == 4


def test_bad_input(grabcut):
    few = [grabcut[0]]
    with pytest.raises(ValueError, match="empty"):
        evaluate(GraphCutSegmenter(), [], progress=False)
    with pytest.raises(ValueError, match="max_clicks"):
        evaluate(GraphCutSegmenter(), few, max_clicks=0, progress=False)
    with pytest.raises(ValueError, match="targets"):
        evaluate(GraphCutSegmenter(), few, targets=(0.9, 1.5), progress=False)
    with pytest.raises(ValueError, match="workers"):
        evaluate(GraphCutSegmenter(), few, workers=0, progress=False)

    class Local(NothingSegmenter):  # defined in a function: cannot be pickled
        pass

    with pytest.raises(TypeError, match="workers=1"):
        evaluate(Local(), few, workers=2, progress=False)
    with pytest.raises(ValueError, match="stop_at"):
        simulate_clicks(GraphCutSegmenter(), few[0], 3, stop_at=0)


# ------------------------------------------------------------------------------------------------------
# the command line
# ------------------------------------------------------------------------------------------------------


@pytest.fixture
def folder_pair(tmp_path, grabcut):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for name in ("teddy", "sheep", "banana1"):
        shutil.copy(grabcut.image_path(name), images)
        shutil.copy(grabcut.masks_dir / f"{name}.png", masks)
    return images, masks


def test_cli_evaluate_prints_the_table_and_writes_json(folder_pair, tmp_path, capsys):
    images, masks = folder_pair
    out = tmp_path / "res.json"
    rc = main(["evaluate", "--method", "graphcut", "--images", str(images), "--masks", str(masks),
               "--max-clicks", "5", "--limit", "2", "--json", str(out), "--workers", "1", "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    for col in ("NoC@85", "NoC@90", "NoF@90", "IoU@1", "IoU@3", "IoU@5", "s_per_click"):
        assert col in text
    d = json.loads(out.read_text())
    assert d["samples"] == 2 and d["method"] == "graphcut" and set(d["ious"]) == {"banana1", "sheep"}
    # --json never replaces an earlier result without --overwrite
    rc = main(["evaluate", "--method", "graphcut", "--images", str(images), "--masks", str(masks),
               "--max-clicks", "2", "--limit", "1", "--json", str(out), "--workers", "1", "--no-progress"])
    assert rc == 2 and "exists" in capsys.readouterr().err
    assert json.loads(out.read_text())["samples"] == 2


def test_cli_evaluate_takes_a_module_factory(folder_pair, capsys):
    images, masks = folder_pair
    rc = main(["evaluate", "--method", "iseg_course.classical.graphcut:GraphCutSegmenter", "--images", str(images),
               "--masks", str(masks), "--max-clicks", "2", "--limit", "1", "--workers", "1", "--no-progress"])
    assert rc == 0 and "NoC@90" in capsys.readouterr().out


def test_cli_evaluate_bad_input(folder_pair, tmp_path, capsys):
    images, masks = folder_pair
    base = ["evaluate", "--images", str(images), "--masks", str(masks), "--workers", "1", "--no-progress"]
    assert main([*base, "--method", "watershed"]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert main([*base, "--method", "no_such_module:thing"]) == 2
    assert "cannot import" in capsys.readouterr().err
    assert main([*base, "--method", "numpy:zeros"]) == 2  # callable, but not a Segmenter
    capsys.readouterr()
    assert main([*base, "--method", "graphcut", "--max-clicks", "0"]) == 2
    assert "max_clicks" in capsys.readouterr().err
    (masks / "banana1.png").unlink()
    assert main([*base, "--method", "graphcut"]) == 2
    assert "do not match" in capsys.readouterr().err
    missing = ["evaluate", "--method", "graphcut", "--images", str(tmp_path / "nope"), "--masks", str(masks)]
    assert main(missing) == 2


def test_cli_evaluate_names_a_sample_with_an_empty_mask(folder_pair, capsys):
    from PIL import Image

    images, masks = folder_pair
    shape = np.asarray(Image.open(masks / "sheep.png")).shape
    Image.fromarray(np.zeros(shape, np.uint8)).save(masks / "sheep.png")
    rc = main(["evaluate", "--method", "graphcut", "--images", str(images), "--masks", str(masks),
               "--max-clicks", "2", "--workers", "1", "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "'sheep'" in err and "empty" in err


def test_load_method_builtin_names():
    assert isinstance(load_method("graphcut"), GraphCutSegmenter)
    with pytest.raises(ValueError, match="package.module:factory"):
        load_method("graph cut")
