#!/usr/bin/env bash
# Set everything up (venv, packages, Debian's chromium for the browser test) and run the whole test suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! bash scripts/install-browser.sh; then
  if [ -n "${CI:-}" ]; then exit 1; fi
  echo "warning: no /usr/bin/chromium; the real-browser test will be skipped" >&2
fi
export ISEG_FAST=1
exec .venv/bin/python -m pytest "$@"
