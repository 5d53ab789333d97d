"""The ``iseg-course`` command.

Sub-commands:
  course          start JupyterLab on the lessons (127.0.0.1); extra --options go to JupyterLab
  datasets        list the shipped datasets and their sizes
  assign          regenerate lessons/ from the instructor masters in solutions/ (otter assign)
  check-lessons   report lessons that are out of date with solutions/
  grade           grade a folder of submitted notebooks (otter run, no container) into a CSV score table
  evaluate        NoC evaluation of a segmenter with a robot user on a folder of images and masks
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


#: built-in methods of ``iseg-course evaluate``: name -> "module:factory"
METHODS = {
    "graphcut": "iseg_course.classical.graphcut:GraphCutSegmenter",
    "grabcut": "iseg_course.classical.grabcut:GrabCutSegmenter",
    "geodesic": "iseg_course.classical.geodesic:GeodesicSegmenter",
}


def load_method(spec: str):
    """A Segmenter from ``graphcut``/``grabcut``/``geodesic`` or ``package.module:factory``.

    ``factory`` is any callable (a class or a function) returning a Segmenter when called without
    arguments. Raises ValueError with the expected forms when the spec cannot be resolved.
    """
    import importlib

    target = METHODS.get(spec, spec)
    if ":" not in target:
        raise ValueError(f"unknown method {spec!r}: expected one of {sorted(METHODS)} or 'package.module:factory'")
    mod_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        raise ValueError(f"method {spec!r}: cannot import module {mod_name!r} ({e})") from e
    factory = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise ValueError(f"method {spec!r}: module {mod_name!r} has no attribute {attr!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise ValueError(f"method {spec!r}: {attr!r} is not callable")
    try:
        seg = factory()
    except TypeError as e:
        raise ValueError(f"method {spec!r}: {attr} cannot be called without arguments ({e})") from e
    if not (callable(getattr(seg, "set_image", None)) and callable(getattr(seg, "predict", None))):
        raise ValueError(f"method {spec!r}: {attr}() returned {type(seg).__name__}, which is not a Segmenter "
                         "(needs set_image(image) and predict(interactions, prev_mask=None))")
    return seg


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from .data import ImageMaskFolder
    from .evaluation import default_workers, evaluate

    try:
        dataset = ImageMaskFolder(args.images, args.masks, name=args.name)
        segmenter = load_method(args.method)
        robot = None
        if args.robot != "ritm":
            from .robot import make_click_robot

            robot = make_click_robot(args.robot, seed=args.seed)
        if args.json and Path(args.json).exists() and not args.overwrite:
            raise FileExistsError(f"{args.json} exists; pass --overwrite to replace it")
    except (ValueError, FileNotFoundError, FileExistsError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    workers = args.workers or default_workers()
    kwargs = {} if robot is None else {"robot": robot}
    try:
        result = evaluate(segmenter, dataset, max_clicks=args.max_clicks, limit=args.limit, workers=workers,
                          progress=not args.no_progress, stop_at=None if args.all_clicks else 0.90,
                          method=args.method, dataset_name=args.name or dataset.name, **kwargs)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(result.table())
    stop = "all clicks" if args.all_clicks else "early stop at IoU >= 0.90 after >= 5 clicks"
    print(f"({result.n_samples} images, robot user: {args.robot}, {stop}, {workers} worker(s), "
          f"{result.total_seconds:.1f} s in all)")
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=1))
        print(f"wrote {args.json}")
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
    p = sub.add_parser("evaluate", help="NoC evaluation of a segmenter with a robot user",
                       description="Run the NoC protocol (robot user, up to --max-clicks clicks per image) "
                       "on a folder of images and a folder of masks with matching file stems "
                       "(masks: 0 background, 255 object, 128 ignore) and print NoC@85, NoC@90, NoF@90, "
                       "IoU@1/3/5 and seconds per click.")
    p.add_argument("--method", required=True,
                   help="graphcut, grabcut, geodesic, or package.module:factory returning a Segmenter")
    p.add_argument("--images", required=True, help="folder of images")
    p.add_argument("--masks", required=True, help="folder of masks with the same file stems")
    p.add_argument("--max-clicks", type=int, default=20)
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N images (sorted by name)")
    p.add_argument("--json", default=None, help="write the summary, curve and per-image IoUs to this file")
    p.add_argument("--overwrite", action="store_true", help="allow --json to replace an existing file")
    p.add_argument("--robot", default="ritm", help="click robot user (default: ritm; see iseg_course.robot)")
    p.add_argument("--seed", type=int, default=0, help="seed of a random robot user")
    p.add_argument("--all-clicks", action="store_true",
                   help="run all --max-clicks clicks on every image (exact NoC-IoU curve); by default an image "
                   "stops once it reaches the highest target IoU (0.90) after at least 5 clicks, as RITM does")
    p.add_argument("--workers", type=int, default=0, help="processes (default: all CPU cores)")
    p.add_argument("--name", default=None, help="dataset name for the table")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_evaluate)
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
