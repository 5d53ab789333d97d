"""Student lessons: otter's student notebook -> the committed ``lessons/NN_name.ipynb``.

:func:`normalize_lesson` makes the bytes deterministic and records a SHA-256 of the lesson's own content;
:func:`lesson_is_pristine` compares a lesson with that record; :func:`write_lesson` never overwrites a
lesson that was run or edited unless forced, and then keeps a timestamped backup next to it.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import nbformat

from .layout import _KERNELSPEC, METADATA_KEY, REGENERATE

# notebook / cell metadata kept in a lesson; everything else (language_info with the author's Python
# version, widget state, execution timings, ...) is volatile and dropped
_KEEP_NB_METADATA = ("kernelspec", "otter")
_KEEP_CELL_METADATA = ("tags", "editable", "deletable", "otter", "jupyter")
# otter's solution markers: "# BEGIN SOLUTION" / "# END SOLUTION" lines, a trailing "# SOLUTION"
_SOLUTION_MARKER = re.compile(r"#\s*(BEGIN|END)\s+SOLUTION\b|#\s*SOLUTION\s*$", re.MULTILINE)
_BACKUP_INFIX = ".backup-"


class LessonEditedError(FileExistsError):
    """A lesson would be overwritten although it holds work that regeneration did not produce.

    Used by iseg-course assign
    """


def _content_sha256(nb: nbformat.NotebookNode) -> str:
    """SHA-256 of a notebook's canonical JSON without the pipeline's own metadata record."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop(METADATA_KEY, None)
    text = json.dumps(nb, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _leaked_solution(nb: nbformat.NotebookNode) -> int | None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and _SOLUTION_MARKER.search(cell.source):
            return i
    return None


def normalize_lesson(student_notebook: str | os.PathLike | nbformat.NotebookNode, generated_from: str) -> bytes:
    """Turn otter's student notebook into the committed lesson: deterministic bytes.

    ``student_notebook`` is otter's ``student/NN_name.ipynb`` (a path) or an already loaded notebook.
    Outputs and execution counts are cleared, cell ids become ``cell-000``, ``cell-001``, ..., only
    stable metadata is kept (kernelspec, otter's public tests; per cell: tags, editable, deletable),
    and ``metadata["iseg_course"]`` records ``generated_from`` and ``generated_sha256``.

    Raises:
        ValueError: if a solution marker (``# BEGIN SOLUTION`` ...) survived into a student cell, which
            happens when a solution cell is not inside a ``# BEGIN SOLUTION`` / ``# END SOLUTION`` raw-cell
            block of its question.

    Used by iseg-course assign / check-lessons
    """
    if isinstance(student_notebook, nbformat.NotebookNode):
        nb = copy.deepcopy(student_notebook)
    else:
        nb = nbformat.read(student_notebook, as_version=4)
    leaked = _leaked_solution(nb)
    if leaked is not None:
        raise ValueError(
            f"{generated_from}: the student notebook still contains a solution (cell {leaked}):\n"
            f"{nb.cells[leaked].source[:300]}\n"
            "Otter only strips solutions from cells inside a solution block: put the solution code cell "
            "between two raw cells '# BEGIN SOLUTION' and '# END SOLUTION' within its question."
        )
    nb.nbformat, nb.nbformat_minor = 4, 5
    meta = {k: copy.deepcopy(nb.metadata[k]) for k in _KEEP_NB_METADATA if k in nb.metadata}
    meta["kernelspec"] = dict(_KERNELSPEC)
    nb.metadata = nbformat.from_dict(meta)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"
        cell.metadata = nbformat.from_dict({k: cell.metadata[k] for k in _KEEP_CELL_METADATA if k in cell.metadata})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    # round-trip once so the fingerprint is taken of exactly what a reader gets back
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    nb.metadata[METADATA_KEY] = {
        "generated_from": generated_from,
        "generated_sha256": _content_sha256(nb),
        "regenerate_with": REGENERATE,
    }
    text = nbformat.writes(nb)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def lesson_is_pristine(lesson: str | os.PathLike) -> bool:
    """True if ``lesson`` is exactly as the pipeline generated it (any version), False otherwise.

    A lesson is pristine when its content matches the SHA-256 recorded in its own
    ``metadata["iseg_course"]["generated_sha256"]``. Outputs, edited cells, a missing record or an
    unreadable file all make it not pristine.

    Used by iseg-course assign
    """
    try:
        nb = nbformat.read(Path(lesson), as_version=4)
    except Exception:
        return False
    recorded = nb.metadata.get(METADATA_KEY, {}).get("generated_sha256")
    return isinstance(recorded, str) and recorded == _content_sha256(nb)


def backup_path(lesson: Path, now: _dt.datetime | None = None) -> Path:
    """``lessons/NN_name.backup-YYYYmmdd-HHMMSS.ipynb`` next to ``lesson`` (a new name, never overwrites).

    Used by iseg-course assign --force
    """
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = lesson.with_name(f"{lesson.stem}{_BACKUP_INFIX}{stamp}{lesson.suffix}")
    n = 1
    while path.exists():
        path = lesson.with_name(f"{lesson.stem}{_BACKUP_INFIX}{stamp}-{n}{lesson.suffix}")
        n += 1
    return path


def _refuse_message(lesson: Path) -> str:
    return (
        f"refusing to overwrite {lesson}: it differs from the generated version (it was run, edited or was "
        f"not produced by the pipeline). Save your work under another name, or regenerate with --force "
        f"(force=True), which keeps a timestamped backup copy next to it."
    )


def check_overwrite(lesson: Path, force: bool = False) -> None:
    """Raise :class:`LessonEditedError` if ``lesson`` exists, is not pristine and ``force`` is False.

    Used by iseg-course assign
    """
    if lesson.exists() and not force and not lesson_is_pristine(lesson):
        raise LessonEditedError(_refuse_message(lesson))


def write_lesson(lesson: str | os.PathLike, content: bytes, force: bool = False) -> str:
    """Write a generated lesson without ever losing a student's work.

    Returns ``"unchanged"`` (same bytes already there), ``"created"``, ``"updated"`` (replaced a
    pristine earlier version) or ``"replaced"`` (``force=True`` replaced a hand-edited file; its backup
    is ``lessons/NN_name.backup-<timestamp>.ipynb``).

    Raises:
        LessonEditedError: the existing file is not pristine (see :func:`lesson_is_pristine`) and
            ``force`` is False; the error names the file.

    Used by iseg-course assign
    """
    lesson = Path(lesson)
    if lesson.exists():
        if lesson.read_bytes() == content:
            return "unchanged"
        if lesson_is_pristine(lesson):
            status = "updated"
        elif force:
            shutil.copy2(lesson, backup_path(lesson))
            status = "replaced"
        else:
            raise LessonEditedError(_refuse_message(lesson))
    else:
        status = "created"
    lesson.parent.mkdir(parents=True, exist_ok=True)
    tmp = lesson.with_name(f".{lesson.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, lesson)
    return status
