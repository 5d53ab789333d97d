"""Pick the compute device: CUDA when present, else Apple MPS, else CPU (never hard-coded)."""

from __future__ import annotations


def best_device(prefer: str | None = None) -> str:
    """Return ``"cuda"``, ``"mps"`` or ``"cpu"``.

    ``prefer`` (e.g. from a notebook's ``DEVICE`` parameter) wins when it is available; ``None`` or
    ``"auto"`` picks the best available. Raises ValueError for an unknown or unavailable ``prefer``.

    Used in lesson 07.
    """
    import torch

    available = ["cpu"]
    if torch.backends.mps.is_available():
        available.insert(0, "mps")
    if torch.cuda.is_available():
        available.insert(0, "cuda")
    if prefer in (None, "", "auto"):
        return available[0]
    if prefer not in ("cuda", "mps", "cpu"):
        raise ValueError(f"unknown device {prefer!r}; expected 'auto', 'cuda', 'mps' or 'cpu'")
    if prefer not in available:
        raise ValueError(f"device {prefer!r} is not available here; available: {available}")
    return prefer
