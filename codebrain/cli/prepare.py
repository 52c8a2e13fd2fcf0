"""``codebrain-prepare``: turn the public IXI and BraTS 2023 layouts into a training folder.

    codebrain-prepare brats --input BraTS2023/ --output DIR [--val 0.1 --test 0.2 --seed 0]
    codebrain-prepare ixi --input IXI/ --output DIR

BraTS cases are already co-registered and skull-stripped: files are renamed into
``DIR/<case>/<Modality>.nii.gz``. IXI's T1 is acquired on another grid than its T2 and
PD (which share the dual-echo grid): the T1 is registered rigidly to the T2 with ANTs
and resampled onto it (needs ``pip install antspyx``). Both write ``DIR/splits.json``,
split by subject with a fixed seed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codebrain.cli.common import make_parser, run_command


def _main(args: argparse.Namespace) -> int:
    from codebrain.data.prepare import prepare

    splits = prepare(args.layout, args.input, args.output, args.val, args.test, args.seed)
    done = sum(len(v) for v in splits.values())
    print(f"{done} subjects: {len(splits['train'])} train, {len(splits['val'])} val, {len(splits['test'])} test")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("codebrain-prepare", __doc__.split("\n\n")[0])
    parser.add_argument("layout", choices=("brats", "ixi"))
    parser.add_argument("--input", required=True, type=Path, help="folder holding the downloaded data")
    parser.add_argument("--output", required=True, type=Path, help="training folder to write")
    parser.add_argument("--val", type=float, default=0.1, help="validation fraction (default 0.1)")
    parser.add_argument("--test", type=float, default=0.2, help="test fraction (default 0.2)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
