"""Stage I (posterior encoder, shared encoder, decoder) and the Stage II grader.

Shapes follow the official CodeBrain release: encoders reduce the slice 8x with three
2x2 stride-2 convolutions (width doubling each time) and end in ``depth`` NAF blocks;
the decoder reads concat(code, common feature), widens to 16x its base width and
upsamples with 1x1 convolutions and pixel shuffle back to every modality.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from codebrain.model.config import FITTED, ModelConfig
from codebrain.model.detail import DetailTransfer
from codebrain.model.fsq import FSQ
from codebrain.model.nafnet import blocks
from codebrain.model.ordinal import grading_loss, level_confidence, probabilities_to_levels


class Encoder(nn.Module):
    """in_channels x H x W -> (8 * width or out_channels) x H/8 x W/8."""

    def __init__(self, in_channels: int, width: int, depth: int, out_channels: int | None = None) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), blocks(width, 1))
        self.down = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(width * 2**i, width * 2 ** (i + 1), 2, stride=2),
                          blocks(width * 2 ** (i + 1), depth if i == 2 else 1))
            for i in range(3)
        ])
        self.head = nn.Conv2d(8 * width, out_channels, 1) if out_channels else nn.Identity()
        self.out_channels = out_channels or 8 * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.down(self.stem(x)))


class Decoder(nn.Module):
    """concat(code, feature) at H/8 -> out_channels x H x W."""

    def __init__(self, in_channels: int, out_channels: int, width: int, depth: int) -> None:
        super().__init__()
        top = 16 * width
        self.fuse = nn.Conv2d(in_channels, top, 1)
        stages = []
        for i in range(3):  # 16w -> 4w -> 2w -> w channels while the size doubles
            c = top if i == 0 else width * 2 ** (3 - i)
            grow = 16 * width if i == 0 else 2 * c
            stages.append(nn.Sequential(blocks(c, depth if i == 0 else 1), nn.Conv2d(c, grow, 1), nn.PixelShuffle(2)))
        self.up = nn.Sequential(*stages)
        self.tail = nn.Sequential(blocks(width, 1), nn.Conv2d(width, out_channels, 3, padding=1))

    def forward(self, code: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        return self.tail(self.up(self.fuse(torch.cat([code, feature], dim=1))))


class StageOne(nn.Module):
    """Learns the full-stack code (posterior + FSQ) and decodes it with the common feature."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c = len(cfg.modalities)
        self.fsq = FSQ(cfg.fsq_levels)
        self.posterior = Encoder(c, cfg.posterior_width, cfg.depth, out_channels=self.fsq.dim)
        self.shared = Encoder(c, cfg.shared_width, cfg.depth)
        self.decoder = Decoder(self.fsq.dim + self.shared.out_channels, c, cfg.decoder_width, cfg.depth)

    def encode(self, full: torch.Tensor) -> torch.Tensor:
        return self.fsq(self.posterior(full))

    def decode(self, codes: torch.Tensor, incomplete: torch.Tensor) -> torch.Tensor:
        return self.decoder(codes.to(incomplete.dtype), self.shared(incomplete))

    def forward(self, incomplete: torch.Tensor, full: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.encode(full)
        return self.decode(codes, incomplete), codes


class Grader(nn.Module):
    """Predicts the code from the incomplete input: ordinal bits (the paper) or classes (ablation)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.levels = tuple(cfg.fsq_levels)
        self.head_kind = cfg.grader_head
        outputs = sum(lv - 1 for lv in self.levels) if cfg.grader_head == "ordinal" else sum(self.levels)
        self.encoder = Encoder(len(cfg.modalities), cfg.grader_width, cfg.depth)
        self.head = nn.Conv2d(self.encoder.out_channels, outputs, 1)

    def forward(self, incomplete: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(incomplete))

    def predict(self, incomplete: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predicted levels (N, C, h, w) and the probability of each predicted level."""
        return self.decode_logits(self(incomplete))

    def loss(self, logits: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        """Training loss of this head against the true levels (N, C, h, w): the grading loss over
        ordinal bits, or cross-entropy per FSQ channel for the classification ablation."""
        if self.head_kind == "ordinal":
            return grading_loss(logits, levels, self.levels)
        parts = torch.split(logits, list(self.levels), dim=1)
        return torch.stack([F.cross_entropy(p, levels[:, i]) for i, p in enumerate(parts)]).mean()

    def decode_logits(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Levels and their probability from this head's logits (training reuses its own logits)."""
        logits = logits.float()
        if self.head_kind == "ordinal":
            probs = torch.sigmoid(logits)
            return probabilities_to_levels(probs, self.levels), level_confidence(probs, self.levels)
        per_channel = [p.softmax(1) for p in torch.split(logits, list(self.levels), dim=1)]
        conf, levels = zip(*[p.max(1) for p in per_channel])
        return torch.stack(levels, 1), torch.stack(conf, 1)


class CodeBrain(nn.Module):
    """The complete model: Stage I plus the grader, as used at inference.

    ``detail`` (``{"sigma": px, "amount": a or "fit"}``, from ``model.json``) adds the fine band of an
    intensity map fitted on the training slices (``codebrain.model.detail``); ``None``: the network alone.
    """

    def __init__(self, cfg: ModelConfig, detail: dict | None = None) -> None:
        super().__init__()
        self.config = cfg
        self.stage1 = StageOne(cfg)
        self.grader = Grader(cfg)
        self.detail: DetailTransfer | None = None
        if detail:
            amount = None if detail["amount"] == FITTED else detail["amount"]
            self.detail = DetailTransfer(len(cfg.modalities), detail["sigma"], amount)

    @torch.no_grad()
    def complete(self, incomplete: torch.Tensor, mirror: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Every modality from the incomplete input (missing channels zero), and a confidence map.

        Confidence is the geometric mean over FSQ channels of the probability of the
        predicted level, per code position (1/8 of the slice size). With ``mirror`` the result is
        the mean of the slices' and their mirror images' completions, mirrored back, along
        dimension 2 (left-right in the (N, C, X, Y) RAS slices the model trains on, the flip its
        training augments with): the grader's level choices and the code grid's placement differ
        between the two, so their errors partly cancel, for twice the forward passes.
        """
        if mirror:
            pairs = [self.complete(incomplete), self.complete(incomplete.flip(2))]
            out, confidence = ((a + b.flip(2)) / 2 for a, b in zip(*pairs))
            return out, confidence
        levels, conf = self.grader.predict(incomplete)
        codes = self.stage1.fsq.levels_to_codes(levels)
        out = self.stage1.decode(codes, incomplete)
        confidence = torch.exp(torch.log(conf.clamp_min(1e-6)).mean(1, keepdim=True))
        out = out.float()
        return (self.detail(incomplete, out) if self.detail is not None else out), confidence
