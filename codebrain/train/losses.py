"""Training objectives: the weighted PSNR loss, the masked LSGAN terms and their discriminator.

The PSNR loss is 10 log10(MSE) per modality (minus PSNR for a data range of 1), so
each modality's error counts on a log scale and a dark contrast is not drowned by a
bright one. Missing modalities weigh 20, available ones 5 (the paper's choice).
"""

from __future__ import annotations

import math

import torch
from monai.losses import PatchAdversarialLoss
from monai.networks.nets import PatchDiscriminator


def psnr_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Per-sample, per-channel minus PSNR (data range 1): shape (N, C)."""
    mse = (pred.float() - target.float()).pow(2).mean(dim=(-2, -1))
    return (10.0 / math.log(10.0)) * torch.log(mse + eps)


def weighted_psnr_loss(
    pred: torch.Tensor, target: torch.Tensor, missing: torch.Tensor, w_missing: float, w_available: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted sum of the mean loss on missing and on available modalities.

    ``missing`` is (N, C) bool. Returns the total and the mean PSNR on missing modalities
    (a number to log).
    """
    per = psnr_loss(pred, target)
    miss = missing.float()
    avail = 1.0 - miss
    loss_missing = (per * miss).sum() / miss.sum().clamp_min(1)
    loss_available = (per * avail).sum() / avail.sum().clamp_min(1)
    return w_missing * loss_missing + w_available * loss_available, -loss_missing.detach()


def make_discriminator(n_modalities: int) -> PatchDiscriminator:
    """pix2pix-style 70x70 patch discriminator on concat(candidate, real), one map per modality."""
    return PatchDiscriminator(spatial_dims=2, num_layers_d=3, channels=64, in_channels=2 * n_modalities,
                              out_channels=n_modalities, norm="INSTANCE")


class MaskedAdversarialLoss:
    """LSGAN (MONAI) counted only on the modalities that were synthesized.

    The candidate image keeps the given modalities as they were, so calling their
    patches fake would teach the discriminator nothing true; only missing channels count.
    """

    def __init__(self) -> None:
        self.loss = PatchAdversarialLoss(criterion="least_squares", reduction="none", no_activation_leastsq=True)

    @staticmethod
    def _masked_mean(per: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        w = weight.float()[:, :, None, None].expand_as(per)
        return (per * w).sum() / w.sum().clamp_min(1)

    def discriminator(self, d_real: torch.Tensor, d_fake: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        real = self.loss(d_real, target_is_real=True, for_discriminator=True)[0].mean()
        fake = self._masked_mean(self.loss(d_fake, target_is_real=False, for_discriminator=True)[0], missing)
        return 0.5 * (real + fake)

    def generator(self, d_fake: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        return self._masked_mean(self.loss(d_fake, target_is_real=True, for_discriminator=False)[0], missing)


def last(output: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
    """MONAI's PatchDiscriminator returns every layer's features; the patch map is the last."""
    return output[-1] if isinstance(output, list) else output
