#!/usr/bin/env bash
# The main job on a fresh machine: simulate subjects, train both stages, evaluate.
# Writes everything under demo/ (a few minutes on 2 CPU cores).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-demo}
BIN=.venv/bin
rm -rf "$OUT"
$BIN/codebrain-simulate --output "$OUT/data" --subjects 4 --seed 1 --resolution 2 \
    --modalities T1w,T2w,FLAIR --lesions 0.75
printf '{"train": ["sim0001", "sim0002", "sim0003"], "val": [], "test": ["sim0004"]}\n' > "$OUT/data/splits.json"
export CODEBRAIN_CACHE="$OUT/cache"
$BIN/codebrain-train stage1 --config tiny --data "$OUT/data" --output "$OUT/run1" --max-steps 300 --device cpu
$BIN/codebrain-train stage2 --config tiny --data "$OUT/data" --stage1 "$OUT/run1" --output "$OUT/run2" \
    --max-steps 200 --device cpu
$BIN/codebrain-eval --model "$OUT/run2" --data "$OUT/data" --split test --output "$OUT/eval.json"
echo "demo finished: model in $OUT/run2, evaluation in $OUT/eval.json"
