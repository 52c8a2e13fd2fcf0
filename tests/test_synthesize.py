import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from conftest import run_cli

from codebrain.errors import CodeBrainError
from codebrain.inference.synthesize import Synthesizer
from codebrain.runtime.resources import prepare_inference

pytestmark = pytest.mark.slow  # end to end: trains, synthesizes or runs the real tools

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synth(stage2_run):
    return Synthesizer(stage2_run, device="cpu")


@pytest.fixture(scope="module")
def subject(sim_data):
    folder = sim_data / "sim0003"
    return {m: nib.load(folder / f"{m}.nii.gz") for m in ("T1w", "T2w", "FLAIR")}


def to_lps(img):
    """The same image stored in LPS order (as DICOM converters often write it)."""
    from nibabel.orientations import axcodes2ornt, ornt_transform
    return img.as_reoriented(ornt_transform(axcodes2ornt("RAS"), axcodes2ornt("LPS")))


def test_outputs_keep_grid_affine_and_zero_background(synth, subject):
    result = synth.run({"T1w": subject["T1w"], "FLAIR": subject["FLAIR"]})
    assert list(result.images) == ["T2w"]
    out = result.images["T2w"]
    assert out.shape == subject["T1w"].shape and np.allclose(out.affine, subject["T1w"].affine)
    data = out.get_fdata()
    brain = subject["T1w"].get_fdata() != 0
    assert np.isfinite(data).all() and (data[~brain] == 0).all() and data[brain].max() > 0
    conf = result.confidence["T2w"].get_fdata()
    assert conf.min() >= 0 and conf.max() <= 1 and conf[brain].mean() > 0
    assert result.model_info["stage"] == 2


def test_lps_input_comes_back_in_lps(synth, subject):
    ras = synth.run({"T1w": subject["T1w"]})
    lps_in = to_lps(subject["T1w"])
    lps = synth.run({"T1w": lps_in})
    assert nib.aff2axcodes(lps.images["FLAIR"].affine) == ("L", "P", "S")
    assert np.allclose(lps.images["FLAIR"].affine, lps_in.affine)
    back = to_lps(ras.images["FLAIR"]).get_fdata()
    np.testing.assert_allclose(lps.images["FLAIR"].get_fdata(), back, atol=1e-4)


def test_inputs_on_another_grid_are_resampled_with_a_warning(synth, subject):
    t2 = subject["T2w"]
    moved = nib.Nifti1Image(t2.get_fdata(dtype=np.float32)[1:, :, :], t2.affine @ np.diag([1, 1, 1, 1.0]))
    moved.affine[0, 3] += 2.0
    with pytest.warns(UserWarning, match="resampled"):
        result = synth.run({"T1w": subject["T1w"], "T2w": moved})
    assert result.images["FLAIR"].shape == subject["T1w"].shape and result.warnings


def test_multi_plane_fusion_runs(synth, subject):
    one = synth.run({"T1w": subject["T1w"]}).images["T2w"].get_fdata()
    fused = Synthesizer(synth.info["path"], device="cpu", planes=("axial", "coronal", "sagittal"))
    three = fused.run({"T1w": subject["T1w"]}).images["T2w"].get_fdata()
    assert three.shape == one.shape and not np.allclose(three, one)


def test_mirroring_averages_a_slice_and_its_mirror_image(synth, subject):
    """complete(x, mirror=True) is the mean of f(x) and its mirror's completion mirrored back, so it is
    exactly left-right equivariant, which the network alone (FSQ's code grid) is not."""
    import torch

    from codebrain.data.slices import pad_or_crop
    from codebrain.data.volumes import brain_mask, normalise

    t1w = np.asarray(subject["T1w"].get_fdata(dtype=np.float32))
    slab = normalise(t1w, brain_mask([t1w]))[:, :, 40:44]  # (X, Y, 4): RAS, X left-right
    x = torch.zeros((4, len(synth.modalities), 96, 96))
    x[:, synth.modalities.index("T1w")] = torch.from_numpy(pad_or_crop(slab.transpose(2, 0, 1)[:, None], 96)[:, 0])
    mirrored, _ = synth.model.complete(x, mirror=True)
    assert torch.equal(synth.model.complete(x.flip(2), mirror=True)[0], mirrored.flip(2))
    plain = synth.model.complete(x)[0]
    assert not torch.equal(synth.model.complete(x.flip(2))[0], plain.flip(2))  # what mirroring averages away
    assert torch.allclose(mirrored, (plain + synth.model.complete(x.flip(2))[0].flip(2)) / 2)
    # in the volume API: axial slices are mirrored, sagittal ones (no left-right axis in-plane) are not
    one = synth.run({"T1w": subject["T1w"]}).images["T2w"].get_fdata()
    both = Synthesizer(synth.info["path"], device="cpu", mirror=True).run({"T1w": subject["T1w"]}).images["T2w"]
    assert not np.allclose(both.get_fdata(), one) and np.corrcoef(both.get_fdata().ravel(), one.ravel())[0, 1] > 0.95
    sagittal = {m: Synthesizer(synth.info["path"], device="cpu", planes=("sagittal",), mirror=m)
                .run({"T1w": subject["T1w"]}).images["T2w"].get_fdata() for m in (False, True)}
    assert np.array_equal(sagittal[False], sagittal[True])


