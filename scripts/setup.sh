#!/usr/bin/env bash
# Create .venv (if missing) and install the course with its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.iseg-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # torch and torchvision are resolved together so that torchvision's compiled ops match the torch build.
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
# torchvision must import and its compiled ops must load against the installed torch.
.venv/bin/python - <<'PY'
import torch, torchvision
from torchvision.ops import nms
nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}: OK")
PY
