"""Shared pytest fixtures."""

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def torch_one_thread():
    """One PyTorch intra-op thread for a module of tiny-tensor tests: much faster than several on a shared
    CPU, where the threads wait on each other (and kinder to whatever else runs)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# The notebooks in tests/ (browser_widget.ipynb) are data for test_browser.py, not tests of their own, also
# under ``pytest --nbval-lax``.
collect_ignore_glob = ["*.ipynb"]


def pytest_collect_file(file_path, parent):
    """With ``tests/test_notebooks.py``, collect the master notebooks ``solutions/*.ipynb`` cell by cell through
    nbval (``test_notebooks.SolutionNotebooks``): the suite runs every master once, in FAST mode."""
    if file_path.name == "test_notebooks.py" and file_path.parent == Path(__file__).parent:
        from test_notebooks import REPO, SolutionNotebooks

        return SolutionNotebooks.from_parent(parent, path=file_path, name="solutions",
                                             nodeid=f"{file_path.relative_to(REPO).as_posix()}::solutions")
    return None
