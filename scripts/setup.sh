#!/usr/bin/env bash
# Create .venv in the checkout with CodeBrain and its development tools (CPU PyTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# Pin the CPU wheel first, so no resolver ever pulls a multi-GB CUDA build.
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[dev]"
# Headless Chromium renders the BIDS-App's HTML report in the tests (Debian package; needs root).
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; } \
        >/dev/null 2>&1 || echo "setup: could not install chromium; the report-rendering test will be skipped" >&2
fi
