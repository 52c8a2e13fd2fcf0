import torch
from monai.metrics import PSNRMetric

from codebrain.train.losses import MaskedAdversarialLoss, psnr_loss, weighted_psnr_loss


def test_psnr_loss_is_minus_psnr():
    target = torch.rand(3, 2, 16, 16)
    pred = (target + 0.05 * torch.randn_like(target)).clamp(0, 1)
    loss = psnr_loss(pred, target)
    ref = PSNRMetric(max_val=1.0, reduction="none")(pred[:, :1], target[:, :1]).view(-1)
    assert torch.allclose(-loss[:, 0], ref, atol=1e-3)


def test_missing_modalities_weigh_more():
    target = torch.rand(2, 2, 8, 8)
    pred = target.clone()
    pred[:, 0] += 0.1  # error only in channel 0
    missing0 = torch.tensor([[True, False]] * 2)
    missing1 = torch.tensor([[False, True]] * 2)
    loss_when_missing, _ = weighted_psnr_loss(pred, target, missing0, 20.0, 5.0)
    loss_when_given, _ = weighted_psnr_loss(pred, target, missing1, 20.0, 5.0)
    # channel 0 has the error: it costs more when it is the missing one
    assert loss_when_missing > loss_when_given


def test_adversarial_loss_ignores_given_modalities():
    adv = MaskedAdversarialLoss()
    d_fake = torch.zeros(2, 2, 4, 4)
    d_fake[:, 1] = 5.0  # huge error on channel 1 only
    missing = torch.tensor([[True, False]] * 2)
    assert adv.generator(d_fake, missing) == adv.generator(torch.zeros(2, 2, 4, 4), missing)
    assert adv.generator(d_fake, ~missing) > adv.generator(d_fake, missing)
