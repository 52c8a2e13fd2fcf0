"""``codebrain-train detail``: give a complete model the fine detail of an intensity map.

Fits the per-voxel quadratic map of every missing pattern (``codebrain.baselines``) on the
training split of ``--data`` (the slices the model trained on, at its training size) and writes
the model again with the map's coefficients and ``{sigma, amount}`` (``codebrain.model.detail``).
No network weight changes; a later Stage I or II run does not carry the map over, so run this
last. It takes seconds, not a training run's hours.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from codebrain.errors import OutputConflictError, UsageError

DETAIL_NEEDS_MODEL = "the detail stage adds to a complete model: give it with --init (a bundled name or a model folder)"
# the values issue 13's validation chose (benchmarks/recipe-validation-brats/detail-transfer/RULE.md)
DEFAULT_SIGMA, DEFAULT_AMOUNT = 2.0, 0.25
# model.json keys that save_model_dir writes itself
_GENERATED = {"format", "codebrain_version", "stage", "modalities", "architecture", "normalisation", "sha256"}


def fit_detail(args: argparse.Namespace) -> int:
    from codebrain.baselines import fit_quadratic
    from codebrain.data.volumes import split_subjects
    from codebrain.model.detail import DetailTransfer
    from codebrain.model.io import load_model_dir, save_model_dir

    if args.init is None:
        raise UsageError(DETAIL_NEEDS_MODEL)
    if args.detail_sigma <= 0 or args.detail_amount < 0:
        raise UsageError("--detail-sigma must be > 0 and --detail-amount >= 0")
    output = Path(args.output)
    if (output / "model.json").exists():
        raise OutputConflictError(f"{output} already holds a model; choose another --output")
    model, info = load_model_dir(args.init)
    mods = tuple(model.config.modalities)
    size = info.get("training", {}).get("config", {}).get("train", {}).get("image_size", 256)
    subjects = split_subjects(args.data, "train")
    print(f"fitting the intensity map of {len(subjects)} training subjects ({', '.join(mods)}) ...",
          file=sys.stderr, flush=True)
    regression = fit_quadratic(args.data, "train", mods, size, args.cache_dir)
    detail = DetailTransfer(len(mods), args.detail_sigma, args.detail_amount)
    detail.coef.copy_(regression.table())
    model.detail = detail
    record = {k: v for k, v in info.items() if k not in _GENERATED}
    record["detail"] = {
        "sigma": args.detail_sigma, "amount": args.detail_amount, "model": str(args.init),
        "model_sha256": info["sha256"], "data": str(args.data), "subjects": subjects,
        "voxels": len(regression.voxels), "command": shlex.join(["codebrain-train", *sys.argv[1:]]),
    }
    output.mkdir(parents=True, exist_ok=True)
    save_model_dir(output, model.state_dict(), model.config, 2, record)
    print(f"wrote {output} (detail: sigma {args.detail_sigma} px, amount {args.detail_amount})", file=sys.stderr)
    return 0
