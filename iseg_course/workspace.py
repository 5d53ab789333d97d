"""A student's working copy of the lessons: ``my-lessons/``, made from ``lessons/`` and never overwritten.

JupyterLab saves outputs and answers into the notebook it has open. Opened in ``lessons/`` (tracked by git),
that would turn the student's work into local changes that conflict with the next ``git pull`` of the
course. ``iseg-course course`` therefore opens a git-ignored working copy instead:

* on the first run every lesson is copied to ``my-lessons/``;
* a lesson added to the course later is copied when it first appears;
* when the course ships a newer version of a lesson the student has not touched, the copy is refreshed;
* when the course ships a newer version of a lesson the student already worked in, the new version is written
  *beside* the student's file (``07_cats_click_model.new-3fa2c1.ipynb``) and the command says so; the
  student's own file is never replaced.

What was copied is remembered in ``my-lessons/.iseg-lessons.json`` (lesson name -> SHA-256 of the version
copied), so a lesson is only reported as new once per version.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["WORKSPACE_DIR", "SyncReport", "sync_working_copy"]

#: The working copy's folder name, next to ``lessons/`` (listed in ``.gitignore``).
WORKSPACE_DIR = "my-lessons"
_STATE = ".iseg-lessons.json"


@dataclass
class SyncReport:
    """What :func:`sync_working_copy` did: lessons copied, newer versions written beside, lessons kept."""

    folder: Path
    copied: list[str] = field(default_factory=list)
    updated: list[tuple[str, str]] = field(default_factory=list)  # (student's file, new version beside it)
    kept: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable lines for the terminal."""
        out = [f"your working copy of the lessons: {self.folder}"]
        if self.copied:
            out.append(f"  copied {len(self.copied)} lesson(s): {', '.join(self.copied)}")
        for mine, new in self.updated:
            out.append(f"  a newer version of {mine} is in {new} (your {mine} is unchanged)")
        return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sync_working_copy(lessons: str | os.PathLike, folder: str | os.PathLike) -> SyncReport:
    """Create or update the working copy ``folder`` from the lessons in ``lessons`` (``*.ipynb``).

    Never overwrites or deletes a file in ``folder``: see the module docstring.

    Raises:
        FileNotFoundError: ``lessons`` is not a folder.

    Used by ``iseg-course course`` (scripts/run-course.sh).
    """
    lessons, folder = Path(lessons), Path(folder)
    if not lessons.is_dir():
        raise FileNotFoundError(f"lessons folder not found: {lessons}")
    folder.mkdir(parents=True, exist_ok=True)
    state_path = folder / _STATE
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    report = SyncReport(folder=folder)
    for src in sorted(lessons.glob("*.ipynb")):
        digest = _sha256(src)
        mine = folder / src.name
        if not mine.exists():
            shutil.copyfile(src, mine)
            report.copied.append(src.name)
        elif state.get(src.name) == digest or _sha256(mine) == digest:
            report.kept.append(src.name)
        elif state.get(src.name) == _sha256(mine):  # untouched since it was copied: nothing of the student's
            shutil.copyfile(src, mine)
            report.copied.append(src.name)
        else:  # the course changed this lesson since the student's copy was made
            new = folder / f"{src.stem}.new-{digest[:6]}{src.suffix}"
            if not new.exists():
                shutil.copyfile(src, new)
            report.updated.append((src.name, new.name))
        state[src.name] = digest
    state_path.write_text(json.dumps(state, indent=1, sort_keys=True))
    return report
