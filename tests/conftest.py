"""Shared pytest fixtures."""

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
