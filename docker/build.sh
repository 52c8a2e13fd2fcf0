#!/usr/bin/env bash
# Build the CodeBrain images without a registry: a local Debian base and wheels from the host.
#   docker/build.sh [--base IMAGE] [--gpu] [bids-app] [map] [train]     (default: all three)
# --base names the base image (default debian:bookworm-slim, built here with debootstrap when
# missing). --gpu builds the CUDA variants (tag suffix -gpu) of map and train: the base defaults
# to an NVIDIA CUDA runtime image (pull it first) and torch comes from $TORCH_INDEX.
# Each image installs its lock file (requirements/<image>.lock, scripts/lock.sh): the files are
# downloaded on the host (docker/.wheels*, checked against the lock's hashes) and installed in the
# image with --no-index --require-hashes, so builds need no network from inside. The GPU variants
# install the lock's versions without hashes, beside the CUDA torch of $TORCH_INDEX and its NVIDIA
# libraries (the locks hold the CPU wheel).
# After each build the project's untagged images (the build stage, the image the new tag replaced)
# are removed: rebuilds would otherwise leave ~8 GB per round and fill the disk.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=debian:bookworm-slim
GPU=
while [ $# -gt 0 ]; do
    case "$1" in
        --base) BASE=$2; shift 2 ;;
        --gpu) GPU=1; [ "$BASE" = debian:bookworm-slim ] && BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04; shift ;;
        -h|--help) sed -n 2,10p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done
TARGETS=${*:-bids-app map train}
DOCKER=${DOCKER:-/usr/bin/docker}
PIP=${PIP:-.venv/bin/pip}
SOURCE_LABEL=org.opencontainers.image.source=https://github.com/codebrain-mri/codebrain  # every stage has it
VERSION=$(python3 -c "import re; print(re.search(r'__version__ = \"(.+)\"', open('codebrain/__init__.py').read())[1])")

if ! $DOCKER image inspect "$BASE" >/dev/null 2>&1; then
    [ "$BASE" = debian:bookworm-slim ] || { echo "base image $BASE not found: pull or build it first" >&2; exit 66; }
    root=$(mktemp -d)
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
    tar -C "$root" -c . | $DOCKER import - "$BASE"
    rm -rf "$root"
fi

wheels() {  # folder, image: download what requirements/<image>.lock pins into the folder, and put
    # there the lock the image installs (the CPU lock as it is; for --gpu its versions without the
    # CPU torch and without hashes, and the CUDA torch beside them)
    local dir=$1 lock=requirements/$2.lock
    mkdir -p "$dir"
    if [ -n "$GPU" ]; then
        sed -E '/^ +--hash=/d; s/ \\$//; /^torch==/d' "$lock" > "$dir/$2.lock"
        $PIP download -q -d "$dir" torch==2.13.0 --index-url "${TORCH_INDEX:-https://download.pytorch.org/whl/cu128}"
        $PIP download -q -d "$dir" -r "$dir/$2.lock"
        echo "torch==2.13.0" >> "$dir/$2.lock"
    else
        $PIP download -q -d "$dir" --require-hashes -r "$lock"
        cp "$lock" "$dir/$2.lock"
    fi
}

for target in $TARGETS; do
    case "$target" in
        bids-app) [ -z "$GPU" ] || { echo "the BIDS-App image is CPU-only" >&2; exit 64; }
                  dir=docker/.wheels; wheels $dir bids-app ;;
        train) dir=docker/.wheels${GPU:+-gpu}; wheels $dir train ;;
        map) dir=docker/.wheels-map${GPU:+-gpu}; wheels $dir map ;;
        *) echo "unknown target $target (bids-app, map, train)" >&2; exit 64 ;;
    esac
    tag=codebrain/$target:$VERSION${GPU:+-gpu}
    $DOCKER build -q -f "docker/$target.Dockerfile" --build-arg BASE="$BASE" --build-arg VERSION="$VERSION" \
        --build-arg WHEELS="$dir" -t "$tag" -t "codebrain/$target:latest${GPU:+-gpu}" . >/dev/null
    $DOCKER image prune -f --filter "label=$SOURCE_LABEL" >/dev/null
    $DOCKER image ls "$tag" --format "$tag {{.Size}}"
done
