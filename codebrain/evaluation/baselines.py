"""Baselines any synthesis model must beat, scored by the same protocol (``codebrain-eval --baseline``).

- mean of inputs: every missing modality is the mean of the given ones (normalised);
- per-voxel quadratic regression: each missing modality is a quadratic polynomial of the
  given intensities at the same voxel (terms 1, x_i, x_i^2, x_i x_j), least-squares fitted
  on brain voxels of training subjects, one fit per missing pattern and target.
Neither sees any neighbourhood, so they measure what intensity mapping alone achieves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from codebrain.data.patterns import missing_patterns
from codebrain.model.detail import given_index, n_features, quadratic_features, quadratic_map

MAX_FIT_VOXELS = 400_000


class MeanOfInputs:
    def __call__(self, incomplete: torch.Tensor, missing: np.ndarray) -> torch.Tensor:
        given = torch.from_numpy(~missing).to(incomplete.device)
        mean = incomplete[:, given].mean(1, keepdim=True)
        return mean.expand_as(incomplete).clone()


class QuadraticRegression:
    def __init__(self, voxels: np.ndarray) -> None:
        self.voxels = voxels  # (N, C) brain voxels of complete slices
        self._coef: dict[tuple[bool, ...], np.ndarray] = {}

    @classmethod
    def fit(cls, images: np.ndarray, present: np.ndarray, seed: int = 0) -> QuadraticRegression:
        """Sample brain voxels of complete slices once; per-pattern fits happen on first use."""
        complete = np.flatnonzero(present.all(1))
        if not len(complete):
            raise ValueError("no training slice has every modality")
        data = np.asarray(images[complete], dtype=np.float32)  # (n, C, H, W)
        vox = data.transpose(0, 2, 3, 1).reshape(-1, data.shape[1])
        vox = vox[(vox > 0).any(1)]
        rng = np.random.default_rng(seed)
        if len(vox) > MAX_FIT_VOXELS:
            vox = vox[rng.choice(len(vox), MAX_FIT_VOXELS, replace=False)]
        return cls(vox)

    def _coefficients(self, missing: np.ndarray) -> np.ndarray:
        key = tuple(bool(m) for m in missing)
        if key not in self._coef:
            design = quadratic_features(torch.from_numpy(self.voxels[:, ~missing].astype(np.float64))).numpy()
            self._coef[key] = np.linalg.lstsq(design, self.voxels.astype(np.float64), rcond=None)[0]
        return self._coef[key]

    def table(self) -> torch.Tensor:
        """Every pattern's coefficients as ``DetailTransfer.coef``: row = bitmask of given modalities."""
        c = self.voxels.shape[1]
        out = torch.zeros(2**c, n_features(c), c, dtype=torch.float64)
        for missing in missing_patterns(c):
            coef = torch.from_numpy(self._coefficients(np.asarray(missing)))
            out[given_index(~torch.tensor(missing)), : len(coef)] = coef
        return out

    def __call__(self, incomplete: torch.Tensor, missing: np.ndarray) -> torch.Tensor:
        given = torch.from_numpy(~missing)
        x = incomplete.detach().cpu()
        pred = quadratic_map(x, given, torch.from_numpy(self._coefficients(missing)))
        return (pred * (x[:, given] > 0).any(1, keepdim=True)).to(incomplete.device)


def fit_quadratic(data: Path, split: str, modalities: tuple[str, ...], size: int,
                  cache_dir: Path | None = None) -> QuadraticRegression:
    """The regression fitted on a training folder's split: what a model trained there also saw."""
    from codebrain.data.slices import build_slice_cache
    from codebrain.data.volumes import split_subjects

    fit = build_slice_cache(data, split_subjects(data, split), modalities, size, cache_dir)
    return QuadraticRegression.fit(fit.images, fit.present)
