"""Volume-level quality of a model on held-out subjects: plane fusion and confidence calibration.

    python benchmarks/synthesis_quality.py --model brats --data DIR --split test [--json out.json]

For every missing pattern and held-out subject, synthesizes the missing modalities from
the given ones through ``codebrain.inference.synthesize`` (the inference path users get) with
axial slices only and with axial+coronal+sagittal fusion, and reports PSNR inside the
brain mask (normalised scale, data range 1) for both. Calibration: the brain is cut
into 8x8x8-voxel blocks; the Spearman correlation between a block's mean confidence and
its mean absolute error, over all blocks, patterns and subjects, should be negative
(low confidence where the error is high).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from codebrain.data.patterns import describe, missing_patterns
from codebrain.data.volumes import load_subject, split_subjects
from codebrain.inference.synthesize import Synthesizer
from codebrain.runtime.environment import environment

BLOCK = 8


def block_means(volume: np.ndarray, mask: np.ndarray) -> np.ndarray:
    shape = [s // BLOCK * BLOCK for s in volume.shape]
    v = volume[: shape[0], : shape[1], : shape[2]]
    m = mask[: shape[0], : shape[1], : shape[2]]
    blocks = lambda a: a.reshape(shape[0] // BLOCK, BLOCK, shape[1] // BLOCK, BLOCK, shape[2] // BLOCK, BLOCK)  # noqa: E731
    total = blocks(v * m).sum(axis=(1, 3, 5))
    count = blocks(m.astype(np.float32)).sum(axis=(1, 3, 5))
    keep = count > BLOCK**3 / 2
    return total[keep] / count[keep]


def psnr(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    mse = float(np.mean((np.clip(pred[mask], 0, 1) - truth[mask]) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="brats")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-inputs", type=int, help="only patterns with at most this many inputs")
    parser.add_argument("--json")
    args = parser.parse_args()
    axial = Synthesizer(args.model, device=args.device)
    fused = Synthesizer(args.model, device=args.device, planes=("axial", "coronal", "sagittal"))
    mods = axial.modalities
    rows, conf_blocks, err_blocks = [], [], []
    for name in split_subjects(args.data, args.split):
        vols = load_subject(args.data / name, mods)
        for pattern in missing_patterns(len(mods)):
            given = [m for m, miss in zip(mods, pattern) if not miss]
            if not all(m in vols.data for m in given) or (args.max_inputs and len(given) > args.max_inputs):
                continue
            inputs = {m: (vols.data[m], vols.affine) for m in given}
            a, f = axial.run(inputs), fused.run(inputs)
            for target in a.images:
                if target not in vols.data:
                    continue
                truth = vols.data[target]
                pa, pf = a.images[target].get_fdata(), f.images[target].get_fdata()
                rows.append({"subject": name, "pattern": describe(pattern, mods), "target": target,
                             "psnr_axial": round(psnr(pa, truth, vols.mask), 3),
                             "psnr_3planes": round(psnr(pf, truth, vols.mask), 3)})
                conf_blocks.append(block_means(a.confidence[target].get_fdata(), vols.mask))
                err_blocks.append(block_means(np.abs(np.clip(pa, 0, 1) - truth), vols.mask))
    rho = spearmanr(np.concatenate(conf_blocks), np.concatenate(err_blocks)).statistic
    mean_a = float(np.mean([r["psnr_axial"] for r in rows]))
    mean_f = float(np.mean([r["psnr_3planes"] for r in rows]))
    print(f"{'pattern':<32}{'target':<8}{'axial':>8}{'3 planes':>10}")
    for r in rows:
        print(f"{r['pattern']:<32}{r['target']:<8}{r['psnr_axial']:>8.2f}{r['psnr_3planes']:>10.2f}")
    print(f"mean PSNR in the brain: axial {mean_a:.2f} dB, 3 planes {mean_f:.2f} dB")
    print(f"Spearman(confidence, |error|) over {sum(len(c) for c in conf_blocks)} blocks: {rho:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"model": args.model, **environment(), "rows": rows,
                                               "mean_psnr_axial": mean_a, "mean_psnr_3planes": mean_f,
                                               "spearman_confidence_error": rho},
                                              indent=2))


if __name__ == "__main__":
    main()
