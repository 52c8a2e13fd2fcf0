"""2D axial slice datasets over subject folders, cached as memory-mapped arrays.

Reading and normalising NIfTI is slow; the first use of a (subjects, modalities, size)
combination writes every kept slice to one float16 ``.npy`` in the cache folder, and
every later epoch (and run) reads it memory-mapped.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from codebrain.data.volumes import NORMALISATION, load_subject
from codebrain.runtime.staging import atomic_write

if TYPE_CHECKING:  # MONAI is imported only when augmenting
    from monai.transforms import Compose

CACHE_VERSION = 1
MIN_BRAIN_FRACTION = 0.1  # keep slices with at least 10 % of the subject's largest brain area


def default_cache_dir() -> Path:
    return Path(os.environ.get("CODEBRAIN_CACHE", Path.home() / ".cache" / "codebrain"))


def pad_or_crop(array: np.ndarray, size: int) -> np.ndarray:
    """Centre the last two axes in a ``size`` x ``size`` square (zero padding)."""
    out = np.zeros(array.shape[:-2] + (size, size), array.dtype)
    src, dst = [], []
    for n in array.shape[-2:]:
        if n >= size:
            start = (n - size) // 2
            src.append(slice(start, start + size))
            dst.append(slice(0, size))
        else:
            start = (size - n) // 2
            src.append(slice(0, n))
            dst.append(slice(start, start + n))
    target: tuple = (..., *dst)
    source: tuple = (..., *src)
    out[target] = array[source]
    return out


@dataclass
class SliceCache:
    images: np.ndarray  # (N, C, S, S) float16, [0, 1]
    present: np.ndarray  # (N, C) bool: modality available for the slice's subject
    subjects: list[str]  # subject name per slice


def _cache_key(root: Path, subjects: list[str], modalities: tuple[str, ...], size: int) -> str:
    files = []
    for s in subjects:
        for m in modalities:
            p = root / s / f"{m}.nii.gz"
            if p.exists():
                st = p.stat()
                files.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    blob = json.dumps([CACHE_VERSION, NORMALISATION, MIN_BRAIN_FRACTION, files, modalities, size])
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def build_slice_cache(
    root: Path, subjects: list[str], modalities: tuple[str, ...], size: int, cache_dir: Path | None = None
) -> SliceCache:
    """Kept axial slices of every subject, normalised, padded/cropped to ``size``."""
    if size % 8:
        raise ValueError(f"slice size {size} is not a multiple of 8")
    cache_dir = cache_dir or default_cache_dir()
    key = _cache_key(root, subjects, modalities, size)
    images_path = cache_dir / f"slices-{key}.npy"
    meta_path = cache_dir / f"slices-{key}.json"
    if images_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return SliceCache(np.load(images_path, mmap_mode="r"), np.asarray(meta["present"], bool), meta["subjects"])

    chunks, present, names = [], [], []
    read: dict[Path, tuple[np.ndarray, list[bool]]] = {}  # a subject listed twice (oversampling) is read once
    for subject in tqdm(subjects, desc="reading subjects", unit="subject", disable=None):
        folder = (root / subject).resolve()
        if folder not in read:
            read[folder] = _subject_slices(folder, modalities, size)
        slices, row = read[folder]
        chunks.append(slices)
        present += [row] * len(slices)
        names += [subject] * len(slices)
    with atomic_write(images_path) as tmp:
        np.save(tmp, np.concatenate(chunks))
    with atomic_write(meta_path) as tmp:
        tmp.write_text(json.dumps({"present": present, "subjects": names}))
    return SliceCache(np.load(images_path, mmap_mode="r"), np.asarray(present, bool), names)


def _subject_slices(folder: Path, modalities: tuple[str, ...], size: int) -> tuple[np.ndarray, list[bool]]:
    """(n, C, size, size) float16 axial slices holding enough brain, and which modalities exist."""
    vols = load_subject(folder, modalities)
    area = vols.mask.sum(axis=(0, 1))
    keep = np.flatnonzero(area >= MIN_BRAIN_FRACTION * max(area.max(), 1))
    shape = vols.mask.shape
    stack = np.stack([vols.data.get(m, np.zeros(shape, np.float32)) for m in modalities])
    slices = np.moveaxis(stack[:, :, :, keep], 3, 0)  # (n, C, X, Y)
    return pad_or_crop(slices, size).astype(np.float16), [m in vols.data for m in modalities]


def _augmentations(crop: int, intensity: str = "standard") -> tuple[Compose, Compose]:
    """Spatial augmentation for whole stacks, intensity augmentation for the model's input only.

    ``domain-random`` draws each input contrast through a random monotone intensity curve
    (MONAI ``RandHistogramShift``), a wide gamma, a strong bias field, blur (a coarser or
    thicker-slice acquisition) and noise, as SynthSeg/SynthSR randomise their synthetic
    inputs: the targets stay real, so the model must infer them from anatomy and relative
    contrast, not from the exact intensity profile of the few sites it trained on.
    """
    from monai.transforms import (
        Compose,
        RandAdjustContrast,
        RandAffine,
        RandBiasField,
        RandFlip,
        RandGaussianNoise,
        RandGaussianSmooth,
        RandHistogramShift,
        RandSpatialCrop,
    )

    spatial: list[Callable] = [
        RandFlip(prob=0.5, spatial_axis=0),
        RandAffine(prob=0.5, rotate_range=(0.26,), scale_range=(0.1, 0.1), translate_range=(8, 8),
                   padding_mode="zeros"),
    ]
    if crop:
        spatial.append(RandSpatialCrop((crop, crop), random_size=False))
    if intensity == "domain-random":
        steps = [
            RandHistogramShift(num_control_points=(4, 8), prob=0.5),
            RandAdjustContrast(prob=0.5, gamma=(0.5, 2.0)),
            RandBiasField(prob=0.5, coeff_range=(0.0, 0.4)),
            RandGaussianSmooth(sigma_x=(0.0, 1.5), sigma_y=(0.0, 1.5), prob=0.25),
            RandGaussianNoise(prob=0.3, std=0.04),
        ]
    else:
        steps = [
            RandBiasField(prob=0.3, coeff_range=(0.0, 0.2)),
            RandAdjustContrast(prob=0.3, gamma=(0.7, 1.5)),
            RandGaussianNoise(prob=0.2, std=0.02),
        ]
    return Compose(spatial), Compose(steps)


def _plain(x) -> torch.Tensor:
    """MONAI transforms return MetaTensors; training state must hold plain tensors."""
    from monai.data import MetaTensor

    return (x.as_tensor() if isinstance(x, MetaTensor) else torch.as_tensor(x)).float()


class SliceDataset(Dataset):
    """Items are (full stack, input view, present): the input view is intensity-augmented.

    Indices are ``(slice, seed)`` pairs from :class:`SeededSampler`, so augmentation
    depends only on the training step, which makes ``--resume`` exact.
    """

    def __init__(self, cache: SliceCache, augment: bool = False, crop: int = 0, intensity: str = "standard") -> None:
        self.cache = cache
        self.augment = augment
        self.crop = crop
        self._spatial: Compose | None = None
        self._intensity: Compose | None = None
        if augment or crop:
            self._spatial, self._intensity = _augmentations(crop, intensity)

    def __len__(self) -> int:
        return len(self.cache.images)

    def __getitem__(self, key: tuple[int, int] | int):
        index, seed = key if isinstance(key, tuple) else (key, 0)
        full = torch.from_numpy(np.asarray(self.cache.images[index], dtype=np.float32))
        view = full
        if self._spatial is not None:
            self._spatial.set_random_state(seed=seed)
            if self.augment:
                full = _plain(self._spatial(full))
            else:  # crop only
                full = _plain(self._spatial.transforms[-1](full))
            view = full
            if self.augment and self._intensity is not None:
                self._intensity.set_random_state(seed=seed + 1)
                with warnings.catch_warnings():  # a crop outside the brain is all zero: nothing to shift
                    warnings.filterwarnings("ignore", message="The image's intensity is a single value")
                    view = torch.stack([_plain(self._intensity(c[None]))[0] for c in full])
                view = view.clamp(0, 1) * (full > 0)
        return full.clamp(0, 1), view, torch.from_numpy(self.cache.present[index].copy())


class SeededSampler(torch.utils.data.Sampler):
    """An endless stream of (slice, augmentation seed), the same for a given seed and start step.

    Each rank of a distributed run takes every ``world``-th item of the same stream.
    """

    def __init__(self, n: int, batch_size: int, seed: int, start_step: int = 0, rank: int = 0, world: int = 1):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start_step, self.rank, self.world = start_step, rank, world

    def __iter__(self):
        step = self.start_step
        while True:
            rng = np.random.default_rng([self.seed, step])
            idx = rng.integers(0, self.n, size=self.batch_size * self.world)
            seeds = rng.integers(0, 2**31 - 1, size=self.batch_size * self.world)
            for i in range(self.rank, len(idx), self.world):
                yield int(idx[i]), int(seeds[i])
            step += 1

    def __len__(self) -> int:  # endless; DataLoader only needs a number
        return 2**62
