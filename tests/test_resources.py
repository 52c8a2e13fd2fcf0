"""CPU sizing: the affinity mask capped by a cgroup quota, as docker --cpus and SLURM grant it."""

import os
import resource
import subprocess
import sys

import pytest

from codebrain.runtime.resources import available_cpus


def _cgroup(root, v2=None, v1=None):
    if v2 is not None:
        (root / "cpu.max").write_text(v2)
    if v1 is not None:
        (root / "cpu").mkdir()
        (root / "cpu" / "cpu.cfs_quota_us").write_text(str(v1[0]))
        (root / "cpu" / "cpu.cfs_period_us").write_text(str(v1[1]))
    return root


@pytest.mark.parametrize("v2, v1, cap", [
    ("max 100000\n", None, None),          # v2, no quota
    ("50000 100000\n", None, 1),           # half a CPU still gets one thread
    ("150000 100000\n", None, 2),          # 1.5 CPUs round up
    (None, (-1, 100000), None),            # v1, no quota
    (None, (100000, 100000), 1),
])
def test_the_quota_caps_the_affinity_mask(tmp_path, v2, v1, cap):
    mask = len(os.sched_getaffinity(0))
    assert available_cpus(_cgroup(tmp_path, v2, v1)) == (mask if cap is None else min(mask, cap))


def test_the_affinity_mask_is_honoured():
    """Pinned to one CPU (as taskset or a SLURM step pins it): one thread, whatever the host has."""
    code = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); " \
           "from codebrain.runtime.resources import available_cpus; print(available_cpus())"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "1\n"


FAULTS = """
import resource, sys, threading
from codebrain.runtime.resources import keep_freed_memory
if sys.argv[1] == "keep":
    keep_freed_memory()  # first, as the MAP's main() does: before any library starts a thread
import torch
torch.set_num_threads(1)  # every page this work touches is faulted on the one thread measured
net = torch.nn.Sequential(torch.nn.Conv2d(8, 32, 3, padding=1), torch.nn.GELU(), torch.nn.Conv2d(32, 8, 3, padding=1))
batch = torch.rand(8, 8, 240, 240)  # 59 MiB activations, as a batch of 240x240 slices makes
faults = []

def work():  # what the MAP's worker thread does: forward passes, each allocating and freeing large blocks
    with torch.no_grad():
        net(batch)
        start = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        for _ in range(10):
            net(batch)
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - start)

thread = threading.Thread(target=work)
thread.start()
thread.join()
print(faults[0])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_blocks_are_reused_on_a_worker_thread():
    """Forward passes on a thread other than the main one reuse freed activations instead of
    faulting fresh pages for each (measured: about 290,000 faults for 10 passes, 22,000 kept)."""
    faults = {mode: int(subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True,
                                       check=True).stdout) for mode in ("default", "keep")}
    pages = 10 * (8 * 32 * 240 * 240 * 4) // resource.getpagesize()  # one activation per pass, fresh each time
    assert faults["default"] > pages  # the cost it removes is there without it
    assert faults["keep"] < faults["default"] / 5
