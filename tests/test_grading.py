"""The otter-grader pipeline (iseg_course.grading) on the real master notebooks in solutions/.

For every ``solutions/*.ipynb``:
  (a) ``lessons/<name>.ipynb`` is byte-identical to what ``otter assign`` + the pipeline regenerate;
  (b) the solution passes all its own tests (public and hidden) under ``otter run`` with the autograder zip;
  (c) the untouched student stub (the generated lesson) scores 0 on every question.
Plus the pipeline's own behaviour on a tiny synthetic master: masters that leak solutions are rejected,
``check`` reports stale lessons, regeneration is deterministic, and hand-edited lessons are never
overwritten without --force (a backup is kept when forced).

Builds and grading runs are cached for the session (one ``otter assign`` and one ``grade`` call per
master). Notebooks run with ``ISEG_FAST=1``.
"""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from iseg_course import grading

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
LESSONS = REPO / "lessons"
IDS = [p.stem for p in SOLUTIONS]
OTTER_TIMEOUT_S = 600

pytestmark = pytest.mark.notebook


class _Cache:
    """Build / grade each master at most once per session; remember failures so each test reports them."""

    def __init__(self, root: Path):
        self.root = root
        self._builds: dict[str, object] = {}
        self._grades: dict[str, object] = {}

    def build(self, path: Path) -> grading.Build:
        if path.stem not in self._builds:
            try:
                self._builds[path.stem] = grading.build(path, self.root / "build", run_tests=False, fast=True)
            except Exception as e:  # reported by every test that needs this build
                self._builds[path.stem] = e
        b = self._builds[path.stem]
        if isinstance(b, Exception):
            pytest.fail(f"otter assign of {path.name} failed:\n{b}", pytrace=False)
        return b

    def grades(self, path: Path) -> dict[str, dict]:
        """Rows of grading.grade over {solution.ipynb: the autograder notebook, stub.ipynb: the lesson}."""
        if path.stem not in self._grades:
            b = self.build(path)
            folder = self.root / "submissions" / path.stem
            folder.mkdir(parents=True)
            (folder / "solution.ipynb").write_bytes(b.autograder_notebook.read_bytes())
            (folder / "stub.ipynb").write_bytes(b.lesson)
            out = folder.parent / f"{path.stem}.csv"
            try:
                rows = grading.grade(folder, b.autograder_zip, out, fast=True, timeout=OTTER_TIMEOUT_S, jobs=2)
                self._grades[path.stem] = ({r["submission"]: r for r in rows}, out)
            except Exception as e:
                self._grades[path.stem] = e
        g = self._grades[path.stem]
        if isinstance(g, Exception):
            pytest.fail(f"grading {path.name} failed:\n{g}", pytrace=False)
        return g


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> _Cache:
    return _Cache(tmp_path_factory.mktemp("otter"))


def _questions(row: dict) -> list[str]:
    return [k for k in row if k not in ("submission", "total", "possible", "percent", "error")]


# -------------------------------------------------------------------------------------------------------
# the masters' format (cheap, no otter)
# -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_master_format(path: Path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "raw" and first.source.lstrip().startswith("# ASSIGNMENT CONFIG"), (
        f"{path.name}: the first cell must be the raw '# ASSIGNMENT CONFIG' cell"
    )
    config = grading.read_assignment_config(path)
    assert config.get("name") == path.stem, f"{path.name}: ASSIGNMENT CONFIG name should be {path.stem!r}"
    assert (config.get("tests") or {}).get("files") is False, (
        f"{path.name}: use 'tests: files: false' so lessons carry their public tests in the notebook metadata"
    )
    outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not outputs, f"{path.name}: commit masters without outputs (cells {outputs} have outputs)"
    params = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "FAST" in params[0].source, f"{path.name}: needs one 'parameters'-tagged cell with FAST"
    questions = [c for c in nb.cells if c.cell_type == "raw" and c.source.lstrip().startswith("# BEGIN QUESTION")]
    assert len(questions) >= 3, f"{path.name}: at least 3 graded exercises expected, found {len(questions)}"


def test_every_lesson_has_a_master():
    masters = {p.name for p in SOLUTIONS}
    orphans = [p.name for p in LESSONS.glob("*.ipynb") if p.name not in masters and grading._BACKUP_INFIX not in p.name]
    assert not orphans, f"lessons without a master in solutions/: {orphans}"


