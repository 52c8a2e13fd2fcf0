"""``codebrain-simulate --bids``: a raw BIDS dataset that looks like a clinic's.

Skull on, each contrast on its own grid (a 3D 1 mm T1w, 2D thick-slice T2w/PDw/FLAIR),
each with a small random rigid misalignment and some in LAS orientation, some subjects
missing some contrasts, optional sessions. Thick slices get a Gaussian slice profile
before sampling so they blur through-plane like a real 2D acquisition.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from codebrain import __version__
from codebrain.data.bids_names import BIDS_CE_LABEL, BIDS_SUFFIX
from codebrain.data.simulate import SimulationOptions, simulate_subject, subject_seeds
from codebrain.data.volumes import resample_array, save_nifti

# modality -> (voxel size in mm, 2D/3D); the slice axis is the last one.
ACQUISITIONS: dict[str, tuple[tuple[float, float, float], str]] = {
    "T1w": ((1.0, 1.0, 1.0), "3D"),
    "T1Gd": ((1.0, 1.0, 1.0), "3D"),
    "T2w": ((0.7, 0.7, 3.0), "2D"),
    "PDw": ((0.9, 0.9, 3.0), "2D"),
    "FLAIR": ((0.9, 0.9, 4.0), "2D"),
}


def _rotation(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """A random head tilt: extrinsic rotations about x, y and z of up to ``max_deg`` each."""
    return Rotation.from_euler("xyz", rng.uniform(-max_deg, max_deg, size=3), degrees=True).as_matrix()


def acquire(
    image: np.ndarray, affine: np.ndarray, voxel: tuple[float, float, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Resample a 1 mm image onto a new, slightly rotated and shifted scanner grid."""
    sigma = [max(v, 1.0) / 2.355 / 1.0 if v > 1.5 else 0.0 for v in voxel]
    blurred = ndimage.gaussian_filter(image, sigma) if any(sigma) else image
    nonzero = np.argwhere(image > 0)
    lo, hi = nonzero.min(0), nonzero.max(0)
    corners = np.array([[x, y, z, 1] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    world = (affine @ corners.T).T[:, :3]
    centre = world.mean(0)
    extent = world.max(0) - world.min(0) + 10.0
    shape = np.ceil(extent / np.asarray(voxel)).astype(int)
    rot = _rotation(rng, 4.0)
    axes = rot @ np.diag(voxel)
    if rng.random() < 0.5:  # LAS storage order, as many DICOM converters write it
        axes[:, 0] *= -1
    target = np.eye(4)
    target[:3, :3] = axes
    target[:3, 3] = centre + rng.uniform(-4.0, 4.0, 3) - axes @ ((shape - 1) / 2.0)
    return resample_array(blurred, affine, tuple(shape), target), target


def _bids_name(subject: str, session: str | None, modality: str) -> str:
    entities = [f"sub-{subject}"] + ([f"ses-{session}"] if session else [])
    if modality == "T1Gd":
        entities.append(f"ce-{BIDS_CE_LABEL}")
    return "_".join(entities + [BIDS_SUFFIX[modality]])


def _write_dataset_files(root: Path, participants: list[tuple[str, float, str]], seed: int) -> None:
    description = {
        "Name": f"CodeBrain simulated subjects (seed {seed})",
        "BIDSVersion": "1.10.0",
        "DatasetType": "raw",
        "License": "CC0",
        "Authors": ["CodeBrain simulator"],
        "GeneratedBy": [{"Name": "codebrain-simulate", "Version": __version__}],
    }
    (root / "dataset_description.json").write_text(json.dumps(description, indent=2) + "\n")
    rows = ["participant_id\tage\tsex"] + [f"sub-{s}\t{a:.0f}\t{x}" for s, a, x in participants]
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    (root / "participants.json").write_text(json.dumps({
        "age": {"Description": "simulated age", "Units": "year"},
        "sex": {"Description": "simulated sex", "Levels": {"F": "female", "M": "male"}},
    }, indent=2) + "\n")
    (root / "README").write_text(
        "Simulated multi-contrast brain MRI made by codebrain-simulate --bids.\n"
        "Anatomy: MNI152 tissue maps (ICBM 2009a/c) under random deformations; contrasts from\n"
        "spin-echo and inversion-recovery signal equations with literature relaxation times.\n"
        "Not real patients.\n")


def _present_modalities(modalities: tuple[str, ...], rng: np.random.Generator, p_missing: float) -> list[str]:
    """Drop some contrasts for some subjects, always keeping at least one."""
    if len(modalities) < 2 or rng.random() >= p_missing:
        return list(modalities)
    n_drop = int(rng.integers(1, len(modalities)))
    dropped = set(rng.choice(list(modalities), size=n_drop, replace=False))
    return [m for m in modalities if m not in dropped]


def write_bids_dataset(
    root: Path, n_subjects: int, seed: int, modalities: tuple[str, ...],
    options: SimulationOptions, sessions: int = 1, missing_probability: float = 0.5,
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    participants = []
    seeds = subject_seeds(seed, n_subjects)
    for index, sub_seed in enumerate(tqdm(seeds, desc="simulating", unit="subject", disable=None)):
        label = f"{index + 1:02d}"
        rng = np.random.default_rng(sub_seed)
        participants.append((label, rng.uniform(20, 80), str(rng.choice(["F", "M"]))))
        session_labels = [f"{s + 1:02d}" for s in range(sessions)] if sessions > 1 else [None]
        for session in session_labels:
            subject = simulate_subject(int(rng.integers(2**31)), modalities, options)
            anat = root / f"sub-{label}" / (f"ses-{session}" if session else "") / "anat"
            anat.mkdir(parents=True, exist_ok=True)
            present = list(modalities) if index == 0 else _present_modalities(modalities, rng, missing_probability)
            for modality in present:
                nominal, kind = ACQUISITIONS[modality]
                fine = float(options.resolution)  # never finer than the anatomy
                voxel = (max(nominal[0], fine), max(nominal[1], fine), max(nominal[2], fine))
                data, affine = acquire(subject.images[modality], subject.affine, voxel, rng)
                scale = 4000.0 / max(float(np.percentile(data, 99.9)), 1e-6)
                name = _bids_name(label, session, modality)
                save_nifti(np.clip(np.round(data * scale), 0, 32767), affine, anat / f"{name}.nii.gz", np.int16)
                sidecar: dict[str, float | str] = dict(subject.sequences[modality].sidecar(subject.field_strength))
                sidecar.update(MRAcquisitionType=kind, SliceThickness=voxel[2])
                if modality == "T1Gd":
                    sidecar["ContrastBolusIngredient"] = "GADOLINIUM"
                (anat / f"{name}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    _write_dataset_files(root, participants, seed)
