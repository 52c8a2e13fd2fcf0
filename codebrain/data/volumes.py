"""Reading subject folders and the one normalisation rule every stage shares.

Normalisation (training, evaluation and inference alike): reorient to RAS; the brain
mask is every voxel where any given modality is non-zero (inputs are skull-stripped);
each volume is divided by its 99.5th percentile inside the mask, clipped to [0, 1], and
set to 0 outside the mask. Percentiles ignore the bright tails that vary between
scanners, and the zero background is what the model learns as "not brain".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import nibabel as nib
import numpy as np
from nibabel.processing import resample_from_to

from codebrain.errors import DataError, NoInputError
from codebrain.runtime.staging import atomic_write

PERCENTILE = 99.5
NORMALISATION = {
    "rule": "divide by the 99.5th percentile inside the brain mask, clip to [0, 1], 0 outside",
    "percentile": PERCENTILE,
    "orientation": "RAS",
    "mask": "union of non-zero voxels of the given modalities",
}


def normalise(volume: np.ndarray, mask: np.ndarray) -> np.ndarray:
    inside = volume[mask]
    scale = float(np.percentile(inside, PERCENTILE)) if inside.size else 0.0
    if scale <= 0:
        return np.zeros(volume.shape, np.float32)
    return (np.clip(volume / scale, 0.0, 1.0) * mask).astype(np.float32)


def brain_mask(volumes: list[np.ndarray]) -> np.ndarray:
    return np.any([v != 0 for v in volumes], axis=0)


@dataclass
class SubjectVolumes:
    """All available modalities of one subject, on one RAS grid, normalised."""

    name: str
    data: dict[str, np.ndarray]
    mask: np.ndarray
    affine: np.ndarray


def read_nifti(path: Path, what: str) -> nib.Nifti1Image:
    """Load and decompress now, so a corrupt or truncated file fails here with one clear line."""
    try:
        img = cast(nib.Nifti1Image, nib.load(str(path)))  # NIfTI-1 or -2: the same API
        wide = img.get_data_dtype().itemsize > 4  # float64 (or 64-bit integer) on disk
        data = img.get_fdata(dtype=np.float64 if wide else np.float32)
    except Exception as err:  # nibabel raises many types for a corrupt file
        raise DataError(f"{what}: cannot read {Path(path).name}: {err}") from None
    if wide:  # float64 values beyond float32 would otherwise surface later as "NaN or infinite"
        peak = np.abs(data[np.isfinite(data)]).max(initial=0.0)
        if peak > np.finfo(np.float32).max:
            raise DataError(f"{what}: values up to {peak:.3g} exceed the float32 range of the model")
    return img


def resample_array(data: np.ndarray, affine: np.ndarray, shape: tuple[int, ...], target: np.ndarray,
                   order: int = 1) -> np.ndarray:
    """``data`` (on the grid ``affine``) on the grid ``(shape, target)``, zero outside: nibabel's resampling."""
    img = nib.Nifti1Image(np.asarray(data, dtype=np.float32), affine)
    return np.asarray(resample_from_to(img, (tuple(shape), target), order=order, mode="constant", cval=0.0).dataobj)


def save_nifti(array: np.ndarray, affine: np.ndarray, path: Path, dtype=np.float32) -> None:
    """Write through a temporary name so a killed run never leaves a half-written file."""
    img = nib.Nifti1Image(np.asarray(array, dtype=dtype), affine)
    img.header.set_xyzt_units("mm", "sec")
    with atomic_write(path) as tmp:  # a full disk mid-write leaves no partial file behind
        nib.save(img, tmp)


def as_3d(img: nib.Nifti1Image, name: str) -> nib.Nifti1Image:
    """The image as 3D: a single-volume 4D file (as some converters write) is squeezed, others refused."""
    if len(img.shape) == 4 and img.shape[3] == 1:
        img = img.slicer[..., 0]
    if len(img.shape) != 3:
        raise DataError(f"{name}: not a 3D image (shape {img.shape})")
    return img


def check_values(data: np.ndarray, name: str) -> None:
    """Refuse images the model cannot normalise: non-finite values or nothing but zeros."""
    if not np.isfinite(data).all():
        raise DataError(f"{name}: holds NaN or infinite values")
    if not np.any(data):
        raise DataError(f"{name}: is empty (all zero)")


def load_subject(folder: Path, modalities: tuple[str, ...]) -> SubjectVolumes:
    """Load ``folder/<Modality>.nii.gz`` for the modalities that exist; check they share a grid."""
    images = {}
    for modality in modalities:
        path = folder / f"{modality}.nii.gz"
        if path.exists():
            images[modality] = nib.as_closest_canonical(read_nifti(path, f"subject {folder.name}"))
    if not images:
        raise DataError(f"subject {folder.name}: none of {', '.join(modalities)} found")
    first_name, first = next(iter(images.items()))
    for name, img in images.items():
        if img.shape[:3] != first.shape[:3] or not np.allclose(img.affine, first.affine, atol=1e-2):
            raise DataError(f"subject {folder.name}: {name} is not on the grid of {first_name}; "
                            "co-register and resample first")
        if img.ndim != 3:
            raise DataError(f"subject {folder.name}: {name} is not a 3D image (shape {img.shape})")
    arrays = {m: np.nan_to_num(img.get_fdata(dtype=np.float32)) for m, img in images.items()}
    mask = brain_mask(list(arrays.values()))
    data = {m: normalise(a, mask) for m, a in arrays.items()}
    return SubjectVolumes(folder.name, data, mask, first.affine)


def list_subjects(root: Path) -> list[str]:
    if not root.is_dir():
        raise NoInputError(f"data folder {root} does not exist")
    subjects = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subjects:
        raise DataError(f"data folder {root} holds no subject folders")
    return subjects


def split_subjects(root: Path, split: str) -> list[str]:
    """Subjects of ``split`` from ``root/splits.json``; without the file every subject is in every split."""
    subjects = list_subjects(root)
    path = root / "splits.json"
    if not path.exists():
        return subjects
    try:
        splits = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None
    if split not in splits:
        raise DataError(f"{path} has no {split!r} split (has: {', '.join(splits)})")
    unknown = sorted(set(splits[split]) - set(subjects))
    if unknown:
        raise DataError(f"{path}: subject {unknown[0]!r} of split {split!r} has no folder")
    return list(splits[split])
