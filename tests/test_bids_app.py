"""codebrain-bids end to end on a tiny simulated BIDS dataset, and its answers to bad input."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from conftest import BIN, run_cli

from bids_app.locks import subject_locks

pytestmark = pytest.mark.slow
FAST = ("--max-spacing", "2", "--nprocs", "2", "--omp-nthreads", "1")
# runs that test locking, disk and reproducibility, not the preprocessing: N4 (about 18 s an image at
# any input resolution, it fits on a 4 mm copy) runs in `run` above and in docker/test.sh
FASTER = (*FAST, "--no-n4")


def _checksums(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _drop_session(root: Path, subject: str) -> None:
    """sub-02 without a session level: ses-01 becomes the subject's only data, ses-02 goes."""
    sub = root / f"sub-{subject}"
    (sub / "anat").mkdir()
    for f in (sub / "ses-01" / "anat").iterdir():
        f.rename(sub / "anat" / f.name.replace("_ses-01", ""))
    shutil.rmtree(sub / "ses-01")
    shutil.rmtree(sub / "ses-02")


@pytest.fixture(scope="module")
def bids(tmp_path_factory) -> Path:
    """sub-01 ses-01 lacks T1Gd, ses-02 lacks T2w and FLAIR; sub-02 (no sessions) lacks T1w."""
    root = tmp_path_factory.mktemp("bids") / "raw"
    run_cli("codebrain-simulate", "--bids", "--output", root, "--subjects", "2", "--sessions", "2",
            "--resolution", "2", "--seed", "11", "--modalities", "T1w,T1Gd,T2w,FLAIR", "--missing", "0")
    _drop_session(root, "02")
    for pattern in ("sub-01/ses-01/anat/*_ce-*", "sub-01/ses-02/anat/*_T2w.*", "sub-01/ses-02/anat/*_FLAIR.*",
                    "sub-02/anat/sub-02_T1w.*"):
        for f in root.glob(pattern):
            f.unlink()
    return root


@pytest.fixture(scope="module")
def run(bids, tmp_path_factory):
    """One participant-level run with FLAIR held out; the input dataset is mounted read-only."""
    before = _checksums(bids)
    out = tmp_path_factory.mktemp("out") / "codebrain"
    work = tmp_path_factory.mktemp("work")
    os.system(f"chmod -R a-w {bids}")
    try:
        proc = run_cli("codebrain-bids", bids, out, "participant", "-w", work, "--hold-out", "FLAIR", *FAST)
    finally:
        os.system(f"chmod -R u+w {bids}")
    return {"out": out, "work": work, "proc": proc, "before": before}


def _sidecar(path: Path) -> dict:
    return json.loads(path.with_name(path.name.replace(".nii.gz", ".json")).read_text())


def test_input_dataset_is_untouched(bids, run):
    assert _checksums(bids) == run["before"]


def test_derivative_names_and_grids(bids, run):
    out = run["out"]
    s1 = out / "sub-01" / "ses-01" / "anat"
    s2 = out / "sub-01" / "ses-02" / "anat"
    s3 = out / "sub-02" / "anat"
    expected = {
        s1: ["sub-01_ses-01_ce-gadolinium_desc-synth_T1w.nii.gz", "sub-01_ses-01_desc-synth_FLAIR.nii.gz",
             "sub-01_ses-01_desc-preproc_FLAIR.nii.gz", "sub-01_ses-01_desc-brain_mask.nii.gz",
             "sub-01_ses-01_from-T2w_to-T1w_mode-image_xfm.mat", "sub-01_ses-01_desc-confidence_FLAIR.nii.gz"],
        s2: ["sub-01_ses-02_desc-synth_T2w.nii.gz", "sub-01_ses-02_desc-synth_FLAIR.nii.gz",
             "sub-01_ses-02_ce-gadolinium_desc-preproc_T1w.nii.gz"],
        s3: ["sub-02_desc-synth_T1w.nii.gz", "sub-02_desc-synth_FLAIR.nii.gz",
             "sub-02_from-T2w_to-T1Gd_mode-image_xfm.mat", "sub-02_ce-gadolinium_desc-preproc_T1w.nii.gz"],
    }
    for folder, names in expected.items():
        for name in names:
            assert (folder / name).is_file(), f"{folder / name} missing"
    assert not list(s2.glob("*desc-synth_T1w*")), "a given contrast was synthesized"
    every = [p for p in out.rglob("*.nii.gz")]
    assert all("_desc-" in p.name for p in every if "_xfm" not in p.name), "a raw-valid name was written"
    assert not list(out.rglob(".part-*")), "a partial file was left behind"
    # everything of a session shares the reference grid; the mask is binary; background is 0
    mask = nib.load(s3 / "sub-02_desc-brain_mask.nii.gz")
    synth = nib.load(s3 / "sub-02_desc-synth_T1w.nii.gz")
    assert synth.shape == mask.shape and np.allclose(synth.affine, mask.affine)
    m = np.asarray(mask.dataobj)
    assert set(np.unique(m)) <= {0, 1}
    data = synth.get_fdata()
    assert np.isfinite(data).all() and np.all(data[m == 0] == 0) and data[m == 1].mean() > 0.05
    conf = nib.load(s3 / "sub-02_desc-confidence_T1w.nii.gz").get_fdata()
    assert conf.min() >= 0 and conf.max() <= 1


