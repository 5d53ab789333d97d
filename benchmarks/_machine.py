"""What a benchmark ran on, recorded in its JSON (timings only compare on the same machine)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np


def machine_info() -> dict:
    """Platform, Python, CPU model and count, load average and the versions of the libraries timed."""
    import cv2
    import maxflow
    import networkx

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "numpy": np.__version__,
        "networkx": networkx.__version__,
        "PyMaxflow": getattr(maxflow, "__version__", "?"),
        "opencv": cv2.__version__,
    }
