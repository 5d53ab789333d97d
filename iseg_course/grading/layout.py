"""Where the grading pipeline reads and writes, and the record it leaves in every lesson.

The folders hang off the one repository root of :mod:`iseg_course.data`; ``build/`` is not committed.
"""

from __future__ import annotations

from ..data import REPO_ROOT as REPO

SOLUTIONS_DIR = REPO / "solutions"
LESSONS_DIR = REPO / "lessons"
BUILD_DIR = REPO / "build"

#: notebook-level metadata key holding the pipeline's record (``generated_sha256``, ``generated_from``)
METADATA_KEY = "iseg_course"
#: the command that regenerates ``lessons/`` (recorded in every lesson, shown in errors and test failures)
REGENERATE = "iseg-course assign"
REGENERATE_COMMAND = f"{REGENERATE}   (or: .venv/bin/python -m iseg_course.grading assign)"

# the kernel every lesson names and every graded submission is run with
_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
