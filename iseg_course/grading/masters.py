"""Master notebooks (``solutions/NN_name.ipynb``) and ``otter assign``: one master -> :class:`Build`.

Masters follow otter-grader's v1 assign format (https://otter-grader.readthedocs.io, "Otter Assign");
:func:`build` assigns a copy with ``generate`` forced on (the pipeline needs the autograder zip) into
``build/NN_name/`` and normalises the student notebook into the lesson's bytes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .layout import BUILD_DIR, SOLUTIONS_DIR
from .lessons import normalize_lesson
from .runner import OtterError, _run, otter_command

# options whose paths are relative to the master's folder; the pipeline assigns a copy of the master
_UNSUPPORTED_CONFIG_KEYS = ("files", "autograder_files", "student_files", "config_file")


@dataclass(frozen=True)
class Build:
    """The result of :func:`build` for one master notebook.

    Attributes:
        name: the master's file stem, e.g. ``"00_interactive_loop"``.
        solution: the master notebook (``solutions/NN_name.ipynb``).
        folder: ``build_dir / name``.
        student_notebook: otter's student notebook (before the pipeline's normalisation).
        autograder_notebook: otter's autograder notebook (solutions in, test cells out).
        autograder_zip: the autograder configuration zip for ``otter run`` / ``otter grade``.
        lesson: the normalised lesson notebook as bytes (what goes to ``lessons/NN_name.ipynb``).

    Used by iseg-course assign / check-lessons / grade
    """

    name: str
    solution: Path
    folder: Path
    student_notebook: Path
    autograder_notebook: Path
    autograder_zip: Path
    lesson: bytes


def _config_cell_index(nb: nbformat.NotebookNode) -> int | None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "raw" and re.match(r"\s*#\s*ASSIGNMENT CONFIG", cell.source, re.IGNORECASE):
            return i
    return None


def read_assignment_config(solution: str | os.PathLike) -> dict:
    """The parsed ``# ASSIGNMENT CONFIG`` YAML of a master notebook.

    Raises:
        FileNotFoundError: the notebook does not exist.
        ValueError: no ``# ASSIGNMENT CONFIG`` raw cell, or its YAML is not a mapping.

    Used by iseg-course assign / check-lessons / grade
    """
    import yaml

    solution = Path(solution)
    if not solution.is_file():
        raise FileNotFoundError(f"master notebook not found: {solution}")
    nb = nbformat.read(solution, as_version=4)
    i = _config_cell_index(nb)
    if i is None:
        raise ValueError(f"{solution}: no raw cell starting with '# ASSIGNMENT CONFIG' (otter assign format v1)")
    config = yaml.safe_load(nb.cells[i].source.split("\n", 1)[1] if "\n" in nb.cells[i].source else "") or {}
    if not isinstance(config, dict):
        raise ValueError(f"{solution}: the ASSIGNMENT CONFIG cell must hold a YAML mapping, got {config!r}")
    return config


def _prepare_master(solution: Path, dest_dir: Path) -> Path:
    """Copy the master to ``dest_dir`` (same file name) with ``generate`` switched on."""
    import yaml

    nb = nbformat.read(solution, as_version=4)
    i = _config_cell_index(nb)
    if i is None:
        raise ValueError(f"{solution}: no raw cell starting with '# ASSIGNMENT CONFIG' (otter assign format v1)")
    config = read_assignment_config(solution)
    bad = [k for k in _UNSUPPORTED_CONFIG_KEYS if config.get(k)]
    if bad:
        raise ValueError(
            f"{solution}: ASSIGNMENT CONFIG keys {bad} are not supported by the course pipeline; "
            "notebooks load data through iseg_course.data instead of shipping files"
        )
    if not isinstance(config.get("generate"), dict):
        config["generate"] = True  # the pipeline needs the autograder zip (Otter Generate, default settings)
    for key in ("requirements", "environment"):
        if isinstance(config.get(key), str):
            config[key] = str((solution.parent / config[key]).resolve())
    nb.cells[i].source = "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / solution.name
    nbformat.write(nb, dest)
    return dest


def _resolve_solution(solution: str | os.PathLike, solutions_dir: Path) -> Path:
    p = Path(solution)
    if p.suffix != ".ipynb":
        p = p.with_suffix(".ipynb")
    if not p.is_file() and not p.is_absolute():
        p = solutions_dir / p.name
    if not p.is_file():
        raise FileNotFoundError(f"master notebook not found: {p}")
    return p.resolve()


def build(
    solution: str | os.PathLike,
    build_dir: str | os.PathLike = BUILD_DIR,
    *,
    run_tests: bool = False,
    fast: bool = True,
    timeout: float | None = 1800,
) -> Build:
    """Run ``otter assign`` on one master notebook into ``build_dir/<name>/``; nothing is written to lessons/.

    Args:
        solution: path to ``solutions/NN_name.ipynb`` (or its name, looked up in ``solutions/``).
        build_dir: output root; ``<build_dir>/<name>/`` gets ``master/`` (the copy that was assigned),
            ``student/`` and ``autograder/`` (with ``<name>-autograder_<timestamp>.zip``).
        run_tests: let otter execute the solution notebook and fail unless it scores 100 %.
        fast: set ``ISEG_FAST=1`` for that execution.
        timeout: seconds for the whole ``otter assign`` run.

    Raises:
        FileNotFoundError: no such master.
        ValueError: bad ASSIGNMENT CONFIG, or a solution leaked into the student notebook.
        OtterError: otter assign failed (e.g. a solution does not pass its own tests), with otter's output.

    Used by iseg-course assign / check-lessons / grade
    """
    solution = _resolve_solution(solution, SOLUTIONS_DIR)
    name = solution.stem
    folder = Path(build_dir).resolve() / name
    master = _prepare_master(solution, folder / "master")
    cmd = [*otter_command(), "assign", "--no-pdfs"]
    if not run_tests:
        cmd.append("--no-run-tests")
    cmd += [str(master), str(folder)]
    _run(cmd, f"otter assign {solution.name}", fast, timeout)
    zips = sorted((folder / "autograder").glob(f"{name}-autograder_*.zip"))
    if len(zips) != 1:
        raise OtterError(f"expected one autograder zip in {folder / 'autograder'}, found {[z.name for z in zips]}")
    student = folder / "student" / solution.name
    lesson = normalize_lesson(student, f"{solution.parent.name}/{solution.name}")
    return Build(name, solution, folder, student, folder / "autograder" / solution.name, zips[0], lesson)


def list_solutions(solutions_dir: str | os.PathLike = SOLUTIONS_DIR) -> list[Path]:
    """Every master notebook ``solutions_dir/*.ipynb``, sorted (checkpoint folders are skipped).

    Used by iseg-course assign / check-lessons
    """
    return sorted(p for p in Path(solutions_dir).glob("*.ipynb") if p.is_file())
