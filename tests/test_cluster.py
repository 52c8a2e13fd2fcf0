"""The BIDS-App on a real one-node SLURM cluster (scripts/slurm-local.sh): the job-array path (MultiProc
in each task) and nipype's SLURM plugin process the same 2-subject cohort and give the same derivatives."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from conftest import BIN, run_cli

pytestmark = pytest.mark.slow  # end to end: trains, synthesizes or runs the real tools

ROOT = Path(__file__).resolve().parents[1]
# seeded, single-threaded ANTs: the two paths must agree to float rounding, not to registration noise
OPTIONS = ("--max-spacing", "3", "--omp-nthreads", "1", "--random-seed", "5", "--no-n4")


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A one-node cluster with its own daemons, stopped after the module."""
    folder = tmp_path_factory.mktemp("slurm")
    start = subprocess.run([str(ROOT / "scripts" / "slurm-local.sh"), "start", str(folder)],
                           capture_output=True, text=True, timeout=300)
    assert start.returncode == 0, start.stderr
    env = {"SLURM_CONF": str(folder / "slurm.conf")}
    yield env
    subprocess.run([str(ROOT / "scripts" / "slurm-local.sh"), "stop", str(folder)], check=True)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """Two subjects; sub-02 lacks FLAIR, so the sessions differ in what is synthesized."""
    root = tmp_path_factory.mktemp("cohort") / "raw"
    run_cli("codebrain-simulate", "--bids", "--output", root, "--subjects", "2", "--resolution", "2",
            "--seed", "4", "--modalities", "T1w,T2w,FLAIR", "--missing", "0")
    for path in (root / "sub-02" / "anat").glob("*_FLAIR.*"):
        path.unlink()
    return root


@pytest.fixture(scope="module")
def array_run(slurm, cohort, tmp_path_factory) -> dict:
    out, work = tmp_path_factory.mktemp("array") / "codebrain", tmp_path_factory.mktemp("array-work")
    # two CPUs per task: each task runs its participant on MultiProc (one CPU would make it Linear)
    proc = run_cli("codebrain-bids", cohort, out, "participant", "-w", work, *OPTIONS, "--slurm-array",
                   "--slurm-wait", "--sbatch-args", "--cpus-per-task 2", env=slurm, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr + _logs(out)
    return {"out": out, "proc": proc}


def _logs(out: Path) -> str:
    return "".join(f"\n== {p.name}\n{p.read_text()[-1500:]}" for p in sorted((out / "logs" / "slurm").glob("*.out")))


def _images(out: Path) -> dict[str, np.ndarray]:
    return {str(p.relative_to(out)): np.asanyarray(nib.load(p).dataobj) for p in sorted(out.rglob("sub-*.nii.gz"))}


def test_the_array_runs_every_participant_then_the_group_level(array_run):
    out = array_run["out"]
    assert "job array" in array_run["proc"].stdout
    tasks = sorted((out / "logs" / "slurm").glob("participant-*_*.out"))
    assert len(tasks) == 2 and all("plugin MultiProc" in t.read_text() and "done in" in t.read_text()
                                   for t in tasks), _logs(out)
    reports = [out / f"sub-{s}.html" for s in ("01", "02")]
    assert all(r.is_file() for r in reports)
    with (out / "group_summary.tsv").open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert sorted({r["participant_id"] for r in rows}) == ["sub-01", "sub-02"]
    summary = (out / "group_summary.tsv").stat().st_mtime
    assert summary >= max(r.stat().st_mtime for r in reports), "the group level ran before a participant finished"


def test_the_slurm_plugin_gives_the_derivatives_of_the_array(slurm, cohort, array_run, tmp_path):
    """nipype's SLURM plugin: every node its own job; same files, images equal to float rounding."""
    out = tmp_path / "codebrain"
    env = {k: v for k, v in os.environ.items() if k not in ("LOGNAME", "USER")}  # as in a container or cron
    proc = subprocess.run([str(BIN / "codebrain-bids"), str(cohort), str(out), "participant", "-w",
                           str(tmp_path / "work"), *OPTIONS, "--skip-bids-validation", "--plugin", "SLURM",
                           "--plugin-args", '{"sbatch_args": "--cpus-per-task 1", "poll_sleep_duration": 1}'],
                          capture_output=True, text=True, env={**env, **slurm})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected, got = _images(array_run["out"]), _images(out)
    assert sorted(got) == sorted(expected) and any("desc-synth" in k for k in got)
    for name, image in expected.items():
        scale = float(np.abs(image).max()) or 1.0
        np.testing.assert_allclose(got[name], image, rtol=0, atol=1e-4 * scale, err_msg=name)


def test_slurm_array_without_sbatch_exits_69(cohort, tmp_path):
    env = {"PATH": f"{Path(os.__file__).parent}"}  # no sbatch anywhere on it
    proc = run_cli("codebrain-bids", cohort, tmp_path / "out", "participant", "--skip-bids-validation",
                   "--slurm-array", env=env, check=False)
    assert proc.returncode == 69 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "sbatch" in proc.stderr


@pytest.mark.parametrize("args, needle", [(("participant", "--slurm-wait"), "goes with --slurm-array"),
                                          (("group", "--slurm-array"), "participant level")])
def test_submission_options_are_checked(cohort, tmp_path, args, needle):
    proc = run_cli("codebrain-bids", cohort, tmp_path / "out", *args, check=False)
    assert proc.returncode == 64 and needle in proc.stderr, proc.stderr
