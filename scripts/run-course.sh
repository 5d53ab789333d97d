#!/usr/bin/env bash
# Set everything up and start JupyterLab on lessons/ (http://127.0.0.1:8888). Extra arguments go to `iseg-course course`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/iseg-course course "$@"
