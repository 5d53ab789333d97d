#!/usr/bin/env bash
# Install Debian's Chromium for the real-browser widget test (tests/test_browser.py).
#
# Idempotent: does nothing when /usr/bin/chromium already exists. Playwright drives this system
# Chromium through `executable_path=/usr/bin/chromium`; we never run `playwright install`.
# Needs root (or passwordless sudo) and apt-get; on other systems install Chromium by hand.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "install-browser: $CHROMIUM present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: $CHROMIUM is missing and apt-get is not available; install Chromium by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-browser: $CHROMIUM is missing and we are not root (no sudo); install the 'chromium' package" >&2
        exit 1
    fi
fi

echo "install-browser: installing Debian's chromium ..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-liberation

if [ ! -x "$CHROMIUM" ]; then
    echo "install-browser: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "install-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
