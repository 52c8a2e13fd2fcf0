#!/usr/bin/env bash
# Build the three images and run each once, as CI does (part of the README's test command):
#   docker/test.sh [--build-only | --built] [WORK_DIR]
# --build-only stops once the images are built (scripts/test.sh builds them while pytest runs);
# --built runs the checks on the images a --build-only run made, without building.
# Installs Debian's docker.io and debootstrap when missing and starts dockerd when none runs
# (stopping it again at the end). Checks: the BIDS-App runs a sample subject as a non-root user
# with the input read-only, records its container tag, answers --version and exits 64 on a bad
# argument, and runs the group level through `bosh exec launch` of its own descriptor; the MAP
# completes a small DICOM study through HOLOSCAN_* paths; the training image trains three steps on
# a tiny simulated set. Prints the image sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
PHASE=all
case "${1:-}" in
    --build-only) PHASE=build; shift ;;
    --built) PHASE=run; shift ;;
esac
WORK=${1:-$(mktemp -d /tmp/codebrain-containers.XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
DOCKER=/usr/bin/docker
PY=.venv/bin/python
T0=$(date +%s)
say() { echo "[containers $(( $(date +%s) - T0 )) s] $*"; }
fail() { echo "docker/test.sh: FAILED: $*" >&2; exit 1; }

if [ ! -x $DOCKER ] || ! command -v debootstrap >/dev/null; then
    say "installing docker.io and debootstrap"
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap >/dev/null
fi
source scripts/stages.sh  # the build and the runs are two stages of the test command's table
STARTED= RUNS=
finish() {
    local rc=$?
    [ -z "$RUNS" ] || stage_record "images: run" "$RUNS" $rc
    [ -z "$STARTED" ] || { kill "$STARTED" 2>/dev/null; wait "$STARTED" 2>/dev/null || true; }
}
trap finish EXIT
if ! $DOCKER info >/dev/null 2>&1; then
    say "starting dockerd"
    dockerd > "$WORK/dockerd.log" 2>&1 &
    STARTED=$!
    for _ in $(seq 60); do $DOCKER info >/dev/null 2>&1 && break; sleep 1; done
    $DOCKER info >/dev/null 2>&1 || fail "dockerd did not start (see $WORK/dockerd.log)"
fi

VERSION=$($PY -c "import codebrain; print(codebrain.__version__)")
IMAGES="codebrain/bids-app:$VERSION codebrain/map:$VERSION codebrain/train:$VERSION"
if [ $PHASE = run ]; then
    for image in $IMAGES; do
        $DOCKER image inspect "$image" >/dev/null 2>&1 || fail "$image is not built (docker/test.sh --build-only)"
    done
else
    say "building"
    stage "images: build" docker/build.sh bids-app map train
    [ $PHASE = all ] || exit 0
fi
RUNS=$(date +%s)

say "BIDS-App: one simulated subject, /data read-only, default non-root user"
$PY scripts/make_demo_dataset.py "$WORK/bids" --simulated 1 >/dev/null
mkdir -p "$WORK/out" && chmod 777 "$WORK/out"
before=$(cd "$WORK/bids" && find . -type f -exec sha256sum {} + | sort | sha256sum)
$DOCKER run --rm -v "$WORK/bids:/data:ro" -v "$WORK/out:/out" "codebrain/bids-app:$VERSION" \
    /data /out participant --participant-label 01 --nprocs 2 --skip-bids-validation -w /tmp/work
after=$(cd "$WORK/bids" && find . -type f -exec sha256sum {} + | sort | sha256sum)
[ "$before" = "$after" ] || fail "the BIDS-App changed its input"
synth=$(find "$WORK/out" -name "sub-01_*desc-synth_*.nii.gz" | wc -l)
[ "$synth" -ge 1 ] || fail "no synthesized image in $WORK/out"
owner=$(stat -c %u "$(find "$WORK/out" -name 'sub-01_*desc-synth_*.nii.gz' | head -1)")
[ "$owner" = 1000 ] || fail "outputs owned by uid $owner, not the image's non-root user 1000"
grep -q "codebrain/bids-app:$VERSION" "$WORK/out/dataset_description.json" || fail "container tag not recorded"
[ "$($DOCKER run --rm --user 1234:1234 "codebrain/bids-app:$VERSION" --version)" = "codebrain-bids $VERSION" ] \
    || fail "--version as an arbitrary uid"
set +e; $DOCKER run --rm "codebrain/bids-app:$VERSION" /data /out participant --no-such-option 2>/dev/null; rc=$?; set -e
[ $rc = 64 ] || fail "a bad argument exited $rc, not 64"
say "BIDS-App through Boutiques: bosh exec launch of the image's own descriptor (group level)"
$DOCKER run --rm "codebrain/bids-app:$VERSION" --bids-exec-spec > "$WORK/codebrain-bids.json"
.venv/bin/bosh validate "$WORK/codebrain-bids.json" >/dev/null || fail "bosh validate rejected the image's descriptor"
printf '{"InputDataset": "%s", "OutputLocation": "%s", "AnalysisLevel": "group"}' "$WORK/bids" "$WORK/out" \
    > "$WORK/group.json"
BOSH="$PWD/.venv/bin/bosh"
chmod a+rx "$WORK"  # bosh runs its job script from the launch folder as the image's non-root user
(cd "$WORK" && "$BOSH" exec launch --no-pull codebrain-bids.json group.json >"$WORK/bosh.log" 2>&1) \
    || fail "bosh exec launch in the image failed (see $WORK/bosh.log)"
[ -f "$WORK/out/group_summary.tsv" ] || fail "bosh exec launch wrote no group summary"

say "MAP: a two-series DICOM study through HOLOSCAN_INPUT_PATH / HOLOSCAN_OUTPUT_PATH"
.venv-map/bin/python -m app.study_builder "$WORK/study" \
    T1w="$WORK/bids/sub-01/anat/sub-01_T1w.nii.gz" T2w="$WORK/bids/sub-01/anat/sub-01_T2w.nii.gz" >/dev/null
mkdir -p "$WORK/dicom-out" && chmod 777 "$WORK/dicom-out"
$DOCKER run --rm --ulimit stack=33554432 -v "$WORK/study:/var/holoscan/input:ro" \
    -v "$WORK/dicom-out:/var/holoscan/output" "codebrain/map:$VERSION"
for m in T1Gd FLAIR; do
    n=$(find "$WORK/dicom-out/synthetic-$m" -name "*.dcm" | wc -l)
    [ "$n" = "$(ls "$WORK/study/T1w" | wc -l)" ] || fail "synthetic-$m has $n slices"
done
if command -v dciodvfy >/dev/null; then
    ! dciodvfy "$(find "$WORK/dicom-out/synthetic-FLAIR" -name '*.dcm' | head -1)" 2>&1 | grep -q "^Error" \
        || fail "dciodvfy reports errors"
fi
[ "$($DOCKER run --rm "codebrain/map:$VERSION" --version)" = "codebrain-map $VERSION" ] || fail "MAP --version"

say "training image: three Stage I steps on two simulated subjects"
mkdir -p "$WORK/train" && chmod 777 "$WORK/train"
$DOCKER run --rm -v "$WORK/train:/w" "codebrain/train:$VERSION" \
    codebrain-simulate --output /w/sim --subjects 2 --resolution 2 --modalities T1w,T2w,FLAIR --seed 1 >/dev/null
$DOCKER run --rm -v "$WORK/train:/w" "codebrain/train:$VERSION" \
    codebrain-train stage1 --config tiny --data /w/sim --output /w/run --max-steps 3 --device cpu
[ -f "$WORK/train/run/model.safetensors" ] || fail "the training image wrote no model"
$DOCKER run --rm "codebrain/train:$VERSION" torchrun --help >/dev/null || fail "torchrun missing"

say "passed; image sizes:"
for image in $IMAGES; do $DOCKER image ls "$image" --format "$image {{.Size}}"; done
