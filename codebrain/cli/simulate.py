"""``codebrain-simulate``: simulated multi-contrast subjects, in the training layout
(``DIR/<subject>/<Modality>.nii.gz``, skull-stripped, 1 mm, co-registered) or, with ``--bids``,
as a raw BIDS dataset (skull on, each contrast on its own scanner grid)."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from codebrain.cli.common import make_parser, run_command
from codebrain.data.modalities import MODALITIES, check_modalities
from codebrain.errors import UsageError

if TYPE_CHECKING:  # the simulator (torch, MONAI) loads only when a run starts, not for --help
    from codebrain.data.simulate import SimulationOptions


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("codebrain-simulate", __doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, type=Path, help="folder to create or fill")
    parser.add_argument("--subjects", type=int, default=4, help="number of subjects (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--modalities", default=",".join(MODALITIES),
                        help="comma-separated list (default: all of %(default)s)")
    parser.add_argument("--lesions", type=float, default=0.5, metavar="P",
                        help="probability that a subject has a lesion (default 0.5)")
    parser.add_argument("--lesion-radius", type=float, nargs=2, default=(14.0, 32.0), metavar=("MIN", "MAX"),
                        help="range of a lesion's oedema radius in mm, at least 2 (default 14 32)")
    parser.add_argument("--enhancing", type=float, default=0.7, metavar="P",
                        help="probability that a lesion has an enhancing rim (default 0.7)")
    parser.add_argument("--gadolinium", type=float, nargs=2, default=(0.2, 0.7), metavar=("MIN", "MAX"),
                        help="range of the contrast agent's concentration in enhancing tissue, mM (default 0.2 0.7)")
    parser.add_argument("--resolution", type=int, choices=(1, 2), default=1,
                        help="anatomy grid in mm (default 1; 2 is 8x faster, for tests)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="subjects simulated in parallel processes (default 1; not with --bids)")
    parser.add_argument("--bids", action="store_true",
                        help="write a raw BIDS dataset (skull on, own grid per contrast)")
    parser.add_argument("--sessions", type=int, default=1,
                        help="sessions per subject in --bids mode (default 1: no ses- level)")
    parser.add_argument("--missing", type=float, default=0.5, metavar="P",
                        help="--bids: probability that a subject lacks some contrasts (default 0.5)")
    return parser


def _main(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from codebrain.data.simulate import SimulationOptions, subject_seeds
    from codebrain.data.simulate_bids import write_bids_dataset

    try:
        modalities = check_modalities(args.modalities.split(","))
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.subjects < 1:
        raise UsageError("--subjects must be at least 1")
    if not all(0.0 <= p <= 1.0 for p in (args.lesions, args.missing, args.enhancing)):
        raise UsageError("--lesions, --missing and --enhancing are probabilities in [0, 1]")
    ranges = (("--lesion-radius", args.lesion_radius, 2.0), ("--gadolinium", args.gadolinium, 0.0))
    for flag, (low, high), floor in ranges:
        if not floor <= low <= high:
            raise UsageError(f"{flag} needs MIN <= MAX and MIN >= {floor:g}")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.sessions < 1:
        raise UsageError("--sessions must be at least 1")
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"--output {args.output} exists and is not a folder")
    options = SimulationOptions(lesion_probability=args.lesions, resolution=args.resolution,
                                lesion_radius_mm=tuple(args.lesion_radius), enhancing_probability=args.enhancing,
                                gadolinium_mM=tuple(args.gadolinium))
    if args.bids:
        write_bids_dataset(args.output, args.subjects, args.seed, modalities, options,
                           sessions=args.sessions, missing_probability=args.missing)
        return 0
    args.output.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, modalities, options, args.output / f"sim{index + 1:04d}")
            for index, seed in enumerate(subject_seeds(args.seed, args.subjects))]
    progress = tqdm(total=len(jobs), desc="simulating", unit="subject", disable=None)
    if args.jobs == 1:
        for job in jobs:
            _simulate_and_write(*job)
            progress.update(1)
    else:  # subjects are seeded alone (same bytes as one process); one thread per worker, no oversubscription
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=torch.set_num_threads, initargs=(1,)) as pool:
            for future in as_completed([pool.submit(_simulate_and_write, *job) for job in jobs]):
                future.result()
                progress.update(1)
    progress.close()
    return 0


def _simulate_and_write(seed: int, modalities: tuple[str, ...], options: SimulationOptions, out: Path) -> None:
    from codebrain.data.simulate import simulate_subject
    from codebrain.data.training_folder import write_training_subject

    write_training_subject(simulate_subject(seed, modalities, options), out)


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
