"""Notebook helpers: ``setup()`` (seeds, device report, plot style) and the ``FAST`` switch."""

from __future__ import annotations

import os
import random

import numpy as np

DEFAULT_SEED = 0


def fast_mode() -> bool:
    """True when the environment variable ``ISEG_FAST`` is set to 1/true/yes (the test run sets it).

    Used in lessons 00, 01, 02, 03, 04, 05, 06, 07.
    """
    return os.environ.get("ISEG_FAST", "").strip().lower() in ("1", "true", "yes", "on")


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python's ``random``, NumPy and (when importable) PyTorch, for reproducible runs.

    Used by :func:`setup` and iseg_course.training (``InteractiveTrainer``).
    """
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def setup(seed: int = DEFAULT_SEED, verbose: bool = True) -> str:
    """First call of every lesson: seed everything, set the plot style, report the device.

    Returns the device name (``"cuda"``, ``"mps"`` or ``"cpu"``).

    Used in lessons 00, 01, 02, 03, 04, 05, 06, 07.
    """
    seed_everything(seed)
    import matplotlib

    matplotlib.rcParams.update({"figure.dpi": 100, "image.interpolation": "nearest", "axes.titlesize": 10})
    from .device import best_device

    device = best_device()
    if verbose:
        print(f"iseg-course: seed={seed}, device={device}, FAST={fast_mode()}")
    return device
