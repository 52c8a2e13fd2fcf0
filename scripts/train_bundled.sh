#!/usr/bin/env bash
# Reproduce the bundled models (codebrain/weights/{brats,ixi}) from scratch on a CPU.
#   scripts/train_bundled.sh [WORK_DIR] [SHARED_DATA]
# Needs the real TCGA cases of ../shared/data/brats_style. Trains both models side by side,
# one thread each (about 40 min on 2 cores), evaluates them and the baselines on the
# held-out patient TCGA-DU-7294, and copies the models into codebrain/weights/.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-train-bundled}
SHARED=${2:-../shared/data}
BIN=$PWD/.venv/bin
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
export CODEBRAIN_CACHE="$WORK/cache"

# Data: 12 simulated subjects (all five contrasts, lesions in 60 %) and the real TCGA
# patients; TCGA-FG-6692 trains (repeated 8x so real slices are about a third of the
# BraTS-style set), TCGA-DU-7294 is held out for testing.
[ -d "$WORK/sim/sim0012" ] || $BIN/codebrain-simulate --output "$WORK/sim" --subjects 12 --seed 2026 --lesions 0.6
[ -d "$WORK/real" ] || $BIN/codebrain-prepare brats --input "$SHARED/brats_style" --output "$WORK/real" --val 0 --test 0.5
mkdir -p "$WORK/brats" "$WORK/ixi"
for d in "$WORK"/sim/sim*; do ln -sfn "$d" "$WORK/brats/$(basename "$d")"; ln -sfn "$d" "$WORK/ixi/$(basename "$d")"; done
ln -sfn "$WORK/real/TCGA-DU-7294" "$WORK/brats/TCGA-DU-7294"
ln -sfn "$WORK/real/TCGA-DU-7294" "$WORK/ixi/TCGA-DU-7294"
ln -sfn "$WORK/real/TCGA-FG-6692" "$WORK/brats/TCGA-FG-6692"
for i in 1 2 3 4 5 6 7; do ln -sfn "$WORK/real/TCGA-FG-6692" "$WORK/brats/TCGA-FG-6692-r$i"; done
SIMS=$(cd "$WORK/sim" && ls -d sim* | sed 's/.*/"&"/' | paste -sd, -)
REAL='"TCGA-FG-6692", "TCGA-FG-6692-r1", "TCGA-FG-6692-r2", "TCGA-FG-6692-r3", "TCGA-FG-6692-r4", "TCGA-FG-6692-r5", "TCGA-FG-6692-r6", "TCGA-FG-6692-r7"'
printf '{"train": [%s, %s], "val": ["TCGA-FG-6692"], "test": ["TCGA-DU-7294"]}\n' "$SIMS" "$REAL" > "$WORK/brats/splits.json"
TRAIN_IXI=$(cd "$WORK/sim" && ls -d sim* | head -n -1 | sed 's/.*/"&"/' | paste -sd, -)
printf '{"train": [%s], "val": ["sim0012"], "test": ["TCGA-DU-7294"]}\n' "$TRAIN_IXI" > "$WORK/ixi/splits.json"

train() {  # name
    OMP_NUM_THREADS=1 $BIN/codebrain-train stage1 --config "bundled-$1" --data "$WORK/$1" \
        --output "$WORK/runs/$1-stage1" --device cpu --seed 2026
    OMP_NUM_THREADS=1 $BIN/codebrain-train stage2 --config "bundled-$1" --data "$WORK/$1" \
        --stage1 "$WORK/runs/$1-stage1" --output "$WORK/runs/$1" --device cpu --seed 2026
}
train brats & train ixi & wait

for name in brats ixi; do
    mods=$(python3 -c "import json; print(','.join(json.load(open('$WORK/runs/$name/model.json'))['modalities']))")
    $BIN/codebrain-eval --model "$WORK/runs/$name" --data "$WORK/$name" --output "$WORK/eval-$name.json"
    $BIN/codebrain-eval --baseline mean --modalities "$mods" --data "$WORK/$name" --output "$WORK/eval-$name-mean.json"
    $BIN/codebrain-eval --baseline quadratic --modalities "$mods" --data "$WORK/$name" --output "$WORK/eval-$name-quadratic.json"
    mkdir -p "codebrain/weights/$name"
    cp "$WORK/runs/$name/model.safetensors" "$WORK/runs/$name/model.json" "codebrain/weights/$name/"
done
for name in brats ixi; do .venv/bin/python scripts/model_card.py "$name" "$WORK"; done
