#!/usr/bin/env bash
# Set everything up and start JupyterLab on your working copy of the lessons (my-lessons/, made from lessons/ on the
# first run and never overwritten; http://127.0.0.1:8888 with the token JupyterLab prints). Extra arguments go to
# `iseg-course course`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/iseg-course course "$@"
