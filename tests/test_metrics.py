"""The held-out comparison of the BIDS-App scores a synthesized volume as codebrain-eval does."""

import numpy as np

from codebrain.data.volumes import normalise
from codebrain.evaluation.metrics import volume_metrics


def _head(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth 'real' volume in scanner units (hundreds) and its brain mask."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, 24)] * 3, indexing="ij"))
    mask = (grid**2).sum(0) < 0.8
    real = (400 + 300 * grid[0] + 50 * rng.standard_normal(mask.shape)) * mask
    return np.clip(real, 0, None).astype(np.float32), mask


def test_a_prediction_in_the_normalised_units_of_the_real_image_scores_perfect():
    real, mask = _head()
    scores = volume_metrics(normalise(real, mask), real, mask)
    assert scores["psnr"] == 100.0 and scores["ssim"] > 99.9 and scores["mae"] == 0.0


def test_a_prediction_at_the_wrong_scale_is_penalised_not_renormalised():
    real, mask = _head()
    right = normalise(real, mask)
    dim = volume_metrics(0.8 * right, real, mask)
    assert 10.0 < dim["psnr"] < 30.0 and dim["mae"] > 10.0
    # a worse scale scores worse: the metric sees intensity errors
    assert volume_metrics(0.6 * right, real, mask)["psnr"] < dim["psnr"]


def test_outside_the_mask_does_not_count():
    real, mask = _head()
    pred = normalise(real, mask)
    pred[~mask] = 1.0  # background noise a user never sees (outputs are masked)
    assert volume_metrics(pred, real, mask)["psnr"] == 100.0
