"""``codebrain-eval``: the paper's protocol on a test split.

For every missing pattern of the model's modality list (at least one modality given,
at least one missing), every missing modality is synthesized slice by slice and scored
against the real one: PSNR (data range 1, prediction clamped to [0, 1]), SSIM (%) and
MAE (x1000), averaged over slices. Summaries: per missing modality (over the patterns
where it is missing), by number of inputs, and overall (the mean over every
pattern x missing modality entry). Slices are those of the training cache: axial,
normalised, padded or cropped to the model's training size, as the paper's arrays are.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from codebrain.cli import EXIT_USAGE, UserError, make_parser, resolve_device, run_command
from codebrain.data.modalities import check_modalities
from codebrain.data.slices import build_slice_cache
from codebrain.data.volumes import split_subjects
from codebrain.metrics import slice_metrics
from codebrain.model.io import load_model_dir
from codebrain.model.networks import CodeBrain
from codebrain.patterns import describe, missing_patterns

METRICS = ("psnr", "ssim", "mae")


def _mean(entries: list[dict]) -> dict[str, float]:
    return {k: round(float(np.mean([e[k] for e in entries])), 4) for k in METRICS} if entries else {}


Predictor = Callable[[torch.Tensor, np.ndarray], torch.Tensor]


def model_predictor(model: CodeBrain) -> Predictor:
    return lambda incomplete, missing: model.complete(incomplete)[0]


@torch.no_grad()
def evaluate_slices(
    predict: Predictor, modalities: tuple[str, ...], images: np.ndarray, present: np.ndarray,
    batch_size: int = 16, device: str | torch.device = "cpu",
) -> dict:
    """Score every pattern on (N, C, S, S) slices; ``present`` marks real modalities per slice.

    ``predict(incomplete, missing)`` returns every modality from the input with the
    missing channels zeroed: the model, or a baseline (``codebrain.baselines``).
    """
    mods = tuple(modalities)
    results = []
    patterns = missing_patterns(len(mods))
    for pattern in tqdm(patterns, desc="patterns", unit="pattern", disable=None):
        missing = np.asarray(pattern)
        usable = np.flatnonzero(present[:, ~missing].all(1))
        scores: dict[int, dict[str, list[float]]] = {c: {k: [] for k in METRICS} for c in np.flatnonzero(missing)}
        for start in range(0, len(usable), batch_size):
            idx = usable[start : start + batch_size]
            full = torch.from_numpy(np.asarray(images[idx], dtype=np.float32)).to(device)
            pred = predict(full * torch.from_numpy(~missing).float().to(device)[None, :, None, None], missing)
            for c in scores:
                real = present[idx, c]
                if not real.any():
                    continue
                m = slice_metrics(pred[real, c : c + 1], full[real, c : c + 1])
                for k in METRICS:
                    scores[c][k] += m[k].cpu().tolist()
        for c, s in scores.items():
            if s["psnr"]:
                results.append({"pattern": describe(pattern, mods), "given": [m for m, x in zip(mods, pattern) if not x],
                                "missing": mods[c], "n_inputs": int((~missing).sum()), "n_slices": len(s["psnr"]),
                                **{k: round(float(np.mean(v)), 4) for k, v in s.items()}})
    return summarise(results, mods)


def summarise(entries: list[dict], modalities: tuple[str, ...]) -> dict:
    return {
        "modalities": list(modalities),
        "entries": entries,
        "by_missing_modality": {m: _mean([e for e in entries if e["missing"] == m]) for m in modalities},
        "by_number_of_inputs": {str(n): _mean([e for e in entries if e["n_inputs"] == n])
                                for n in sorted({e["n_inputs"] for e in entries})},
        "overall": _mean(entries),
    }


def format_table(report: dict) -> str:
    """Rows: given modalities; columns: PSNR / SSIM of each missing modality, as in the paper."""
    mods = report["modalities"]
    head = f"{'given':<28}" + "".join(f"{m + ' PSNR/SSIM/MAE':>26}" for m in mods)
    lines = [head, "-" * len(head)]
    for given in dict.fromkeys("+".join(e["given"]) for e in report["entries"]):
        row = {e["missing"]: e for e in report["entries"] if "+".join(e["given"]) == given}
        cells = [f"{row[m]['psnr']:8.2f} {row[m]['ssim']:7.2f} {row[m]['mae']:7.2f}" if m in row else f"{'-':>24}"
                 for m in mods]
        lines.append(f"{given:<28}" + "".join(f"{c:>26}" for c in cells))
    lines.append("-" * len(head))
    for n, s in report["by_number_of_inputs"].items():
        lines.append(f"{'mean, ' + n + ' input(s)':<28}{s['psnr']:8.2f} dB  SSIM {s['ssim']:6.2f}  MAE {s['mae']:6.2f}")
    o = report["overall"]
    lines.append(f"{'overall':<28}{o['psnr']:8.2f} dB  SSIM {o['ssim']:6.2f}  MAE {o['mae']:6.2f}")
    return "\n".join(lines)


def _baseline(args: argparse.Namespace, size: int) -> tuple[Predictor, tuple[str, ...], dict]:
    from codebrain.baselines import MeanOfInputs, QuadraticRegression

    if not args.modalities:
        raise UserError("--baseline needs --modalities (the list a model would have)", EXIT_USAGE)
    try:
        mods = check_modalities(args.modalities.split(","))
    except ValueError as err:
        raise UserError(str(err), EXIT_USAGE) from None
    if args.baseline == "mean":
        return MeanOfInputs(), mods, {"model": "baseline: mean of the given inputs"}
    fit = build_slice_cache(args.data, split_subjects(args.data, args.fit_split), mods, size, args.cache_dir)
    return QuadraticRegression.fit(fit.images, fit.present), mods, {
        "model": f"baseline: per-voxel quadratic regression fitted on split {args.fit_split!r}"}


def _main(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    if bool(args.model) == bool(args.baseline):
        raise UserError("give either --model or --baseline", EXIT_USAGE)
    if args.model:
        model, info = load_model_dir(args.model, device=device)
        predict, mods = model_predictor(model), model.config.modalities
        size = args.image_size or info.get("training", {}).get("config", {}).get("train", {}).get("image_size", 256)
        described = {"model": str(args.model), "model_sha256": info["sha256"]}
    else:
        size = args.image_size or 256
        predict, mods, described = _baseline(args, size)
    subjects = split_subjects(args.data, args.split)
    cache = build_slice_cache(args.data, subjects, mods, size, args.cache_dir)
    report = evaluate_slices(predict, mods, cache.images, cache.present, args.batch_size, device)
    report.update(**described, data=str(args.data), split=args.split, subjects=subjects,
                  n_slices=int(len(cache.images)), slice_size=size)
    print(format_table(report))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.output.with_name(f".part-{args.output.name}")
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        tmp.replace(args.output)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("codebrain-eval", __doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory or bundled model name")
    parser.add_argument("--baseline", choices=("mean", "quadratic"),
                        help="score a baseline instead of a model: the mean of the given inputs, or a "
                        "per-voxel quadratic regression fitted on --fit-split")
    parser.add_argument("--modalities", help="with --baseline: comma-separated modality list")
    parser.add_argument("--fit-split", default="train", help="with --baseline quadratic: split to fit on")
    parser.add_argument("--data", required=True, type=Path, help="DIR/<subject>/<Modality>.nii.gz [+ splits.json]")
    parser.add_argument("--split", default="test", help="split of splits.json (default test; all subjects without it)")
    parser.add_argument("--output", type=Path, help="write the full report as JSON")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, help="slice size (default: the model's training size)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--cache-dir", type=Path, help="slice cache (default $CODEBRAIN_CACHE or ~/.cache/codebrain)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