@pytest.mark.parametrize("case, message", [
    ("4d", "not a 3D image"),
    ("nan", "NaN"),
    ("unknown", "does not know"),
    ("all", "nothing to synthesize"),
    ("empty", "empty"),
])
def test_bad_inputs_give_clear_errors(synth, subject, case, message):
    t1 = subject["T1w"]
    data = t1.get_fdata(dtype=np.float32)
    inputs = {"T1w": t1}
    if case == "4d":
        inputs = {"T1w": nib.Nifti1Image(np.stack([data, data], -1), t1.affine)}
    elif case == "nan":
        data[10, 10, 10] = np.nan
        inputs = {"T1w": (data, t1.affine)}
    elif case == "unknown":
        inputs = {"PDw": t1}
    elif case == "all":
        inputs = dict(subject)
    elif case == "empty":
        inputs = {"T1w": (np.zeros_like(data), t1.affine)}
    with pytest.raises(CodeBrainError, match=message):
        synth.run(inputs)


def test_weights_checksum_is_enforced(stage2_run, tmp_path):
    bad = tmp_path / "model"
    shutil.copytree(stage2_run, bad, ignore=shutil.ignore_patterns("checkpoints", "tb"))
    raw = bytearray((bad / "model.safetensors").read_bytes())
    raw[-10] ^= 0xFF
    (bad / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(CodeBrainError, match="sha256"):
        Synthesizer(bad, device="cpu")


def test_cli_writes_exactly_the_missing_modalities(stage2_run, sim_data, tmp_path):
    folder = sim_data / "sim0003"
    out = tmp_path / "out"
    run_cli("codebrain-synth", "--model", stage2_run, "--input", f"T2w={folder / 'T2w.nii.gz'}",
            "--output-dir", out, "--confidence", "--device", "cpu")
    assert sorted(p.name for p in out.iterdir()) == [
        "FLAIR.nii.gz", "FLAIR_confidence.nii.gz", "T1w.nii.gz", "T1w_confidence.nii.gz"]
    bad = run_cli("codebrain-synth", "--model", stage2_run, "--input", "T3w=x.nii.gz", "--output-dir", out,
                  check=False)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    missing = run_cli("codebrain-synth", "--model", stage2_run, "--input", f"T1w={tmp_path / 'no.nii.gz'}",
                      "--output-dir", tmp_path / "o2", check=False)
    assert missing.returncode == 66 and not (tmp_path / "o2").exists()


@pytest.mark.parametrize("tamper, text", [
    (lambda info: info["architecture"].update(width=8), "Additional properties are not allowed ('width'"),
    (lambda info: info.pop("sha256"), "'sha256' is a required property"),
    (lambda info: info["architecture"].update(depth=info["architecture"]["depth"] + 1), "the weights lack"),
    (lambda info: info["architecture"].update(grader_width=info["architecture"]["grader_width"] * 2), "has shape"),
    (lambda info: info.update(stage="2"), "stage: '2' is not one of [1, 2]"),
    (None, "not valid JSON"),
])
def test_tampered_model_folders_are_refused_in_one_line(stage2_run, sim_data, tmp_path, tamper, text):
    """model.json is checked against its schema, and the weights against it, before any inference."""
    bad = tmp_path / "model"
    shutil.copytree(stage2_run, bad, ignore=shutil.ignore_patterns("checkpoints", "tb"))
    meta = bad / "model.json"
    if tamper is None:
        meta.write_text(meta.read_text()[:-20])
    else:
        info = json.loads(meta.read_text())
        tamper(info)
        meta.write_text(json.dumps(info))
    result = run_cli("codebrain-synth", "--model", bad, "--input", f"T2w={sim_data / 'sim0003' / 'T2w.nii.gz'}",
                     "--output-dir", tmp_path / "out", "--device", "cpu", check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 65 and len(lines) == 1 and text in lines[0], result.stderr
    assert not (tmp_path / "out").exists()


def test_outputs_equal_the_recording_of_the_shipped_model():
    """Layout, batching, allocator and thread settings may change speed, never the numbers (the recording
    changes only with the shipped model: tests/data/synthesis_reference/README.md)."""
    folder = ROOT.parent / "shared" / "data" / "brats_style" / "TCGA-DU-7294"
    recorded = np.load(ROOT / "tests" / "data" / "synthesis_reference" / "TCGA-DU-7294_z60-63_brats.npz")
    inputs = {m: nib.load(folder / f"{name}.nii.gz").slicer[:, :, 60:64] for m, name in (("T1w", "t1n"),
                                                                                    ("FLAIR", "t2f"))}
    prepare_inference()
    result = Synthesizer("brats", device="cpu").run(inputs)
    assert sorted(result.images) == sorted(recorded.files) == ["T1Gd", "T2w"]
    for modality, img in result.images.items():
        expected = recorded[modality].astype(np.float32)
        # float16 storage: 2^-11 relative, under 1e-3 on this [0, ~1] scale
        np.testing.assert_allclose(np.asarray(img.dataobj), expected, rtol=0, atol=1e-3)
        assert expected.max() > 0.5
