"""Finite Scalar Quantization (Mentzer et al., ICLR 2024): a codebook without learned codes.

Each channel is bounded with tanh to L levels and rounded with a straight-through
gradient; the code of a position is the tuple of per-channel levels, so the codebook
has prod(L) entries and cannot collapse.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class FSQ(nn.Module):
    """Quantize channel ``i`` of an NCHW tensor to ``levels[i]`` values in [-1, 1]."""

    _levels: torch.Tensor  # (1, C, 1, 1) levels per channel, a buffer
    _basis: torch.Tensor  # (1, C, 1, 1) mixed-radix place values of the codebook index, a buffer

    def __init__(self, levels: list[int] | tuple[int, ...], eps: float = 1e-3) -> None:
        super().__init__()
        if not levels or min(levels) < 2:
            raise ValueError("FSQ needs at least one channel with at least 2 levels")
        self.levels = tuple(int(v) for v in levels)
        self.eps = eps
        lv = torch.tensor(self.levels, dtype=torch.float32)
        self.register_buffer("_levels", lv.view(1, -1, 1, 1), persistent=False)
        basis = torch.cumprod(torch.tensor((1,) + self.levels[:-1]), 0)
        self.register_buffer("_basis", basis.view(1, -1, 1, 1), persistent=False)

    @property
    def dim(self) -> int:
        return len(self.levels)

    @property
    def codebook_size(self) -> int:
        return math.prod(self.levels)

    def _half_width(self) -> torch.Tensor:
        return torch.div(self._levels, 2, rounding_mode="floor")

    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """Squash to [-(L-1)/2, (L-1)/2], shifted by a half step for even L so rounding is symmetric."""
        half_l = (self._levels - 1) * (1 + self.eps) / 2
        offset = torch.where(self._levels % 2 == 0, 0.5, 0.0)
        shift = torch.atanh(offset / half_l)
        return torch.tanh(z + shift) * half_l - offset

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        bounded = self.bound(z.float())
        rounded = bounded + (torch.round(bounded) - bounded).detach()  # straight-through
        return (rounded / self._half_width()).to(z.dtype)

    def codes_to_levels(self, codes: torch.Tensor) -> torch.Tensor:
        """Integer level in [0, L-1] per channel."""
        return torch.round(codes.float() * self._half_width() + self._half_width()).long()

    def levels_to_codes(self, levels: torch.Tensor) -> torch.Tensor:
        return (levels.float() - self._half_width()) / self._half_width()

    def codes_to_indices(self, codes: torch.Tensor) -> torch.Tensor:
        """One codebook index per position: (N, C, H, W) codes -> (N, H, W) indices."""
        return (self.codes_to_levels(codes) * self._basis).sum(1)

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        levels = torch.div(indices.unsqueeze(1), self._basis, rounding_mode="floor") % self._levels.long()
        return self.levels_to_codes(levels)
