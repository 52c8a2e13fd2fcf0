#!/usr/bin/env bash
# Create .venv in the checkout with CodeBrain and its development tools (CPU PyTorch), and
# .venv-map with the MONAI Deploy application's own environment (app/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# The two environments take about 5 GiB; a full disk otherwise surfaces as a pip OSError mid-install.
free_kib=$(df -Pk . | awk 'NR == 2 {print $4}')
if [ ! -x .venv-map/bin/python ] && [ "$free_kib" -lt $((6 * 1024 * 1024)) ]; then
    echo "setup: only $((free_kib / 1024)) MiB free under $PWD; .venv and .venv-map need about 6 GiB" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# Pin the CPU wheel first, so no resolver ever pulls a multi-GB CUDA build.
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[dev]"
# The MAP environment: the SDK puts holoscan under every `import monai`, so it lives apart.
[ -x .venv-map/bin/python ] || "$PYTHON" -m venv .venv-map
.venv-map/bin/python -m pip install -q --upgrade pip
.venv-map/bin/python -m pip install -q torch==2.13.0
.venv-map/bin/python -m pip install -q -r app/requirements.txt -e ".[prep,map]"
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
apt_install chromium dicom3tools orthanc dcmtk slurm-wlm munge
