"""``iseg-course assign``: masters -> lessons, one (:func:`assign`) or all at once (:func:`assign_all`).

A lesson that was run or edited is never overwritten unless forced (see :mod:`.lessons`); every such
lesson is reported before anything is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from .checking import stale_lessons
from .layout import BUILD_DIR, LESSONS_DIR, SOLUTIONS_DIR
from .lessons import LessonEditedError, _refuse_message, check_overwrite, lesson_is_pristine, write_lesson
from .masters import _resolve_solution, build, list_solutions


def assign(
    solution: str | os.PathLike,
    lessons_dir: str | os.PathLike = LESSONS_DIR,
    build_dir: str | os.PathLike = BUILD_DIR,
    *,
    force: bool = False,
    run_tests: bool = True,
    fast: bool = True,
) -> Path:
    """Generate ``lessons/<name>.ipynb`` (and the autograder in ``build/<name>/``) from one master.

    Args:
        solution: ``solutions/NN_name.ipynb`` (path or name).
        lessons_dir: where the student notebook goes (same file name as the master).
        build_dir: otter's output root (not committed).
        force: replace a lesson that was run or edited, keeping a timestamped backup next to it.
        run_tests: otter executes the solution (with ``ISEG_FAST=1`` when ``fast``) and fails unless
            every test passes.

    Returns:
        The lesson path.

    Raises:
        LessonEditedError: the lesson exists, is not as generated, and ``force`` is False (checked before
            anything is built).
        OtterError, ValueError, FileNotFoundError: see :func:`build`.

    Used by iseg-course assign
    """
    sol = _resolve_solution(solution, SOLUTIONS_DIR)
    lesson = Path(lessons_dir) / sol.name
    check_overwrite(lesson, force)
    b = build(sol, build_dir, run_tests=run_tests, fast=fast)
    write_lesson(lesson, b.lesson, force=force)
    return lesson


def assign_all(
    solutions_dir: str | os.PathLike = SOLUTIONS_DIR,
    lessons_dir: str | os.PathLike = LESSONS_DIR,
    build_dir: str | os.PathLike = BUILD_DIR,
    check: bool = False,
    *,
    force: bool = False,
    run_tests: bool = True,
    fast: bool = True,
    names: Sequence[str] | None = None,
) -> list[Path]:
    """Regenerate the lessons of all masters, or (``check=True``) list the lessons that are out of date.

    Args:
        check: regenerate into a temporary folder (otter tests not run) and compare bytes with
            ``lessons_dir``; nothing is written.
        names: only these masters (stems or file names); default all ``solutions_dir/*.ipynb``.
        force, run_tests, fast: as in :func:`assign`.

    Returns:
        ``check=False``: the lesson paths written (or already up to date).
        ``check=True``: the lesson paths that are missing or differ from what regeneration produces
        (empty list = in sync).

    Raises:
        LessonEditedError: (``check=False``) some lesson is hand-edited and ``force`` is False; raised
            before anything is built, naming every such file.
        FileNotFoundError: ``solutions_dir`` has no ``*.ipynb``.

    Used by iseg-course assign / check-lessons
    """
    solutions = list_solutions(solutions_dir)
    if names:
        wanted = {Path(n).stem for n in names}
        missing = wanted - {s.stem for s in solutions}
        if missing:
            raise FileNotFoundError(f"no master notebook(s) {sorted(missing)} in {solutions_dir}")
        solutions = [s for s in solutions if s.stem in wanted]
    if not solutions:
        raise FileNotFoundError(f"no master notebooks (*.ipynb) in {solutions_dir}")
    lessons_dir = Path(lessons_dir)
    if check:
        return stale_lessons(solutions, lessons_dir, fast=fast)
    edited = [lessons_dir / s.name for s in solutions]
    edited = [p for p in edited if p.exists() and not lesson_is_pristine(p)]
    if edited and not force:
        raise LessonEditedError("\n".join(_refuse_message(p) for p in edited))
    return [assign(s, lessons_dir, build_dir, force=force, run_tests=run_tests, fast=fast) for s in solutions]
