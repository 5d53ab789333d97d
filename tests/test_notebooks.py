"""Execute every instructor master notebook (solutions/*.ipynb) top to bottom in FAST mode.

Each notebook runs in a fresh kernel of this environment (nbclient), from a temporary working folder (as
graders do, so data must come through ``iseg_course.data``), with ``ISEG_FAST=1``. A failing cell fails the
test with the cell's number, source and traceback.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
CELL_TIMEOUT_S = 300  # per cell; FAST notebooks take well under a minute in total
NOTEBOOK_BUDGET_S = 120  # FAST mode must keep a whole notebook quick (the bar is "well under 60 s" on 2 cores)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_there_are_master_notebooks():
    assert SOLUTIONS, f"no master notebooks in {REPO / 'solutions'}"


@pytest.mark.notebook
@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_notebook_runs_in_fast_mode(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ISEG_FAST", "1")  # the kernel inherits this environment
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
    )
    t0 = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as e:
        failing = next(
            (i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and any(o.get("output_type") == "error" for o in c.get("outputs", []))),
            None,
        )
        where = f"cell {failing}" if failing is not None else "a cell"
        pytest.fail(f"{path.name}: {where} failed with ISEG_FAST=1:\n{_ANSI.sub('', str(e))}", pytrace=False)
    elapsed = time.perf_counter() - t0
    errors = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert not errors, f"{path.name}: cells {errors} produced errors"
    assert elapsed < NOTEBOOK_BUDGET_S, f"{path.name} took {elapsed:.0f} s in FAST mode (budget {NOTEBOOK_BUDGET_S} s)"
