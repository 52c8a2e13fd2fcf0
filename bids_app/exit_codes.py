"""Exit codes of ``codebrain-bids``: the BIDS-Apps execution spec's, then sysexits.h for the rest.

The kinds of error the BIDS-App adds to the core's (``codebrain.errors``) live here too, and
``CODES`` maps every kind to its number. ``MEANINGS`` is the one list users read: ``--help``
prints it and the Boutiques descriptor (``--bids-exec-spec``) carries it as its ``error-codes``,
so neither can drift from the code.
"""

from __future__ import annotations

from codebrain.errors import (
    CannotCreateError,
    CodeBrainError,
    DataError,
    ExitCodes,
    NoInputError,
    UsageError,
    WriteError,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_VALIDATION = 16
EXIT_ANALYSIS_LEVEL = 17
EXIT_NOTHING_SELECTED = 18
EXIT_USAGE = 64
EXIT_DATA = 65
EXIT_NOINPUT = 66
EXIT_UNAVAILABLE = 69
EXIT_CANTCREAT = 73
EXIT_IOERR = 74
EXIT_TEMPFAIL = 75

MEANINGS: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_FAILURE: "a workflow failed (see the crash file named)",
    EXIT_VALIDATION: "BIDS validation failed (skip it with --skip-bids-validation)",
    EXIT_ANALYSIS_LEVEL: "unknown analysis level",
    EXIT_NOTHING_SELECTED: "a participant/session label or the filter file selected nothing",
    EXIT_USAGE: "usage (bad option, OUTPUT_DIR inside the raw dataset)",
    EXIT_DATA: "unusable data (not BIDS, corrupt, truncated or 4D NIfTI)",
    EXIT_NOINPUT: "a named input does not exist",
    EXIT_UNAVAILABLE: "--slurm-array: SLURM's sbatch is missing or refused the job",
    EXIT_CANTCREAT: "OUTPUT_DIR or the work dir is not writable",
    EXIT_IOERR: "the disk filled up (or an I/O error) while writing",
    EXIT_TEMPFAIL: "another run holds one of the subjects (see --wait-lock)",
}


class WorkflowError(CodeBrainError):
    """Nodes of the workflow (or jobs of the SLURM array) failed; their crash files say why."""


class BidsValidationError(DataError):
    """The BIDS validator found errors in the raw dataset (or could not run)."""


class AnalysisLevelError(UsageError):
    """An analysis level other than participant or group."""


class NothingSelectedError(UsageError):
    """A participant/session label or the filter file matched nothing in the dataset."""


class UnavailableError(CodeBrainError):
    """A service the run needs is missing or refused it: SLURM's sbatch."""


class BusyError(CodeBrainError):
    """Another run holds a subject's lock: a temporary failure, try again later."""


CODES: ExitCodes = {
    WorkflowError: EXIT_FAILURE,
    BidsValidationError: EXIT_VALIDATION,
    AnalysisLevelError: EXIT_ANALYSIS_LEVEL,
    NothingSelectedError: EXIT_NOTHING_SELECTED,
    UsageError: EXIT_USAGE,
    DataError: EXIT_DATA,
    NoInputError: EXIT_NOINPUT,
    UnavailableError: EXIT_UNAVAILABLE,
    CannotCreateError: EXIT_CANTCREAT,
    WriteError: EXIT_IOERR,
    BusyError: EXIT_TEMPFAIL,
}
