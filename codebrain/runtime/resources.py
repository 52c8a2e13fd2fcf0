"""What this process may compute on: the device asked for, how many CPUs it may really use, and one
place that sets every thread pool to it.

``os.cpu_count()`` reports the host's cores, not what a container (``docker --cpus``), a SLURM
allocation (CPU affinity) or a cgroup quota grants. Sizing PyTorch's or ITK's pools by it runs
more busy threads than cores: they preempt each other inside every parallel region, and the
process spends a large share of its time in the kernel instead of computing.
"""

from __future__ import annotations

import ctypes
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codebrain.errors import UsageError

# Pools that native libraries size from the environment when they start (child processes and
# libraries loaded later read these; PyTorch's running pool is set through its API).
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS")


def _cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs granted by a CFS quota (cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``); None if unlimited."""
    v2 = root / "cpu.max"
    try:
        if v2.is_file():
            limit, window = v2.read_text().split()[:2]
            return None if limit == "max" else int(limit) / int(window)
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 else quota / period


def available_cpus(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup quota (rounded up)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_quota(cgroup_root)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def set_threads(n: int) -> None:
    """Size PyTorch's intra-op pool and the environment's pools (OpenMP, MKL, OpenBLAS, ITK) to ``n``."""
    import torch

    for name in THREAD_ENV:
        os.environ[name] = str(n)
    torch.set_num_threads(n)


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run PyTorch on one thread inside the block, then restore the pool.

    Some CPU kernels (MONAI's elastic warp: its Gaussian smoothing and resampling) round
    differently with the work split across another number of threads, so a result meant to be
    the same bytes on every machine (the simulator's subjects) is computed on one.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory(trim_threshold: int = 1 << 30) -> bool:
    """Stop glibc from handing large freed blocks back to the kernel at once.

    PyTorch's CPU allocator frees every activation after use. glibc serves blocks above its mmap
    threshold (at most 32 MiB) with fresh ``mmap`` calls and gives them back on free, so every
    batch of slices faults fresh zeroed pages in: measured on 2 cores, the BraTS model took 4 to
    9 million minor faults and 16 to 34 s of system time per subject. Serving them from the heap
    and keeping up to ``trim_threshold`` bytes of freed memory removes that cost (system time
    about 1 s). A no-op, returning False, where the C library has no ``mallopt`` (not glibc).

    Both settings hold only in glibc's main arena: a thread that is not the main thread allocates
    from an arena of its own, made of 64 MiB heaps, and serves every larger block with ``mmap``
    whatever the settings say. The MAP runs the network in the SDK's worker thread, where this
    cost 16 s of system time per study (7.6 million faults; 0.7 s with one arena). So every thread
    shares the main arena (``M_ARENA_MAX`` 1), which takes effect only when called before the
    process starts its second thread: front ends that run work on other threads call this first.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the C library the process already runs on
    if mallopt is None:
        return False
    return all(mallopt(param, value) for param, value in
               ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, trim_threshold)))


def prepare_inference(threads: int | None = None) -> int:
    """What a process that runs the network on the CPU sets once: thread pools and the allocator.

    Returns the thread count used (``available_cpus()`` when ``threads`` is None).
    """
    n = threads or available_cpus()
    set_threads(n)
    keep_freed_memory()
    return n


def resolve_device(spec: str):
    """``auto`` | ``cpu`` | ``cuda`` -> a torch device; asking for CUDA without one is a usage error."""
    import torch

    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available")
    return torch.device(spec)
