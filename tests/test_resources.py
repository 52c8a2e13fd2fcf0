"""CPU sizing: the affinity mask capped by a cgroup quota, as docker --cpus and SLURM grant it."""

import os
import subprocess
import sys

import pytest

from codebrain.resources import available_cpus


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
           "from codebrain.resources import available_cpus; print(available_cpus())"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "1\n"
