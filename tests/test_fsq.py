import math

import pytest
import torch

from codebrain.model.fsq import FSQ


@pytest.mark.parametrize("levels", [(8, 8, 8, 5, 5, 5), (8, 5, 5), (3, 4)])
def test_outputs_lie_on_the_grid(levels):
    fsq = FSQ(levels)
    codes = fsq(torch.randn(4, len(levels), 6, 6) * 5)
    half = torch.tensor([lv // 2 for lv in levels]).view(1, -1, 1, 1)
    steps = codes * half
    assert torch.allclose(steps, steps.round(), atol=1e-5)
    lv = fsq.codes_to_levels(codes)
    assert (lv >= 0).all() and (lv < torch.tensor(levels).view(1, -1, 1, 1)).all()


def test_codebook_size_and_every_level_reachable():
    fsq = FSQ((8, 8, 8, 5, 5, 5))
    assert fsq.codebook_size == 64_000 == math.prod(fsq.levels)
    z = torch.linspace(-6, 6, 2001).view(1, 1, -1, 1).expand(1, 6, -1, 1).contiguous()
    lv = fsq.codes_to_levels(fsq(z))
    for c, n in enumerate(fsq.levels):
        assert lv[0, c].unique().numel() == n


def test_index_code_round_trip():
    fsq = FSQ((8, 8, 8, 5, 5, 5))
    indices = torch.arange(fsq.codebook_size).view(1, 250, 256)
    codes = fsq.indices_to_codes(indices)
    assert torch.equal(fsq.codes_to_indices(codes), indices)


def test_straight_through_gradient_is_nonzero():
    fsq = FSQ((8, 5))
    z = torch.randn(2, 2, 4, 4, requires_grad=True)
    fsq(z).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
