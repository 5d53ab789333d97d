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

Masters follow otter-grader's v1 assign format (https://otter-grader.readthedocs.io, "Otter Assign");
the pipeline forces ``generate`` on (it needs the autograder zip) whatever the master says.
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import nbformat

from .data import REPO_ROOT as REPO  # noqa: E402
SOLUTIONS_DIR = REPO / "solutions"
LESSONS_DIR = REPO / "lessons"
BUILD_DIR = REPO / "build"

#: notebook-level metadata key holding the pipeline's record (``generated_sha256``, ``generated_from``)
METADATA_KEY = "iseg_course"
#: the command that regenerates ``lessons/`` (recorded in every lesson, shown in errors and test failures)
REGENERATE = "iseg-course assign"
REGENERATE_COMMAND = f"{REGENERATE}   (or: .venv/bin/python -m iseg_course.grading assign)"

# notebook / cell metadata kept in a lesson; everything else (language_info with the author's Python
# version, widget state, execution timings, ...) is volatile and dropped
_KEEP_NB_METADATA = ("kernelspec", "otter")
_KEEP_CELL_METADATA = ("tags", "editable", "deletable", "otter", "jupyter")
_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# options whose paths are relative to the master's folder; the pipeline assigns a copy of the master
_UNSUPPORTED_CONFIG_KEYS = ("files", "autograder_files", "student_files", "config_file")
# otter's solution markers: "# BEGIN SOLUTION" / "# END SOLUTION" lines, a trailing "# SOLUTION"
_SOLUTION_MARKER = re.compile(r"#\s*(BEGIN|END)\s+SOLUTION\b|#\s*SOLUTION\s*$", re.MULTILINE)
_BACKUP_INFIX = ".backup-"


class LessonEditedError(FileExistsError):
    """A lesson would be overwritten although it holds work that regeneration did not produce."""


class OtterError(RuntimeError):
    """``otter assign`` or ``otter run`` failed; the message ends with otter's output.

    Attributes:
        reason: the last line otter printed (usually the exception), for one-line reports.
    """

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        self.reason = lines[-1] if lines else message.splitlines()[0]


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
    """

    name: str
    solution: Path
    folder: Path
    student_notebook: Path
    autograder_notebook: Path
    autograder_zip: Path
    lesson: bytes


# ---------------------------------------------------------------------------------------------------------
# otter invocation
# ---------------------------------------------------------------------------------------------------------


def otter_command() -> list[str]:
    """The ``otter`` command of the running interpreter's environment: ``[sys.executable, "-m", "otter"]``.

    Raises:
        RuntimeError: if otter-grader is not installed in this environment.
    """
    import importlib.util

    if importlib.util.find_spec("otter") is None:
        raise RuntimeError(
            f"otter-grader is not installed for {sys.executable}; install the course with "
            "`pip install -e .` (it depends on otter-grader)"
        )
    return [sys.executable, "-m", "otter"]


def _env(fast: bool) -> dict[str, str]:
    env = dict(os.environ)
    if fast:
        env["ISEG_FAST"] = "1"
    env.setdefault("MPLBACKEND", "Agg")
    # the kernel otter starts must import this checkout's iseg_course even from a temporary folder
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def _run(cmd: list[str], what: str, fast: bool, timeout: float | None, cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=_env(fast), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        raise OtterError(f"{what} timed out after {timeout} s\n--- otter output (last lines) ---\n{out[-4000:]}",
                         f"timed out after {timeout} s") from e
    if proc.returncode != 0:
        raise OtterError(
            f"{what} failed (exit status {proc.returncode}): {' '.join(cmd)}\n"
            f"--- otter output (last lines) ---\n{proc.stdout[-6000:]}",
            proc.stdout,
        )
    return proc.stdout


# ---------------------------------------------------------------------------------------------------------
# master notebooks
# ---------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------
# lessons: normalisation, fingerprint, safe writing
# ---------------------------------------------------------------------------------------------------------


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
    """
    try:
        nb = nbformat.read(Path(lesson), as_version=4)
    except Exception:
        return False
    recorded = nb.metadata.get(METADATA_KEY, {}).get("generated_sha256")
    return isinstance(recorded, str) and recorded == _content_sha256(nb)


