#!/usr/bin/env bash
# The one prepared accelerator run (issue 18): the published trainer and ours, timed in the SAME call
# on the same card, results under $OUT (or the folder given). Needs the CUDA image's environment
# (docker/train.Dockerfile) or a venv with CUDA torch; einops and scipy for the anchor.
#   OUT=/tmp/gpu bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${OUT:?give an output folder or set OUT}}
mkdir -p "$OUT"
PY=${PYTHON:-python}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/card.csv"
OUT="$OUT" $PY ../shared/anchors/codebrain-official/bench_ref.py s1 s2 inf > "$OUT/anchor.log" 2>&1
for mode in eager compile; do
    flag=$([ $mode = compile ] && echo --compile || true)
    $PY benchmarks/train_throughput.py --preset paper-ixi --batch-size 8 --stage2-batch-size 16 --device cuda \
        $flag --anchor "$OUT/ref_bench.json" --json "$OUT/train-throughput-paper-ixi-$mode.json" \
        2>&1 | tee "$OUT/train-$mode.log"
done
$PY benchmarks/synthesize_speed.py --preset paper-ixi --device cuda --batch-size 155 \
    --anchor "$OUT/ref_bench.json" --json "$OUT/synthesize-speed-paper-ixi.json" 2>&1 | tee "$OUT/infer.log"
