"""The MONAI Deploy app's exit codes (README.md lists them) for the core's kinds of error."""

from __future__ import annotations

from codebrain.errors import CannotCreateError, DataError, ExitCodes, NoInputError, UsageError, WriteError

EXIT_USAGE = 64  # bad arguments, environment variables or selection rules; argparse's own errors too

CODES: ExitCodes = {
    UsageError: EXIT_USAGE,
    DataError: 65,  # the study cannot be used: bad geometry, duplicates, nothing selected
    NoInputError: 66,  # no DICOM study in the input folder, or no input folder
    CannotCreateError: 73,  # the output folder cannot be written
    WriteError: 74,  # the disk filled up (or an I/O error) while writing
}
