"""Run a lesson's *public* checks against an answer, as a student's ``grader.check("qN")`` does.

The student lessons in ``lessons/`` carry only the public test cases (otter strips the hidden ones), so
checking against them is exactly what a student sees. Used by the tests that feed each exercise a
plausible-but-wrong answer and assert that the public checks catch it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LESSONS = REPO / "lessons"


def lesson_path(lesson: str) -> Path:
    """``lessons/<lesson>.ipynb`` for a name such as ``"00_interactive_loop"`` (or its number ``"00"``)."""
    matches = sorted(LESSONS.glob(f"{lesson}*.ipynb"))
    if not matches:
        raise FileNotFoundError(f"no lesson {lesson!r} in {LESSONS}")
    return matches[0]


def code_cells(lesson: str) -> list[str]:
    """The sources of the lesson's code cells, in order."""
    nb = json.loads(lesson_path(lesson).read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def lesson_env(lesson: str, *, cells: int = 3, extra: dict | None = None) -> dict:
    """A namespace with the lesson's first ``cells`` code cells run (grader, imports, parameters) in FAST
    mode, plus ``extra`` (e.g. a wrong answer under the exercise's name)."""
    os.environ.setdefault("ISEG_FAST", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    env: dict = {"__name__": "__lesson__"}
    cwd = os.getcwd()
    os.chdir(LESSONS)  # the grader cell opens the lesson by its file name
    try:
        for src in code_cells(lesson)[:cells]:
            exec(compile(src, f"<{lesson}>", "exec"), env)  # noqa: S102 - our own lesson cells
    finally:
        os.chdir(cwd)
    env.update(extra or {})
    return env


def public_check(lesson: str, question: str, env: dict):
    """otter's result of ``question``'s public cases run in ``env`` (``.passed_all``, ``.test_case_results``)."""
    from iseg_course.grading.feedback import Notebook

    cwd = os.getcwd()
    os.chdir(LESSONS)
    try:
        return Notebook(lesson_path(lesson).name).check(question, global_env=env, verbose=True)
    finally:
        os.chdir(cwd)
