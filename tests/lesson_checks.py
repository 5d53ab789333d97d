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


# ------------------------------------------------------------------ masters' answers against the public checks
SOLUTIONS = REPO / "solutions"


def master_path(lesson: str) -> Path:
    """``solutions/<lesson>*.ipynb`` for a lesson number such as ``"03"``."""
    matches = sorted(SOLUTIONS.glob(f"{lesson}*.ipynb"))
    if not matches:
        raise FileNotFoundError(f"no master {lesson!r} in {SOLUTIONS}")
    return matches[0]


def master_solution(lesson: str, name: str) -> str:
    """The source of the master's solution cell that defines ``name`` (solution lines included)."""
    nb = json.loads(master_path(lesson).read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and f"def {name}(" in src and "# BEGIN SOLUTION" in src:
            return src
    raise LookupError(f"no solution cell defining {name} in lesson {lesson}")


def master_answer(lesson: str, name: str, env: dict) -> dict:
    """Run the master's solution cell that defines ``name`` (``def name(`` or ``name =``) in ``env``."""
    import nbformat

    path = master_path(lesson)
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and (f"def {name}(" in cell.source or cell.source.startswith(f"{name} =")):
            exec(compile(cell.source, f"<{path.name}: {name}>", "exec"), env)  # noqa: S102 - our own master
            return env
    raise LookupError(f"no solution cell defining {name} in {path.name}")


def passes(lesson: str, question: str, env: dict) -> bool:
    """Whether every public case of ``question`` passes in ``env``."""
    return bool(public_check(lesson, question, env).passed_all)


_ENVS: dict[str, dict] = {}


def check(lesson: str, question: str, name: str, answer) -> bool:
    """Run ``question``'s public checks with ``answer`` as ``name`` (``"master"``: the master's own cell) in a
    copy of the lesson's grader-and-imports environment (built once per lesson): True when all pass."""
    if lesson not in _ENVS:
        _ENVS[lesson] = lesson_env(lesson, cells=2)
    env = dict(_ENVS[lesson])
    if isinstance(answer, str) and answer == "master":
        exec(compile(master_solution(lesson, name), f"<master {lesson} {name}>", "exec"), env)  # noqa: S102
    else:
        env[name] = answer
    return passes(lesson, question, env)


def assert_wrong_answer_fails(lesson: str, question: str, name: str, wrong) -> None:
    """``wrong`` takes the master's parameters (so a keyword call cannot fail for that reason alone) and
    fails ``question``'s public checks."""
    import inspect

    import numpy as np

    master = {"np": np}
    exec(compile(master_solution(lesson, name), "<master>", "exec"), master)  # noqa: S102
    assert list(inspect.signature(wrong).parameters) == list(inspect.signature(master[name]).parameters), \
        f"{wrong.__name__} must take the exercise's parameters (a keyword call must not fail for that reason)"
    assert not check(lesson, question, name, wrong), \
        f"lesson {lesson} {question}: the wrong answer {wrong.__name__} passes the public checks"


def check_question(lesson: str, question: str, name: str, wrong: dict, *, cells: int = 3, extra: dict | None = None):
    """The master's ``name`` passes ``question``'s public checks; every answer in ``wrong`` (label -> answer)
    fails them."""
    env = master_answer(lesson, name, lesson_env(lesson, cells=cells, extra=extra))
    assert passes(lesson, question, env), f"lesson {lesson} {question}: the master's answer fails the public checks"
    slipped = [label for label, answer in wrong.items()
               if passes(lesson, question, lesson_env(lesson, cells=cells, extra={**(extra or {}), name: answer}))]
    assert not slipped, f"lesson {lesson} {question}: the public checks let these wrong answers pass: {slipped}"
