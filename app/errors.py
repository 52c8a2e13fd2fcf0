"""Errors the application reports as one line and an exit code (documented in README.md)."""

from __future__ import annotations

EXIT_FAILURE = 1  # unexpected: a bug; the traceback is printed
EXIT_USAGE = 64  # bad arguments, environment variables or selection rules
EXIT_DATAERR = 65  # the study cannot be used: bad geometry, duplicates, nothing selected
EXIT_NOINPUT = 66  # no DICOM study in the input folder
EXIT_CANTCREAT = 73  # the output folder cannot be written


class AppError(Exception):
    """A problem with the input or the set-up, not a bug: reported without a traceback."""

    def __init__(self, message: str, code: int = EXIT_DATAERR) -> None:
        super().__init__(message)
        self.code = code
