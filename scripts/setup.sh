#!/usr/bin/env bash
# Create .venv in the checkout with CodeBrain and its development tools (CPU PyTorch), and
# .venv-map with the MONAI Deploy application's own environment, each installed exactly from its
# lock file (requirements/dev.lock, requirements/map.lock: every package pinned with its sha256, made
# by scripts/lock.sh). The locks are for CPython 3.11 on x86_64 Linux; with another Python, or with
# CODEBRAIN_UNLOCKED=1, the ranges of setup.cfg and app/requirements.txt are installed instead (and
# the environment is then whatever the package index serves that day).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PIP_VERSION=26.3  # the pip the locks were made and are installed with (scripts/lock.sh)
# The two environments take about 5 GiB; a full disk otherwise surfaces as a pip OSError mid-install.
free_kib=$(df -Pk . | awk 'NR == 2 {print $4}')
if [ ! -x .venv-map/bin/python ] && [ "$free_kib" -lt $((6 * 1024 * 1024)) ]; then
    echo "setup: only $((free_kib / 1024)) MiB free under $PWD; .venv and .venv-map need about 6 GiB" >&2
    exit 1
fi
LOCKED=1
if [ -n "${CODEBRAIN_UNLOCKED:-}" ]; then
    LOCKED=
elif ! "$PYTHON" -c 'import platform, sys; sys.exit(sys.version_info[:2] != (3, 11) or platform.machine() != "x86_64")'; then
    echo "setup: the lock files are for CPython 3.11 on x86_64; $("$PYTHON" -V) on $(uname -m) installs" \
         "the ranges of setup.cfg instead (not a reproducible environment)" >&2
    LOCKED=
fi
install_env() {  # venv folder, lock file, then the unlocked requirements (extras, -r files)
    local venv=$1 lock=$2; shift 2
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install -q "pip==$PIP_VERSION"
    if [ -n "$LOCKED" ]; then
        # every file checked against its hash; CodeBrain itself, editable, adds nothing the lock lacks
        "$venv/bin/python" -m pip install -q --require-hashes -r "$lock"
        "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
        "$venv/bin/python" -m pip check >/dev/null || { "$venv/bin/python" -m pip check >&2; exit 1; }
    else
        # pin the CPU wheel first, so no resolver ever pulls a multi-GB CUDA build
        "$venv/bin/python" -m pip install -q torch==2.13.0
        "$venv/bin/python" -m pip install -q "$@"
    fi
}
source scripts/stages.sh  # each stage's time, for the table .ci/run prints
stage "setup: .venv" install_env .venv requirements/dev.lock -e ".[dev]"
# The MAP environment: the SDK puts holoscan under every `import monai`, so it lives apart.
stage "setup: .venv-map" install_env .venv-map requirements/map.lock -r app/requirements.txt -e ".[prep,map]"
# Debian tools the tests check against: Chromium renders the BIDS-App's HTML report; dciodvfy
# (dicom3tools), Orthanc and dcmtk's storescu check the MAP's DICOM; slurm-wlm and munge make
# the one-node cluster of tests/test_cluster.py (scripts/slurm-local.sh starts and stops it).
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
            >/dev/null 2>&1 || echo "setup: could not install ${missing[*]}" >&2
    else
        echo "setup: please install the Debian packages ${missing[*]} (needs root)" >&2
    fi
}
stage "setup: apt" apt_install chromium dicom3tools orthanc dcmtk slurm-wlm munge
