#!/usr/bin/env bash
# Regenerate the lock files in requirements/ (pip-tools, every file pinned with its sha256):
#   scripts/lock.sh [--upgrade]
# dev.lock       .venv (scripts/setup.sh): the core, the BIDS-App stack and the development tools
# map.lock       .venv-map and the codebrain/map image: app/requirements.txt + CodeBrain [prep,map]
# bids-app.lock  the codebrain/bids-app image: CodeBrain [bids]
# train.lock     the codebrain/train image: CodeBrain [prep]
# The image locks are compiled under dev.lock as a constraint, so an image runs the very versions the
# tests ran; map.lock cannot be (holoscan needs protobuf<7, TensorBoard in .venv takes 7) and differs
# from dev.lock in protobuf alone. Without --upgrade, pip-compile keeps every pin the current locks
# hold and only resolves what setup.cfg or app/requirements.txt changed. The locks are for CPython
# 3.11 on x86_64 Linux with the CPU torch wheel (torch==2.13.0+cpu); scripts/setup.sh says what it
# does elsewhere. pip-tools runs in its own throwaway environment with pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PIP_VERSION=26.3
PIP_TOOLS_VERSION=7.7.0
UPGRADE=()
case "${1:-}" in
    --upgrade) UPGRADE=(--upgrade) ;;
    "") ;;
    -h|--help) sed -n 2,13p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lock.sh: unknown option $1 (--upgrade)" >&2; exit 64 ;;
esac
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || { echo "lock.sh: the locks are compiled for CPython 3.11; $PYTHON is $("$PYTHON" -V)" >&2; exit 1; }
tools=$(mktemp -d /tmp/codebrain-lock.XXXXXX)
trap 'rm -rf "$tools"' EXIT
"$PYTHON" -m venv "$tools"
"$tools/bin/python" -m pip install -q "pip==$PIP_VERSION" "pip-tools==$PIP_TOOLS_VERSION"
compile() {  # output, then pip-compile's sources and options
    local out=$1; shift
    echo "lock.sh: requirements/$out"
    # setuptools' deprecation warnings while it builds CodeBrain's metadata are not ours to show
    "$tools/bin/pip-compile" -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
        --no-emit-find-links "${UPGRADE[@]}" --output-file "requirements/$out" "$@" 2> >(grep -E "^(ERROR|error)" >&2)
}
mkdir -p requirements
compile dev.lock --extra dev setup.cfg
compile bids-app.lock --extra bids --constraint requirements/dev.lock setup.cfg
compile train.lock --extra prep --constraint requirements/dev.lock setup.cfg
compile map.lock --extra prep --extra map setup.cfg app/requirements.txt
