"""Detail transfer (``codebrain.model.detail``): the model's intensity map is the baseline regression,
and its fine band gives back detail that a smoothing network lost, on simulated subjects."""

import numpy as np
import torch
from conftest import TINY_MODALITIES
from monai.networks.layers import GaussianFilter

from codebrain.baselines import QuadraticRegression
from codebrain.data.slices import build_slice_cache
from codebrain.metrics import slice_metrics
from codebrain.model.detail import DetailTransfer

MODS = tuple(TINY_MODALITIES.split(","))


def _fitted(sim_data, cache_dir, sigma: float, amount: float) -> tuple[DetailTransfer, QuadraticRegression]:
    train = build_slice_cache(sim_data, ["sim0001", "sim0002"], MODS, 128, cache_dir)
    regression = QuadraticRegression.fit(train.images, train.present)
    detail = DetailTransfer(len(MODS), sigma, amount)
    detail.coef.copy_(regression.table())
    return detail, regression


def _test_slices(sim_data, cache_dir) -> torch.Tensor:
    test = build_slice_cache(sim_data, ["sim0003"], MODS, 128, cache_dir)
    full = torch.from_numpy(np.asarray(test.images, dtype=np.float32))
    return full[(full > 0).flatten(1).float().mean(1) > 0.2]  # slices well inside the brain


def test_the_models_map_is_the_baseline_regression(sim_data, cache_dir):
    detail, regression = _fitted(sim_data, cache_dir, 2.0, 0.5)
    full = _test_slices(sim_data, cache_dir)
    for missing in (np.array([False, True, True]), np.array([True, False, False]), np.array([False, True, False])):
        incomplete = full * torch.from_numpy(~missing).float()[None, :, None, None]
        inside = (incomplete[:, torch.from_numpy(~missing)] > 0).any(1, keepdim=True)
        mapped = detail.predict_map(incomplete, torch.from_numpy(~missing)) * inside
        baseline = regression(incomplete, missing)
        torch.testing.assert_close(mapped[:, missing], baseline[:, missing], atol=1e-5, rtol=0)


def test_the_fine_band_gives_back_detail_a_smoothing_network_lost(sim_data, cache_dir):
    """A stand-in network that gets every intensity right but blurs (sigma 1.5 px): adding the map's
    fine band brings its missing modalities closer to the truth in PSNR and SSIM, leaves the given
    one as it was, and amount 0 changes nothing."""
    full = _test_slices(sim_data, cache_dir)
    missing = np.array([False, True, True])  # T1w given
    incomplete = full * torch.from_numpy(~missing).float()[None, :, None, None]
    inside = (incomplete[:, :1] > 0).float()
    smooth = GaussianFilter(2, 1.5)(full) * inside
    detail, _ = _fitted(sim_data, cache_dir, 2.0, 0.5)
    sharper = detail(incomplete, smooth) * inside
    for c in (1, 2):
        before, after = (slice_metrics(x[:, c:c + 1], full[:, c:c + 1]) for x in (smooth, sharper))
        assert after["psnr"].mean() > before["psnr"].mean() + 0.3, (MODS[c], before["psnr"].mean(), after["psnr"])
        assert after["ssim"].mean() > before["ssim"].mean(), MODS[c]
    assert torch.equal(sharper[:, 0], smooth[:, 0])
    off, _ = _fitted(sim_data, cache_dir, 2.0, 0.0)
    assert torch.equal(off(incomplete, smooth), smooth)
