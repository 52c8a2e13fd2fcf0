"""``codebrain-train``: Stage I (code + decoder) and Stage II (the grader) on one device or many.

    codebrain-train stage1 --config small --data DIR --output RUN1
    codebrain-train stage2 --config small --data DIR --stage1 RUN1 --output RUN2
    codebrain-train decoder --config small --data DIR --init RUN2 --output RUN3
    codebrain-train detail --data DIR --init RUN2 --output RUN4
    torchrun --nproc_per_node 4 -m codebrain.train stage1 ...

Every run folder holds ``config.yaml``, ``log.csv``, TensorBoard events (``tb/``),
checkpoints (``checkpoints/step-N``, the two newest kept) and, at the top, the model
directory of the best validation step (``model.safetensors`` + ``model.json``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from codebrain.cli.common import make_parser, run_command
from codebrain.errors import UsageError
from codebrain.train.detail_fit import DEFAULT_AMOUNT, DEFAULT_SIGMA, detail_amount, fit_detail

if TYPE_CHECKING:  # torch and the trainer load only when a run starts, not for --help
    from codebrain.model.config import Config
    from codebrain.train.trainer import RunOptions


def _apply_overrides(cfg: Config, args: argparse.Namespace) -> Config:
    """Command-line options win over the config file."""
    from codebrain.model.config import Config

    train = dict(vars(cfg.train))
    for key, value in (("steps", args.max_steps), ("batch_size", args.batch_size), ("workers", args.workers)):
        if value is not None:
            train[key] = value
    model = dict(vars(cfg.model))
    if args.modalities:
        model["modalities"] = tuple(args.modalities.split(","))
    return Config(name=cfg.name, model=type(cfg.model)(**model), train=type(cfg.train)(**train))


def run_options(args: argparse.Namespace) -> RunOptions:
    from codebrain.train.trainer import RunOptions

    return RunOptions(data=args.data, output=args.output, seed=args.seed, stage1=args.stage1, init=args.init,
                      resume=args.resume, time_limit=args.time_limit, cache_dir=args.cache_dir,
                      command=shlex.join(["codebrain-train", *sys.argv[1:]]))


def train(args: argparse.Namespace) -> int:
    from codebrain.model.config import load_config
    from codebrain.train.distributed import Distributed
    from codebrain.train.stages import TRAINERS
    from codebrain.train.trainer import DECODER_NEEDS_MODEL, STAGE1_NEEDED, load_caches

    if args.stage == "detail":
        return fit_detail(args)
    if args.config is None:
        raise UsageError(f"{args.stage} needs --config (a preset name or a YAML file)")
    try:
        cfg = _apply_overrides(load_config(args.config), args)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.stage == "stage2" and args.stage1 is None:
        raise UsageError(STAGE1_NEEDED)  # before the slice caches are built
    if args.stage == "decoder" and args.init is None:
        raise UsageError(DECODER_NEEDS_MODEL)
    opts = run_options(args)
    ctx = Distributed(args.device)
    try:
        train_cache, val_cache = load_caches(opts, cfg, ctx)
        TRAINERS[args.stage](cfg, opts, ctx).fit(train_cache, val_cache)
    finally:
        ctx.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("codebrain-train", __doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=("stage1", "stage2", "decoder", "detail"),
                        help="which stage to train (decoder: fit a complete model's decoder to its grader's codes; "
                             "detail: add the fine band of an intensity map fitted on --data to a complete model)")
    parser.add_argument("--config", help="preset name (small, paper-brats, ...) or YAML file (every stage but detail)")
    parser.add_argument("--data", required=True, type=Path, help="DIR/<subject>/<Modality>.nii.gz [+ splits.json]")
    parser.add_argument("--output", required=True, type=Path, help="run folder to create")
    parser.add_argument("--stage1", type=Path, help="stage2 only: the Stage I run folder")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    parser.add_argument("--init", metavar="MODEL_DIR",
                        help="fine-tune: start this stage from a model's weights (bundled name or folder; same "
                             "architecture) instead of random ones")
    parser.add_argument("--max-steps", type=int, help="total steps (overrides the config; sets the schedule)")
    parser.add_argument("--batch-size", type=int, help="batch size per process (overrides the config)")
    parser.add_argument("--modalities", help="comma-separated modality list (overrides the config)")
    parser.add_argument("--workers", type=int, help="data loader workers per process")
    parser.add_argument("--time-limit", type=float, metavar="MINUTES",
                        help="end cleanly (validate, save, checkpoint) after this wall time, as under a "
                             "cluster job's limit; the schedule keeps its configured length")
    parser.add_argument("--detail-sigma", type=float, default=DEFAULT_SIGMA, metavar="PX",
                        help="detail only: the scale (Gaussian sigma, pixels) below which the map adds detail")
    parser.add_argument("--detail-amount", type=detail_amount, default=DEFAULT_AMOUNT, metavar="A|fit",
                        help="detail only: how much of the map's fine band is added (0 to 1), or 'fit': each "
                             "pattern's targets get the least-squares amount on the training slices")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--cache-dir", type=Path, help="slice cache (default $CODEBRAIN_CACHE or ~/.cache/codebrain)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
