"""The machine and the software behind a result, for every record that is meant to be reproduced.

A trained model, a benchmark figure or a synthesized image depends on more than CodeBrain's own
version: the simulator's subjects on NumPy, SciPy and MONAI, registration and bias correction on
ANTsPy, the derivatives' names on pybids, the DICOM on pydicom and highdicom. A refit of the shipped
``brats`` detail map once landed 0.031 away from the shipped coefficients and nobody could say
which library versions had made the shipped one; every model folder, benchmark JSON, BIDS-App
derivative and MAP series now names them. Reading versions needs only ``importlib.metadata``:
no package here is imported, so a torch-free front end can call it.
"""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path

from codebrain import __version__

# The distributions whose versions can change the bytes CodeBrain writes, in the order a reader
# looks for them; those not installed in this environment are left out of the record.
SHAPING = (
    "torch", "numpy", "scipy", "monai", "nibabel", "nilearn", "safetensors",  # the model and the simulator
    "antspyx", "deepbet", "nipype", "pybids",  # the BIDS-App's preprocessing and names
    "pydicom", "highdicom", "monai-deploy-app-sdk", "holoscan-cu13",  # the MAP's DICOM
)


def software_versions() -> dict[str, str]:
    """``{"python": ..., "codebrain": ..., <distribution>: <version>}`` for each of SHAPING installed here."""
    versions = {"python": platform.python_version(), "codebrain": __version__}
    for name in SHAPING:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def machine() -> dict:
    """The processor, how many of its cores this process may use, and the operating system."""
    from codebrain.runtime.resources import available_cpus

    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:  # not Linux
        cpuinfo = []
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                 platform.processor())
    return {"cpu": model, "arch": platform.machine(), "cpus_available": available_cpus(),
            "cpus_host": os.cpu_count(), "python": platform.python_version(), "os": platform.platform()}


def environment() -> dict:
    """``{"machine": machine(), "software": software_versions()}``: what a benchmark JSON records."""
    return {"machine": machine(), "software": software_versions()}


def write_benchmark(out: Path, results: dict, table: str) -> None:
    """``out/results.json`` (``results`` with ``environment()`` added, so a figure names the machine and
    packages that made it) and ``out/results.md`` (``table``), which is also printed."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({**results, "environment": environment()}, indent=2) + "\n")
    (out / "results.md").write_text(table)
    print(table)
