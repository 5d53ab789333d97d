"""One real-browser test of the click widget: JupyterLab + Debian's Chromium driven by Playwright.

JupyterLab is started on 127.0.0.1 (free port, token, isolated config/data/runtime folders) in a temporary
copy of ``tests/browser_widget.ipynb``. Chromium (``/usr/bin/chromium``, installed by
``scripts/install-browser.sh``; never ``playwright install``) opens the notebook, runs all cells, clicks
inside the teddy bear on the widget's canvas and checks -- through the ``widget_state.json`` file the
notebook writes after every widget update -- that the mask changed and that the log holds the click at the
image coordinates computed from the canvas's on-page bounding box and the widget's scale (+-1 px). It
also checks that the overlay was painted in the page at the click, that a click after pressing the
"- click" button is stored as negative, and -- on lesson 00 run top to bottom in FAST mode with its exercise
stubs untouched -- that the lesson's widget reaches the student empty and that q1's feedback is short.

Skipped (with the reason) when Chromium or Playwright is missing, unless the environment variable CI is
set: then it fails.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from iseg_course.data import load_dataset

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = Path(__file__).with_name("browser_widget.ipynb")
LESSON_00 = Path(__file__).resolve().parent.parent / "lessons" / "00_interactive_loop.ipynb"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser test must run; see scripts/install-browser.sh)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"JupyterLab did not answer {url} within {timeout:.0f} s:\n{_tail(log)}")


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no server log)"


def _read_state(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _poll(fn, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the JupyterLab server we started, then anything left in its process group (its kernels)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # Jupyter shuts its kernels down on SIGINT/SIGTERM
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # our own session (start_new_session=True): leftover kernels
    except (ProcessLookupError, PermissionError):
        pass


# JavaScript run in the page on the widget's canvas element (ipycanvas composites the MultiCanvas layers
# -- image, overlay, interactions, live stroke -- into one <canvas>).
_SNAPSHOT = """(c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    window.__isegBaseline = Array.from(d);
    let opaque = 0, sum = 0, sum2 = 0;
    for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0) opaque++; sum += d[i]; sum2 += d[i] * d[i]; }
    const n = d.length / 4, mean = sum / n;
    return {opaque: opaque, n: n, red_std: Math.sqrt(Math.max(sum2 / n - mean * mean, 0))};
}"""
_CHANGED = """(c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, b = window.__isegBaseline;
    let changed = 0;
    for (let i = 0; i < d.length; i += 4)
        if (Math.abs(d[i] - b[i]) + Math.abs(d[i + 1] - b[i + 1]) + Math.abs(d[i + 2] - b[i + 2]) > 24) changed++;
    return changed;
}"""


_ALL_RUN = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!w || !w.content || !w.sessionContext.session || w.sessionContext.session.kernel.status !== 'idle') return false;
    const cells = w.content.widgets.filter(c => c.model.type === 'code');
    const failed = cells.some(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'));
    return cells.length > 0 && (failed || cells.every(c => c.model.executionCount !== null));  // done, or stopped
}"""
_LESSON_STATE = """async () => {
    const w = window.jupyterapp.shell.currentWidget;
    const cells = w.content.widgets.filter(c => c.model.type === 'code');
    const q1 = cells.find(c => c.model.sharedModel.getSource().includes('grader.check("q1")'));
    const errors = cells.filter(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'))
                        .map(c => c.model.sharedModel.getSource().slice(0, 80));
    const k = w.sessionContext.session.kernel;
    const f = k.requestExecute({code: 'print(len(widget.interactions))', silent: false, store_history: false});
    let out = '';
    f.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
    await f.done;
    // the check's text as the kernel sent it (a cell scrolled out of view is not rendered in the page)
    const text = (o) => o.text !== undefined ? [].concat(o.text).join('') :
        (o.data && o.data['text/plain'] !== undefined ? [].concat(o.data['text/plain']).join('') : '');
    const q1_text = q1 ? q1.model.outputs.toJSON().map(text).join('') : '';
    return {q1_feedback: q1_text, widget_interactions: parseInt(out),
            errors: errors};
}"""


