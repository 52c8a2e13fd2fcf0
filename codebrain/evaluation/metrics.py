"""Per-slice image quality with MONAI's metrics, on the model's [0, 1] scale (data range 1)."""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
from monai.metrics import PSNRMetric, SSIMMetric

from codebrain.data.volumes import normalise

_psnr = PSNRMetric(max_val=1.0, reduction="none")
_ssim = SSIMMetric(spatial_dims=2, data_range=1.0, reduction="none")


def slice_metrics(pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """PSNR (dB), SSIM (%) and MAE (x1000) of (N, 1, H, W) slices, one value per slice.

    The prediction is clamped to [0, 1] first, as in the paper's protocol.
    """
    pred = pred.float().clamp(0, 1)
    target = target.float()
    psnr = cast(torch.Tensor, _psnr(pred, target)).view(-1)
    return {
        "psnr": torch.clamp(psnr, max=100.0),  # a perfect slice would be +inf
        "ssim": 100.0 * cast(torch.Tensor, _ssim(pred, target)).view(-1),
        "mae": 1000.0 * (pred - target).abs().mean(dim=(1, 2, 3)),
    }


def volume_metrics(pred, target, mask) -> dict[str, float]:
    """Mean slice metrics over the axial slices holding brain, as ``codebrain-eval`` scores them.

    For comparing a synthesized volume with a real one on the same grid (a held-out contrast).
    Only the real volume is normalised, by the rule the model was trained with; the synthesized one
    is already in those units (a model output is never renormalised: dividing it by its own 99.5th
    percentile, as this did before, brightened every output whose brightest voxels fell short and
    cost about 2 dB on real patients, and scored an image at the wrong scale as perfect).
    """
    mask = np.asarray(mask) > 0
    keep = np.flatnonzero(mask.any(axis=(0, 1)))
    if keep.size == 0:
        raise ValueError("the mask is empty")
    volumes = (np.asarray(pred, np.float32) * mask, normalise(np.asarray(target, np.float32), mask))
    as_slices = [torch.from_numpy(np.ascontiguousarray(np.moveaxis(v[..., keep], 2, 0)[:, None])) for v in volumes]
    return {k: round(float(v.mean()), 3) for k, v in slice_metrics(*as_slices).items()}
