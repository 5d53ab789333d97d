"""The ``iseg-course`` command.

Sub-commands:
  course          start JupyterLab on the lessons (127.0.0.1); extra --options go to JupyterLab
  datasets        list the shipped datasets and their sizes
  assign          regenerate lessons/ from the instructor masters in solutions/ (otter assign)
  check-lessons   report lessons that are out of date with solutions/
  grade           grade a folder of submitted notebooks (otter run, no container) into a CSV score table
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _course(args: argparse.Namespace) -> int:
    lessons = Path(args.lessons)
    if not lessons.is_dir():
        print(f"error: lessons folder not found: {lessons}", file=sys.stderr)
        return 2
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={lessons.resolve()}",
           f"--ServerApp.ip={args.ip}", f"--ServerApp.port={args.port}"]
    if args.no_browser:
        cmd.append("--no-browser")
    cmd += args.jupyter_args
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    print("starting:", " ".join(cmd), flush=True)
    # Replace this process by JupyterLab, so that stopping it (Ctrl-C, a signal) stops the server itself.
    os.execv(sys.executable, cmd)
    return 0  # not reached


def _datasets(args: argparse.Namespace) -> int:
    from .data import DATASETS, VOLUMES, data_root, load_dataset

    print(f"data root: {data_root()}")
    for name in DATASETS:
        print(f"  {name:16s} {len(load_dataset(name)):4d} image/mask pairs")
    for name in VOLUMES:
        print(f"  {name:16s} 3D volume")
    return 0


def _grading(argv: list[str]) -> int:
    from . import grading

    return int(grading.main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="iseg-course", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("course", help="start JupyterLab on the lessons")
    p.add_argument("--lessons", default=str(REPO / "lessons"))
    p.add_argument("--ip", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--no-browser", action="store_true")
    p.set_defaults(func=_course)
    sub.add_parser("datasets", help="list the shipped datasets").set_defaults(func=_datasets)
    for name, help_ in (("assign", "regenerate lessons/ from solutions/"),
                        ("check-lessons", "report lessons out of date with solutions/"),
                        ("grade", "grade a folder of submissions into a CSV score table")):
        sp = sub.add_parser(name, help=help_, add_help=False)
        sp.set_defaults(func=None, grading=name)
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "grading", None):
        gname = {"check-lessons": "check"}.get(args.grading, args.grading)
        return _grading([gname, *rest])
    if args.command == "course":
        args.jupyter_args = rest  # e.g. --ServerApp.token=... goes to JupyterLab
        return args.func(args)
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