def backup_path(lesson: Path, now: _dt.datetime | None = None) -> Path:
    """``lessons/NN_name.backup-YYYYmmdd-HHMMSS.ipynb`` next to ``lesson`` (a new name, never overwrites)."""
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
    """Raise :class:`LessonEditedError` if ``lesson`` exists, is not pristine and ``force`` is False."""
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


# ---------------------------------------------------------------------------------------------------------
# assign
# ---------------------------------------------------------------------------------------------------------


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
    """
    sol = _resolve_solution(solution, SOLUTIONS_DIR)
    lesson = Path(lessons_dir) / sol.name
    check_overwrite(lesson, force)
    b = build(sol, build_dir, run_tests=run_tests, fast=fast)
    write_lesson(lesson, b.lesson, force=force)
    return lesson


def list_solutions(solutions_dir: str | os.PathLike = SOLUTIONS_DIR) -> list[Path]:
    """Every master notebook ``solutions_dir/*.ipynb``, sorted (checkpoint folders are skipped)."""
    return sorted(p for p in Path(solutions_dir).glob("*.ipynb") if p.is_file())


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
        stale = []
        with tempfile.TemporaryDirectory(prefix="iseg-check-") as tmp:
            for sol in solutions:
                lesson = lessons_dir / sol.name
                if not lesson.is_file():
                    stale.append(lesson)  # missing: stale without building
                elif lesson.read_bytes() != build(sol, tmp, run_tests=False, fast=fast).lesson:
                    stale.append(lesson)
        return stale
    edited = [lessons_dir / s.name for s in solutions]
    edited = [p for p in edited if p.exists() and not lesson_is_pristine(p)]
    if edited and not force:
        raise LessonEditedError("\n".join(_refuse_message(p) for p in edited))
    return [assign(s, lessons_dir, build_dir, force=force, run_tests=run_tests, fast=fast) for s in solutions]


# ---------------------------------------------------------------------------------------------------------
# grading
# ---------------------------------------------------------------------------------------------------------


def find_autograder(
    name_or_zip: str | os.PathLike,
    build_dir: str | os.PathLike = BUILD_DIR,
    solutions_dir: str | os.PathLike = SOLUTIONS_DIR,
) -> Path:
    """The autograder zip: ``name_or_zip`` itself if it is a ``.zip`` file, else the one in
    ``build_dir/<name>/autograder/``, building it from ``solutions_dir/<name>.ipynb`` when missing.

    Raises:
        FileNotFoundError: neither a zip file nor a known master notebook.
    """
    p = Path(name_or_zip)
    if p.suffix == ".zip":
        if not p.is_file():
            raise FileNotFoundError(f"autograder zip not found: {p}")
        return p.resolve()
    name = p.stem
    zips = sorted((Path(build_dir) / name / "autograder").glob(f"{name}-autograder_*.zip"))
    if zips:
        return zips[-1].resolve()
    return build(_resolve_solution(name, Path(solutions_dir)), build_dir, run_tests=False).autograder_zip


def run_autograder(
    submission: str | os.PathLike,
    autograder_zip: str | os.PathLike,
    *,
    fast: bool = True,
    timeout: float | None = 1800,
) -> dict[str, dict[str, float]]:
    """Grade one submission (``.ipynb`` or otter's export ``.zip``) with ``otter run`` (no container).

    The notebook is executed from a temporary folder by this environment's ``python3`` kernel (its
    kernelspec is reset to that; the course package must be installed), with ``ISEG_FAST=1`` when ``fast``.

    Returns:
        ``{question: {"score": float, "max_score": float}}`` for every graded question (public and
        hidden tests together).

    Raises:
        FileNotFoundError: missing submission or zip.
        OtterError: the notebook is unreadable or otter run failed (e.g. it belongs to another assignment).
    """
    submission, autograder_zip = Path(submission), Path(autograder_zip)
    for p in (submission, autograder_zip):
        if not p.is_file():
            raise FileNotFoundError(f"file not found: {p}")
    with tempfile.TemporaryDirectory(prefix="iseg-grade-") as out:
        target = submission.resolve()
        if submission.suffix == ".ipynb":
            # run every notebook with this environment's "python3" kernel, whatever kernel the student used
            try:
                nb = nbformat.read(submission, as_version=4)
            except Exception as e:
                raise OtterError(f"cannot read notebook {submission}: {e}", f"unreadable notebook: {e}") from e
            nb.metadata["kernelspec"] = dict(_KERNELSPEC)
            (Path(out) / "submission").mkdir()
            target = Path(out) / "submission" / submission.name
            nbformat.write(nb, target)
        cmd = [*otter_command(), "run", "-a", str(autograder_zip.resolve()), "-o", out, "--no-logo", str(target)]
        log = _run(cmd, f"otter run {submission.name}", fast, timeout, cwd=Path(out))
        results_file = Path(out) / "results.json"
        if not results_file.is_file():
            raise OtterError(f"otter run wrote no results.json for {submission}\n{log[-4000:]}")
        results = json.loads(results_file.read_text())
    scores = {}
    for t in results.get("tests", []):
        if "score" in t and "max_score" in t and t.get("name") != "Public Tests":
            scores[t["name"]] = {"score": float(t["score"]), "max_score": float(t["max_score"])}
    return scores


def _natural_key(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def grade(
    submissions_dir: str | os.PathLike,
    autograder: str | os.PathLike,
    output_csv: str | os.PathLike = "grades.csv",
    *,
    build_dir: str | os.PathLike = BUILD_DIR,
    fast: bool = True,
    timeout: float | None = 1800,
    jobs: int = 1,
) -> list[dict]:
    """Grade every ``*.ipynb`` / ``*.zip`` in ``submissions_dir`` with ``otter run``; write a CSV table.

    Args:
        submissions_dir: folder of submitted notebooks (or otter export zips).
        autograder: a master's name (``"00_interactive_loop"``, built into ``build_dir`` if needed) or
            the path of an autograder zip.
        output_csv: the score table: one row per submission with columns ``submission``, one per
            question (points), ``total``, ``possible``, ``percent`` and ``error`` (why a submission
            could not be graded; its scores are then empty).
        fast: execute submissions with ``ISEG_FAST=1``.
        timeout: seconds allowed per submission.
        jobs: submissions graded at the same time (each one is an ``otter run`` process plus a kernel).

    Returns:
        The rows as dicts, in file-name order.

    Raises:
        FileNotFoundError: no such folder, no submissions in it, or no such autograder.
    """
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {submissions_dir}")
    zip_path = find_autograder(autograder, build_dir)
    subs = sorted((p for p in submissions_dir.iterdir() if p.suffix in (".ipynb", ".zip") and p.is_file()
                   and p.resolve() != zip_path), key=lambda p: _natural_key(p.name))
    if not subs:
        raise FileNotFoundError(f"no submissions (*.ipynb or *.zip) in {submissions_dir}")
    if int(jobs) < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")

    def one(sub: Path) -> dict:
        row: dict = {"submission": sub.name, "error": ""}
        try:
            scores = run_autograder(sub, zip_path, fast=fast, timeout=timeout)
            for q, s in scores.items():
                row[q] = s["score"]
            row["total"] = sum(s["score"] for s in scores.values())
            row["possible"] = sum(s["max_score"] for s in scores.values())
            row["percent"] = round(100.0 * row["total"] / row["possible"], 2) if row["possible"] else 0.0
        except OtterError as e:
            row["error"] = e.reason
        print(f"{sub.name}: {row.get('total', '-')} / {row.get('possible', '-')} {row['error']}", flush=True)
        return row

    if jobs == 1 or len(subs) == 1:
        rows = [one(sub) for sub in subs]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(int(jobs), len(subs))) as pool:
            rows = list(pool.map(one, subs))  # map keeps the file-name order
    fixed = {"submission", "total", "possible", "percent", "error"}
    questions = {k for row in rows for k in row if k not in fixed}
    columns = ["submission", *sorted(questions, key=_natural_key), "total", "possible", "percent", "error"]
    output_csv = Path(output_csv)
    output_csv.parent.mkdir(parents=True, exist_ok=True)
    with open(output_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, restval="")
        w.writeheader()
        w.writerows(rows)
    return rows


# ---------------------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m iseg_course.grading", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def dirs(sp, build=True):
        sp.add_argument("--solutions", default=str(SOLUTIONS_DIR), help="folder of master notebooks")
        sp.add_argument("--lessons", default=str(LESSONS_DIR), help="folder of student notebooks")
        if build:
            sp.add_argument("--build", default=str(BUILD_DIR), help="otter output folder (not committed)")

    a = sub.add_parser("assign", help="regenerate lessons/ (and build/<name>/autograder/*.zip) from solutions/")
    a.add_argument("names", nargs="*", help="master names (default: all solutions/*.ipynb)")
    dirs(a)
    a.add_argument("--force", action="store_true", help="replace edited lessons (a timestamped backup is kept)")
    a.add_argument("--no-run-tests", action="store_true", help="do not execute the solutions against their tests")
    a.add_argument("--full", action="store_true", help="run the solutions without ISEG_FAST=1")
    c = sub.add_parser("check", help="list lessons that are out of date with solutions/ (exit 1 if any)")
    dirs(c, build=False)
    g = sub.add_parser("grade", help="grade a folder of submissions with otter run into a CSV score table")
    g.add_argument("submissions", help="folder of submitted .ipynb (or otter export .zip) files")
    g.add_argument("autograder", help="master name (e.g. 00_interactive_loop) or autograder zip")
    g.add_argument("-o", "--output", default="grades.csv", help="CSV score table (default grades.csv)")
    g.add_argument("--build", default=str(BUILD_DIR))
    g.add_argument("--full", action="store_true", help="execute submissions without ISEG_FAST=1")
    g.add_argument("-j", "--jobs", type=int, default=1, help="submissions graded in parallel (default 1)")
    return p


def main(argv: Iterable[str] | None = None) -> int:
    """Entry point of ``python -m iseg_course.grading`` (and ``iseg-course assign|check-lessons|grade``).

    Exit status: 0 success; 1 out-of-date lessons (check) or an otter failure; 2 a lesson was edited and
    would be overwritten (use ``--force``).
    """
    args = _parser().parse_args(None if argv is None else list(argv))
    try:
        if args.command == "assign":
            paths = assign_all(args.solutions, args.lessons, args.build, force=args.force,
                               run_tests=not args.no_run_tests, fast=not args.full, names=args.names or None)
            for p in paths:
                print(f"lesson generated (in sync with its master): {p}")
            return 0
        if args.command == "check":
            stale = assign_all(args.solutions, args.lessons, check=True)
            if stale:
                print("out of date with solutions/:\n  " + "\n  ".join(map(str, stale)))
                print(f"regenerate with: {REGENERATE_COMMAND}")
                return 1
            print("lessons/ is in sync with solutions/")
            return 0
        if args.command == "grade":
            rows = grade(args.submissions, args.autograder, args.output, build_dir=args.build, fast=not args.full,
                         jobs=args.jobs)
            print(f"wrote {args.output} ({len(rows)} submissions)")
            return 0
    except LessonEditedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (OtterError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 1  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
