"""Are the committed lessons in sync with their masters? Regenerate into a temporary folder and compare."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable

from .masters import build


def stale_lessons(solutions: Iterable[Path], lessons_dir: Path, fast: bool = True) -> list[Path]:
    """The lessons ``lessons_dir/<master's name>`` that are missing or differ from what regeneration produces.

    Each master is assigned into a temporary folder (otter tests not run); nothing is written to
    ``lessons_dir``. An empty list means in sync.

    Used by iseg-course check-lessons
    """
    stale = []
    with tempfile.TemporaryDirectory(prefix="iseg-check-") as tmp:
        for sol in solutions:
            lesson = lessons_dir / sol.name
            if not lesson.is_file():
                stale.append(lesson)  # missing: stale without building
            elif lesson.read_bytes() != build(sol, tmp, run_tests=False, fast=fast).lesson:
                stale.append(lesson)
    return stale
