"""Locks that let many participant runs share one OUTPUT_DIR, and never two runs one subject.

A cohort on a cluster runs one participant per array task, all into one OUTPUT_DIR and often
one work dir: locking the whole folder would serialise them. Two runs on the *same* subject
(a resubmitted job, a user's second terminal) would interleave nipype's files and the sink's
renames, so each subject is locked for the whole run, in OUTPUT_DIR and in the work dir; the
files every run touches (dataset_description.json, the logs) are locked only while written.

``flock`` locks die with their process (kill -9 included), so a killed run never leaves a stale lock.
They are shared with the processes it forked: the MultiProc workers (``bids_app.multiproc``) are
killed with the run, so the lock is free once they are gone, and nothing writes into the folders
behind a killed run. The lock files stay (hidden, holding the locker's PID).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bids_app.exit_codes import BusyError

LOCK_DIR = ".codebrain-locks"


@contextmanager
def _locked(path: Path, what: str, wait: bool) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise BusyError(f"{what} is in use by another codebrain-bids run (PID {holder}); "
                            "wait for it, or pass --wait-lock to queue behind it") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def subject_locks(subjects: list[str], folders: list[Path], wait: bool = False) -> Iterator[None]:
    """Hold ``sub-<label>`` in every folder (OUTPUT_DIR, work dir) for the whole run."""
    with ExitStack() as stack:
        for subject in sorted(subjects):
            for folder in folders:
                stack.enter_context(_locked(folder / LOCK_DIR / f"sub-{subject}.lock",
                                            f"sub-{subject} in {folder}", wait))
        yield


@contextmanager
def shared_files(output_dir: Path) -> Iterator[None]:
    """Briefly serialise writes to what all participant runs share (always waits: it is short)."""
    with _locked(output_dir / LOCK_DIR / "shared.lock", f"{output_dir}", wait=True):
        yield


def remove_partial_files(folder: Path) -> list[Path]:
    """Delete ``.part-*`` files a killed run left under ``folder`` (call while holding its subject lock)."""
    stale = [p for p in folder.rglob(".part-*") if p.is_file()] if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
