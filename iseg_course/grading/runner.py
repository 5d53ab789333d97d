"""The ``otter`` command of this environment and the subprocess runner that calls it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .layout import REPO


class OtterError(RuntimeError):
    """``otter assign`` or ``otter run`` failed; the message ends with otter's output.

    Attributes:
        reason: the last line otter printed (usually the exception), for one-line reports.

    Used by iseg-course assign / check-lessons / grade
    """

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        self.reason = lines[-1] if lines else message.splitlines()[0]


def otter_command() -> list[str]:
    """The ``otter`` command of the running interpreter's environment: ``[sys.executable, "-m", "otter"]``.

    Raises:
        RuntimeError: if otter-grader is not installed in this environment.

    Used by iseg-course assign / check-lessons / grade
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


#: What jupyter_client raises when the kernel it started exits before answering: most often the kernel could not
#: bind one of the TCP ports chosen for it, because another process took the port in between (a known race of
#: Jupyter's kernel start, jupyter/jupyter_client#154). Starting the kernel again picks new ports.
KERNEL_START_RACE = "Kernel died before replying to kernel_info"


def _run(cmd: list[str], what: str, fast: bool, timeout: float | None, cwd: Path | None = None) -> str:
    """Run an otter command; return its output. Retried once when the notebook's kernel died while starting
    (:data:`KERNEL_START_RACE`); raises OtterError when it fails (twice for that reason) or times out."""
    for _ in range(2):
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=_env(fast), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            raise OtterError(f"{what} timed out after {timeout} s\n--- otter output (last lines) ---\n{out[-4000:]}",
                             f"timed out after {timeout} s") from e
        if proc.returncode == 0 or KERNEL_START_RACE not in (proc.stdout or ""):
            break
    if proc.returncode != 0:
        raise OtterError(
            f"{what} failed (exit status {proc.returncode}): {' '.join(cmd)}\n"
            f"--- otter output (last lines) ---\n{proc.stdout[-6000:]}",
            proc.stdout,
        )
    return proc.stdout
