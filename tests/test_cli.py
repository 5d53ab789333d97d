"""The ``iseg-course`` command line."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from iseg_course.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_datasets_lists_shipped_sets(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "grabcut" in out and " 50 " in out and "885" in out


def test_course_refuses_missing_lessons_folder(tmp_path, capsys):
    assert main(["course", "--lessons", str(tmp_path / "missing")]) == 2
    assert "lessons folder not found" in capsys.readouterr().err


def test_unknown_command_fails():
    with pytest.raises(SystemExit):
        main(["fly"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_course_serves_jupyterlab_with_the_lessons(tmp_path):
    """`iseg-course course` starts JupyterLab on 127.0.0.1 and serves lessons/ (the README's run command)."""
    port = _free_port()
    env = {"JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "iseg_course.cli", "course", "--port", str(port), "--no-browser",
         "--workdir", str(tmp_path / "my-lessons"), "--ServerApp.token=t0k"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        body = None
        while time.time() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token=t0k", timeout=5) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(1)
        assert body is not None, "JupyterLab did not answer within 90 s"
        assert "00_interactive_loop.ipynb" in body
        assert (tmp_path / "my-lessons" / "00_interactive_loop.ipynb").is_file()  # served from the working copy
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ------------------------------------------------------------------------------------------------ train
TINY = ["--limit", "2", "--epochs", "1", "--size", "32", "--n-clicks", "2", "--no-progress"]


def test_train_cats_writes_a_loadable_checkpoint(tmp_path, capsys):
    """`iseg-course train cats` on 2 + 2 cats for one epoch: per-epoch line, totals, a checkpoint with meta."""
    from iseg_course.models import ClickUNet, load_checkpoint
    from iseg_course.data import cat_split

    out = tmp_path / "sub" / "cats.pt"
    assert main(["train", "cats", *TINY, "--device", "cpu", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    epoch_lines = [line for line in text.splitlines() if line.startswith("epoch")]
    assert len(epoch_lines) == 1
    assert "train loss" in epoch_lines[0] and "test IoU@1" in epoch_lines[0] and "IoU@2" in epoch_lines[0]
    assert "4 forward passes" in epoch_lines[0]  # 2 images x 2 clicks: the interactive cost
    assert "on cpu" in text and f"wrote {out}" in text
    model, meta = load_checkpoint(out)
    assert isinstance(model, ClickUNet) and not model.training
    assert len(meta["history"]["train_loss"]) == 1 and len(meta["history"]["test_iou"]) == 1
    assert meta["history"]["forward_passes"] == [4]
    assert meta["train_config"]["size"] == 32 and meta["train_config"]["epochs"] == 1
    split = cat_split()
    assert meta["train_names"] == split.train[:2] and meta["test_names"] == split.test[:2]
    assert meta["device"] == "cpu" and meta["seconds"] > 0 and meta["evaluation"] is None
    assert meta["split"] == "lesson" and isinstance(meta["torch"], str)


def test_train_refuses_to_overwrite_before_training(tmp_path, capsys):
    out = tmp_path / "cats.pt"
    out.write_bytes(b"precious")
    assert main(["train", "cats", *TINY, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "exists" in captured.err and "--overwrite" in captured.err
    assert "epoch" not in captured.out  # refused before any training
    assert out.read_bytes() == b"precious"


def test_train_rejects_bad_options(tmp_path, capsys):
    with pytest.raises(SystemExit):  # argparse: only "cats" can be trained
        main(["train", "dogs", "--out", str(tmp_path / "d.pt")])
    assert "invalid choice" in capsys.readouterr().err
    assert main(["train", "cats", "--size", "30", "--out", str(tmp_path / "c.pt")]) == 2
    assert "divisible by 8" in capsys.readouterr().err
    assert main(["train", "cats", "--limit", "0", "--out", str(tmp_path / "c.pt")]) == 2
    assert main(["train", "cats", "--out", str(tmp_path)]) == 2  # a folder is not a checkpoint path
    assert "folder" in capsys.readouterr().err
    assert not (tmp_path / "c.pt").exists()


def test_train_help_shows_the_trainconfig_defaults(capsys):
    from iseg_course.training import TrainConfig

    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    cfg = TrainConfig()
    assert f"(default: {cfg.epochs})" in text and f"(default: {cfg.size})" in text
    assert f"(default: {cfg.lr})" in text and f"(default: {cfg.n_clicks})" in text


def test_evaluate_method_click_runs_the_shipped_model(capsys):
    data = REPO / "data" / "coco_mval_cats"
    args = ["evaluate", "--images", str(data / "images"), "--masks", str(data / "masks"),
            "--limit", "1", "--max-clicks", "2", "--no-progress"]
    assert main([*args, "--method", "click"]) == 0
    out = capsys.readouterr().out
    assert "NoC@90" in out and "click" in out and "1 worker(s)" in out  # torch methods: one process
    assert main([*args, "--method", "iseg_course.models:cat_click_model", "--workers", "1"]) == 0
    assert "NoC@90" in capsys.readouterr().out


def test_evaluate_method_click_reads_iseg_checkpoint(tmp_path, monkeypatch, capsys):
    """ISEG_CHECKPOINT points `--method click` at another checkpoint (here: a missing one -> clear error)."""
    monkeypatch.setenv("ISEG_CHECKPOINT", str(tmp_path / "missing.pt"))
    data = REPO / "data" / "coco_mval_cats"
    assert main(["evaluate", "--method", "click", "--images", str(data / "images"), "--masks",
                 str(data / "masks"), "--limit", "1", "--max-clicks", "1", "--no-progress"]) == 2
    assert "missing.pt" in capsys.readouterr().err


def test_working_copy_never_overwrites_a_students_lesson(tmp_path):
    from iseg_course.workspace import sync_working_copy

    course, mine = tmp_path / "lessons", tmp_path / "my-lessons"
    course.mkdir()
    (course / "00_a.ipynb").write_text("v1")
    (course / "01_b.ipynb").write_text("b1")
    first = sync_working_copy(course, mine)
    assert first.copied == ["00_a.ipynb", "01_b.ipynb"] and (mine / "00_a.ipynb").read_text() == "v1"
    (mine / "00_a.ipynb").write_text("v1 + my answers")          # the student works in lesson 00
    (course / "00_a.ipynb").write_text("v2")                      # the course ships new versions of both
    (course / "01_b.ipynb").write_text("b2")
    (course / "02_c.ipynb").write_text("c1")                      # and a new lesson
    second = sync_working_copy(course, mine)
    assert (mine / "00_a.ipynb").read_text() == "v1 + my answers"  # never replaced
    (beside,) = [new for old, new in second.updated if old == "00_a.ipynb"]
    assert (mine / beside).read_text() == "v2" and beside.startswith("00_a.new-")
    assert (mine / "01_b.ipynb").read_text() == "b2"                # untouched copy: refreshed
    assert "02_c.ipynb" in second.copied and any(beside in line for line in second.lines())
    third = sync_working_copy(course, mine)
    assert third.updated == [] and third.copied == [] and (mine / "00_a.ipynb").read_text() == "v1 + my answers"
