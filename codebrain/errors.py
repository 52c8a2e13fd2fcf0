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


def write_error(err: OSError, where: Path) -> CodeBrainError:
    """One line naming the cause of a failed write: a full disk or an I/O fault, else cannot create."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return WriteError(f"no space left on {where}")
    if err.errno == errno.EIO:
        return WriteError(f"I/O error writing {where}: {err.strerror}")
    return CannotCreateError(f"cannot write {where}: {err.strerror or err}")


def run_guarded(
    prog: str,
    action: Callable[[], int | None],
    codes: ExitCodes,
    *,
    debug: bool = False,
    output: Path | None = None,
    on_interrupt: str = "interrupted",
) -> int:
    """Run ``action`` and turn every failure into one stderr line and the front end's exit code.

    ``output`` names where an unexpected failed write (an ``OSError`` outside the staged writers)
    is reported against; without it such an error is a bug like any other.
    """
    def report(err: BaseException, line: str, code: int) -> int:
        if debug:
            traceback.print_exception(err)
        print(f"{prog}: {line}", file=sys.stderr)
        return code

    try:
        return action() or 0
    except CodeBrainError as err:
        return report(err, f"error: {err}", exit_code(err, codes))
    except FileNotFoundError as err:
        return report(err, f"error: not found: {err.filename or err}", exit_code(NoInputError(), codes))
    except KeyboardInterrupt as err:
        return report(err, on_interrupt, EXIT_INTERRUPTED)
    except OSError as err:
        if output is None or err.errno not in WRITE_ERRNOS:
            return _bug(err, report)
        error = write_error(err, Path(err.filename or output))
        return report(err, f"error: {error}", exit_code(error, codes))
    except Exception as err:  # noqa: BLE001 - the last line of defence for users
        return _bug(err, report)


def _bug(err: Exception, report: Callable[[BaseException, str, int], int]) -> int:
    return report(err, f"error: {type(err).__name__}: {err} (rerun with --debug for details)", EXIT_FAILURE)