def test_sidecars_and_dataset_description(bids, run):
    out = run["out"]
    meta = _sidecar(out / "sub-02" / "anat" / "sub-02_desc-synth_T1w.nii.gz")
    assert meta["SkullStripped"] is True
    assert meta["InputModalities"] == ["T1Gd", "T2w"]  # FLAIR was held out
    assert meta["ReferenceModality"] == "T1Gd"
    assert meta["Sources"] == ["bids:raw:sub-02/anat/sub-02_ce-gadolinium_T1w.nii.gz",
                               "bids:raw:sub-02/anat/sub-02_T2w.nii.gz"]
    assert meta["Model"]["Name"] == "brats" and len(meta["Model"]["Sha256"]) == 64
    held = _sidecar(out / "sub-02" / "anat" / "sub-02_desc-preproc_FLAIR.nii.gz")
    assert held["HeldOut"] is True
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative"
    assert desc["GeneratedBy"][0]["Name"] == "codebrain"
    software = desc["GeneratedBy"][0]["Software"]  # every package that shaped the bytes, as installed
    for package in ("torch", "numpy", "scipy", "monai", "nibabel", "antspyx", "nipype", "pybids"):
        assert software[package] == metadata.version(package), package
    assert desc["DatasetLinks"]["raw"] == desc["SourceDatasets"][0]["URL"]
    logs = list((out / "logs").glob("run-*.json"))
    assert logs and "nipype" in json.loads(logs[0].read_text())["packages"]


def test_derivatives_pass_the_bids_validator(run):
    validator = Path(sys.executable).parent / "bids-validator-deno"  # installed beside the suite's Python
    proc = subprocess.run([str(validator), "--format", "json", "--datasetTypes", "derivative", str(run["out"])],
                          capture_output=True, text=True)
    issues = json.loads(proc.stdout)["issues"]["issues"]
    assert not [i for i in issues if i["severity"] == "error"], issues


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])


def test_report_figures_and_held_out_comparison(run):
    out = run["out"]
    page = (out / "sub-01.html").read_text()
    assert "ses-01" in page and "ses-02" in page and "PSNR" in page
    parser = _Images()
    parser.feed(page)
    assert len(parser.sources) >= 7  # mask, registration, synthesis per session, one held-out comparison
    for src in parser.sources:
        assert (out / src).is_file() and (out / src).stat().st_size > 5000, src


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian chromium is not installed (scripts/setup.sh does)")
def test_report_renders_in_headless_chromium(run, tmp_path):
    """The page loads with every figure: Chromium's DOM after load reports each image's natural size."""
    probe = tmp_path / "probe.html"
    report = run["out"] / "sub-02.html"
    probe.write_text(report.read_text().replace(
        "</body>", "<script>addEventListener('load', () => document.title = "
        "[...document.images].map(i => i.naturalWidth).join(','));</script></body>"))
    shutil.copytree(run["out"] / "sub-02", tmp_path / "sub-02")
    proc = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                           "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    title = proc.stdout.split("<title>")[1].split("</title>")[0]
    widths = [int(w) for w in title.split(",")]
    assert len(widths) >= 3 and all(w > 100 for w in widths), title


