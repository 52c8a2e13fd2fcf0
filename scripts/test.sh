#!/usr/bin/env bash
# The test half of the README's test command: ruff and mypy (settings in pyproject.toml), pytest in
# .venv (the MAP's tests drive .venv-map), then the container images built and run (docker/test.sh).
# Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/mypy  # codebrain/, settings in pyproject.toml
.venv/bin/python -m pytest -q
docker/test.sh
