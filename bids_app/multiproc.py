"""nipype's MultiProc, with workers that die with the run that started them.

A ``ProcessPoolExecutor`` worker whose parent is killed (kill -9, an OOM kill, a cluster's
preemption) does not notice: it finishes its node, then waits for work forever. Such orphans
kept writing into the work dir behind the killed run and, since ``fork`` shares the subject
lock with them, kept the subject locked for good. Here each worker asks the kernel
(``PR_SET_PDEATHSIG``) for a SIGKILL when its parent dies, so a killed run takes its workers
with it and the lock is free as soon as they are gone.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor

from nipype.pipeline.plugins.multiproc import MultiProcPlugin, process_initializer

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _tethered_initializer(cwd: str, parent: int) -> None:
    """Set up a worker as nipype does, and have it killed when ``parent`` dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    process_initializer(cwd)


class TetheredMultiProcPlugin(MultiProcPlugin):
    """MultiProc whose worker processes cannot outlive the codebrain-bids process."""

    def __init__(self, plugin_args: dict | None = None) -> None:
        super().__init__(plugin_args=plugin_args)
        self.pool.shutdown(wait=False)  # nipype's pool: no worker started yet, replaced below
        self.pool = ProcessPoolExecutor(max_workers=self.processors, initializer=_tethered_initializer,
                                        initargs=(self._cwd, os.getpid()),
                                        mp_context=multiprocessing.get_context(self.plugin_args.get("mp_context")))
