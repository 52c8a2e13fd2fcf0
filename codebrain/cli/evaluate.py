"""``codebrain-eval``: the paper's protocol on a test split.

The protocol is ``codebrain.evaluation.protocol``; only argparse and the shared CLI load before the
arguments are parsed, so ``--help`` and ``--version`` answer at once; torch and the model load
when a run starts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from codebrain.cli.common import make_parser, run_command
from codebrain.errors import UsageError
from codebrain.runtime.resources import resolve_device

if TYPE_CHECKING:
    from codebrain.evaluation.protocol import Predictor


def _baseline(args: argparse.Namespace, size: int) -> tuple[Predictor, tuple[str, ...], dict]:
    from codebrain.data.modalities import check_modalities
    from codebrain.evaluation.baselines import MeanOfInputs, fit_quadratic

    if not args.modalities:
        raise UsageError("--baseline needs --modalities (the list a model would have)")
    try:
        mods = check_modalities(args.modalities.split(","))
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.baseline == "mean":
        return MeanOfInputs(), mods, {"model": "baseline: mean of the given inputs"}
    return fit_quadratic(args.data, args.fit_split, mods, size, args.cache_dir), mods, {
        "model": f"baseline: per-voxel quadratic regression fitted on split {args.fit_split!r}"}


def _main(args: argparse.Namespace) -> int:
    from codebrain.data.slices import build_slice_cache
    from codebrain.data.volumes import split_subjects
    from codebrain.evaluation.protocol import evaluate_slices, format_table, model_predictor
    from codebrain.model.io import load_model_dir, training_size
    from codebrain.runtime.resources import prepare_inference
    from codebrain.runtime.staging import atomic_write

    prepare_inference()
    device = resolve_device(args.device)
    if bool(args.model) == bool(args.baseline):
        raise UsageError("give either --model or --baseline")
    if args.model:
        model, info = load_model_dir(args.model, device=device)
        predict, mods = model_predictor(model, mirror=args.mirror), model.config.modalities
        size = args.image_size or training_size(info)
        described = {"model": str(args.model), "model_sha256": info["sha256"], "mirror": args.mirror}
    else:
        size = args.image_size or 256
        predict, mods, described = _baseline(args, size)
    subjects = split_subjects(args.data, args.split)
    cache = build_slice_cache(args.data, subjects, mods, size, args.cache_dir)
    report = evaluate_slices(predict, mods, cache.images, cache.present, args.batch_size, device, cache.subjects)
    report.update(**described, data=str(args.data), split=args.split, subjects=subjects,
                  n_slices=int(len(cache.images)), slice_size=size)
    print(format_table(report))
    if args.output:
        with atomic_write(args.output) as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("codebrain-eval", __doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory or bundled model name")
    parser.add_argument("--mirror", action="store_true", help="with --model: as codebrain-synth --mirror")
    parser.add_argument("--baseline", choices=("mean", "quadratic"),
                        help="score a baseline instead of a model: the mean of the given inputs, or a "
                        "per-voxel quadratic regression fitted on --fit-split")
    parser.add_argument("--modalities", help="with --baseline: comma-separated modality list")
    parser.add_argument("--fit-split", default="train", help="with --baseline quadratic: split to fit on")
    parser.add_argument("--data", required=True, type=Path, help="DIR/<subject>/<Modality>.nii.gz [+ splits.json]")
    parser.add_argument("--split", default="test", help="split of splits.json (default test; all subjects without it)")
    parser.add_argument("--output", type=Path, help="write the full report as JSON")
    parser.add_argument("--batch-size", type=int, default=4,
                        help="slices per forward pass (default 4: larger batches are slower per slice on a CPU)")
    parser.add_argument("--image-size", type=int, help="slice size (default: the model's training size)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--cache-dir", type=Path, help="slice cache (default $CODEBRAIN_CACHE or ~/.cache/codebrain)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
