#!/usr/bin/env bash
# The main job on a fresh machine: the BIDS-App on a small dataset with the bundled model, on CPU.
# The dataset (demo/bids) holds the real glioma patient TCGA-FG-6692 as acquired (four contrasts on
# their own grids, skull on) and two simulated subjects with missing contrasts. FLAIR is held out
# from the model and compared with the synthesized one in the report. Writes everything under demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-demo}
BIN=.venv/bin
rm -rf "$OUT"
$BIN/python scripts/make_demo_dataset.py "$OUT/bids"
$BIN/codebrain-bids "$OUT/bids" "$OUT/bids/derivatives/codebrain" participant --hold-out FLAIR -w "$OUT/work"
$BIN/codebrain-bids "$OUT/bids" "$OUT/bids/derivatives/codebrain" group
echo "demo finished: open $OUT/bids/derivatives/codebrain/sub-tcgafg6692.html (and group_summary.html)"
