import pytest
import torch

from codebrain.model.ordinal import grading_loss, level_confidence, levels_to_bits, probabilities_to_levels


@pytest.mark.parametrize("n_levels", [5, 8])
def test_round_trip_every_level(n_levels):
    levels = torch.arange(n_levels).view(1, 1, -1, 1)
    bits = levels_to_bits(levels, (n_levels,))
    assert bits.shape == (1, n_levels - 1, n_levels, 1)
    assert torch.equal(probabilities_to_levels(bits, (n_levels,)), levels)


@pytest.mark.parametrize("n_levels", [5, 8])
def test_adjacent_levels_differ_by_one_bit(n_levels):
    bits = levels_to_bits(torch.arange(n_levels).view(1, 1, -1, 1), (n_levels,))[0, :, :, 0]
    diffs = (bits[:, 1:] != bits[:, :-1]).sum(0)
    assert torch.equal(diffs, torch.ones(n_levels - 1, dtype=diffs.dtype))


def test_multi_channel_round_trip_and_loss():
    fsq_levels = (8, 8, 8, 5, 5, 5)
    levels = torch.stack([torch.randint(0, lv, (2, 3, 3)) for lv in fsq_levels], 1)
    bits = levels_to_bits(levels, fsq_levels)
    assert bits.shape[1] == 33
    assert torch.equal(probabilities_to_levels(bits, fsq_levels), levels)
    confident = (bits * 2 - 1) * 20  # logits that agree with the target
    assert grading_loss(confident, levels, fsq_levels) < 1e-6
    assert grading_loss(-confident, levels, fsq_levels) > 10


def test_confidence_is_a_probability_and_peaks_when_certain():
    fsq_levels = (8, 5)
    probs = torch.rand(2, 11, 4, 4)
    conf = level_confidence(probs, fsq_levels)
    assert conf.shape == (2, 2, 4, 4) and (conf >= 0).all() and (conf <= 1).all()
    certain = level_confidence(torch.ones(1, 11, 1, 1), fsq_levels)
    unsure = level_confidence(torch.full((1, 11, 1, 1), 0.5), fsq_levels)
    assert torch.allclose(certain, torch.ones_like(certain)) and (unsure < 0.1).all()