# -------------------------------------------------------------------------------------------------------
# (a) lessons in sync, (b) solutions pass, (c) stubs fail
# -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_lesson_is_in_sync_with_master(path: Path, cache: _Cache):
    b = cache.build(path)
    lesson = LESSONS / path.name
    hint = f"regenerate with: {grading.REGENERATE_COMMAND}"
    assert lesson.is_file(), f"lessons/{path.name} is missing; {hint}"
    assert lesson.read_bytes() == b.lesson, f"lessons/{path.name} is out of date with solutions/{path.name}; {hint}"
    assert grading.lesson_is_pristine(lesson)


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_lesson_hides_solutions_and_hidden_tests(path: Path, cache: _Cache):
    b = cache.build(path)
    nb = nbformat.reads(b.lesson.decode("utf-8"), as_version=4)
    assert all(c.cell_type != "code" or not c.outputs for c in nb.cells), "lessons are committed without outputs"
    text = b.lesson.decode("utf-8")
    assert "BEGIN SOLUTION" not in text and "# HIDDEN" not in text
    tests = nb.metadata["otter"]["tests"]
    hidden = [case for t in tests.values() for s in t["suites"] for case in s["cases"] if case.get("hidden")]
    assert not hidden, "hidden tests must not ship with the student notebook"
    assert sum("grader.check(" in c.source for c in nb.cells if c.cell_type == "code") == len(tests)


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_solution_passes_all_its_tests(path: Path, cache: _Cache):
    rows, _ = cache.grades(path)
    row = rows["solution.ipynb"]
    assert not row["error"], f"{path.name}: otter run failed on the solution: {row['error']}"
    failed = {q: row[q] for q in _questions(row) if row[q] != ""}
    assert len(failed) >= 3, f"{path.name}: expected >= 3 graded questions, got {failed}"
    assert row["total"] == row["possible"] > 0, (
        f"{path.name}: the solution scores {row['total']} / {row['possible']} on its own tests: {failed}"
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_untouched_student_stub_fails_every_test(path: Path, cache: _Cache):
    rows, _ = cache.grades(path)
    row, sol = rows["stub.ipynb"], rows["solution.ipynb"]
    assert not row["error"], f"{path.name}: otter run failed on the student stub: {row['error']}"
    assert _questions(row) and set(_questions(row)) == set(_questions(sol))
    passing = {q: row[q] for q in _questions(row) if row[q] != 0.0}
    assert not passing, (
        f"{path.name}: the untouched student stub earns points on {passing}; every test must fail for a "
        "function that returns None (start each test with e.g. `assert result is not None`)"
    )


@pytest.mark.parametrize("path", SOLUTIONS[:1], ids=IDS[:1])
def test_grade_writes_a_score_table(path: Path, cache: _Cache):
    rows, csv_path = cache.grades(path)
    with open(csv_path, newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["submission"] for r in table] == ["solution.ipynb", "stub.ipynb"]
    header = list(table[0])
    assert header[0] == "submission" and header[-4:] == ["total", "possible", "percent", "error"]
    assert float(table[0]["percent"]) == 100.0 and float(table[1]["percent"]) == 0.0


# -------------------------------------------------------------------------------------------------------
# the pipeline itself, on a tiny synthetic master (fast otter runs)
# -------------------------------------------------------------------------------------------------------


def _tiny_master(path: Path, wrap_solution: bool = True, generate: str = "false") -> Path:
    """A minimal otter v1 master: one question with a solution, a public and a hidden test."""
    cells = [
        nbformat.v4.new_raw_cell(textwrap.dedent(f"""\
            # ASSIGNMENT CONFIG
            name: {path.stem}
            init_cell: true
            export_cell: false
            generate: {generate}
            tests:
              files: false""")),
        nbformat.v4.new_code_cell("FAST = True", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 1"),
        nbformat.v4.new_markdown_cell("Write `double(x)` returning 2 x."),
    ]
    solution = nbformat.v4.new_code_cell("def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION")
    cells += ([nbformat.v4.new_raw_cell("# BEGIN SOLUTION"), solution, nbformat.v4.new_raw_cell("# END SOLUTION")]
              if wrap_solution else [solution])
    cells += [
        nbformat.v4.new_raw_cell("# BEGIN TESTS"),
        nbformat.v4.new_code_cell("assert double(2) == 4"),
        nbformat.v4.new_code_cell("# HIDDEN\nassert double(-3) == -6"),
        nbformat.v4.new_raw_cell("# END TESTS"),
        nbformat.v4.new_raw_cell("# END QUESTION"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_master_leaking_a_solution_is_rejected(tmp_path: Path):
    master = _tiny_master(tmp_path / "solutions" / "99_leak.ipynb", wrap_solution=False)
    with pytest.raises(ValueError, match="BEGIN SOLUTION"):
        grading.build(master, tmp_path / "build")
    # 'generate: false' in the master is overridden: the autograder zip was still built
    assert list((tmp_path / "build" / "99_leak" / "autograder").glob("99_leak-autograder_*.zip"))


def test_assign_check_and_refusal_to_overwrite_edited_lessons(tmp_path: Path, capsys):
    solutions, lessons, build = tmp_path / "solutions", tmp_path / "lessons", tmp_path / "build"
    _tiny_master(solutions / "99_tiny.ipynb")
    args = ["--solutions", str(solutions), "--lessons", str(lessons)]

    assert grading.main(["check", *args]) == 1  # lesson missing
    assert "iseg-course assign" in capsys.readouterr().out

    assert grading.main(["assign", *args, "--build", str(build), "--no-run-tests"]) == 0
    lesson = lessons / "99_tiny.ipynb"
    generated = lesson.read_bytes()
    assert grading.lesson_is_pristine(lesson)
    nb = json.loads(generated)
    assert nb["metadata"]["iseg_course"]["generated_from"] == "solutions/99_tiny.ipynb"
    assert [c["id"] for c in nb["cells"]] == [f"cell-{i:03d}" for i in range(len(nb["cells"]))]
    assert "return 2 * x" not in generated.decode() and "double(-3)" not in generated.decode()

    # deterministic: a second regeneration (into a temporary folder) gives the same bytes
    assert grading.assign_all(solutions, lessons, check=True) == []

    # an earlier generated version is replaced silently ...
    older = nbformat.reads(generated.decode(), as_version=4)
    older.cells[1].source = "FAST = False"
    older_bytes = grading.normalize_lesson(older, "solutions/99_tiny.ipynb")
    lesson.write_bytes(older_bytes)
    assert grading.lesson_is_pristine(lesson)
    assert grading.write_lesson(lesson, generated) == "updated"
    assert lesson.read_bytes() == generated

    # ... but a lesson the student ran or edited is not
    edited = nbformat.reads(generated.decode(), as_version=4)
    answer = next(c for c in edited.cells if "otter_answer_cell" in c.metadata.get("tags", []))
    answer.source = "def double(x):\n    return x + x"
    nbformat.write(edited, lesson)
    edited_bytes = lesson.read_bytes()
    assert not grading.lesson_is_pristine(lesson)
    assert grading.main(["assign", *args, "--build", str(build), "--no-run-tests"]) == 2
    assert "99_tiny.ipynb" in capsys.readouterr().err
    assert lesson.read_bytes() == edited_bytes, "the student's work must be left untouched"
    with pytest.raises(grading.LessonEditedError, match="99_tiny.ipynb"):
        grading.write_lesson(lesson, generated)
    assert grading.main(["check", *args]) == 1

    # forced: replaced, with a timestamped backup of the student's version next to it
    assert grading.write_lesson(lesson, generated, force=True) == "replaced"
    assert lesson.read_bytes() == generated
    backups = list(lessons.glob("99_tiny.backup-*.ipynb"))
    assert len(backups) == 1 and backups[0].read_bytes() == edited_bytes


def test_grade_rejects_bad_input(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        grading.grade(tmp_path / "missing", "whatever.zip", tmp_path / "g.csv")
    (tmp_path / "subs").mkdir()
    with pytest.raises(FileNotFoundError):
        grading.grade(tmp_path / "subs", tmp_path / "missing.zip", tmp_path / "g.csv")


def test_otter_is_run_again_once_when_the_kernel_dies_while_starting(monkeypatch):
    """Jupyter's kernel start can lose a TCP port to another process (the kernel dies before kernel_info):
    that failure, and only that one, is retried once; a second such failure or any other error is reported."""
    import subprocess

    from iseg_course.grading import runner

    def fake(outputs):
        calls = []

        def run(cmd, **kwargs):
            calls.append(cmd)
            code, out = outputs[len(calls) - 1]
            return subprocess.CompletedProcess(cmd, code, stdout=out)
        return run, calls

    race = f"Traceback ...\nRuntimeError: {runner.KERNEL_START_RACE}\n"
    run, calls = fake([(1, race), (0, "graded\n")])
    monkeypatch.setattr(runner.subprocess, "run", run)
    assert runner._run(["otter", "run"], "otter run x", True, 10) == "graded\n" and len(calls) == 2
    run, calls = fake([(1, race), (1, race)])
    monkeypatch.setattr(runner.subprocess, "run", run)
    with pytest.raises(runner.OtterError, match="kernel_info"):
        runner._run(["otter", "run"], "otter run x", True, 10)
    assert len(calls) == 2
    run, calls = fake([(1, "AssertionError: q1 failed\n"), (0, "graded\n")])
    monkeypatch.setattr(runner.subprocess, "run", run)
    with pytest.raises(runner.OtterError, match="q1 failed"):
        runner._run(["otter", "run"], "otter run x", True, 10)
    assert len(calls) == 1
