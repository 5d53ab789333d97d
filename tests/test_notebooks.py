"""Execute every instructor master notebook (solutions/*.ipynb) top to bottom in FAST mode, with nbval.

``tests/conftest.py`` makes pytest collect, next to this module, the masters through nbval's collector
(``nbval.plugin.IPyNbFile``, what ``pytest --nbval-lax solutions/`` uses): one test per code cell, named
``solutions/NN_name.ipynb::Cell I`` with ``I`` the cell's index in the notebook, and one
``solutions/NN_name.ipynb::time budget`` test after the last cell. ``pytest tests/test_notebooks.py -k NN_name``
runs one master. As with ``--nbval-lax``, outputs are not compared (masters are committed without outputs).

What the subclasses below add to plain nbval, which the course's earlier nbclient runner did:

* the kernel (of this environment) runs in a fresh temporary folder, not in ``solutions/`` (nbval always
  starts it in the notebook's folder), as graders do: data must come through ``iseg_course.data``;
* it starts with ``ISEG_FAST=1`` and ``MPLBACKEND=Agg``, whatever the calling shell set;
* a notebook stops at its first failing cell: the later cells are skipped, not run into NameErrors;
* the whole notebook, kernel start included, must finish within ``NOTEBOOK_BUDGET_S``;
* the master's bytes must be the same after the run (nbval only reads it).

The per-cell timeout is nbval's ``--nbval-cell-timeout`` (set in ``pyproject.toml``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, RunningKernel
from nbval.plugin import IPyNbCell, IPyNbFile

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
NOTEBOOK_BUDGET_S = 120  # FAST mode must keep a whole notebook quick (the bar is "well under 60 s" on 2 cores)
KERNEL_ENV = {"ISEG_FAST": "1", "MPLBACKEND": "Agg"}


def test_there_are_master_notebooks():
    assert SOLUTIONS, f"no master notebooks in {REPO / 'solutions'}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class MasterCell(IPyNbCell):
    """One code cell, run by nbval; skipped once an earlier cell of the same notebook has failed."""

    def runtest(self):
        if self.parent.failed_cell is not None:
            pytest.skip(f"cell {self.parent.failed_cell} of {self.path.name} failed")
        try:
            super().runtest()
        except Exception:
            self.parent.failed_cell = self.cell_num
            raise


class TimeBudget(pytest.Item):
    """After the last cell: the notebook ran within the budget and was not rewritten."""

    def runtest(self):
        nb: MasterNotebook = self.parent
        assert _sha256(nb.path) == nb.sha256, f"{nb.path.name} was modified while it ran"
        if nb.failed_cell is not None:
            pytest.skip(f"cell {nb.failed_cell} failed")
        elapsed = time.perf_counter() - nb.t0
        assert elapsed < NOTEBOOK_BUDGET_S, \
            f"{nb.path.name} took {elapsed:.0f} s in FAST mode (budget {NOTEBOOK_BUDGET_S} s)"

    def reportinfo(self):
        return self.path, None, f"{self.path.name}: time budget"


class MasterNotebook(IPyNbFile):
    """nbval's collector for one master notebook, run from a temporary folder (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compare_outputs = False  # --nbval-lax: run the cells, do not compare outputs
        self.failed_cell: int | None = None
        self.sha256 = _sha256(self.path)
        self.add_marker(pytest.mark.notebook)

    def setup(self):
        self.workdir = tempfile.mkdtemp(prefix=f"iseg-{self.path.stem}-")
        self.t0 = time.perf_counter()
        saved = {k: os.environ.get(k) for k in KERNEL_ENV}
        os.environ.update(KERNEL_ENV)  # the kernel process copies this environment when it starts
        try:
            self.kernel = RunningKernel(CURRENT_ENV_KERNEL_NAME, cwd=self.workdir,
                                        startup_timeout=self.config.option.nbval_kernel_startup_timeout)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.setup_sanitize_files()

    def teardown(self):
        super().teardown()
        shutil.rmtree(getattr(self, "workdir", ""), ignore_errors=True)

    def collect(self):
        index = None
        for item in super().collect():  # nbval's items, numbered by code cell; ours by notebook cell
            if index is None:
                index = [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code"]
            i = index[item.cell_num]
            yield MasterCell.from_parent(self, name=f"Cell {i}", cell_num=i, cell=item.cell, options=item.options)
        yield TimeBudget.from_parent(self, name="time budget")


class SolutionNotebooks(pytest.File):
    """The masters, collected with this module (``tests/conftest.py``): one :class:`MasterNotebook` per
    ``solutions/*.ipynb``."""

    def collect(self):
        for path in SOLUTIONS:
            yield MasterNotebook.from_parent(self, path=path)
