"""codebrain-synth never changes an input and never leaves a partial output set (issue 14).

Each case compares the folder trees (names and sha256 of every file) before and after the run.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from conftest import run_cli

pytestmark = pytest.mark.slow  # end to end: trains, synthesizes or runs the real tools


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones included) with its sha256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def acquired(sim_data, tmp_path) -> Path:
    """A subject folder as users keep it: the acquired contrasts side by side."""
    folder = tmp_path / "sub"
    folder.mkdir()
    for m in ("T1w", "T2w", "FLAIR"):
        shutil.copy(sim_data / "sim0003" / f"{m}.nii.gz", folder)
    return folder


def synth(model: Path, *args, check: bool = False) -> subprocess.CompletedProcess:
    return run_cli("codebrain-synth", "--model", model, "--device", "cpu", *args, check=check)


def assert_one_line(result: subprocess.CompletedProcess, code: int, text: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1 and text in lines[0], result.stderr


def test_acquired_files_beside_the_input_are_never_replaced(stage2_run, acquired):
    before = tree(acquired)
    result = synth(stage2_run, "--input", f"T1w={acquired / 'T1w.nii.gz'}", "--output-dir", acquired)
    assert_one_line(result, 64, "exists; pass --overwrite")
    assert tree(acquired) == before


@pytest.mark.parametrize("link", [False, True])
def test_an_input_is_refused_as_output_even_with_overwrite(stage2_run, acquired, tmp_path, link):
    """FLAIR given as the T1w input: the FLAIR output would be the input file itself."""
    out = acquired
    if link:  # the output folder reaches the input through a symlink
        out = tmp_path / "link"
        out.symlink_to(acquired, target_is_directory=True)
    before = tree(acquired)
    result = synth(stage2_run, "--input", f"T1w={acquired / 'FLAIR.nii.gz'}", "--output-dir", out, "--overwrite")
    assert_one_line(result, 64, "would overwrite the input")
    assert tree(acquired) == before


def test_overwrite_replaces_earlier_outputs_only(stage2_run, acquired, tmp_path):
    out = tmp_path / "out"
    first = synth(stage2_run, "--input", f"T1w={acquired / 'T1w.nii.gz'}", "--output-dir", out, check=True)
    assert first.returncode == 0
    made = tree(out)
    assert sorted(made) == ["FLAIR.nii.gz", "T2w.nii.gz"]
    (out / "FLAIR.nii.gz").write_bytes(b"stale")
    again = synth(stage2_run, "--input", f"T1w={acquired / 'T1w.nii.gz'}", "--output-dir", out, "--overwrite")
    assert again.returncode == 0, again.stderr
    assert tree(out) == made  # same weights, same input: the same bytes, and nothing else left


def test_stale_staging_of_a_killed_run_is_removed(stage2_run, acquired, tmp_path):
    out = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no process holds now
    stale = out / f".codebrain-staging-{dead.pid}"
    stale.mkdir(parents=True)
    (stale / "T2w.nii.gz").write_bytes(b"\x1f\x8b truncated")
    result = synth(stage2_run, "--input", f"T1w={acquired / 'T1w.nii.gz'}", "--output-dir", out)
    assert result.returncode == 0, result.stderr
    assert sorted(tree(out)) == ["FLAIR.nii.gz", "T2w.nii.gz"]


def test_unwritable_output_fails_before_inference(stage2_run, acquired, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    started = time.monotonic()
    result = synth(stage2_run, "--input", f"T1w={acquired / 'T1w.nii.gz'}", "--output-dir", blocker / "out")
    assert_one_line(result, 73, "cannot write")
    assert blocker.read_text() == "not a folder"
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("kind, code, text", [("folder", 65, "is a folder"), ("loop", 66, "symbolic links"),
                                               ("device", 65, "not a regular file")])
def test_inputs_that_are_not_files_are_named_for_what_they_are(stage2_run, tmp_path, kind, code, text):
    path = tmp_path / "input.nii.gz"
    if kind == "folder":
        path.mkdir()
    elif kind == "loop":
        path.symlink_to(path)
    else:
        path = Path("/dev/null")
    result = synth(stage2_run, "--input", f"T1w={path}", "--output-dir", tmp_path / "out")
    assert_one_line(result, code, text)
    assert not (tmp_path / "out").exists()


def test_float64_beyond_float32_is_named_as_such(stage2_run, acquired, tmp_path):
    img = nib.load(acquired / "T1w.nii.gz")
    data = img.get_fdata()
    data[data.shape[0] // 2, data.shape[1] // 2, data.shape[2] // 2] = 1e39
    nib.save(nib.Nifti1Image(data, img.affine, dtype=np.float64), tmp_path / "huge.nii.gz")
    result = synth(stage2_run, "--input", f"T1w={tmp_path / 'huge.nii.gz'}", "--output-dir", tmp_path / "out")
    assert_one_line(result, 65, "exceed the float32 range")


@pytest.fixture()
def small_disk(tmp_path):
    """A 400 KB tmpfs: room for the staging folder, not for the outputs."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)],
                      capture_output=True).returncode:
        pytest.skip("this container may not mount a tmpfs")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_leaves_nothing_behind(stage2_run, acquired, small_disk):
    out = small_disk / "out"
    result = synth(stage2_run, "--input", f"T1w={acquired / 'T1w.nii.gz'}", "--output-dir", out)
    assert_one_line(result, 74, "no space left on")
    assert tree(small_disk) == {}


def test_disk_filling_during_the_write_is_reported_and_cleaned(small_disk):
    """The up-front margin can be beaten by another writer: ENOSPC mid-write is caught too."""
    from codebrain.cli.common import EXIT_CODES
    from codebrain.errors import WriteError, exit_code
    from codebrain.runtime.staging import staged_outputs

    out = small_disk / "out"
    with pytest.raises(WriteError, match="no space left on") as err:
        with staged_outputs(out) as stage:
            (stage / "T2w.nii.gz").write_bytes(b"\0" * 1024)
            (stage / "FLAIR.nii.gz").write_bytes(os.urandom(1 << 20))
    assert exit_code(err.value, EXIT_CODES) == 74
    assert tree(small_disk) == {} and list(out.iterdir()) == []


def test_terminated_run_removes_what_it_staged(stage2_run, acquired, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "codebrain-synth"), "--model", str(stage2_run), "--device", "cpu",
         "--input", f"T1w={acquired / 'T1w.nii.gz'}", "--output-dir", str(out), "--planes", "axial", "coronal",
         "sagittal"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob(".codebrain-staging-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be signalled")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "interrupted" in err
    assert tree(out) == {} and list(out.iterdir()) == []
