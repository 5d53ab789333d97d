"""``iseg-course grade``: submitted notebooks -> ``otter run`` with the autograder zip -> a CSV score table.

No container: each submission runs in a kernel of this environment (the course must be installed).
``otter grade`` does the same in Docker containers (see ``solutions/README.md``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from pathlib import Path

import nbformat

from .layout import _KERNELSPEC, BUILD_DIR, SOLUTIONS_DIR
from .masters import _resolve_solution, build
from .runner import OtterError, _run, otter_command


def find_autograder(
    name_or_zip: str | os.PathLike,
    build_dir: str | os.PathLike = BUILD_DIR,
    solutions_dir: str | os.PathLike = SOLUTIONS_DIR,
) -> Path:
    """The autograder zip: ``name_or_zip`` itself if it is a ``.zip`` file, else the one in
    ``build_dir/<name>/autograder/``, building it from ``solutions_dir/<name>.ipynb`` when missing.

    Raises:
        FileNotFoundError: neither a zip file nor a known master notebook.

    Used by iseg-course grade
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

    Used by iseg-course grade
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

    Used by iseg-course grade
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
