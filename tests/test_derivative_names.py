"""BIDS-App names built without running anything: derivative paths from pybids path patterns, and the
nipype workflow of a session (its nodes and connections), as fMRIPrep tests its workflows."""

from __future__ import annotations

from pathlib import Path

from bids.layout import parse_file_entities

from bids_app.derivatives import entities_prefix, image_path, mask_path, transform_path
from bids_app.workflow import Options, Plan, init_codebrain_wf


def test_derivative_names_carry_the_entities_they_were_built_from():
    synth = image_path("01", "pre", "T1Gd", "synth")
    assert synth == Path("sub-01/ses-pre/anat/sub-01_ses-pre_ce-gadolinium_desc-synth_T1w.nii.gz")
    expected = {"subject": "01", "session": "pre", "ceagent": "gadolinium", "desc": "synth", "suffix": "T1w",
                "extension": ".nii.gz"}
    parsed = parse_file_entities(str(synth), config=["bids", "derivatives"])
    assert {k: parsed.get(k) for k in expected} == expected
    preproc = image_path("01", None, "T1Gd", "preproc", ce="gd")
    assert preproc == Path("sub-01/anat/sub-01_ce-gd_desc-preproc_T1w.nii.gz")
    assert image_path("01", None, "FLAIR", "synth", extension=".json").name == "sub-01_desc-synth_FLAIR.json"
    assert mask_path("01", None).name == "sub-01_desc-brain_mask.nii.gz"
    assert transform_path("01", "2", "FLAIR", "T1w") == Path(
        "sub-01/ses-2/anat/sub-01_ses-2_from-FLAIR_to-T1w_mode-image_xfm.mat")
    assert entities_prefix("01", None) == "sub-01" and entities_prefix("01", "2") == "sub-01_ses-2"


def test_the_session_workflow_is_wired_as_designed(tmp_path):
    for name in ("t1.nii.gz", "fl.nii.gz"):  # the nodes check that their inputs exist; nothing is read
        (tmp_path / name).touch()
    plan = Plan(subject="01", session=None, images={"T1w": tmp_path / "t1.nii.gz", "FLAIR": tmp_path / "fl.nii.gz"},
                reference="T1w", model="brats")
    wf = init_codebrain_wf([plan], Options(bids_dir=tmp_path, output_dir=tmp_path / "out"), tmp_path / "work")
    graph = wf._create_flat_graph()
    names = {node.name for node in graph.nodes}
    assert {"n4_T1w", "n4_FLAIR", "reference_grid", "skull_strip", "coregister_FLAIR", "synthesize",
            "derivatives", "report"} <= names
    assert "coregister_T1w" not in names  # the reference is not registered to itself
    edges = {(u.name, v.name) for u, v in graph.edges}
    assert {("n4_T1w", "reference_grid"), ("n4_FLAIR", "coregister_FLAIR"), ("reference_grid", "skull_strip"),
            ("skull_strip", "synthesize"), ("synthesize", "derivatives")} <= edges
