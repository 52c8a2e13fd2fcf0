"""Fine detail for the synthesized images, taken from a per-voxel intensity map of the given ones.

Trained on few real patients, the network draws anatomy and intensities well but smooths the
fine structure that the acquired images carry. A quadratic map of the given intensities at the
same voxel (``codebrain.evaluation.baselines.QuadraticRegression``, fitted on the model's own training
slices) keeps that structure but gets the larger-scale intensities wrong. ``DetailTransfer``
adds only the fine band of their difference to the network's output:

    out = net + amount * (d - G_sigma * d),   d = (map - net) inside the inputs' brain

so the network keeps every scale above ``sigma`` and the map contributes the texture below it.
On the validation patients of issue 13 this gained PSNR and SSIM at once, where a plain blend
of the two traded one for the other (``benchmarks/recipe-validation-brats/detail-transfer``).
The coefficients live in the model's safetensors (``detail.coef``), the two numbers in
``model.json`` (``detail``), so every route (eval, synth, BIDS-App, MAP) applies the same thing.
"""

from __future__ import annotations

import itertools

import torch
from monai.networks.layers import gaussian_1d, separable_filtering
from torch import nn


def quadratic_features(x: torch.Tensor) -> torch.Tensor:
    """(N, k) intensities -> (N, 1 + 2k + k(k-1)/2) terms: 1, x_i, x_i^2, x_i x_j (i < j)."""
    k = x.shape[1]
    cols = [torch.ones_like(x[:, 0])] + [x[:, i] for i in range(k)] + [x[:, i] ** 2 for i in range(k)]
    cols += [x[:, i] * x[:, j] for i, j in itertools.combinations(range(k), 2)]
    return torch.stack(cols, 1)


def n_features(k: int) -> int:
    return 1 + 2 * k + k * (k - 1) // 2


def given_index(given: torch.Tensor) -> int:
    """Row of the coefficient table for a boolean mask of given modalities (bit c = modality c)."""
    return int(sum(1 << c for c, g in enumerate(given.tolist()) if g))


def quadratic_map(incomplete: torch.Tensor, given: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) slices -> every modality as the quadratic polynomial ``coef`` of the ``given`` ones.

    ``coef`` is one pattern's (F, C) table (rows past the pattern's feature count are ignored);
    arithmetic in float64, as the least-squares fit that made it.
    """
    n, c, h, w = incomplete.shape
    x = incomplete[:, given].permute(0, 2, 3, 1).reshape(-1, int(given.sum())).double()
    feats = quadratic_features(x)
    return (feats @ coef[: feats.shape[1]].double()).float().reshape(n, h, w, c).permute(0, 3, 1, 2)


class DetailTransfer(nn.Module):
    """The fine band of a quadratic intensity map, added to the network's output of missing modalities.

    ``amount`` is one number for every pattern and target, or ``None``: then each pattern's
    targets carry their own, least-squares fitted on the training slices (buffer ``gain``,
    ``codebrain.train.detail_fit``), so a target whose map transfers poorly gets less of it.
    """

    coef: torch.Tensor
    gain: torch.Tensor

    def __init__(self, n_modalities: int, sigma: float, amount: float | None) -> None:
        super().__init__()
        self.sigma, self.amount = float(sigma), amount
        self.kernel = gaussian_1d(torch.tensor(self.sigma), truncated=4.0, approx="erf")  # GaussianFilter's
        # one map per set of given modalities (row = bitmask), zero-padded to the largest feature count
        self.register_buffer("coef", torch.zeros(2**n_modalities, n_features(n_modalities), n_modalities,
                                                 dtype=torch.float64))
        if amount is None:
            self.register_buffer("gain", torch.zeros(2**n_modalities, n_modalities))

    def predict_map(self, incomplete: torch.Tensor, given: torch.Tensor) -> torch.Tensor:
        """The intensity map's prediction of every modality from the ``given`` ones (one slice stack)."""
        return quadratic_map(incomplete, given, self.coef[given_index(given)])

    def fine_band(self, incomplete: torch.Tensor, out: torch.Tensor, given: torch.Tensor) -> torch.Tensor:
        """``d - G_sigma * d``, ``d = (map - out)`` inside the given images' brain, for slices sharing ``given``."""
        inc = incomplete.float()
        inside = (inc[:, given] > 0).any(1, keepdim=True)
        diff = (self.predict_map(inc, given) - out) * inside
        return diff - separable_filtering(diff, [self.kernel, self.kernel])

    def forward(self, incomplete: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """``out`` with the map's fine band added to each slice's missing (all-zero) modalities.

        A modality counts as given on a slice when it has any non-zero voxel there, as the
        grader sees it; outside the given images' brain nothing changes beyond the blur's reach,
        and every route masks that region to 0 anyway.
        """
        result = out.clone()
        present = incomplete.flatten(2).abs().amax(2) > 0  # (N, C)
        for given in torch.unique(present, dim=0):
            if not given.any() or given.all():
                continue
            rows = (present == given).all(1)
            amount = self.gain[given_index(given)][None, :, None, None] if self.amount is None else self.amount
            fine = self.fine_band(incomplete[rows], out[rows], given)
            result[rows] = torch.where(given[None, :, None, None], out[rows], out[rows] + amount * fine)
        return result
