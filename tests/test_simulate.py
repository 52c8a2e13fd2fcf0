import hashlib
import json
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from conftest import BIN, run_cli

from codebrain.data.anatomy import template_anatomy
from codebrain.data.physics import RELAXATION, random_sequences, signal
from codebrain.data.realism import template_correlations
from codebrain.data.simulate import LABELS, SimulationOptions, simulate_subject

SPM = Path(__file__).parent / "data" / "spm12_avg152"
# Floors under the measured figures (T1w 0.908, T2w 0.839, PDw 0.735; README).
CORRELATION_FLOOR = {"T1w": 0.88, "T2w": 0.80, "PDw": 0.70}


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    """Also across thread counts: the training folders of the bundled models (and the baselines fitted on
    them) must not depend on the machine's cores or on --jobs (before the elastic warp ran on one thread,
    two threads changed labels and intensities)."""
    args = ["--subjects", "1", "--resolution", "2", "--modalities", "T1w,FLAIR"]
    run_cli("codebrain-simulate", "--output", tmp_path / "a", "--seed", "3", *args, env={"OMP_NUM_THREADS": "2"})
    run_cli("codebrain-simulate", "--output", tmp_path / "b", "--seed", "3", *args, env={"OMP_NUM_THREADS": "1"})
    run_cli("codebrain-simulate", "--output", tmp_path / "c", "--seed", "4", *args)
    a, b, c = (digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a["sim0001/T1w.nii.gz"] != c["sim0001/T1w.nii.gz"]


@pytest.mark.slow
def test_training_layout(sim_data):
    for subject in ("sim0001", "sim0002", "sim0003"):
        folder = sim_data / subject
        imgs = {m: nib.load(folder / f"{m}.nii.gz") for m in ("T1w", "T2w", "FLAIR")}
        ref = imgs["T1w"]
        assert nib.aff2axcodes(ref.affine) == ("R", "A", "S")
        np.testing.assert_allclose(np.abs(np.diag(ref.affine)[:3]), 2.0)
        for img in imgs.values():
            assert img.shape == ref.shape and np.allclose(img.affine, ref.affine)
        labels = np.asarray(nib.load(folder / "labels.nii.gz").dataobj)
        t1 = ref.get_fdata()
        assert (t1[labels == 0] == 0).all(), "skull-stripped: zero outside the brain"
        assert (t1[labels == LABELS["WM"]] > 0).all()
        sidecar = json.loads((folder / "FLAIR.json").read_text())
        assert 1.5 <= sidecar["InversionTime"] <= 3.5 and sidecar["MagneticFieldStrength"] in (1.5, 3.0)
        assert not (folder / "PDw.nii.gz").exists()


@pytest.mark.parametrize("field", [1.5, 3.0])
def test_tissue_contrast_order(field):
    rng = np.random.default_rng(0)
    csf_t1 = RELAXATION["CSF"][field][1]
    for _ in range(20):  # every drawn protocol, not only the typical one
        seqs = random_sequences(rng, field, csf_t1)
        s = {m: {t: float(signal(seqs[m], *map(np.float64, RELAXATION[t][field]))) for t in ("CSF", "GM", "WM")}
             for m in seqs}
        assert s["T1w"]["WM"] > s["T1w"]["GM"] > s["T1w"]["CSF"]
        assert s["T2w"]["CSF"] > s["T2w"]["GM"] > s["T2w"]["WM"]
        assert s["FLAIR"]["CSF"] < min(s["FLAIR"]["GM"], s["FLAIR"]["WM"])
        assert s["PDw"]["CSF"] >= s["PDw"]["GM"] > s["PDw"]["WM"]


def test_contrast_order_in_simulated_images():
    options = SimulationOptions(lesion_probability=0.0, deform=False, bias=False, snr_range=None, resolution=2,
                                jitter=0.0)
    sub = simulate_subject(11, ("T1w", "T2w", "FLAIR"), options)
    # Undeformed, so the template's fractions mark voxels of (nearly) pure tissue.
    fractions = template_anatomy(2).fractions
    pure = {t: fractions[t] > 0.9 for t in ("CSF", "GM", "WM")}
    mean = {m: {t: sub.images[m][pure[t]].mean() for t in pure} for m in sub.images}
    assert mean["T1w"]["WM"] > mean["T1w"]["GM"] > mean["T1w"]["CSF"]
    assert mean["T2w"]["CSF"] > mean["T2w"]["GM"] > mean["T2w"]["WM"]
    assert mean["FLAIR"]["CSF"] < mean["FLAIR"]["WM"] < mean["FLAIR"]["GM"]


def test_lesions_enhance_with_gadolinium_and_glow_on_flair():
    options = SimulationOptions(lesion_probability=1.0, deform=False, bias=False, snr_range=None, resolution=2)
    for seed in range(6):
        sub = simulate_subject(seed, ("T1w", "T1Gd", "FLAIR"), options)
        rim = sub.labels == LABELS["enhancing"]
        if rim.sum() > 10:
            break
    else:
        pytest.fail("no enhancing lesion in six subjects with lesion probability 1")
    wm = sub.labels == LABELS["WM"]
    gain = sub.images["T1Gd"][rim].mean() / sub.images["T1w"][rim].mean()
    assert gain > 1.3
    oedema = sub.labels == LABELS["oedema"]
    assert sub.images["FLAIR"][oedema].mean() > 1.5 * sub.images["FLAIR"][wm].mean()


def test_enhancement_options_set_how_much_enhancing_tissue_and_how_bright():
    """Larger, always-enhancing lesions with more gadolinium push a T1Gd's normal tissue down the
    normalised scale (the 99.5th percentile then lies in the rim), and the defaults keep their draws."""
    from codebrain.data.volumes import normalise

    base = dict(lesion_probability=1.0, deform=False, bias=False, snr_range=None, resolution=2)
    strong = SimulationOptions(**base, lesion_radius_mm=(30.0, 36.0), enhancing_probability=1.0,
                               gadolinium_mM=(0.8, 0.9))
    weak = SimulationOptions(**base, lesion_radius_mm=(14.0, 16.0), enhancing_probability=0.0)
    levels = {}
    for name, options in (("strong", strong), ("weak", weak)):
        sub = simulate_subject(3, ("T1Gd",), options)
        rim = sub.labels == LABELS["enhancing"]
        assert (rim.sum() > 100) == (name == "strong")
        assert 0.8 <= sub.metadata["gadolinium_mM"] <= 0.9 or name == "weak"
        t1gd = normalise(sub.images["T1Gd"], sub.brain)
        levels[name] = float(np.median(t1gd[sub.labels == LABELS["WM"]]))
    assert levels["strong"] < levels["weak"] - 0.1, levels
    # the defaults draw what they drew before the options existed (recorded then; the training folders
    # of the bundled models depend on it): the same gadolinium and the same lesion, voxel for voxel
    default = simulate_subject(3, ("T1Gd",), SimulationOptions(**base))
    assert default.metadata["gadolinium_mM"] == 0.328
    counts = {t: int((default.labels == LABELS[t]).sum()) for t in ("necrosis", "enhancing", "oedema")}
    assert counts == {"necrosis": 148, "enhancing": 932, "oedema": 8524}, counts


def test_simulate_cli_refuses_a_bad_enhancement_range(tmp_path):
    for flags in (["--lesion-radius", "30", "20"], ["--lesion-radius", "1", "5"], ["--enhancing", "1.5"],
                  ["--gadolinium", "-1", "0.5"], ["--gadolinium", "0.9", "0.5"]):
        proc = subprocess.run([str(BIN / "codebrain-simulate"), "--output", str(tmp_path / "x"), *flags],
                              capture_output=True, text=True)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1, flags
        assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_correlation_with_real_averages():
    r = template_correlations(SPM)
    for modality, floor in CORRELATION_FLOOR.items():
        assert r[modality] >= floor, (modality, r)


@pytest.mark.slow
def test_bids_output_is_valid_and_loads_in_pybids(tmp_path):
    from bids import BIDSLayout

    root = tmp_path / "bids"
    run_cli("codebrain-simulate", "--output", root, "--subjects", "2", "--seed", "5", "--resolution", "2",
            "--modalities", "T1w,T1Gd,FLAIR", "--bids", "--sessions", "2", "--missing", "1")
    layout = BIDSLayout(root)
    assert layout.get_subjects() == ["01", "02"] and layout.get_sessions() == ["01", "02"]
    full = layout.get(subject="01", session="01", extension=".nii.gz")
    assert sorted(f.filename for f in full) == [
        "sub-01_ses-01_FLAIR.nii.gz", "sub-01_ses-01_T1w.nii.gz", "sub-01_ses-01_ce-gadolinium_T1w.nii.gz"]
    assert len(layout.get(subject="02", session="01", extension=".nii.gz")) < 3  # --missing 1
    by_name = {f.filename: f.path for f in full}
    t1 = nib.load(by_name["sub-01_ses-01_T1w.nii.gz"])
    flair = nib.load(by_name["sub-01_ses-01_FLAIR.nii.gz"])
    assert np.allclose(t1.header.get_zooms(), 2.0, atol=1e-3)  # 1 mm acquisition, never finer than --resolution 2
    assert flair.header.get_zooms()[2] == pytest.approx(4.0, abs=1e-3)
    assert not np.allclose(t1.affine[:3, :3], np.diag(np.diag(t1.affine[:3, :3])))  # rotated grid
    ce = by_name["sub-01_ses-01_ce-gadolinium_T1w.nii.gz"]
    assert layout.get_metadata(ce)["ContrastBolusIngredient"] == "GADOLINIUM"
    proc = subprocess.run([str(BIN / "bids-validator-deno"), str(root)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["--modalities", "T1w,T3w"], "unknown modality"),
    (["--subjects", "0"], "--subjects"),
    (["--lesions", "2"], "probabilities"),
])
def test_bad_arguments_give_one_line(tmp_path, args, message):
    proc = run_cli("codebrain-simulate", "--output", tmp_path / "x", *args, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
