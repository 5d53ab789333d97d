"""The command line ``python -m iseg_course.grading assign | check | grade`` (``iseg-course`` delegates here)."""

from __future__ import annotations

import argparse
import sys
from typing import Iterable

from .assigning import assign_all
from .layout import BUILD_DIR, LESSONS_DIR, REGENERATE_COMMAND, SOLUTIONS_DIR
from .lessons import LessonEditedError
from .runner import OtterError
from .scores import grade


def _parser() -> argparse.ArgumentParser:
    package_doc = sys.modules[__package__].__doc__  # the pipeline's summary, first paragraph
    p = argparse.ArgumentParser(prog="python -m iseg_course.grading", description=package_doc.split("\n\n")[0])
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

    Used by iseg-course assign / check-lessons / grade
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

