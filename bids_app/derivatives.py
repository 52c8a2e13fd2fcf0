"""BIDS Derivatives of a CodeBrain run: file names, sidecars, dataset_description.json.

Every file name carries a ``desc-`` (or is a transform), so none is valid in a raw
dataset, and everything lives in the space of the session's reference image (hence
no ``space-`` entity). Files appear atomically: written beside, then renamed.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codebrain import __version__
from codebrain.data.modalities import BIDS_CE_LABEL, BIDS_SUFFIX

BIDS_VERSION = "1.10.0"
CODE_URL = "https://github.com/codebrain-mri/codebrain"


def entities_prefix(subject: str, session: str | None) -> str:
    return f"sub-{subject}" + (f"_ses-{session}" if session else "")


def session_dir(output_dir: Path, subject: str, session: str | None) -> Path:
    return output_dir / f"sub-{subject}" / (f"ses-{session}" if session else "") / "anat"


def image_name(subject: str, session: str | None, modality: str, desc: str, ce: str | None = None) -> str:
    """``sub-01[_ses-1][_ce-gadolinium]_desc-<desc>_<suffix>.nii.gz``; T1Gd is a T1w with a ce- label."""
    parts = [entities_prefix(subject, session)]
    if modality == "T1Gd":
        parts.append(f"ce-{ce or BIDS_CE_LABEL}")
    parts.append(f"desc-{desc}")
    return "_".join(parts) + f"_{BIDS_SUFFIX[modality]}.nii.gz"


def mask_name(subject: str, session: str | None) -> str:
    return f"{entities_prefix(subject, session)}_desc-brain_mask.nii.gz"


def transform_name(subject: str, session: str | None, moving: str, reference: str) -> str:
    return f"{entities_prefix(subject, session)}_from-{moving}_to-{reference}_mode-image_xfm.mat"


@contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path``, renamed onto it only when the block succeeds: no partial files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".part-{os.getpid()}-{path.name}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    with atomic(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path, data: dict) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def copy_atomic(src: Path, dst: Path) -> None:
    with atomic(dst) as tmp:
        shutil.copyfile(src, tmp)


def raw_link(bids_dir: Path, output_dir: Path) -> str:
    """How the derivative dataset points at the raw one: relative when it lives inside it."""
    bids_dir, output_dir = bids_dir.resolve(), output_dir.resolve()
    if output_dir.is_relative_to(bids_dir):
        return os.path.relpath(bids_dir, output_dir) + "/"
    return bids_dir.as_uri()


def bids_uri(bids_dir: Path, path: Path) -> str:
    """Relative to the dataset as the user sees it: links (DataLad, git-annex) are not followed."""
    return f"bids:raw:{Path(os.path.relpath(os.path.abspath(path), os.path.abspath(bids_dir))).as_posix()}"


def write_dataset_description(output_dir: Path, bids_dir: Path) -> None:
    link = raw_link(bids_dir, output_dir)
    generated = {"Name": "codebrain", "Version": __version__, "CodeURL": CODE_URL,
                 "Description": "Missing MRI contrasts synthesized with CodeBrain (CVPR 2026)"}
    tag = os.environ.get("CODEBRAIN_CONTAINER")  # set in the BIDS-App image
    if tag:
        generated["Container"] = {"Type": "docker", "Tag": tag}
    write_json(output_dir / "dataset_description.json", {
        "Name": "CodeBrain synthesized contrasts",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [generated],
        "SourceDatasets": [{"URL": link}],
        "DatasetLinks": {"raw": link},
    })
    # the reports, figures, logs and ANTs transforms have no place in the BIDS schema
    write_text(output_dir / ".bidsignore", "*.html\nlogs/\nsub-*/figures\n*_xfm.mat\ngroup_summary.*\n")
    if not (output_dir / "README").exists():
        write_text(output_dir / "README", README)


README = """CodeBrain derivatives
====================

Missing MRI contrasts synthesized by CodeBrain (https://arxiv.org/abs/2501.18328) with
codebrain-bids. Per subject and session, in the space of the reference input image:
desc-synth (synthesized contrast), desc-confidence (its confidence map, 0-1), desc-preproc
(the bias-corrected, co-registered, skull-stripped inputs), desc-brain_mask, and the ANTs
rigid transforms (*_xfm.mat). sub-<label>.html is the visual report of each subject;
logs/ records every run's options and software versions.

Synthesized images are predictions, not measurements.
"""


def synth_sidecar(model: dict, inputs: dict[str, str], reference: str, confidence_name: str) -> dict:
    return {
        "Description": "Synthesized by CodeBrain from the co-registered, skull-stripped inputs; "
                       "intensities on the model's scale (1 = 99.5th percentile inside the brain).",
        "Sources": list(inputs.values()),
        "SkullStripped": True,
        "Synthesized": True,
        "InputModalities": list(inputs),
        "ReferenceModality": reference,
        "ConfidenceMap": confidence_name,
        "Model": {"Name": model["name"], "Version": model.get("codebrain_version", __version__),
                  "Sha256": model["sha256"], "Modalities": model["modalities"]},
        "SoftwareVersion": __version__,
    }


def confidence_sidecar(synth_name: str) -> dict:
    return {
        "SkullStripped": True,
        "Description": "Confidence of the synthesized image: the grader's probability of its chosen code, "
                       "per 8x8-voxel region of each slice, in [0, 1]. Low values flag regions whose "
                       "synthesis is least trustworthy (e.g. lesions unlike the training data).",
        "Sources": [f"bids::{synth_name}"],
        "Units": "probability",
    }