def _run_lesson(page, base: str, token: str, name: str) -> dict:
    """Open a lesson in JupyterLab, Run All, wait for every code cell to finish; return what a student sees:
    the q1 check's output text, the number of interactions of the lesson's ``widget`` and cells that raised."""
    page.goto(f"{base}/lab/tree/{name}?token={token}", wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_function(
        f"() => {{ const w = window.jupyterapp && window.jupyterapp.shell.currentWidget; return w && w.context && "
        f"w.context.path.endsWith('{name}') && w.sessionContext.session && w.sessionContext.session.kernel && "
        f"w.sessionContext.session.kernel.status === 'idle'; }}",
        timeout=90_000,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(_ALL_RUN, timeout=150_000, polling=500)
    return page.evaluate(_LESSON_STATE)


def test_click_in_jupyterlab_with_chromium(tmp_path):
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: run scripts/install-browser.sh (Debian's chromium package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is missing: pip install -e '.[dev]'")

    # where to click: the pixel deepest inside the teddy bear (ground truth), as the notebook shows it
    sample = load_dataset("grabcut")["teddy"]
    dt = distance_transform_edt(sample.mask)
    obj_row, obj_col = np.unravel_index(int(np.argmax(dt)), dt.shape)

    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    shutil.copy(LESSON_00, work / LESSON_00.name)  # a student's first lesson, run top to bottom below
    state_file = work / "widget_state.json"
    jupyter = {k: tmp_path / k for k in ("config", "data", "runtime", "ipython", "settings", "workspaces")}
    for d in jupyter.values():
        d.mkdir()
    # no news/update pop-ups in a test
    (jupyter["config"] / "labconfig").mkdir()
    (jupyter["config"] / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(jupyter["config"]),
        JUPYTER_DATA_DIR=str(jupyter["data"]),
        JUPYTER_RUNTIME_DIR=str(jupyter["runtime"]),
        IPYTHONDIR=str(jupyter["ipython"]),
        JUPYTERLAB_SETTINGS_DIR=str(jupyter["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(jupyter["workspaces"]),
        JUPYTER_PLATFORM_DIRS="1",
        MPLBACKEND="Agg",
        PYTHONUNBUFFERED="1",
        ISEG_FAST="1",  # lesson 00 in its quick form
    )
    port, token = _free_port(), secrets.token_hex(16)
    server_log = tmp_path / "jupyterlab.log"
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.terminals_enabled=False",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with open(server_log, "wb") as log_f:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log_f, stderr=subprocess.STDOUT, start_new_session=True)
    screenshot = tmp_path / "browser.png"
    try:
        _wait_for_server(f"{base}/api/status?token={token}", proc, server_log, timeout=60)
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                user_data_dir=str(tmp_path / "chromium-profile"),
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 1000},
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.set_default_timeout(30_000)
                try:
                    page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", wait_until="domcontentloaded", timeout=60_000)
                    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
                    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(state="visible", timeout=60_000)
                    page.wait_for_function(
                        "() => { const w = window.jupyterapp.shell.currentWidget;"
                        " return w && w.sessionContext && w.sessionContext.session &&"
                        " w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'; }",
                        timeout=60_000,
                    )
                    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

                    # the widget is drawn: its canvas shows the image (all pixels opaque, not a flat colour)
                    canvas = page.locator(".jp-OutputArea-output canvas").last
                    canvas.wait_for(state="visible", timeout=90_000)
                    state = _poll(lambda: _read_state(state_file), 30, "the notebook's widget_state.json")
                    assert state["log"] == [] and state["mask_area"] == 0
                    ch, cw = state["canvas_shape"]
                    sx, sy = state["scale"]
                    _poll(
                        lambda: (snap := canvas.evaluate(_SNAPSHOT))["opaque"] == cw * ch and snap["red_std"] > 10,
                        30,
                        "the image to be drawn on the canvas",
                    )
                    assert canvas.evaluate("c => [c.width, c.height]") == [cw, ch]

                    # click inside the object at a known canvas position
                    canvas.scroll_into_view_if_needed()
                    box = canvas.bounding_box()
                    assert box is not None and box["width"] > 0 and box["height"] > 0
                    # page point at the centre of image pixel (obj_col, obj_row) as displayed
                    px = box["x"] + (obj_col + 0.5) * sx * box["width"] / cw
                    py = box["y"] + (obj_row + 0.5) * sy * box["height"] / ch
                    # what the widget must record, from the page geometry: canvas px -> image px
                    expected_x = math.floor((px - box["x"]) * cw / box["width"] / sx)
                    expected_y = math.floor((py - box["y"]) * ch / box["height"] / sy)
                    t_click = time.perf_counter()
                    page.mouse.click(px, py)
                    state = _poll(
                        lambda: (s := _read_state(state_file)) and any(e["event"] == "click" for e in s["log"]) and s,
                        30,
                        "the click to reach the widget's log",
                    )
                    # the overlay is painted: about the mask's area (in canvas pixels) changes colour,
                    # far more than the click marker (a disk of radius 5 px) alone
                    need = max(0.5 * state["mask_area"] * sx * sy, 400)
                    _poll(lambda: canvas.evaluate(_CHANGED) >= need, 30, "the mask overlay to be painted", interval=0.02)
                    overlay_ms = (time.perf_counter() - t_click) * 1e3
                    page.locator(".iseg-segmentation-widget").screenshot(path=str(tmp_path / "widget.png"))
                    first_state = state

                    # press the "- click" button, then click the background: stored (and drawn) as negative
                    page.locator(".iseg-segmentation-widget .widget-toggle-button", has_text="\u2212 click").first.click()
                    page.mouse.click(box["x"] + 4 * sx * box["width"] / cw, box["y"] + 4 * sy * box["height"] / ch)
                    state = _poll(
                        lambda: (s := _read_state(state_file)) and sum(e["event"] == "click" for e in s["log"]) == 2 and s,
                        30, "the negative click to reach the widget's log",
                    )
                    negative = [e for e in state["log"] if e["event"] == "click"][-1]

                    # lesson 00, run top to bottom as a student does (Run All, untouched exercise stubs)
                    lesson = _run_lesson(page, base, token, LESSON_00.name)
                except Exception as e:  # a failed wait: say where to look
                    pytest.fail(
                        f"{type(e).__name__}: {e}\nscreenshot: {screenshot}\nwidget state: {_read_state(state_file)}\n"
                        f"JupyterLab log (tail):\n{_tail(server_log)}"
                    )
                finally:
                    try:
                        page.screenshot(path=str(screenshot))
                    except Exception:  # noqa: BLE001 - best effort, for debugging a failure
                        pass
            finally:
                context.close()
    finally:
        _stop(proc)

    assert negative["positive"] is False and negative["source"] == "mouse", negative
    assert abs(negative["x"] - 4) <= 1 and abs(negative["y"] - 4) <= 1, negative
    assert lesson["widget_interactions"] == 0, "lesson 00's widget must reach the student empty after Run All"
    q1 = lesson["q1_feedback"]
    assert "q1" in q1 and 0 < len(q1.strip().splitlines()) <= 10, f"q1 feedback of the untouched stub:\n{q1}"
    assert "Trying:" not in q1 and "annotation_hours" in q1, q1
    assert lesson["errors"] == [], f"lesson 00 cells raised: {lesson['errors']}"
    state = first_state
    clicks = [e for e in state["log"] if e["event"] == "click"]
    assert len(clicks) == 1, state["log"]
    (click,) = clicks
    assert click["positive"] is True and click["source"] == "mouse"
    assert abs(click["x"] - expected_x) <= 1 and abs(click["y"] - expected_y) <= 1, (click, expected_x, expected_y)
    assert abs(click["x"] - obj_col) <= 1 and abs(click["y"] - obj_row) <= 1, (click, obj_col, obj_row)
    assert state["last_error"] is None, state["status"]
    assert state["mask_area"] > 0, "the mask did not change after the click"
    assert state["mask_at_last_click"] is True, "the clicked pixel is not in the mask"
    assert click["latency_ms"] is not None and click["latency_ms"] > 0
    print(
        f"browser: click -> overlay painted in the page {overlay_ms:.0f} ms "
        f"(kernel side {click['latency_ms']:.0f} ms, {state['segmenter']}); screenshot {screenshot}"
    )
