"""A simulated subject in the training layout: ``DIR/<subject>/<Modality>.nii.gz`` (skull-stripped,
co-registered, 1 mm, cropped to the brain), its tissue labels and each sequence's sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from codebrain.data.simulate import LABELS, Subject
from codebrain.data.volumes import save_nifti


def _brain_box(brain: np.ndarray, affine: np.ndarray, margin: int) -> tuple[tuple[slice, ...], np.ndarray]:
    """The brain's bounding box plus a margin, and the affine of the cropped grid."""
    idx = np.argwhere(brain)
    lo = np.maximum(idx.min(0) - margin, 0)
    hi = np.minimum(idx.max(0) + margin + 1, brain.shape)
    cropped = affine.copy()
    cropped[:3, 3] = affine[:3, :3] @ lo + affine[:3, 3]
    return tuple(slice(a, b) for a, b in zip(lo, hi)), cropped


def write_training_subject(subject: Subject, out: Path) -> None:
    """Training layout: skull-stripped, co-registered, 1 mm, plus labels and sequence sidecars."""
    out.mkdir(parents=True, exist_ok=True)
    box, affine = _brain_box(subject.brain, subject.affine, margin=4)
    for modality, image in subject.images.items():
        save_nifti((image * subject.brain)[box], affine, out / f"{modality}.nii.gz")
        sidecar = subject.sequences[modality].sidecar(subject.field_strength)
        (out / f"{modality}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    save_nifti((subject.labels * subject.brain)[box], affine, out / "labels.nii.gz", np.uint8)
    meta = dict(subject.metadata, labels=LABELS)
    (out / "simulation.json").write_text(json.dumps(meta, indent=2) + "\n")
