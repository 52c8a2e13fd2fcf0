#!/usr/bin/env bash
# The main job on a fresh machine: complete a subject's missing contrasts with the bundled
# model, then the whole training path on a toy scale (simulate, train both stages, evaluate).
# Writes everything under demo/ (about ten minutes on 2 CPU cores).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-demo}
BIN=.venv/bin
rm -rf "$OUT"
export CODEBRAIN_CACHE="$OUT/cache"

# 1. Synthesis with the bundled `brats` model: a simulated 1 mm subject with a lesion, given
#    T1w and FLAIR, gets T1Gd and T2w (plus confidence maps); then the paper's table for it.
$BIN/codebrain-simulate --output "$OUT/subject" --subjects 1 --seed 7 --lesions 1 \
    --modalities T1w,T1Gd,T2w,FLAIR
$BIN/codebrain-synth --input T1w="$OUT/subject/sim0001/T1w.nii.gz" \
    --input FLAIR="$OUT/subject/sim0001/FLAIR.nii.gz" --output-dir "$OUT/synthesized" --confidence
$BIN/codebrain-eval --model brats --data "$OUT/subject" --split test --output "$OUT/eval-bundled.json"

# 2. Training on a toy scale: four simulated subjects at 2 mm, the tiny preset.
$BIN/codebrain-simulate --output "$OUT/data" --subjects 4 --seed 1 --resolution 2 \
    --modalities T1w,T2w,FLAIR --lesions 0.75
printf '{"train": ["sim0001", "sim0002", "sim0003"], "val": [], "test": ["sim0004"]}\n' > "$OUT/data/splits.json"
$BIN/codebrain-train stage1 --config tiny --data "$OUT/data" --output "$OUT/run1" --max-steps 300 --device cpu
$BIN/codebrain-train stage2 --config tiny --data "$OUT/data" --stage1 "$OUT/run1" --output "$OUT/run2" \
    --max-steps 200 --device cpu
$BIN/codebrain-eval --model "$OUT/run2" --data "$OUT/data" --split test --output "$OUT/eval.json"
echo "demo finished: synthesized images in $OUT/synthesized, toy model in $OUT/run2," \
    "evaluations in $OUT/eval-bundled.json and $OUT/eval.json"
