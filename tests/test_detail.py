"""Detail transfer (``codebrain.model.detail``): the model's intensity map is the baseline regression,
and its fine band gives back detail that a smoothing network lost, on simulated subjects."""

import numpy as np
import torch
from conftest import TINY_MODALITIES
from monai.networks.layers import GaussianFilter

from codebrain.data.slices import build_slice_cache
from codebrain.evaluation.baselines import QuadraticRegression
from codebrain.evaluation.metrics import slice_metrics
from codebrain.model.detail import DetailTransfer, given_index
from codebrain.train.detail_fit import fit_amounts, fit_slices

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


def test_fitted_amounts_minimise_the_error_and_refuse_a_useless_map(sim_data, cache_dir):
    """`fit_amounts` on training slices: for a stand-in network that blurs the map, the fitted amount of
    each target beats nearby amounts in [0, 1] in squared error (least squares, not a guess); a map whose
    coefficients belong to other targets gets (nearly) nothing; given modalities get exactly 0."""
    train = build_slice_cache(sim_data, ["sim0001", "sim0002"], MODS, 128, cache_dir)
    detail, _ = _fitted(sim_data, cache_dir, 2.0, 0.0)
    rows, weights = fit_slices(sim_data, train.subjects, train.present)
    assert len(rows) and torch.all(weights == 1)

    def blurred_map(incomplete: torch.Tensor) -> torch.Tensor:
        given = incomplete.flatten(2).amax(2)[0] > 0
        return GaussianFilter(2, 1.5)(detail.predict_map(incomplete, given))

    gain = fit_amounts(blurred_map, detail, train.images, rows, weights, MODS)
    given = torch.tensor([True, False, False])
    row = given_index(given)
    assert torch.all(gain[:, 0][[given_index(torch.tensor(g)) for g in ([1, 0, 0], [1, 1, 0], [1, 0, 1])]] == 0)
    truth = torch.from_numpy(np.asarray(train.images[rows], dtype=np.float32))
    incomplete = truth * given[None, :, None, None]
    out = blurred_map(incomplete)
    fine = detail.fine_band(incomplete, out, given)
    inside = (incomplete[:, given] > 0).any(1, keepdim=True)
    for c in (1, 2):
        assert gain[row, c] > 0.5, gain[row]  # the network blurs: much of the map's fine band helps
        errors = {a: float((((truth - out - a * fine) * inside)[:, c] ** 2).sum())
                  for a in (gain[row, c] - 0.1, gain[row, c], gain[row, c] + 0.1) if 0 <= a <= 1}
        assert min(errors, key=errors.get) == gain[row, c], errors

    wrong = DetailTransfer(len(MODS), 2.0, None)
    wrong.coef.copy_(detail.coef[..., [2, 0, 1]])  # each target predicted with another target's map
    useless = fit_amounts(blurred_map, wrong, train.images, rows, weights, MODS)
    assert useless[row, 1:].max() < 0.5 * gain[row, 1:].min(), (useless[row], gain[row])


def test_repeated_subjects_are_read_once_and_weighted(sim_data, tmp_path, cache_dir):
    """An oversampled patient (listed under several names, one folder) counts as often as listed."""
    data = tmp_path / "data"
    data.mkdir()
    for name, target in (("a", "sim0001"), ("a-r1", "sim0001"), ("a-r2", "sim0001"), ("b", "sim0002")):
        (data / name).symlink_to(sim_data / target)
    cache = build_slice_cache(data, ["a", "a-r1", "a-r2", "b"], MODS, 128, cache_dir)
    rows, weights = fit_slices(data, cache.subjects, cache.present)
    names = np.asarray(cache.subjects)[rows]
    assert set(names) == {"a", "b"}
    assert torch.equal(weights, torch.from_numpy(np.where(names == "a", 3.0, 1.0)))
