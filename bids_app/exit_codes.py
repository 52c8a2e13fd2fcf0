"""Exit codes of ``codebrain-bids``: the BIDS-Apps execution spec's, then sysexits.h for the rest."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # a subject's workflow failed (the crash file is named in the log)
EXIT_VALIDATION = 16  # the BIDS validator found errors (skip with --skip-bids-validation)
EXIT_ANALYSIS_LEVEL = 17  # analysis level other than participant or group
EXIT_NOTHING_SELECTED = 18  # a participant/session label or the --bids-filter-file selected no image
EXIT_USAGE = 64  # a malformed command line, OUTPUT_DIR inside the raw data
EXIT_DATA = 65  # unusable data: not BIDS, corrupt or truncated NIfTI, 4D image
EXIT_NOINPUT = 66  # BIDS_DIR, a filter file or a model does not exist
EXIT_CANTCREAT = 73  # OUTPUT_DIR or the work dir cannot be written
EXIT_IOERR = 74  # the disk filled up (or an I/O error) while writing
EXIT_TEMPFAIL = 75  # another run holds one of the subjects (sysexits EX_TEMPFAIL); --wait-lock queues
