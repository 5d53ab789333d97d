"""The ``iseg-course`` command.

Sub-commands:
  course          start JupyterLab on the lessons (127.0.0.1); extra --options go to JupyterLab
  datasets        list the shipped datasets and their sizes
  assign          regenerate lessons/ from the instructor masters in solutions/ (otter assign)
  check-lessons   report lessons that are out of date with solutions/
  grade           grade a folder of submitted notebooks (otter run, no container) into a CSV score table
  evaluate        NoC evaluation of a segmenter with a robot user on a folder of images and masks
  train           train the cat click model of lesson 07 interactively (robot user) and save a checkpoint,
                  or (train sam) the SAM-style model on any image/mask folders
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .data import REPO_ROOT as REPO  # noqa: E402


def _course(args: argparse.Namespace) -> int:
    from .workspace import WORKSPACE_DIR, sync_working_copy

    lessons = Path(args.lessons)
    if not lessons.is_dir():
        print(f"error: lessons folder not found: {lessons}", file=sys.stderr)
        return 2
    root = lessons
    if not args.in_place:  # a git-ignored working copy: the student's answers never touch tracked files
        work = Path(args.workdir) if args.workdir else lessons.resolve().parent / WORKSPACE_DIR
        report = sync_working_copy(lessons, work)
        print("\n".join(report.lines()), flush=True)
        root = work
    print("JupyterLab prints its address with a login token (http://127.0.0.1:PORT/lab?token=...): "
          "open that link; the token is your password for this session.", flush=True)
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root.resolve()}",
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


def load_method(spec: str):
    """A Segmenter from a registered name (:data:`iseg_course.methods.METHODS`: ``graphcut``, ``grabcut``,
    ``geodesic``, ``click``) or ``package.module:factory`` (any callable returning a Segmenter when called
    without arguments). Raises ValueError with the expected forms when the spec cannot be resolved."""
    from . import methods

    return methods.make(spec)


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from .data import ImageMaskFolder
    from .evaluation import evaluate
    from .methods import default_workers_for

    try:
        dataset = ImageMaskFolder(args.images, args.masks, name=args.name)
        segmenter = load_method(args.method)
        if args.refine != "none":
            from .models.refine import refine

            segmenter = refine(segmenter, args.refine)
        robot = None
        if args.robot != "ritm":
            from .robot import make_robot

            robot = make_robot(args.robot, seed=args.seed)
        if args.json and Path(args.json).exists() and not args.overwrite:
            raise FileExistsError(f"{args.json} exists; pass --overwrite to replace it")
    except (ValueError, FileNotFoundError, FileExistsError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    workers = args.workers or default_workers_for(args.method)
    kwargs = {} if robot is None else {"robot": robot}
    try:
        result = evaluate(segmenter, dataset, max_clicks=args.max_clicks, limit=args.limit, workers=workers,
                          progress=not args.no_progress, stop_at=None if args.all_clicks else 0.90,
                          method=args.method if args.refine == "none" else f"{args.method}+{args.refine}",
                          dataset_name=args.name or dataset.name, choice=args.choice, **kwargs)
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


def _train_sam(args: argparse.Namespace) -> int:
    """``iseg-course train sam --images DIR --masks DIR [--with-cats]``: the SAM-style model (see
    iseg_course.models.sam.training); runs under ``torchrun`` too (DistributedDataParallel)."""
    import json
    import time

    from .models.sam.training import SamTrainConfig, build_feature_cache, train_sam, training_folders

    out = Path(args.out)
    if out.is_dir() or (out.exists() and not args.overwrite):
        print(f"error: --out {out} is a folder or exists (pass --overwrite to replace a file); nothing was trained",
              file=sys.stderr)
        return 2
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "device": args.device,
                 "seed": args.seed, "click_weight": args.click_weight, "warmup": args.warmup,
                 "loss_rounds": args.loss_rounds, "instance_prob": args.instance_prob}
    try:
        model_args = {"size": args.size} if args.size else {}
        if args.fine_clicks:
            model_args["fine_clicks"] = True
        config = SamTrainConfig(**{k: v for k, v in overrides.items() if v is not None}, model=model_args)
        folders = training_folders(args.images or [], args.masks or [], with_cats=args.with_cats)
        if args.limit is not None:
            if args.limit < 1:
                raise ValueError(f"expected --limit >= 1, got {args.limit}")
            folders = [f.subset(f.names[:args.limit]) for f in folders]
    except (ValueError, FileNotFoundError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rank = int(os.environ.get("RANK", "0"))
    t0 = time.perf_counter()
    cache = build_feature_cache(folders, size=config.model.get("size", 256), root=args.cache_dir,
                                progress=not args.no_progress and rank == 0)
    t_cache = time.perf_counter() - t0
    if rank == 0:
        print(f"feature cache: {len(cache)} images in {cache.folder} ({t_cache:.1f} s)", flush=True)
    init_model, init_meta = None, {}
    if args.init:
        from .models import load_checkpoint

        try:
            init_model, init_meta = load_checkpoint(Path(args.init))
        except (FileNotFoundError, ValueError) as e:
            print(f"error: --init: {e}", file=sys.stderr)
            return 2
        from .models.sam import SamStyleModel

        if not isinstance(init_model, SamStyleModel):
            print(f"error: --init {args.init} is not a SAM-style checkpoint", file=sys.stderr)
            return 2
        if init_model.size != cache.size:
            print(f"error: --init {args.init} works at {init_model.size} px, the cache at {cache.size} px (--size)",
                  file=sys.stderr)
            return 2
        if args.fine_clicks:
            init_model.add_fine_clicks()  # zero-initialised: training starts from the earlier model's masks
    log: list = []
    model, meta = train_sam(cache, config, model=init_model, progress=not args.no_progress, log=log)
    t_train = time.perf_counter() - t0 - t_cache
    if rank == 0:
        for row in log:
            print(json.dumps(row))
        from .models import save_checkpoint

        meta.update(cache_seconds=round(t_cache, 1), train_seconds=round(t_train, 1))
        if args.init:  # fine-tuning: the earlier phases' records come along
            earlier = list(init_meta.get("phases") or [{k: init_meta.get(k) for k in ("history", "config",
                                                                                         "train_seconds")}])
            meta["phases"] = earlier + [{k: meta[k] for k in ("history", "config", "train_seconds")}]
            meta["init"] = Path(args.init).name
        save_checkpoint(out, model, meta, overwrite=args.overwrite)
        print(f"trained in {t_train:.1f} s (+ {t_cache:.1f} s feature cache); wrote {out}", flush=True)
    return 0


def _train(args: argparse.Namespace) -> int:
    """``iseg-course train cats``: interactive training (robot user) -> checkpoint (see iseg_course.training)."""
    import time

    if args.what == "sam":
        return _train_sam(args)

    from .device import best_device
    from .training import TrainConfig

    out = Path(args.out)
    if out.is_dir():
        print(f"error: --out {out} is a folder; expected a checkpoint file path (e.g. {out / 'cats.pt'})",
              file=sys.stderr)
        return 2
    if out.exists() and not args.overwrite:
        print(f"error: {out} exists; pass --overwrite to replace it (nothing was trained)", file=sys.stderr)
        return 2
    if args.limit is not None and args.limit < 1:
        print(f"error: expected --limit >= 1, got {args.limit}", file=sys.stderr)
        return 2
    overrides = {"epochs": args.epochs, "size": args.size, "batch_size": args.batch_size, "lr": args.lr,
                 "n_clicks": args.n_clicks, "device": args.device, "seed": args.seed}
    try:
        config = TrainConfig(**{k: v for k, v in overrides.items() if v is not None})
        if not config.lr > 0:
            raise ValueError(f"expected --lr > 0, got {config.lr}")
        device = best_device(config.device)  # an unavailable device fails here, before training
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    import torch

    from .models import save_checkpoint
    from .training import train_cats

    n_clicks = config.n_clicks
    print(f"training the cat click model ({args.split} split, {config.epochs} epoch(s), {config.size} px, "
          f"batch {config.batch_size}, lr {config.lr:g}, {n_clicks} robot clicks per image) on {device}",
          flush=True)

    def report(history) -> None:
        e = len(history.train_loss)
        print(f"epoch {e:3d}/{config.epochs}  train loss {history.train_loss[-1]:.4f}  "
              f"test loss {history.test_loss[-1]:.4f}  test IoU@1 {history.test_iou1[-1]:.3f}  "
              f"IoU@{n_clicks} {history.test_iou[-1]:.3f}  "
              f"{history.seconds[-1]:6.1f} s  {history.forward_passes[-1]} forward passes", flush=True)

    t0 = time.perf_counter()
    try:
        trainer = train_cats(config, split=args.split, limit=args.limit, callback=report,
                             progress=not args.no_progress)
    except (ValueError, KeyError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    total = time.perf_counter() - t0
    dev = trainer.device.type
    dev_name = torch.cuda.get_device_name(trainer.device) if dev == "cuda" else dev
    print(f"trained in {total:.1f} s on {dev_name}" + (" (mixed precision)" if trainer.amp else ""), flush=True)

    evaluation = None
    if args.evaluate:
        from .classical.graphcut import GraphCutSegmenter
        from .evaluation import evaluate, results_table
        from .data import load_samples

        test = load_samples(trainer.test_names)
        click = trainer.segmenter()
        name = f"{len(test)} test cats"
        results = [evaluate(seg, test, stop_at=0.9, max_clicks=20, workers=1, progress=not args.no_progress,
                            method=method, dataset_name=name)
                   for seg, method in ((click, "click model"), (GraphCutSegmenter(), "graphcut"))]
        print(results_table(results))
        evaluation = [r.summary() for r in results]
    meta = {**trainer.meta(), "seconds": round(total, 2), "device": dev_name, "torch": str(torch.__version__),
            "split": args.split, "limit": args.limit, "evaluation": evaluation}
    try:
        save_checkpoint(out, trainer.model, meta, overwrite=args.overwrite)
    except FileExistsError as e:  # created by someone else while we trained
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


def _train_defaults(argv: list[str]):
    """``name -> " (default: V)"`` from ``TrainConfig()`` when the command is ``train``, else ``""``."""
    defaults = {}
    if argv and argv[0] == "train":
        from dataclasses import asdict

        from .training import TrainConfig

        defaults = asdict(TrainConfig())
    return lambda name: f" (default: {defaults[name]})" if name in defaults else " (default: TrainConfig)"


def _grading(argv: list[str]) -> int:
    from . import grading

    return int(grading.main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="iseg-course", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("course", help="start JupyterLab on your working copy of the lessons (my-lessons/)")
    p.add_argument("--lessons", default=str(REPO / "lessons"), help="the course's lessons (copied, never edited)")
    p.add_argument("--workdir", default=None,
                   help="your working copy (default: my-lessons/ next to the lessons folder; git-ignored)")
    p.add_argument("--in-place", action="store_true",
                   help="open the lessons folder itself (instructors; your edits then land in tracked files)")
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
    from .methods import METHODS

    p.add_argument("--method", required=True,
                   help="; ".join(f"{m.name}: {m.description}" for m in METHODS.values())
                   + "; or package.module:factory returning a Segmenter")
    p.add_argument("--choice", choices=("score", "oracle"), default="score",
                   help="for methods with several candidate masks: the highest predicted score counts (SAM's "
                   "protocol, default) or the best-IoU candidate (oracle)")
    p.add_argument("--refine", default="none",
                   choices=("none", "distmap-brs", "rgb-brs", "f-brs-a", "f-brs-b", "f-brs-c"),
                   help="backpropagating refinement (BRS, Jang & Kim 2019; f-BRS, Sofiiuk et al. "
                   "2020; iseg_course.models.refine): "
                   "none (default), DistMap-BRS, RGB-BRS or f-BRS-A/B/C for --method click; none or f-brs-b "
                   "(scale and bias of the image embedding) for --method sam")
    p.add_argument("--images", required=True, help="folder of images")
    p.add_argument("--masks", required=True, help="folder of masks with the same file stems")
    p.add_argument("--max-clicks", type=int, default=20)
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N images (sorted by name)")
    p.add_argument("--json", default=None, help="write the summary, curve and per-image IoUs to this file")
    p.add_argument("--overwrite", action="store_true", help="allow --json to replace an existing file")
    from .robot import ROBOT_NAMES

    p.add_argument("--robot", default="ritm", choices=ROBOT_NAMES,
                   help="robot user (default: ritm, the RITM clicker; scribble and box_then_clicks place other "
                   "interactions; see iseg_course.robot)")
    p.add_argument("--seed", type=int, default=0, help="seed of a random robot user")
    p.add_argument("--all-clicks", action="store_true",
                   help="run all --max-clicks clicks on every image (exact NoC-IoU curve); by default an image "
                   "stops once it reaches the highest target IoU (0.90) after at least 5 clicks, as RITM does")
    p.add_argument("--workers", type=int, default=0,
                   help="processes (default: all CPU cores; 1 for the PyTorch click model, which is multi-threaded)")
    p.add_argument("--name", default=None, help="dataset name for the table")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_evaluate)
    p = sub.add_parser("train", help="train the cat click model (lesson 07) and save a checkpoint",
                       description="Interactive training of the click model with the RITM robot user "
                       "(n_clicks clicks per image, the lecture's 10; update after the last click) on data/cats: the 'lesson' split "
                       "(90 train / 10 test cats) or 'all' (every cat but the 10 test cats). Defaults come from "
                       "iseg_course.training.TrainConfig. Uses CUDA (mixed precision), then Apple MPS, then "
                       "the CPU. Load the result with iseg_course.models.load_checkpoint(PATH) or evaluate it "
                       "with ISEG_CHECKPOINT=PATH iseg-course evaluate --method click ...")
    p.add_argument("what", choices=["cats", "sam"],
                   help="cats: the click U-Net of lesson 07; sam: the SAM-style model on --images/--masks folders")
    p.add_argument("--out", required=True, help="checkpoint file to write (refused if it exists)")
    p.add_argument("--overwrite", action="store_true", help="allow --out to replace an existing file")
    p.add_argument("--split", choices=["lesson", "all"], default="lesson",
                   help="lesson: 90 train / 10 test cats (default); all: every cat but the 10 test cats")
    d = _train_defaults(argv)  # the real numbers for --help, without importing torch for other commands
    p.add_argument("--epochs", type=int, default=None, help=f"passes over the training images{d('epochs')}")
    p.add_argument("--size", type=int, default=None, help=f"working size in pixels, divisible by 8{d('size')}")
    p.add_argument("--batch-size", type=int, default=None, help=f"images per update{d('batch_size')}")
    p.add_argument("--lr", type=float, default=None, help=f"peak learning rate (AdamW, one-cycle){d('lr')}")
    p.add_argument("--n-clicks", type=int, default=None, help=f"robot clicks per image before the update{d('n_clicks')}")
    p.add_argument("--device", choices=["auto", "cuda", "mps", "cpu"], default=None,
                   help=f"auto = CUDA, then MPS, then CPU{d('device')}")
    p.add_argument("--seed", type=int, default=None, help=f"seeds weights, batch order and augmentation{d('seed')}")
    p.add_argument("--limit", type=int, default=None,
                   help="keep only the first N training and N test images (a quick run)")
    p.add_argument("--evaluate", action="store_true",
                   help="after training, NoC evaluation of the model and graph cut on the test cats "
                   "(RITM robot, 20 clicks, stop at IoU 0.90); stored in the checkpoint's meta")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars (the per-epoch lines stay)")
    p.add_argument("--images", action="append", help="sam: a folder of training images (repeatable, paired "
                   "with --masks in order)")
    p.add_argument("--masks", action="append", help="sam: the masks folder of the --images before it")
    p.add_argument("--with-cats", action="store_true",
                   help="sam: also train on the shipped cats lesson 07 neither tests on nor keeps as other cats")
    p.add_argument("--cache-dir", default=None,
                   help="sam: where the encoder's feature cache goes (default $ISEG_CACHE or ~/.cache/iseg-course)")
    p.add_argument("--init", default=None,
                   help="sam: start from this checkpoint (fine-tuning; its training record is kept as earlier phases)")
    p.add_argument("--click-weight", type=float, default=None,
                   help="sam: weight of the click term (BCE at the clicked pixels; 0 = SAM's losses only)")
    p.add_argument("--warmup", type=int, default=None, help="sam: warm-up steps of the learning rate")
    p.add_argument("--loss-rounds", type=int, default=None,
                   help="sam: prompt rounds of the 11 whose loss backpropagates (the first, the last and random "
                   "others; the rest run without gradients)")
    p.add_argument("--instance-prob", type=float, default=None,
                   help="sam: chance that a mask of several separate objects is trained on one of them only "
                   "(negative clicks on the others must remove them whole); default 0, the shipped model: 1.0")
    p.add_argument("--fine-clicks", action="store_true",
                   help="sam: clicks and the previous mask also as maps at the low-resolution mask size "
                   "(FineClickEncoder; the shipped checkpoint has it); with --init, added to that model")
    p.set_defaults(func=_train)
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
