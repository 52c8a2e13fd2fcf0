"""Outputs that never replace an input and never survive half-written.

A run writes its whole output set into a staging folder beside the destination (same
filesystem, so the final ``rename`` is atomic), fsyncs every file, then moves them into place.
Any failure, a full disk or a signal included, removes what the run staged; a run killed
with SIGKILL leaves its staging folder behind, and the next run into the same folder removes
it (only folders this module made, whose owner process is gone).

Why not write in place through a ``.part-`` name per file: a set of outputs (FLAIR, T2w and
their confidence maps) is one result, and a disk that fills after the first file would leave a
complete ``T1Gd.nii.gz`` beside no FLAIR, which a user cannot tell from a finished run.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from codebrain.errors import OutputConflictError, WriteError, write_error

STAGING_PREFIX = ".codebrain-staging-"


@contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path``, renamed onto it only when the block succeeds.

    For one file that is a result on its own (model weights, a slice cache, a report): a writer
    that fails or is killed leaves nothing under the real name, and readers never see half a file.
    A SIGKILL can leave the ``.part-<pid>-`` file itself; the BIDS-App clears those per subject.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".part-{os.getpid()}-{path.name}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file, through symlinks and hard links alike."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def check_destinations(targets: Iterable[Path], inputs: Iterable[Path], overwrite: bool) -> None:
    """Refuse (OutputConflictError) a target that is an input, or that exists when ``overwrite`` is off."""
    inputs = list(inputs)
    for target in targets:
        for source in inputs:
            if same_file(target, source):
                raise OutputConflictError(f"{target} would overwrite the input {source}; choose another output folder")
        if (target.exists() or target.is_symlink()) and not overwrite:
            raise OutputConflictError(f"{target} exists; pass --overwrite to replace it")


def _owner_alive(folder: Path) -> bool:
    try:
        pid = int(folder.name.removeprefix(STAGING_PREFIX))
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # a process of another user holds that pid
        return True
    return pid != os.getpid()


def remove_stale(folder: Path) -> list[Path]:
    """Remove staging folders of runs that were killed (their process is gone); returns them."""
    stale = [p for p in folder.glob(f"{STAGING_PREFIX}*") if p.is_dir() and not _owner_alive(p)]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Terminated(Exception):
    """SIGTERM/SIGHUP turned into an exception so the staging folder is cleaned on the way out."""


@contextmanager
def _signals_raise() -> Iterator[None]:
    def handler(signum, _frame):
        raise _Terminated(signal.Signals(signum).name)
    wanted = (signal.SIGTERM, signal.SIGHUP)
    try:
        previous = {s: signal.signal(s, handler) for s in wanted}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def staged_outputs(destination: Path, reserve_bytes: int = 0) -> Iterator[Path]:
    """Yield a staging folder inside ``destination``; on success move its files into ``destination``.

    Called before the expensive work: the destination is created and proven writable (73), and
    ``reserve_bytes`` of free space are required up front (74, "no space left"), so a doomed run
    fails in a second instead of after inference.
    """
    try:
        destination.mkdir(parents=True, exist_ok=True)
        remove_stale(destination)
        stage = destination / f"{STAGING_PREFIX}{os.getpid()}"
        stage.mkdir(exist_ok=True)
    except OSError as err:
        raise write_error(err, destination) from None
    try:
        if shutil.disk_usage(stage).free < reserve_bytes:
            raise WriteError(f"no space left on {destination} (about {reserve_bytes >> 20} MiB needed)")
        with _signals_raise():
            yield stage
            files = sorted(p for p in stage.iterdir() if p.is_file())
            for path in files:
                _fsync(path)
            for path in files:
                path.replace(destination / path.name)
    except OSError as err:
        raise write_error(err, destination) from None
    except _Terminated as err:
        raise KeyboardInterrupt(str(err)) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
