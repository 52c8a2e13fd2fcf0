"""The MONAI Deploy application against real DICOM tools: the SDK, dciodvfy, dcm2niix, Orthanc.

The app runs in its own environment (.venv-map, made by scripts/setup.sh), so it is driven
here as a user drives it: ``.venv-map/bin/python -m app``. Studies are written from the real
raw TCGA-FG-6692 scans (FLAIR withheld) and from a simulated subject.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from conftest import BIN
from nibabel.processing import resample_from_to

from app.dicom_writer import SCALE, write_synthetic_series
from app.selection import assign, load_rules
from app.study_builder import new_study, write_study
from codebrain import __version__
from codebrain.cli.simulate import main as simulate_main
from codebrain.errors import UsageError
from codebrain.preprocess.ants import coregister, to_ants, to_nibabel

pytestmark = pytest.mark.slow  # end to end: trains, synthesizes or runs the real tools

ROOT = Path(__file__).resolve().parents[1]
# the MAP's own environment (scripts/setup.sh makes .venv-map); another can be named for the run
MAP_PYTHON = Path(os.environ.get("CODEBRAIN_MAP_PYTHON", ROOT / ".venv-map" / "bin" / "python"))
RAW = ROOT / "examples" / "TCGA-FG-6692-raw"
RAW_FILES = {"T1w": "t1n", "T1Gd": "t1c", "T2w": "t2w", "FLAIR": "t2f"}


def run_map(*args, env: dict | None = None, module: str = "app") -> subprocess.CompletedProcess:
    assert MAP_PYTHON.exists(), "the MAP environment is missing: run scripts/setup.sh"
    return subprocess.run([str(MAP_PYTHON), "-m", module, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=900)


def read_series(folder: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p) for p in sorted(folder.rglob("*.dcm"))]


def raw(modality: str) -> nib.Nifti1Image:
    return nib.load(RAW / f"{RAW_FILES[modality]}.nii.gz")


@pytest.fixture(scope="module")
def raw_study(tmp_path_factory) -> Path:
    """Three real contrasts, FLAIR withheld, plus a diffusion series whose TR/TE would pass a
    T2 rule by numbers alone."""
    root = tmp_path_factory.mktemp("raw_study")
    study = write_study({m: raw(m) for m in ("T1w", "T1Gd", "T2w")}, root)
    write_study({"T2w": raw("T2w")}, root / "dwi", study,
                {"T2w": {"SeriesDescription": "AX DWI B1000", "RepetitionTime": "5000", "EchoTime": "90",
                         "ScanningSequence": "EP"}})
    return root


@pytest.fixture(scope="module")
def raw_run(raw_study, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("raw_out")
    proc = run_map("-i", raw_study, "-o", out, env={"CODEBRAIN_CONFIDENCE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "codebrain-map: done" in proc.stdout
    return out


def test_the_study_is_completed_with_labelled_series(raw_study, raw_run):
    assert sorted(p.name for p in raw_run.iterdir()) == ["confidence-FLAIR", "synthetic-FLAIR"]
    reference = {ds.SOPInstanceUID: ds for ds in read_series(raw_study / "T1w")}
    source_series = {ds.SeriesInstanceUID for ds in read_series(raw_study)}
    for folder in raw_run.iterdir():
        out = read_series(folder)
        assert len(out) == len(reference)
        assert len({ds.SeriesInstanceUID for ds in out}) == 1 and out[0].SeriesInstanceUID not in source_series
        assert len({ds.SOPInstanceUID for ds in out}) == len(out)
        first = next(iter(reference.values()))
        for ds in out:
            assert ds.StudyInstanceUID == first.StudyInstanceUID and ds.PatientID == first.PatientID
            assert ds.FrameOfReferenceUID == first.FrameOfReferenceUID
            assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"] and ds.SeriesDescription.startswith("SYNTHETIC")
            # the MAP environment's packages that made the pixels, one value each
            software = {v.split(" ")[0]: v.split(" ")[1] for v in ds.SoftwareVersions}
            assert software["codebrain"] == __version__ and software["monai-deploy-app-sdk"] == "4.0.0"
            assert {"torch", "numpy", "pydicom", "highdicom", "antspyx"} <= set(software)
            inputs = ds.DerivationDescription.split("from ")[1].split(";")[0]
            assert sorted(inputs.split(", ")) == ["T1Gd", "T1w", "T2w"]  # the diffusion decoy is not among them
            ref = reference[ds.SourceImageSequence[0].ReferencedSOPInstanceUID]
            for key in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns"):
                assert ds[key].value == ref[key].value, key


def test_dciodvfy_finds_no_error(raw_run):
    for folder in raw_run.iterdir():
        files = sorted(folder.glob("*.dcm"))
        for path in (files[0], files[len(files) // 2], files[-1]):
            report = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
            errors = [line for line in (report.stdout + report.stderr).splitlines() if line.startswith("Error")]
            assert not errors, f"{path.name}: {errors}"


def dcm2niix(folder: Path, out: Path) -> nib.Nifti1Image:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(BIN / "dcm2niix"), "-z", "y", "-f", "vol", "-o", str(out), str(folder)],
                   check=True, capture_output=True)
    return nib.load(out / "vol.nii.gz")


def test_dcm2niix_reads_the_synthetic_flair_on_the_reference_grid(raw_study, raw_run, tmp_path):
    flair = dcm2niix(raw_run / "synthetic-FLAIR", tmp_path / "flair")
    t1 = dcm2niix(raw_study / "T1w", tmp_path / "t1")
    assert flair.shape == t1.shape and np.allclose(flair.affine, t1.affine, atol=1e-3)
    confidence = dcm2niix(raw_run / "confidence-FLAIR", tmp_path / "conf").get_fdata() / SCALE
    assert confidence.min() >= 0 and confidence.max() <= 1 and confidence.max() > 0.3
    # the withheld real FLAIR, rigidly registered to the reference series (the BIDS-App's function)
    moved, _ = coregister(to_ants(raw("FLAIR")), to_ants(t1), str(tmp_path / "flair_to_t1_"))
    real = resample_from_to(to_nibabel(moved), flair, order=1).get_fdata()
    synth = flair.get_fdata()
    brain = synth > 0
    assert 0.15 < brain.mean() < 0.6  # skull-stripped: zero outside the brain
    r = np.corrcoef(synth[brain], real[brain])[0, 1]
    assert r > 0.45, r  # 0.56 measured: raw clinical scans with 5.5 mm slices


def test_writer_round_trips_through_dcm2niix_and_the_sdk(raw_study, tmp_path):
    """Write the reference's own pixels as a 'synthetic' series: both converters must give back the
    reference volume, up to the 1/SCALE quantisation."""
    reference = read_series(raw_study / "T1w")
    normal = np.cross(*np.array(reference[0].ImageOrientationPatient, dtype=float).reshape(2, 3))
    reference.sort(key=lambda ds: float(np.dot(normal, np.array(ds.ImagePositionPatient, dtype=float))))
    volume = np.stack([ds.pixel_array for ds in reference]).astype(np.float32) / 4000.0
    write_synthetic_series(volume, reference, "T1w", {"name": "test", "inputs": ["T2w"]}, tmp_path / "out", 99)
    ours = dcm2niix(tmp_path / "out", tmp_path / "ours").get_fdata() / SCALE
    theirs = dcm2niix(raw_study / "T1w", tmp_path / "theirs").get_fdata() / 4000.0
    assert np.abs(ours - theirs).max() <= 0.5 / SCALE + 1e-3
    code = ("import sys, numpy as np; from pathlib import Path; from app.runtime import start_sdk\n"
            "start_sdk()\n"
            "from monai.deploy.core import Fragment\n"
            "from monai.deploy.operators import DICOMDataLoaderOperator, DICOMSeriesToVolumeOperator\n"
            "f = Fragment(); s = DICOMDataLoaderOperator(f, name='l').load_data_to_studies(Path(sys.argv[1]))[0]\n"
            "series = s.get_all_series()[0]; op = DICOMSeriesToVolumeOperator(f, name='v')\n"
            "op.prepare_series(series); np.save(sys.argv[2], op.generate_voxel_data(series))\n")
    proc = subprocess.run([str(MAP_PYTHON), "-c", code, str(tmp_path / "out"), str(tmp_path / "sdk.npy")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert np.abs(np.load(tmp_path / "sdk.npy") / SCALE - volume).max() <= 0.5 / SCALE + 1e-6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def orthanc(tmp_path):
    """A real PACS on 127.0.0.1: Debian's Orthanc with its own configuration and storage."""
    dicom_port, http_port = free_port(), free_port()
    config = {"Name": "CODEBRAIN-TEST", "StorageDirectory": str(tmp_path / "db"),
              "IndexDirectory": str(tmp_path / "db"),
              "DicomAet": "ORTHANC", "DicomPort": dicom_port, "HttpPort": http_port, "RemoteAccessAllowed": False,
              "AuthenticationEnabled": False, "DicomServerEnabled": True, "DicomCheckCalledAet": False,
              "Plugins": [], "StableAge": 1}
    (tmp_path / "orthanc.json").write_text(json.dumps(config))
    proc = subprocess.Popen(["Orthanc", str(tmp_path / "orthanc.json")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{http_port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/system", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("Orthanc did not start")
    yield dicom_port, url
    proc.terminate()
    proc.wait(timeout=30)


def test_a_pacs_files_the_new_series_under_the_original_study(raw_study, raw_run, orthanc):
    port, url = orthanc
    for folder in (raw_study / "T1w", raw_run / "synthetic-FLAIR", raw_run / "confidence-FLAIR"):
        subprocess.run(["storescu", "-aec", "ORTHANC", "+sd", "127.0.0.1", str(port), str(folder)],
                       check=True, capture_output=True)
    study_uid = read_series(raw_study / "T1w")[0].StudyInstanceUID
    request = urllib.request.Request(f"{url}/tools/find", method="POST", data=json.dumps(
        {"Level": "Series", "Query": {"StudyInstanceUID": study_uid}, "Expand": True}).encode())
    found = json.load(urllib.request.urlopen(request))
    descriptions = sorted(s["MainDicomTags"].get("SeriesDescription", "") for s in found)
    assert len(found) == 3, descriptions
    assert sum(d.startswith("SYNTHETIC FLAIR (") for d in descriptions) == 1
    assert sum(d.startswith("SYNTHETIC FLAIR confidence") for d in descriptions) == 1
    synthetic = next(s for s in found if s["MainDicomTags"]["SeriesDescription"].startswith("SYNTHETIC FLAIR ("))
    assert len(synthetic["Instances"]) == len(list((raw_run / "synthetic-FLAIR").glob("*.dcm")))


def test_a_simulated_lps_study_gets_the_ixi_model(tmp_path):
    """T2w + PDw only: the IXI-style model uses both and synthesizes T1w; the study is stored LPS."""
    assert simulate_main(["--output", str(tmp_path / "sim"), "--subjects", "1", "--seed", "11", "--resolution", "2",
                          "--modalities", "T1w,T2w,PDw", "--lesions", "0"]) == 0
    subject = tmp_path / "sim" / "sim0001"
    images = {}
    for m in ("T2w", "PDw"):
        img = nib.load(subject / f"{m}.nii.gz")
        images[m] = img.as_reoriented(nib.orientations.axcodes2ornt("LPS"))
    write_study(images, tmp_path / "study", new_study("SIM-LPS"))
    proc = run_map("-i", tmp_path / "study", "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["synthetic-T1w"]
    t1 = dcm2niix(tmp_path / "out" / "synthetic-T1w", tmp_path / "t1").get_fdata()
    t1_img = nib.load(tmp_path / "t1" / "vol.nii.gz")
    truth = resample_from_to(nib.load(subject / "T1w.nii.gz"), t1_img, order=1).get_fdata()
    brain = t1 > 0
    assert np.corrcoef(t1[brain], truth[brain])[0, 1] > 0.7
    assert "CodeBrain ixi" in read_series(tmp_path / "out" / "synthetic-T1w")[0].SeriesDescription


SEEDED = {"CODEBRAIN_RANDOM_SEED": "7"}  # repeatable registration, so images can be compared exactly


def _encode(src: Path, dst: Path, codecs: dict[str, tuple[str, ...]]) -> None:
    """Re-encode each series of a study (one subfolder per series) as a PACS archive might hold it;
    a series given several codecs gets them in turn, instance by instance (as after a migration)."""
    for series, paths in {s: sorted((src / s).glob("*.dcm")) for s in codecs}.items():
        for i, path in enumerate(paths):
            out = dst / path.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            codec = codecs[series][i % len(codecs[series])]
            if codec == "jpeg2000":
                ds = pydicom.dcmread(path)
                ds.compress(pydicom.uid.JPEG2000Lossless)
                ds.save_as(out)
            else:
                tool = {"jpeg-lossless-sv1": ["dcmcjpeg", "+e1"], "jpeg-ls": ["dcmcjpls"], "rle": ["dcmcrle"]}[codec]
                subprocess.run([*tool, str(path), str(out)], check=True, capture_output=True)


def _pixels(folder: Path) -> dict[str, list[np.ndarray]]:
    series = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        instances = sorted(read_series(sub), key=lambda ds: int(ds.InstanceNumber))
        series[sub.name] = [ds.pixel_array for ds in instances]
    return series


def test_a_compressed_study_gives_the_same_series(tmp_path):
    """Four lossless syntaxes in one study (mixed syntaxes are common after archive migrations):
    the series the app writes are pixel for pixel those it writes from the uncompressed study."""
    modalities = ("T1w", "T2w")
    assert simulate_main(["--output", str(tmp_path / "sim"), "--subjects", "1", "--seed", "5", "--resolution", "2",
                          "--modalities", ",".join(modalities), "--lesions", "0"]) == 0
    write_study({m: nib.load(tmp_path / "sim" / "sim0001" / f"{m}.nii.gz") for m in modalities},
                tmp_path / "plain", new_study("PLAIN"))
    codecs = {"T1w": ("jpeg-lossless-sv1", "rle"), "T2w": ("jpeg-ls", "jpeg2000")}
    _encode(tmp_path / "plain", tmp_path / "packed", codecs)
    syntaxes = {pydicom.dcmread(p).file_meta.TransferSyntaxUID for p in (tmp_path / "packed").rglob("*.dcm")}
    assert len(syntaxes) == 4 and all(s.is_compressed for s in syntaxes), syntaxes
    for study in ("plain", "packed"):
        proc = run_map("-i", tmp_path / study, "-o", tmp_path / f"out-{study}", env=SEEDED)
        assert proc.returncode == 0, proc.stderr
    expected, got = _pixels(tmp_path / "out-plain"), _pixels(tmp_path / "out-packed")
    assert list(got) == list(expected) and expected
    for name in expected:
        assert len(got[name]) == len(expected[name])
        assert all(np.array_equal(a, b) for a, b in zip(got[name], expected[name])), name


# -- selection ------------------------------------------------------------------------------------

def small_image(shape=(24, 24, 6), seed=0) -> nib.Nifti1Image:
    data = np.random.default_rng(seed).uniform(10, 100, shape).astype(np.float32)
    return nib.Nifti1Image(data, np.diag([2.0, 2.0, 4.0, 1.0]))


def test_rules_pick_by_description_then_by_sequence_parameters(tmp_path):
    study = new_study("SEL")
    specs = {
        "a": ("T1w", {"SeriesDescription": "SERIES A", "RepetitionTime": "9000", "EchoTime": "125",
                      "InversionTime": "2500"}),
        "b": ("T1w", {"SeriesDescription": "SAG MPRAGE", "RepetitionTime": "2300", "EchoTime": "3"}),
        "c": ("T1w", {"SeriesDescription": "AX T1 SE", "ContrastBolusAgent": "GADOBUTROL"}),
        "d": ("T1w", {"SeriesDescription": "SERIES D", "RepetitionTime": "4000", "EchoTime": "100"}),
        "e": ("T1w", {"SeriesDescription": "SURVEY", "ImageType": ["DERIVED", "SECONDARY"]}),
    }
    for i, (folder, (modality, params)) in enumerate(specs.items()):
        write_study({modality: small_image(seed=i)}, tmp_path / folder, study, {modality: params})
    proc = run_map(tmp_path, module="app.show_selection")
    assert proc.returncode == 0, proc.stderr
    chosen = {line.split("\t")[0]: line.split("\t")[2] for line in proc.stdout.splitlines()}
    assert chosen == {"T1Gd": "AX T1 SE", "FLAIR": "SERIES A", "T2w": "SERIES D", "T1w": "SAG MPRAGE"}


def test_assign_gives_each_series_one_modality_in_rule_order():
    class S:
        def __init__(self, uid):
            self.SeriesInstanceUID = uid

    post, pre = S("1"), S("2")
    assert assign([("T1Gd", post), ("T1w", post), ("T1w", pre)]) == {"T1Gd": post, "T1w": pre}
    assert assign([("T1w", pre), ("T1w", post)]) == {"T1w": pre}


@pytest.mark.parametrize("text, message", [
    ("{", "not valid JSON"),
    ('{"selections": []}', "non-empty"),
    ('{"selections": [{"name": "T3w", "conditions": {"Modality": "MR"}}]}', "'T3w'"),
    ('{"selections": [{"name": "T1w"}]}', "no conditions"),
])
def test_bad_rules_are_refused(tmp_path, text, message):
    path = tmp_path / "rules.json"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_rules(path)
    assert "T1Gd" in load_rules()  # the shipped rules load


# -- bad input ------------------------------------------------------------------------------------

def _study(root: Path, modalities=("T1w", "T2w"), **overrides) -> Path:
    write_study({m: small_image(seed=i) for i, m in enumerate(modalities)}, root, new_study("BAD"),
                {m: overrides for m in modalities})
    return root


def _edit(folder: Path, index: int, change) -> None:
    path = sorted(folder.glob("*.dcm"))[index]
    ds = pydicom.dcmread(path)
    change(ds)
    ds.save_as(path)


def case_empty(root):
    root.mkdir()


def case_ct(root):
    _study(root, Modality="CT")


def case_nothing_selected(root):
    _study(root, SeriesDescription="SURVEY", RepetitionTime="", EchoTime="")


def case_missing_geometry(root):
    _study(root)
    _edit(root / "T1w", 2, lambda ds: delattr(ds, "ImagePositionPatient"))


def case_mixed_frames(root):
    _study(root)
    _edit(root / "T1w", 1, lambda ds: setattr(ds, "FrameOfReferenceUID", pydicom.uid.generate_uid()))


def case_single_slice(root):
    write_study({"T1w": small_image((24, 24, 1)), "T2w": small_image()}, root, new_study("ONE"))


def case_duplicates(root):
    """A slice sent twice under a new SOP Instance UID (an exact copy of a file is read once)."""
    _study(root)
    first = sorted((root / "T1w").glob("*.dcm"))[0]
    shutil.copy(first, first.with_name("resent.dcm"))
    _edit(root / "T1w", -1, lambda ds: setattr(ds, "SOPInstanceUID", pydicom.uid.generate_uid()))


def case_enhanced(root):
    """The T1w series as one Enhanced MR object: every slice a frame of a single multi-frame instance."""
    _study(root)
    files = sorted((root / "T1w").glob("*.dcm"))
    slices = sorted((pydicom.dcmread(f) for f in files), key=lambda ds: int(ds.InstanceNumber))
    ds = slices[0]
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"
    ds.NumberOfFrames = len(slices)
    ds.PixelData = b"".join(s.PixelData for s in slices)
    for f in files:
        f.unlink()
    ds.save_as(root / "T1w" / "enhanced.dcm")


def case_bad_rules(root):
    _study(root)
    (root.parent / "rules.json").write_text('{"selections": [{"name": "X", "conditions": {"Modality": "MR"}}]}')


@pytest.mark.parametrize("case, code, message", [
    (case_empty, 66, "no DICOM study"),
    (case_ct, 65, "not an MR study"),
    (case_nothing_selected, 65, "no series matched"),
    (case_missing_geometry, 65, "lacks ImagePositionPatient"),
    (case_mixed_frames, 65, "frames of reference"),
    (case_single_slice, 65, "single-slice"),
    (case_duplicates, 65, "same position as another"),
    (case_bad_rules, 64, "selection rules"),
    (case_enhanced, 65, "Enhanced (multi-frame) MR"),
])
def test_bad_input_is_one_line_and_leaves_no_output(tmp_path, case, code, message):
    case(tmp_path / "in")
    out = tmp_path / "out"
    proc = run_map("-i", tmp_path / "in", "-o", out, env={"CODEBRAIN_SELECTION_RULES": str(tmp_path / "rules.json")}
                   if case is case_bad_rules else None)
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("case, code, message", [
    ("no_input", 66, "does not exist"), ("output_under_a_file", 73, "cannot be written"),
    ("output_in_input", 64, "lies inside the input"),
])
def test_folders_are_checked_before_the_pipeline(tmp_path, case, code, message):
    inputs, out = tmp_path / "in", tmp_path / "out"
    if case == "output_under_a_file":
        _study(inputs)
        (tmp_path / "afile").write_text("")
        out = tmp_path / "afile" / "out"
    elif case == "output_in_input":
        _study(inputs)
        out = inputs / "out"
    before = sorted(inputs.rglob("*")) if inputs.exists() else []
    proc = run_map("-i", inputs, "-o", out)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code and len(lines) == 1 and message in lines[0], proc.stderr
    assert "PosixPath" not in proc.stderr
    assert (sorted(inputs.rglob("*")) if inputs.exists() else []) == before


@pytest.mark.parametrize("case, code", [(case_ct, 65), (case_empty, 66)])
def test_debug_changes_the_detail_not_the_exit_code(tmp_path, case, code):
    case(tmp_path / "in")
    plain = run_map("-i", tmp_path / "in", "-o", tmp_path / "out")
    debug = run_map("-i", tmp_path / "in", "-o", tmp_path / "out2", "--debug")
    assert plain.returncode == debug.returncode == code, (plain.stderr, debug.stderr[-2000:])
    assert "Traceback" in debug.stderr and "Traceback" not in plain.stderr


@pytest.mark.parametrize("name, value", [("CODEBRAIN_SKULL_STRIP", "bet"), ("CODEBRAIN_RANDOM_SEED", "-1"),
                                         ("CODEBRAIN_DEVICE", "tpu")])
def test_bad_settings_are_one_line_and_leave_no_output(tmp_path, name, value):
    _study(tmp_path / "in")
    out = tmp_path / "out"
    proc = run_map("-i", tmp_path / "in", "-o", out, env={name: value})
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 64 and len(lines) == 1 and name in lines[0] and repr(value) in lines[0], proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_help_and_version():
    help_text = run_map("--help").stdout
    assert all(name in help_text for name in ("CODEBRAIN_SELECTION_RULES", "CODEBRAIN_SKULL_STRIP",
                                              "CODEBRAIN_RANDOM_SEED"))
    assert run_map("--version").stdout.startswith("codebrain-map ")


def test_packaging_files_name_this_version():
    import yaml

    import codebrain

    assert yaml.safe_load((ROOT / "app" / "app.yaml").read_text())["application"]["version"] == codebrain.__version__
    workflow = json.loads((ROOT / "app" / "workflows" / "codebrain-workflow.json").read_text())
    task = next(t for t in workflow["tasks"] if t["type"] == "docker")
    assert task["args"]["container_image"] == f"codebrain/map:{codebrain.__version__}"
    assert {t["id"] for t in workflow["tasks"]} >= {d["name"] for d in task["task_destinations"]}


def test_the_model_comes_from_the_model_path_when_it_names_one(tmp_path):
    """HOLOSCAN_MODEL_PATH may name a bundled model; a folder holding one model folder (the MAP
    packager's layout) is used as that model; several are refused."""
    _study(tmp_path / "in", modalities=("T2w", "PDw"))
    proc = run_map("-i", tmp_path / "in", "-o", tmp_path / "out", env={"HOLOSCAN_MODEL_PATH": "brats"})
    assert proc.returncode == 0, proc.stderr
    made = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert made == ["synthetic-FLAIR", "synthetic-T1Gd", "synthetic-T1w"]
    models = tmp_path / "models"
    for name in ("brats", "ixi"):
        shutil.copytree(ROOT / "codebrain" / "weights" / name, models / name)
    proc = run_map("-i", tmp_path / "in", "-o", tmp_path / "out2", "-m", models)
    assert proc.returncode == 64 and "several models" in proc.stderr


def test_its_own_output_is_never_taken_as_input(raw_study, raw_run, tmp_path):
    """The study as the PACS holds it after a run: the synthetic FLAIR (DERIVED) must not be picked."""
    shutil.copytree(raw_study, tmp_path / "study")
    shutil.copytree(raw_run, tmp_path / "study" / "codebrain")
    proc = run_map(tmp_path / "study", module="app.show_selection")
    assert proc.returncode == 0, proc.stderr
    assert sorted(line.split("\t")[0] for line in proc.stdout.splitlines()) == ["T1Gd", "T1w", "T2w"]
