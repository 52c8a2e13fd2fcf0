"""``codebrain-train detail``: give a complete model the fine detail of an intensity map.

Fits the per-voxel quadratic map of every missing pattern (``codebrain.evaluation.baselines``) on the
training split of ``--data`` (the slices the model trained on, at its training size) and writes
the model again with the map's coefficients and ``{sigma, amount}`` (``codebrain.model.detail``).
No network weight changes; a later Stage I or II run does not carry the map over, so run this
last. It takes seconds, not a training run's hours; ``--detail-amount fit`` adds inference on the
training slices (about 45 minutes for a 4-modality model on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from codebrain.errors import OutputConflictError, UsageError
from codebrain.model.config import FITTED

if TYPE_CHECKING:  # torch loads only when a stage runs: --help and --version stay fast
    import numpy as np
    import torch

    from codebrain.model.detail import DetailTransfer

DETAIL_NEEDS_MODEL = "the detail stage adds to a complete model: give it with --init (a bundled name or a model folder)"
# the values issue 13's validation chose (benchmarks/recipe-validation-brats/detail-transfer/RULE.md)
DEFAULT_SIGMA, DEFAULT_AMOUNT = 2.0, 0.25
# the amount fit needs thousands of voxels per pattern, not every slice: every 4th of each distinct subject
FIT_STRIDE, FIT_BATCH = 4, 8
# model.json keys that save_model_dir writes itself
_GENERATED = {"format", "codebrain_version", "stage", "modalities", "architecture", "normalisation", "sha256"}


def detail_amount(text: str) -> float | str:
    """``--detail-amount``: a number, or ``fit`` for amounts fitted per pattern and target."""
    return FITTED if text == FITTED else float(text)


def fit_slices(data: Path, subjects: list[str], present: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
    """Indices of complete slices to fit on (``subjects``: one name per slice), and their weights:
    a subject listed n times (an oversampled real patient) is read once and counts n times, as in
    the map's own fit."""
    import numpy as np
    import torch
    by_folder: dict[Path, list[str]] = {}
    for name in dict.fromkeys(subjects):
        by_folder.setdefault((data / name).resolve(), []).append(name)
    names, complete = np.asarray(subjects), present.all(1)
    rows = [np.flatnonzero((names == listed[0]) & complete)[::FIT_STRIDE] for listed in by_folder.values()]
    weights = [np.full(len(r), len(listed), np.float64) for r, listed in zip(rows, by_folder.values())]
    return np.concatenate(rows), torch.from_numpy(np.concatenate(weights))


def fit_amounts(network: Callable[[torch.Tensor], torch.Tensor], detail: DetailTransfer, images: np.ndarray,
                rows: np.ndarray, weights: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
    """(2^C, C) amounts: per pattern and missing target, the ``a`` that minimises
    ``|truth - (net + a * fine)|^2`` in the given images' brain, clipped to [0, 1].

    ``network`` maps an incomplete stack to every modality (the model without its detail);
    ``names`` are the modalities, for the progress lines.
    Fitted on the training slices, so a target whose map transfers poorly (a fine band that does
    not follow the truth's) gets less of it without any validation patient choosing it.
    """
    import numpy as np
    import torch

    from codebrain.data.patterns import missing_patterns
    from codebrain.model.detail import given_index

    n_mod = images.shape[1]
    patterns = [~torch.tensor(missing) for missing in missing_patterns(n_mod)]
    gain = torch.zeros(2**n_mod, n_mod)
    with torch.no_grad():
        for i, given in enumerate(patterns, 1):
            num = torch.zeros(n_mod, dtype=torch.float64)
            den = torch.zeros_like(num)
            for start in range(0, len(rows), FIT_BATCH):
                truth = torch.from_numpy(np.asarray(images[rows[start:start + FIT_BATCH]], dtype=np.float32))
                incomplete = truth * given[None, :, None, None]
                out = network(incomplete)
                fine = detail.fine_band(incomplete, out, given)
                inside = (incomplete[:, given] > 0).any(1, keepdim=True)
                w = weights[start:start + FIT_BATCH, None, None, None] * inside
                num += (w * fine * (truth - out)).sum((0, 2, 3))
                den += (w * fine**2).sum((0, 2, 3))
            amounts = torch.where(given, 0.0, (num / den.clamp_min(1e-12)).clamp(0, 1)).float()
            gain[given_index(given)] = amounts
            print(f"  pattern {i}/{len(patterns)} ({'+'.join(names[c] for c in range(n_mod) if given[c])}): "
                  + ", ".join(f"{names[c]} {amounts[c]:.2f}" for c in range(n_mod) if not given[c]),
                  file=sys.stderr, flush=True)  # a line per pattern: minutes each on a CPU, also in batch logs
    return gain


def fit_detail(args: argparse.Namespace) -> int:
    import torch

    from codebrain.data.slices import build_slice_cache
    from codebrain.data.volumes import split_subjects
    from codebrain.evaluation.baselines import fit_quadratic
    from codebrain.model.detail import DetailTransfer
    from codebrain.model.io import load_model_dir, save_model_dir, training_size
    from codebrain.model.networks import CodeBrain
    from codebrain.runtime.environment import software_versions

    if args.init is None:
        raise UsageError(DETAIL_NEEDS_MODEL)
    if args.detail_sigma <= 0 or (args.detail_amount != FITTED and args.detail_amount < 0):
        raise UsageError("--detail-sigma must be > 0 and --detail-amount >= 0")
    output = Path(args.output)
    if (output / "model.json").exists():
        raise OutputConflictError(f"{output} already holds a model; choose another --output")
    model, info = load_model_dir(args.init)
    mods = tuple(model.config.modalities)
    size = training_size(info)
    subjects = split_subjects(args.data, "train")
    print(f"fitting the intensity map of {len(subjects)} training subjects ({', '.join(mods)}) ...",
          file=sys.stderr, flush=True)
    regression = fit_quadratic(args.data, "train", mods, size, args.cache_dir)
    fitted = args.detail_amount == FITTED
    detail = DetailTransfer(len(mods), args.detail_sigma, None if fitted else args.detail_amount)
    detail.coef.copy_(regression.table())
    if fitted:
        cache = build_slice_cache(args.data, subjects, mods, size, args.cache_dir)
        rows, weights = fit_slices(args.data, cache.subjects, cache.present)
        print(f"fitting the amount of every pattern and target on {len(rows)} training slices ...",
              file=sys.stderr, flush=True)
        network = CodeBrain(model.config)  # the model without any earlier detail map
        network.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("detail.")})
        network.eval().to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # oneDNN's fast layout
        detail.gain.copy_(fit_amounts(lambda x: network.complete(x.contiguous(memory_format=torch.channels_last))[0],
                                      detail, cache.images, rows, weights, mods))
    model.detail = detail
    record = {k: v for k, v in info.items() if k not in _GENERATED}
    record["detail"] = {
        "sigma": args.detail_sigma, "amount": args.detail_amount, "model": str(args.init),
        "model_sha256": info["sha256"], "data": str(args.data), "subjects": subjects,
        "voxels": len(regression.voxels), "command": shlex.join(["codebrain-train", *sys.argv[1:]]),
        "software": software_versions(),
    }
    output.mkdir(parents=True, exist_ok=True)
    save_model_dir(output, model.state_dict(), model.config, 2, record)
    print(f"wrote {output} (detail: sigma {args.detail_sigma} px, amount {args.detail_amount})", file=sys.stderr)
    return 0
