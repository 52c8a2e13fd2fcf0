"""What every CodeBrain command shares: --version, --debug, and its exit codes.

Users see one clear line on stderr and a documented exit code for bad input; the traceback
too with ``--debug``. The codes follow sysexits.h, except usage, which is argparse's own 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from codebrain import __version__
from codebrain.errors import (
    CannotCreateError,
    DataError,
    ExitCodes,
    NoInputError,
    OutputConflictError,
    UsageError,
    WriteError,
    run_guarded,
)

EXIT_CODES: ExitCodes = {
    UsageError: 2,  # argparse's own code for a malformed command line
    OutputConflictError: 64,  # an output would replace an input or an existing file (EX_USAGE)
    DataError: 65,  # EX_DATAERR
    NoInputError: 66,  # EX_NOINPUT
    CannotCreateError: 73,  # EX_CANTCREAT
    WriteError: 74,  # EX_IOERR: disk full, I/O error
}


def make_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors (same exit code)")
    return parser


def run_command(
    parser: argparse.ArgumentParser,
    main: Callable[[argparse.Namespace], int | None],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse ``argv``, run ``main`` and turn known failures into one stderr line and a code."""
    args = parser.parse_args(argv)
    return run_guarded(parser.prog, lambda: main(args), EXIT_CODES, debug=args.debug)
