#!/usr/bin/env bash
# The test half of the README's test command: ruff and mypy (settings in pyproject.toml), pytest in
# .venv (the MAP's tests drive .venv-map), then the container images built and run (docker/test.sh).
# Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stages.sh  # each stage's time, for the table .ci/run prints
stage ruff .venv/bin/ruff check .
stage mypy .venv/bin/mypy  # codebrain/, settings in pyproject.toml
stage pytest .venv/bin/python -m pytest -q
docker/test.sh  # its own stages: building the images, running them
