"""Shared fixtures: a few simulated subjects at 2 mm and tiny trained runs, made once per session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codebrain.cli.simulate import main as simulate_main

TINY_MODALITIES = "T1w,T2w,FLAIR"
BIN = Path(sys.executable).parent


def run_cli(name: str, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run an installed console script, as a user would."""
    proc = subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cache")
    os.environ["CODEBRAIN_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def sim_data(tmp_path_factory) -> Path:
    """Three co-registered skull-stripped subjects (2 mm grid), split 2 train / 1 test."""
    root = tmp_path_factory.mktemp("sim")
    assert simulate_main(["--output", str(root), "--subjects", "3", "--seed", "7", "--resolution", "2",
                          "--modalities", TINY_MODALITIES, "--lesions", "0.7"]) == 0
    (root / "splits.json").write_text(json.dumps({"train": ["sim0001", "sim0002"], "val": [], "test": ["sim0003"]}))
    return root


@pytest.fixture(scope="session")
def stage1_run(sim_data, cache_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "stage1"
    run_cli("codebrain-train", "stage1", "--config", "tiny", "--data", sim_data, "--output", out,
            "--device", "cpu", "--max-steps", "60", "--cache-dir", cache_dir)
    return out


@pytest.fixture(scope="session")
def stage2_run(sim_data, stage1_run, cache_dir) -> Path:
    out = stage1_run.parent / "stage2"
    run_cli("codebrain-train", "stage2", "--config", "tiny", "--data", sim_data, "--stage1", stage1_run,
            "--output", out, "--device", "cpu", "--max-steps", "60", "--cache-dir", cache_dir)
    return out

