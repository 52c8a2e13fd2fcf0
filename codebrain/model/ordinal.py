"""The grading codec: an FSQ level as L-1 ordinal bits (bit j = level > j).

Predicting bits instead of classes tells the grader that level 3 is closer to 4 than to
0, and makes the error of a wrong bit small: adjacent levels differ in exactly one bit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bits_per_channel(levels: tuple[int, ...]) -> list[int]:
    return [lv - 1 for lv in levels]


def levels_to_bits(levels: torch.Tensor, fsq_levels: tuple[int, ...]) -> torch.Tensor:
    """(N, C, H, W) integer levels -> (N, sum(L-1), H, W) float bits."""
    out = []
    for c, lv in enumerate(fsq_levels):
        thresholds = torch.arange(lv - 1, device=levels.device).view(1, -1, 1, 1)
        out.append((levels[:, c : c + 1] > thresholds).float())
    return torch.cat(out, dim=1)


def split_channels(logits: torch.Tensor, fsq_levels: tuple[int, ...]) -> list[torch.Tensor]:
    return list(torch.split(logits, bits_per_channel(fsq_levels), dim=1))


def probabilities_to_levels(probabilities: torch.Tensor, fsq_levels: tuple[int, ...]) -> torch.Tensor:
    """Predicted level = number of bits with probability above 0.5."""
    return torch.stack([(p > 0.5).sum(1) for p in split_channels(probabilities, fsq_levels)], dim=1)


def grading_loss(logits: torch.Tensor, levels: torch.Tensor, fsq_levels: tuple[int, ...]) -> torch.Tensor:
    """Binary cross-entropy on the ordinal bits, averaged over the FSQ channels."""
    bits = levels_to_bits(levels, fsq_levels)
    per_channel = [
        F.binary_cross_entropy_with_logits(lg.float(), b)
        for lg, b in zip(split_channels(logits, fsq_levels), split_channels(bits, fsq_levels))
    ]
    return torch.stack(per_channel).mean()


def level_confidence(probabilities: torch.Tensor, fsq_levels: tuple[int, ...]) -> torch.Tensor:
    """Probability of the predicted level per channel, under independent bits.

    For a predicted level k the bit pattern is k ones then zeros; its probability is the
    product of p (for the ones) and 1 - p (for the zeros). Returns (N, C, H, W) in [0, 1].
    """
    out = []
    for p in split_channels(probabilities.float(), fsq_levels):
        agree = torch.where(p > 0.5, p, 1.0 - p)
        out.append(agree.prod(dim=1))
    return torch.stack(out, dim=1)
