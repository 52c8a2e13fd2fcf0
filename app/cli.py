"""Command line of the MAP: the SDK's options (-i, -o, -m, -w, -l and the HOLOSCAN_* variables)
plus --help, --version and --debug; errors as one line and a documented exit code."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from app import __version__
from app.errors import CODES, EXIT_USAGE
from app.runtime import start_sdk
from codebrain.errors import CannotCreateError, NoInputError, UsageError, run_guarded
from codebrain.runtime.resources import keep_freed_memory

EPILOG = """environment:
  CODEBRAIN_SELECTION_RULES  JSON selection rules replacing the shipped app/selection_rules.json
  CODEBRAIN_DEVICE           auto (default), cpu or cuda
  CODEBRAIN_PLANES           axial (default) or e.g. "axial coronal sagittal" (fused)
  CODEBRAIN_CONFIDENCE       1: also write each synthesized contrast's confidence map as a series
  CODEBRAIN_RANDOM_SEED      an integer: seeded, single-threaded ANTs (the same study, the same series)
  CODEBRAIN_SKULL_STRIP      auto (default: hybrid on a T1w, T1Gd or FLAIR reference, else the
                             template), hybrid (deepbet kept within 5 mm of the template's
                             brain), deepbet or template

exit codes: 0 done, 1 unexpected error (a bug), 64 bad options or rules, 65 unusable study,
66 no input study or no input folder, 73 output not writable, 74 disk full or I/O error while writing.
The code is the same with --debug, which adds the traceback."""


def build_parser() -> argparse.ArgumentParser:
    """The SDK's options as the SDK reads them (it parses them again itself when the app starts),
    plus --debug and --version: one parser gives --help and the folders to check beforehand."""
    parser = argparse.ArgumentParser(
        prog="python -m app", allow_abbrev=False, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"CodeBrain {__version__} MONAI Deploy application: reads one DICOM MR study, picks a series "
                    "per contrast with the selection rules, and writes every contrast the model knows and the study "
                    "lacks as a new MR series of the same study (DERIVED\\SECONDARY, labelled SYNTHETIC).")
    parser.add_argument("-i", "--input", metavar="DICOM_IN",
                        help="folder with the study's DICOM files (default $HOLOSCAN_INPUT_PATH or ./input)")
    parser.add_argument("-o", "--output", metavar="DICOM_OUT",
                        help="folder for the new series, one subfolder each "
                             "(default $HOLOSCAN_OUTPUT_PATH or ./output)")
    parser.add_argument("-m", "--model", metavar="MODEL",
                        help="CodeBrain model folder (model.json + model.safetensors); default $HOLOSCAN_MODEL_PATH, "
                             "and the bundled model that uses most of the study when that holds no model")
    parser.add_argument("-w", "--workdir", metavar="DIR", help="SDK work folder (default $HOLOSCAN_WORKDIR)")
    parser.add_argument("-l", "--log-level", metavar="LEVEL", help="DEBUG, INFO, WARN, ERROR (default), CRITICAL")
    parser.add_argument("--debug", action="store_true", help="full logs and tracebacks")
    parser.add_argument("--version", action="version", version=f"codebrain-map {__version__}")
    return parser


def check_folders(options: argparse.Namespace) -> None:
    """Input and output as the SDK will resolve them, checked before it does: its own checks end in
    argparse's usage error (64) for a missing input and in an OSError for an output it cannot create."""
    inputs = Path(options.input or os.environ.get("HOLOSCAN_INPUT_PATH") or "input")
    if not inputs.exists():
        raise NoInputError(f"input folder {inputs} does not exist")
    output = Path(options.output or os.environ.get("HOLOSCAN_OUTPUT_PATH") or "output")
    if output.resolve().is_relative_to(inputs.resolve()):
        raise UsageError(f"output folder {output} lies inside the input {inputs}, which is only read; "
                         "choose another output folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output):  # permissions and read-only mounts alike, even for root
            pass
    except OSError as err:
        raise CannotCreateError(f"output folder {output} cannot be written: {err.strerror or err}") from None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options, _ = build_parser().parse_known_args(args)  # the SDK refuses what is left over
    except SystemExit as err:  # --help, --version, or argparse has printed its message
        return EXIT_USAGE if err.code else 0
    args = [a for a in args if a != "--debug"]
    if options.log_level is None:
        args += ["-l", "DEBUG" if options.debug else "ERROR"]
    started = time.time()

    keep_freed_memory()  # before the SDK starts the thread that runs the network

    def run() -> None:
        check_folders(options)
        start_sdk(options.debug)
        from monai.deploy.core.arg_parser import parse_args

        from app.app import CodeBrainApp

        parse_args(["app", *args])
        CodeBrainApp([sys.executable, "app", *args]).run()  # holoscan drops argv[0]
        print(f"codebrain-map: done in {time.time() - started:.0f} s", flush=True)

    try:  # writing the series: a full disk (74), a folder made read-only mid-run (73)
        return run_guarded("codebrain-map", run, CODES, debug=options.debug, output="the output folder")
    except SystemExit as err:  # the SDK's argparse has printed its message
        return EXIT_USAGE if err.code else 0
