"""What can go wrong for a user, as kinds of error that know nothing of exit codes.

A kind says *what* failed (a bad option, a missing input, unusable data, an output that cannot be
written); each front end decides what number a user sees for it, in one table: the core commands
follow sysexits.h with argparse's 2 for usage, the BIDS-App the BIDS-Apps execution spec, the
MONAI Deploy app the codes its README lists. :func:`run_guarded` is the one top-level handler they
share: one line on stderr and the table's code, the traceback too with ``--debug`` (same code).
"""

from __future__ import annotations

import errno
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path

EXIT_FAILURE = 1  # not a user's error: a bug
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class CodeBrainError(Exception):
    """A problem with the input or the set-up, not a bug: reported as one line, no traceback."""


class UsageError(CodeBrainError):
    """A bad option, argument, environment variable or rule, or a device the machine lacks."""


class OutputConflictError(UsageError):
    """An output would replace an input or a file the user did not ask to overwrite."""


class NoInputError(CodeBrainError):
    """A named input file or folder does not exist."""


class DataError(CodeBrainError):
    """The input exists but cannot be used: corrupt, wrong shape, empty, inconsistent."""


class CannotCreateError(CodeBrainError):
    """An output cannot be created: permissions, a read-only mount."""


class WriteError(CodeBrainError):
    """Writing began and failed: the disk filled up or the device reported an I/O error."""


ExitCodes = Mapping[type[CodeBrainError], int]

# errnos that mean "the output cannot be written" rather than a bug
WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EACCES, errno.EPERM, errno.EROFS)


def exit_code(err: CodeBrainError, codes: ExitCodes) -> int:
    """The code of the most specific kind in ``codes`` that ``err`` is (a subclass inherits its parent's)."""
    for kind in type(err).__mro__:
        if kind in codes:
            return codes[kind]
    return EXIT_FAILURE


def write_error(err: OSError, where: Path | str) -> CodeBrainError:
    """One line naming the cause of a failed write: a full disk or an I/O fault, else cannot create."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return WriteError(f"no space left on {where}")
    if err.errno == errno.EIO:
        return WriteError(f"I/O error writing {where}: {err.strerror}")
    return CannotCreateError(f"cannot write {where}: {err.strerror or err}")


def _as_user_error(err: Exception, output: Path | str | None = None) -> CodeBrainError | None:
    """The kind a failure is for the user, or None for a bug.

    A ``FileNotFoundError`` is a missing input; an ``OSError`` of a write (``WRITE_ERRNOS``) that
    escaped the staged writers counts against ``output`` (named where the OS gave no file name).
    """
    if isinstance(err, CodeBrainError):
        return err
    if isinstance(err, FileNotFoundError):
        return NoInputError(f"not found: {err.filename or err}")
    if isinstance(err, OSError) and output is not None and err.errno in WRITE_ERRNOS:
        return write_error(err, err.filename or output)
    return None


def run_guarded(
    prog: str,
    action: Callable[[], int | None],
    codes: ExitCodes,
    *,
    debug: bool = False,
    output: Path | str | None = None,
    on_interrupt: str = "interrupted",
) -> int:
    """Run ``action`` and turn every failure into one stderr line and the front end's exit code
    (the traceback too with ``debug``; the code stays the same)."""
    def report(err: BaseException, line: str, code: int) -> int:
        if debug:
            traceback.print_exception(err)
        print(f"{prog}: {line}", file=sys.stderr)
        return code

    try:
        return action() or 0
    except KeyboardInterrupt as err:
        return report(err, on_interrupt, EXIT_INTERRUPTED)
    except Exception as err:  # noqa: BLE001 - the last line of defence for users
        known = _as_user_error(err, output)
        if known is None:  # a bug
            return report(err, f"error: {type(err).__name__}: {err} (rerun with --debug for details)", EXIT_FAILURE)
        return report(err, f"error: {known}", exit_code(known, codes))
