"""SAM-style feature cache build time (lesson 10): prints one JSON object.

Builds the frozen EfficientNet-Lite0's feature cache (``iseg_course.models.sam.training.build_feature_cache``)
of the first ``--limit`` images of a folder pair once per ``--batch-sizes`` entry, each into a fresh
temporary cache folder, and reports seconds and milliseconds per image (image reading, resizing, the encoder
and the float16 writes included). The library builds one image per pass on a CPU because, measured with this
script, batches of 16 are slower there.

Run: ``.venv/bin/python benchmarks/sam_cache.py --images DIR --masks DIR [--limit 300] [--batch-sizes 1 4 16]
[--threads N]``; default folders: the 300 DUTS pairs shipped in ``data/duts_small``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from _machine import machine_info  # noqa: E402

from iseg_course.models.sam.training import build_feature_cache, training_folders  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", default=str(REPO / "data/duts_small/images"))
    ap.add_argument("--masks", default=str(REPO / "data/duts_small/masks"))
    ap.add_argument("--limit", type=int, default=300, help="first N images of the folder")
    ap.add_argument("--size", type=int, default=256, help="the model's input size in pixels")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--threads", type=int, default=None, help="PyTorch threads (default: PyTorch's own)")
    args = ap.parse_args(argv)
    if args.limit < 1:
        ap.error(f"expected --limit >= 1, got {args.limit}")
    if args.threads:
        torch.set_num_threads(args.threads)
    folders = [f.subset(f.names[:args.limit]) for f in training_folders([args.images], [args.masks])]
    n = sum(len(f) for f in folders)
    with tempfile.TemporaryDirectory(prefix="sam-cache-warmup-") as root:  # load the weights, warm up
        build_feature_cache([f.subset(f.names[:4]) for f in folders], size=args.size, root=root, progress=False)
    runs = []
    for bs in args.batch_sizes:
        with tempfile.TemporaryDirectory(prefix="sam-cache-bench-") as root:
            t0 = time.perf_counter()
            build_feature_cache(folders, size=args.size, root=root, batch_size=bs, progress=False)
            s = time.perf_counter() - t0
        runs.append({"batch_size": bs, "seconds": round(s, 2), "ms_per_image": round(1e3 * s / n, 1)})
        print(f"batch {bs:3d}: {s:7.1f} s, {1e3 * s / n:6.1f} ms per image", file=sys.stderr)
    result = {"machine": machine_info(), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "images": n, "size": args.size, "sources": [args.images], "runs": runs}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
