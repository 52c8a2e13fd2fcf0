#!/usr/bin/env bash
# The test half of the README's test command: ruff and mypy (settings in pyproject.toml), the
# documentation site (mkdocs.yml, warnings as errors), pytest in
# .venv (the MAP's tests drive .venv-map), then the container images built (beside pytest) and run
# (docker/test.sh).
# Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stages.sh  # each stage's time, for the table .ci/run prints
stage ruff .venv/bin/ruff check .
stage mypy .venv/bin/mypy  # codebrain/, settings in pyproject.toml
site=$(mktemp -d /tmp/codebrain-site.XXXXXX)
stage docs .venv/bin/mkdocs build --strict --quiet --site-dir "$site"  # a broken link or docstring fails it
rm -rf "$site"
# The images build while pytest runs (docker/test.sh --build-only: dockerd, the base image, pip in
# each build stage), then are run once pytest has passed.
build_log=$(mktemp /tmp/codebrain-image-build.XXXXXX)
docker/test.sh --build-only > "$build_log" 2>&1 &
build=$!
trap 'kill $build 2>/dev/null || true' EXIT
stage pytest .venv/bin/python -m pytest -q
wait $build || { tail -n 40 "$build_log" >&2; echo "test.sh: building the images failed (log: $build_log)" >&2; exit 1; }
grep -v "^WARNING: Location" "$build_log"
docker/test.sh --built  # its own stages: the image build above, the runs
