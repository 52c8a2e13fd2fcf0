"""What every CodeBrain command shares: --version, --debug and one-line errors.

Users see one clear line on stderr and a documented exit code for bad input; a
traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from codebrain import __version__

EXIT_FAILURE = 1
EXIT_USAGE = 2  # argparse's own code for a malformed command line
EXIT_DATA = 65  # the input data is unusable (sysexits EX_DATAERR)
EXIT_CONFLICT = 64  # an output would replace an input or an existing file (sysexits EX_USAGE)
EXIT_NOINPUT = 66  # an input file or folder does not exist (sysexits EX_NOINPUT)
EXIT_CANTCREAT = 73  # an output cannot be created (sysexits EX_CANTCREAT)
EXIT_IOERR = 74  # writing failed: disk full, I/O error (sysexits EX_IOERR)


class UserError(Exception):
    """An error caused by the user's input: reported as one line, never a traceback."""

    def __init__(self, message: str, code: int = EXIT_DATA) -> None:
        super().__init__(message)
        self.code = code


def resolve_device(spec: str):
    """``auto`` | ``cpu`` | ``cuda`` -> a torch device; asking for CUDA without one is a usage error."""
    import torch

    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available", EXIT_USAGE)
    return torch.device(spec)


def make_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    return parser


def run_command(
    parser: argparse.ArgumentParser,
    main: Callable[[argparse.Namespace], int | None],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse ``argv``, run ``main`` and turn known failures into one stderr line."""
    args = parser.parse_args(argv)
    try:
        return main(args) or 0
    except UserError as err:
        if args.debug:
            raise
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return err.code
    except FileNotFoundError as err:
        if args.debug:
            raise
        print(f"{parser.prog}: error: not found: {err.filename or err}", file=sys.stderr)
        return EXIT_NOINPUT
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the last line of defence for users
        if args.debug:
            raise
        print(f"{parser.prog}: error: {type(err).__name__}: {err} (rerun with --debug for details)",
              file=sys.stderr)
        return EXIT_FAILURE