def test_group_level_summarises_every_session(run, bids):
    run_cli("codebrain-bids", bids, run["out"], "group")
    rows = (run["out"] / "group_summary.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:4] == ["participant_id", "session_id", "given", "synthesized"]
    assert len(rows) == 4
    sub02 = next(r.split("\t") for r in rows if r.startswith("sub-02"))
    assert sub02[1] == "n/a" and sub02[3] == "T1w+FLAIR" and sub02[7].startswith("FLAIR:")


def test_rerun_skips_finished_and_resumes_from_work_dir(bids, run):
    out, work = run["out"], run["work"]
    proc = run_cli("codebrain-bids", bids, out, "participant", "-w", work, "--hold-out", "FLAIR", *FAST)
    assert "already finished" in proc.stdout + proc.stderr and "nothing to do" in proc.stdout + proc.stderr
    (out / "sub-02.html").unlink()  # as if killed before its report
    n4 = next(work.rglob("sub_02_wf/*/n4_T2w/result_n4_T2w.pklz"))
    stamp = n4.stat().st_mtime_ns
    left = out / "sub-02" / "anat" / ".part-4242-sub-02_desc-synthetic_T1w.nii.gz"
    left.write_bytes(b"\x1f\x8b truncated by kill -9")
    # another run holding sub-01 (as a SLURM array task would) does not stop a run on sub-02
    with subject_locks(["01"], [out, work]):
        run_cli("codebrain-bids", bids, out, "participant", "-w", work, "--hold-out", "FLAIR",
                "--participant-label", "sub-02", *FAST)
    assert (out / "sub-02.html").is_file()
    assert n4.stat().st_mtime_ns == stamp, "a finished node was recomputed instead of taken from the work dir"
    assert not left.exists(), "a killed run's partial file survived the rerun"


@pytest.mark.parametrize("where", ["output", "work"])
def test_a_second_run_on_a_held_subject_exits_75_naming_the_holder(bids, run, tmp_path, where):
    out = run["out"] if where == "output" else tmp_path / "out"
    work = tmp_path / "work" if where == "output" else run["work"]

    def derivatives():  # the lock files themselves hold the PID of whoever locked last
        return {k: v for k, v in _checksums(run["out"]).items() if not k.startswith(".codebrain-locks")}
    before = derivatives()
    with subject_locks(["02"], [out if where == "output" else work]):
        proc = run_cli("codebrain-bids", bids, out, "participant", "-w", work, "--participant-label", "02",
                       "--skip-bids-validation", *FAST, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 75 and len(lines) == 1, proc.stderr
    assert f"PID {os.getpid()}" in lines[0] and "--wait-lock" in lines[0]
    assert derivatives() == before


@pytest.mark.parametrize("case, code", [
    ("level", 17), ("not_bids", 65), ("missing", 66), ("label", 18), ("session", 18), ("filter", 18), ("inside", 64),
    ("corrupt", 65), ("four_d", 65), ("readonly_out", 73), ("invalid", 16), ("work_inside", 64),
    ("filter_typo", 18),
])
def test_bad_input_gives_one_line_and_its_exit_code(bids, tmp_path, case, code):
    data, out, extra = bids, tmp_path / "out", []
    if case in ("not_bids", "corrupt", "four_d", "invalid"):
        data = tmp_path / "copy"
        shutil.copytree(bids, data)
    if case == "level":
        extra = ["--skip-bids-validation"]
    elif case == "not_bids":
        (data / "dataset_description.json").unlink()
    elif case == "missing":
        data = tmp_path / "nowhere"
    elif case == "label":
        extra = ["--participant-label", "sub-99"]
    elif case == "session":
        extra = ["--session-label", "ses-99"]
    elif case == "filter":
        (tmp_path / "f.json").write_text(json.dumps({"t2w": {"acquisition": "nonexistent"},
                                                     "t1w": {"acquisition": "nonexistent"},
                                                     "t1gd": {"acquisition": "nonexistent"},
                                                     "flair": {"acquisition": "nonexistent"}}))
        extra = ["--bids-filter-file", str(tmp_path / "f.json")]
    elif case == "inside":
        out = data / "sub-01" / "out"
    elif case == "corrupt":
        target = data / "sub-02" / "anat" / "sub-02_T2w.nii.gz"
        target.write_bytes(target.read_bytes()[:5000])
    elif case == "four_d":
        target = data / "sub-02" / "anat" / "sub-02_T2w.nii.gz"
        img = nib.load(target)
        nib.save(nib.Nifti1Image(np.stack([img.get_fdata()] * 2, -1).astype(np.float32), img.affine), target)
    elif case == "readonly_out":  # a file where a folder must go: unwritable even for root
        (tmp_path / "afile").write_text("")
        out = tmp_path / "afile" / "out"
    elif case == "invalid":
        (data / "sub-02" / "anat" / "sub-02_T2w.nii.gz").rename(data / "sub-02" / "anat" / "sub-02_bogus.nii.gz")
    elif case == "filter_typo":  # one modality's filter matches nothing: not silently dropped
        (tmp_path / "f.json").write_text(json.dumps({"t2w": {"acquisition": "nonexistent"}}))
        extra = ["--bids-filter-file", str(tmp_path / "f.json")]
    work = data / "derivatives" / "work" if case == "work_inside" else tmp_path / "work"
    level = "nonsense" if case == "level" else "participant"
    if case != "invalid":
        extra.append("--skip-bids-validation")
    proc = run_cli("codebrain-bids", data, out, level, "-w", work, *extra, *FAST, check=False)
    assert proc.returncode == code, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert not (out.is_dir() and list(out.rglob("*.nii.gz"))), "outputs were written for bad input"


def test_help_and_version():
    assert "participant" in run_cli("codebrain-bids", "--help").stdout
    assert run_cli("codebrain-bids", "--version").stdout.startswith("codebrain-bids ")


def test_demo_dataset_passes_the_bids_validator(tmp_path):
    """The README's main command starts from this dataset: the real raw patient must be valid BIDS."""
    root = Path(__file__).parents[1]
    subprocess.run([sys.executable, str(root / "scripts" / "make_demo_dataset.py"),
                    str(tmp_path / "demo"), "--simulated", "0"], check=True, capture_output=True)
    names = sorted(p.name for p in (tmp_path / "demo" / "sub-tcgafg6692" / "anat").iterdir())
    assert names == ["sub-tcgafg6692_FLAIR.nii.gz", "sub-tcgafg6692_T1w.nii.gz", "sub-tcgafg6692_T2w.nii.gz",
                     "sub-tcgafg6692_ce-gadolinium_T1w.nii.gz"]
    from bids_app.validation import validate

    validate(tmp_path / "demo")  # raises BidsValidationError (exit 16) on any validator error


def test_filters_take_fmriprep_keys_and_the_run_rule_prefers_the_finer_grid(bids, tmp_path):
    from bids import BIDSLayout

    from bids_app.query import collect

    data = tmp_path / "copy"
    shutil.copytree(bids, data)
    anat = data / "sub-01" / "ses-01" / "anat"
    coarse = nib.load(anat / "sub-01_ses-01_T1w.nii.gz")
    nib.save(nib.Nifti1Image(np.asarray(coarse.dataobj)[::2, ::2, ::2], coarse.affine @ np.diag([2, 2, 2, 1])),
             anat / "sub-01_ses-01_run-2_T1w.nii.gz")
    layout = BIDSLayout(str(data), validate=False)
    sessions = collect(layout, ["01"], None, {"T1w": {"session": "01", "datatype": "anat"}})
    ses1 = next(s for s in sessions if s.session == "01")
    assert ses1.images["T1w"].name == "sub-01_ses-01_T1w.nii.gz"  # finer grid beats the higher run
    assert [p.name for p in ses1.skipped["T1w"]] == ["sub-01_ses-01_run-2_T1w.nii.gz"]
    assert "T1w" not in next(s for s in sessions if s.session == "02").images  # the filter's session


SEEDED = ("--random-seed", "7", "--skip-bids-validation", *FASTER)


@pytest.fixture(scope="module")
def seeded(bids, tmp_path_factory) -> dict[str, str]:
    """The checksums of the images of one seeded run of sub-02: another seeded run (through bosh exec
    launch) must give them bit for bit."""
    out = tmp_path_factory.mktemp("seeded") / "out"
    run_cli("codebrain-bids", bids, out, "participant", "-w", out.parent / "work", "--participant-label", "02",
            *SEEDED)
    images = _images(out)
    assert len(images) >= 5
    return images


def _images(out: Path) -> dict[str, str]:
    return {k: v for k, v in _checksums(out).items() if k.endswith(".nii.gz")}


def test_a_full_disk_is_named_and_exits_74(bids, tmp_path):
    """A 3 MB tmpfs holds the first derivatives of sub-02, not all of them."""
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(tmp_path)],
                                           capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root in a container that allows it")
    try:
        proc = run_cli("codebrain-bids", bids, tmp_path / "out", "participant", "-w", tmp_path.parent / "work-full",
                       "--participant-label", "02", "--skip-bids-validation", *FASTER, check=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 74 and "no space left on" in lines[-1], proc.stderr
        assert "Traceback" not in proc.stderr
        assert not list((tmp_path / "out").rglob(".part-*")), "a partial file survived the failed run"
        # a disk that cannot even hold the inputs' size is refused before any preprocessing
        filler = tmp_path / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        quick = run_cli("codebrain-bids", bids, tmp_path / "out", "participant", "-w", tmp_path.parent / "work-full",
                        "--participant-label", "02", "--skip-bids-validation", *FASTER, check=False)
        assert quick.returncode == 74 and "MiB free, at least" in quick.stderr, quick.stderr
    finally:
        subprocess.run(["umount", str(tmp_path)], check=False)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent PID) of a process from /proc, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return fields[0], int(fields[1])


def _children(pid: int) -> list[int]:
    stats = {int(p.name): _proc_stat(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()}
    return [child for child, stat in stats.items() if stat and stat[1] == pid]


def _running(pids: list[int]) -> list[int]:
    """The PIDs still running (a zombie has exited: it holds no files and no locks)."""
    return [p for p in pids if (stat := _proc_stat(p)) and stat[0] not in "ZX"]


def test_two_real_runs_on_one_subject_and_a_kill_9(bids, tmp_path):
    """A second codebrain-bids on a subject that a live run holds exits 75 naming it; the first is then
    killed with SIGKILL (no cleanup runs), its workers die with it, and a rerun finishes with nothing
    partial left."""
    out, work = tmp_path / "out", tmp_path / "work"
    args = [str(bids), str(out), "participant", "-w", str(work), "--participant-label", "02",
            "--skip-bids-validation", *FASTER]
    first = subprocess.Popen([str(BIN / "codebrain-bids"), *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    lock = out / ".codebrain-locks" / "sub-02.lock"
    deadline = time.monotonic() + 120
    while (not lock.exists() or not lock.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        second = run_cli("codebrain-bids", *args, check=False)
        while not (workers := _children(first.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)  # kill it once its MultiProc workers run nodes
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert second.returncode == 75 and f"PID {first.pid}" in second.stderr, second.stderr
    assert workers, "the first run never started its MultiProc workers"
    # its workers die with it (they share the flock across fork): none is left behind, and a plain rerun
    # (no --wait-lock) gets the subject at once
    deadline = time.monotonic() + 30
    while _running(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    orphans = _running(workers)
    for pid in orphans:  # a failure must not leave them to run (and wait) for ever
        os.kill(pid, signal.SIGKILL)
    assert not orphans, f"orphaned workers {orphans} outlived the killed run"
    rerun = run_cli("codebrain-bids", *args, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert (out / "sub-02.html").is_file()
    assert not list(out.rglob(".part-*")) and not list(work.rglob(".part-*"))


# -- Boutiques (BIDS Apps execution specification) ---------------------------------------------------

def _descriptor(tmp_path: Path) -> Path:
    path = tmp_path / "codebrain-bids.json"
    path.write_text(run_cli("codebrain-bids", "--bids-exec-spec").stdout)
    return path


def _bosh(*args: str) -> subprocess.CompletedProcess:
    """bosh as a user runs it: in the activated venv, so codebrain-bids is on PATH."""
    return subprocess.run([str(BIN / "bosh"), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})


def test_the_descriptor_passes_bosh_validate_and_names_every_option(tmp_path):
    from bids_app.cli import build_parser
    from bids_app.exit_codes import MEANINGS

    path = _descriptor(tmp_path)
    check = _bosh("validate", path)
    assert check.returncode == 0, check.stdout + check.stderr
    spec = json.loads(path.read_text())
    assert spec["custom"]["BIDSAppSpecVersion"] and spec["container-image"]["image"].startswith("codebrain/bids-app:")
    ids = {i["id"] for i in spec["inputs"]}
    assert {"InputDataset", "OutputLocation", "AnalysisLevel", "SubjectLabel", "Help", "ToolVersion"} <= ids
    flags = {i.get("command-line-flag") for i in spec["inputs"]}
    for action in build_parser()._actions:  # every option of the CLI is an input, none is invented
        if action.option_strings and action.dest != "bids_exec_spec":
            assert flags & set(action.option_strings), action.option_strings
    assert len(spec["inputs"]) == len(build_parser()._actions) - 1
    assert {e["code"] for e in spec["error-codes"]} == set(MEANINGS) - {0}


def test_an_invocation_becomes_the_command_line_it_means(tmp_path):
    """bosh writes the command line from the descriptor; our parser must read back every value."""
    from bids_app.cli import build_parser

    invocation = {"InputDataset": "/data/raw", "OutputLocation": "/data/out dir", "AnalysisLevel": "participant",
                  "SubjectLabel": ["01", "02"], "SessionLabel": ["pre"], "HoldOut": ["FLAIR", "T2w"],
                  "Reference": "T2w", "MaxSpacing": 2.5, "NoN4": True, "Nprocs": 3, "RandomSeed": 7,
                  "PluginArgs": '{"sbatch_args": "-p short --mem=8G"}', "WorkDir": "/scratch/w x", "WaitLock": True}
    (tmp_path / "inv.json").write_text(json.dumps(invocation))
    sim = _bosh("exec", "simulate", "-i", tmp_path / "inv.json", _descriptor(tmp_path))
    assert sim.returncode == 0, sim.stderr
    command = sim.stdout.split("Generated Command:")[-1].strip()
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert (str(args.bids_dir), str(args.output_dir), args.analysis_level) == ("/data/raw", "/data/out dir",
                                                                                 "participant")
    assert args.participant_label == ["01", "02"] and args.session_label == ["pre"]
    assert args.hold_out == ["FLAIR", "T2w"] and args.reference == "T2w" and args.no_n4 and args.wait_lock
    assert (args.max_spacing, args.nprocs, args.random_seed) == (2.5, 3, 7)
    assert args.plugin_args == {"sbatch_args": "-p short --mem=8G"} and str(args.work_dir) == "/scratch/w x"


def test_bosh_exec_launch_runs_both_levels_and_repeats_a_seeded_run(bids, seeded, tmp_path):
    """The way CBRAIN and other Boutiques platforms run it (here without the container); with the
    same --random-seed (seeded, single-threaded ANTs) the images are those of a direct run, bit for bit."""
    desc, out = _descriptor(tmp_path), tmp_path / "out"
    for level, extra in (("participant", {"SubjectLabel": ["02"], "SkipBidsValidation": True, "MaxSpacing": 2,
                                          "Nprocs": 2, "OmpNthreads": 1, "RandomSeed": 7, "NoN4": True,
                                          "WorkDir": str(tmp_path / "work")}),
                         ("group", {})):
        (tmp_path / f"{level}.json").write_text(json.dumps(
            {"InputDataset": str(bids), "OutputLocation": str(out), "AnalysisLevel": level, **extra}))
        launch = _bosh("exec", "launch", "--no-container", desc, tmp_path / f"{level}.json")
        assert launch.returncode == 0, launch.stdout[-2000:] + launch.stderr[-2000:]
    assert (out / "sub-02.html").is_file() and (out / "group_summary.tsv").is_file()
    assert (out / "sub-02" / "anat" / "sub-02_desc-synth_T1w.nii.gz").is_file()
    assert _images(out) == seeded
