"""BIDS Derivatives of a CodeBrain run: file names, sidecars, dataset_description.json.

Every file name carries a ``desc-`` (or is a transform), so none is valid in a raw
dataset, and everything lives in the space of the session's reference image (hence
no ``space-`` entity). Files appear atomically: written beside, then renamed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from bids.layout.writing import build_path

from codebrain import __version__
from codebrain.data.bids_names import BIDS_CE_LABEL, BIDS_SUFFIX
from codebrain.runtime.environment import software_versions
from codebrain.runtime.staging import atomic_write

BIDS_VERSION = "1.10.0"
CODE_URL = "https://github.com/codebrain-mri/codebrain"


# pybids path patterns (``BIDSLayout.build_path`` syntax) of every file the derivative dataset
# holds per session: the images and masks with their sidecars, and the ANTs transforms
PATH_PATTERNS = [
    "sub-{subject}[/ses-{session}]/anat/sub-{subject}[_ses-{session}][_ce-{ceagent}]_desc-{desc}"
    "_{suffix<T1w|T2w|FLAIR|PDw|mask>}{extension<.nii.gz|.json>|.nii.gz}",
    "sub-{subject}[/ses-{session}]/anat/sub-{subject}[_ses-{session}]_from-{from}_to-{to}_mode-image"
    "_{suffix<xfm>|xfm}{extension<.mat>|.mat}",
]
PREFIX_PATTERN = ["sub-{subject}[_ses-{session}]"]


def _build(entities: dict[str, str | None], patterns: list[str]) -> str:
    built = build_path({k: v for k, v in entities.items() if v is not None}, patterns, strict=True)
    if built is None:  # a programming error: an entity no pattern has
        raise ValueError(f"no BIDS path pattern takes {entities}")
    return built


def entities_prefix(subject: str, session: str | None) -> str:
    """``sub-<l>[_ses-<s>]``: how every per-session file name starts (also the report's and logs')."""
    return _build({"subject": subject, "session": session}, PREFIX_PATTERN)


class NamedSession:
    """For the dataclasses that stand for one session (query's ``Session``, the workflow's ``Plan``,
    the written ``SessionRecord``): ``name`` is the prefix of the session's files."""

    subject: str
    session: str | None

    @property
    def name(self) -> str:
        return entities_prefix(self.subject, self.session)


def image_path(subject: str, session: str | None, modality: str, desc: str, ce: str | None = None,
               extension: str = ".nii.gz") -> Path:
    """``sub-01/[ses-1/]anat/sub-01[_ses-1][_ce-gadolinium]_desc-<desc>_<suffix><extension>``.

    T1Gd is a T1w with a ``ce-`` label; ``extension=".json"`` names the image's sidecar.
    """
    ceagent = (ce or BIDS_CE_LABEL) if modality == "T1Gd" else None
    return Path(_build({"subject": subject, "session": session, "ceagent": ceagent, "desc": desc,
                        "suffix": BIDS_SUFFIX[modality], "extension": extension}, PATH_PATTERNS))


def mask_path(subject: str, session: str | None, extension: str = ".nii.gz") -> Path:
    return Path(_build({"subject": subject, "session": session, "desc": "brain", "suffix": "mask",
                        "extension": extension}, PATH_PATTERNS))


def transform_path(subject: str, session: str | None, moving: str, reference: str) -> Path:
    return Path(_build({"subject": subject, "session": session, "from": moving, "to": reference,
                        "suffix": "xfm"}, PATH_PATTERNS))


def write_text(path: Path, text: str) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path, data: dict) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def copy_atomic(src: Path, dst: Path) -> None:
    with atomic_write(dst) as tmp:
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
                 "Description": "Missing MRI contrasts synthesized with CodeBrain (CVPR 2026)",
                 # what a methods section cites: every package that shaped the derivatives' bytes
                 "Software": software_versions()}
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
