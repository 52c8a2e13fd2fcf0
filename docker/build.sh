#!/usr/bin/env bash
# Build the CodeBrain images without a registry: a local Debian base and wheels from the host.
#   docker/build.sh [--base IMAGE] [bids-app]
# --base names the base image (default debian:bookworm-slim; built here with debootstrap when
# missing). Python packages are downloaded on the host into docker/.wheels (torch==2.13.0, the CPU
# wheel) and installed in the image with --no-index, so the build needs no network from inside.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=debian:bookworm-slim
[ "${1:-}" = --base ] && { BASE=$2; shift 2; }
TARGETS=${*:-bids-app}
DOCKER=${DOCKER:-/usr/bin/docker}
VERSION=$(python3 -c "import re; print(re.search(r'__version__ = \"(.+)\"', open('codebrain/__init__.py').read())[1])")

if ! $DOCKER image inspect "$BASE" >/dev/null 2>&1; then
    [ "$BASE" = debian:bookworm-slim ] || { echo "base image $BASE not found" >&2; exit 66; }
    root=$(mktemp -d)
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
    tar -C "$root" -c . | $DOCKER import - "$BASE"
    rm -rf "$root"
fi
PIP=${PIP:-.venv/bin/pip}
mkdir -p docker/.wheels
$PIP download -q -d docker/.wheels torch==2.13.0 setuptools wheel ".[bids]"
for target in $TARGETS; do
    $DOCKER build -f "docker/$target.Dockerfile" --build-arg BASE="$BASE" --build-arg VERSION="$VERSION" \
        -t "codebrain/$target:$VERSION" -t "codebrain/$target:latest" .
    $DOCKER image ls "codebrain/$target:$VERSION" --format "codebrain/$target:$VERSION {{.Size}}"
done
