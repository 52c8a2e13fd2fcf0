"""The lock files are what the environments hold: complete, hashed, within setup.cfg's ranges, and
installed exactly (scripts/setup.sh), so two set-ups on two machines run the same code."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / "requirements"
MAP_PYTHON = Path(os.environ.get("CODEBRAIN_MAP_PYTHON", ROOT / ".venv-map" / "bin" / "python"))
# in an environment, beside what its lock pins: CodeBrain itself (editable) and the pip setup.sh pins
NOT_LOCKED = {"codebrain", "pip"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(lock: str) -> dict[str, str]:
    return {canonicalize_name(m[1]): m[2] for line in (LOCKS / lock).read_text().splitlines() if (m := PIN.match(line))}


def requirements(*extras: str) -> list[Requirement]:
    """setup.cfg's install_requires and the named extras."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options"]["install_requires"].splitlines()
    for extra in extras:
        lines += cfg["options.extras_require"][extra].splitlines()
    return [Requirement(line) for line in lines if line.strip()]


def app_requirements() -> list[Requirement]:
    text = (ROOT / "app" / "requirements.txt").read_text()
    return [Requirement(line.split("#")[0]) for line in text.splitlines() if line.split("#")[0].strip()]


@pytest.mark.parametrize("lock, wanted", [
    ("dev.lock", requirements("dev")), ("bids-app.lock", requirements("bids")), ("train.lock", requirements("prep")),
    ("map.lock", requirements("prep", "map") + app_requirements()),
])
def test_each_lock_pins_what_it_is_for_within_its_range(lock, wanted):
    pinned = pins(lock)
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pinned, f"{lock} lacks {req}"
        assert req.specifier.contains(pinned[name], prereleases=True), f"{lock}: {name}=={pinned[name]} breaks {req}"
    assert pinned["torch"] == "2.13.0+cpu"  # the CPU wheel, never a CUDA build


@pytest.mark.parametrize("lock", ["dev.lock", "bids-app.lock", "train.lock", "map.lock"])
def test_every_pin_carries_its_hash(lock):
    text = (LOCKS / lock).read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)  # one block a pinned package with its hashes and comments
    for block in blocks:
        if PIN.match(block):
            assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), block.splitlines()[0]


def test_the_images_run_the_versions_the_tests_ran():
    tested = pins("dev.lock")
    for lock in ("bids-app.lock", "train.lock"):
        assert {k: v for k, v in pins(lock).items() if tested.get(k) != v} == {}, lock
    # holoscan needs protobuf < 7 (TensorBoard in .venv takes 7): the MAP may differ there alone
    shared = pins("map.lock").keys() & tested.keys()
    assert {k for k in shared if pins("map.lock")[k] != tested[k]} <= {"protobuf"}


def installed(python: Path) -> dict[str, str]:
    code = ("import json; from importlib import metadata; "
            "print(json.dumps({d.metadata['Name']: d.version for d in metadata.distributions()}))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout
    return {canonicalize_name(k): v for k, v in json.loads(out).items()}


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the locks are for CPython 3.11 (setup.sh installs ranges)")
@pytest.mark.parametrize("python, lock", [(Path(sys.executable), "dev.lock"), (MAP_PYTHON, "map.lock")])
def test_the_environment_holds_exactly_its_lock(python, lock):
    """What scripts/setup.sh made: every pin at its version, nothing else but CodeBrain and pip."""
    assert python.exists(), "run scripts/setup.sh"
    have, want = installed(python), pins(lock)
    assert {k: have.get(k) for k, v in want.items() if have.get(k) != v} == {}
    assert set(have) - set(want) <= NOT_LOCKED
    assert have["codebrain"] == metadata.version("codebrain")
