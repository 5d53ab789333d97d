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
         "--ServerApp.token=t0k"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
    finally:
        proc.terminate()
        proc.wait(timeout=30)
