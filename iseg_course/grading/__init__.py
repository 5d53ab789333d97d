"""The otter-grader pipeline: master notebooks in ``solutions/`` -> student lessons in ``lessons/`` -> scores.

* :func:`assign` runs ``otter assign`` on one master (``solutions/NN_name.ipynb``) into ``build/NN_name/``
  (``student/``, ``autograder/`` with the autograder zip; ``build/`` is not committed) and writes the
  student notebook to ``lessons/NN_name.ipynb``: outputs stripped, cell ids renumbered, volatile metadata
  dropped, so the same master always gives the same bytes. The lesson records a SHA-256 of its own content
  in ``metadata["iseg_course"]["generated_sha256"]``; a lesson whose content no longer matches that record
  (a student ran or edited it) is never overwritten unless ``force=True``, and then a timestamped backup
  is kept next to it.
* :func:`assign_all` does every ``solutions/*.ipynb``; with ``check=True`` it regenerates into a temporary
  folder and only reports lessons that are out of date (the test suite uses this).
* :func:`grade` grades a folder of submitted notebooks with ``otter run`` (no container; the current
  environment must have the course installed) and writes a CSV score table. ``otter grade`` does the
  same in Docker containers (see ``solutions/README.md``).

Command line (also ``iseg-course assign | check-lessons | grade``)::

    python -m iseg_course.grading assign [NAME ...] [--force] [--no-run-tests] [--full]
    python -m iseg_course.grading check
    python -m iseg_course.grading grade SUBMISSIONS_DIR NAME_OR_AUTOGRADER_ZIP [-o grades.csv]

Modules: :mod:`.layout` (folders, the lesson record), :mod:`.runner` (the ``otter`` command and its
subprocess), :mod:`.masters` (ASSIGNMENT CONFIG, ``otter assign`` -> :class:`Build`), :mod:`.lessons`
(normalised lesson bytes, pristine check, safe writing), :mod:`.checking` (lessons in sync),
:mod:`.assigning` (``assign``), :mod:`.scores` (``grade``), :mod:`.cli` (the command line).
Everything is importable from ``iseg_course.grading`` itself.

Masters follow otter-grader's v1 assign format (https://otter-grader.readthedocs.io, "Otter Assign");
the pipeline forces ``generate`` on (it needs the autograder zip) whatever the master says.
"""

from __future__ import annotations

from .assigning import assign, assign_all
from .checking import stale_lessons
from .cli import main
from .layout import BUILD_DIR, LESSONS_DIR, METADATA_KEY, REGENERATE, REGENERATE_COMMAND, REPO, SOLUTIONS_DIR
from .lessons import _BACKUP_INFIX  # noqa: F401 - tests/test_grading.py reads it here
from .lessons import (
    LessonEditedError, backup_path, check_overwrite, lesson_is_pristine, normalize_lesson, write_lesson,
)
from .masters import Build, build, list_solutions, read_assignment_config
from .runner import OtterError, otter_command
from .scores import find_autograder, grade, run_autograder

__all__ = [
    "BUILD_DIR", "LESSONS_DIR", "METADATA_KEY", "REGENERATE", "REGENERATE_COMMAND", "REPO", "SOLUTIONS_DIR",
    "Build", "LessonEditedError", "OtterError",
    "assign", "assign_all", "backup_path", "build", "check_overwrite", "find_autograder", "grade",
    "lesson_is_pristine", "list_solutions", "main", "normalize_lesson", "otter_command", "read_assignment_config",
    "run_autograder", "stale_lessons", "write_lesson",
]
