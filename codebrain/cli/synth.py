"""``codebrain-synth``: synthesize the missing MRI contrasts of one subject.

The work is ``codebrain.inference.synthesize``; only argparse and the shared CLI load before the
arguments are parsed, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from codebrain.cli.common import make_parser, run_command
from codebrain.data.modalities import MODALITIES
from codebrain.errors import DataError, NoInputError, UsageError
from codebrain.model.names import BUNDLED, PLANES


def _input_path(pair: str) -> tuple[str, Path]:
    name, sep, path = pair.partition("=")
    if not sep or not path:
        raise UsageError(f"--input {pair!r}: expected MODALITY=FILE, e.g. T1w=t1.nii.gz")
    if name not in MODALITIES:
        raise UsageError(f"--input {pair!r}: unknown modality {name!r} (known: {', '.join(MODALITIES)})")
    file = Path(path)
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        raise NoInputError(f"--input {name}: {path} does not exist") from None
    except OSError as err:  # a symlink loop, a path through a non-folder
        raise NoInputError(f"--input {name}: {path}: {err.strerror}") from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise DataError(f"--input {name}: {path} is {what}; expected a NIfTI file")
    return name, file


def _parse_inputs(pairs: list[str]) -> dict[str, Path]:
    inputs: dict[str, Path] = {}
    for pair in pairs:
        name, path = _input_path(pair)
        if name in inputs:
            raise UsageError(f"--input: {name} given twice")
        inputs[name] = path
    return inputs


def _output_names(modalities: Iterable[str], confidence: bool) -> list[str]:
    suffixes = ("", "_confidence") if confidence else ("",)
    return [f"{m}{s}.nii.gz" for m in modalities for s in suffixes]


def _main(args: argparse.Namespace) -> int:
    import numpy as np

    from codebrain.data.volumes import read_nifti, save_nifti
    from codebrain.inference.synthesize import Synthesizer, choose_model
    from codebrain.runtime.resources import prepare_inference
    from codebrain.runtime.staging import check_destinations, staged_outputs

    if args.nthreads is not None and args.nthreads < 1:
        raise UsageError("--nthreads must be at least 1")
    prepare_inference(args.nthreads)
    paths = _parse_inputs(args.input)
    images = {name: read_nifti(path, f"--input {name}") for name, path in paths.items()}
    synth = Synthesizer(args.model or choose_model(list(images)), device=args.device, planes=tuple(args.planes),
                        batch_size=args.batch_size, progress=True, mirror=args.mirror)
    synth.check_modalities(images)
    missing = [m for m in synth.modalities if m not in images]
    names = _output_names(missing, args.confidence)
    check_destinations([args.output_dir / n for n in names], paths.values(), args.overwrite)
    # float32 compresses to about half in gzip; twice that is a margin, not a promise
    reserve = len(names) * 4 * int(np.prod(next(iter(images.values())).shape[:3]))
    with staged_outputs(args.output_dir, reserve) as stage:
        result = synth.run(images)
        for modality, img in result.images.items():
            save_nifti(np.asarray(img.dataobj), img.affine, stage / f"{modality}.nii.gz")
            if args.confidence:
                conf = result.confidence[modality]
                save_nifti(np.asarray(conf.dataobj), conf.affine, stage / f"{modality}_confidence.nii.gz")
    print(f"synthesized {', '.join(result.images)} with {synth.info.get('name', args.model)} -> {args.output_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("codebrain-synth", "Synthesize the missing MRI contrasts of one subject.")
    parser.add_argument("--input", action="append", required=True, metavar="MODALITY=FILE",
                        help="a co-registered, skull-stripped input (repeat); the first sets the output grid")
    parser.add_argument("--output-dir", required=True, type=Path, help="writes <Modality>.nii.gz here")
    parser.add_argument("--model", help=f"model directory or bundled name ({', '.join(BUNDLED)}); "
                        "default: the bundled model that covers the inputs")
    parser.add_argument("--confidence", action="store_true", help="also write <Modality>_confidence.nii.gz")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing outputs (never an input: that is always refused)")
    parser.add_argument("--planes", nargs="+", default=["axial"], choices=list(PLANES),
                        help="slice directions to run and average (default: axial)")
    parser.add_argument("--mirror", action="store_true",
                        help="also complete each axial/coronal slice left-right mirrored and average (twice the time)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--batch-size", type=int, default=16, help="slices per forward pass")
    parser.add_argument("--nthreads", type=int, metavar="N",
                        help="CPU threads (default: the CPUs this process may use, cgroup quota included)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
