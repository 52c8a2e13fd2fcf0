"""The stages a run trains, each a :class:`~codebrain.train.trainer.Trainer` with its own step.

:class:`StageOneTrainer` learns the code and the decoder (Stage I: PSNR on the missing contrasts
plus an optional masked adversarial loss); :class:`GraderTrainer` learns to predict that code from
incomplete inputs (Stage II, Stage I frozen); :class:`DecoderTrainer` fits Stage I's decoding side
to the grader's codes.
"""

from __future__ import annotations

from typing import Any

import torch

from codebrain.errors import DataError, UsageError
from codebrain.model.config import Config
from codebrain.model.io import load_model_dir
from codebrain.model.networks import CodeBrain, StageOne
from codebrain.train.distributed import Distributed
from codebrain.train.losses import MaskedAdversarialLoss, last, make_discriminator, weighted_psnr_loss
from codebrain.train.trainer import DECODER_NEEDS_MODEL, STAGE1_NEEDED, RunOptions, Trainer


class StageOneTrainer(Trainer):
    """Stage I: the posterior encoder, FSQ code and decoder, with an optional masked LSGAN."""

    stage = 1
    label = "stage1"

    def __init__(self, cfg: Config, opts: RunOptions, ctx: Distributed) -> None:
        super().__init__(cfg, opts, ctx)
        self.disc_net = self._parallel(self.disc) if self.disc is not None else None

    def _prepare(self) -> torch.nn.Module:
        return self.model.stage1

    def _add_modules(self) -> None:
        self.disc: torch.nn.Module | None = None
        if self.tc.gan_weight > 0:
            self.disc = make_discriminator(len(self.cfg.model.modalities)).to(self.device)
            self.opt_d = torch.optim.AdamW(self.disc.parameters(), lr=self.tc.disc_lr, betas=(0.5, 0.9))
            self.adv = MaskedAdversarialLoss()
        self.usage = torch.zeros(self.model.stage1.fsq.codebook_size, dtype=torch.long)

    def _step(self, full, incomplete, missing, given) -> dict[str, float]:
        tc = self.tc
        with self._autocast():
            fake, codes = self.net(incomplete, full)
        loss, psnr_missing = weighted_psnr_loss(fake, full, missing, tc.missing_weight, tc.available_weight)
        out = {"psnr_missing": psnr_missing.item()}
        if self.disc is not None and self.step >= tc.gan_start * tc.steps:
            loss_g, loss_d = self._adversarial_step(fake, full, missing, given)
            loss = loss + tc.gan_weight * loss_g
            out.update(loss_d=loss_d, loss_g=loss_g.item())
        self._optimise(loss)
        indices = self.model.stage1.fsq.codes_to_indices(codes.detach()).flatten().cpu()
        self.usage += torch.bincount(indices, minlength=self.usage.numel())
        out["loss"] = loss.item()
        return out

    def _adversarial_step(self, fake, full, missing, given) -> tuple[torch.Tensor, float]:
        """Update the discriminator once; returns the generator's adversarial loss and the discriminator's."""
        disc, disc_net = self.disc, self.disc_net
        assert disc is not None and disc_net is not None  # called only with a discriminator
        candidate = fake * (1 - given) + full * given
        with self._autocast():
            d_real = last(disc_net(torch.cat([full, full], 1)))
            d_fake = last(disc_net(torch.cat([candidate.detach(), full], 1)))
            loss_d = self.adv.discriminator(d_real.float(), d_fake.float(), missing)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        disc.requires_grad_(False)
        with self._autocast():
            loss_g = self.adv.generator(last(disc_net(torch.cat([candidate, full], 1))).float(), missing)
        disc.requires_grad_(True)
        return loss_g, loss_d.item()

    def _predict(self, incomplete, full):
        pred, _ = self.model.stage1(incomplete, full)
        return pred, None

    def _checkpoint_modules(self) -> dict[str, torch.nn.Module]:
        return {"disc": self.disc} if self.disc is not None else {}

    def _checkpoint_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"usage": self.usage}
        if self.disc is not None:
            state["opt_d"] = self.opt_d.state_dict()
        return state

    def _restore_state(self, state: dict[str, Any]) -> None:
        self.usage = state["usage"].cpu()
        if self.disc is not None:
            self.opt_d.load_state_dict(state["opt_d"])

    def _log_extras(self) -> dict[str, float]:
        """Code perplexity and the share of the codebook used since the last log line."""
        counts = self.usage[self.usage > 0].double()
        if counts.numel() == 0:
            return {}
        p = counts / counts.sum()
        out = {"code_perplexity": float(torch.exp(-(p * p.log()).sum())),
               "codes_used_pct": 100.0 * counts.numel() / self.usage.numel()}
        self.usage.zero_()
        return out

    def _saved_weights(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.model.state_dict().items() if k.startswith("stage1.")}


class GraderTrainer(Trainer):
    """Stage II: the grader learns Stage I's code of the full stack from the incomplete one."""

    stage = 2
    label = "stage2"

    def _prepare(self) -> torch.nn.Module:
        if self.opts.stage1 is None:
            raise UsageError(STAGE1_NEEDED)
        stage1, self.stage1_info = load_model_dir(self.opts.stage1, stage=1)
        if tuple(self.stage1_info["modalities"]) != self.cfg.model.modalities:
            raise DataError(f"--stage1 {self.opts.stage1} was trained on {self.stage1_info['modalities']}, "
                            f"the config has {list(self.cfg.model.modalities)}")
        self.model.stage1.load_state_dict(stage1.stage1.state_dict())
        self.model.stage1.requires_grad_(False)
        return self.model.grader

    def _step(self, full, incomplete, missing, given) -> dict[str, float]:
        with torch.no_grad(), self._autocast():
            levels = self.model.stage1.fsq.codes_to_levels(self.model.stage1.encode(full).float())
        with self._autocast():
            logits = self.net(incomplete).float()
        loss = self.model.grader.loss(logits, levels)
        self._optimise(loss)
        with torch.no_grad():
            predicted, _ = self.model.grader.decode_logits(logits.detach())
            accuracy = (predicted == levels).float().mean().item()
        return {"loss": loss.item(), "code_accuracy": accuracy}

    def _predict(self, incomplete, full):
        pred, _ = self.model.complete(incomplete)
        levels = self.model.stage1.fsq.codes_to_levels(self.model.stage1.encode(full).float())
        return pred, (self.model.grader.predict(incomplete)[0] == levels).float().mean().item()

    def _info_extras(self) -> dict:
        # --stage1 may name a complete model, whose own grader run is not the Stage I it holds
        prefix = "stage1_" if self.stage1_info["stage"] == 2 else ""
        return {"stage1_training": self.stage1_info.get(f"{prefix}training"),
                "stage1_metrics": self.stage1_info.get(f"{prefix}metrics")}


class DecodingSide(torch.nn.Module):
    """Stage I's shared encoder and decoder (the same modules, not copies): what the decoder stage trains."""

    def __init__(self, stage1: StageOne) -> None:
        super().__init__()
        self.shared, self.decoder = stage1.shared, stage1.decoder  # registered: trained, averaged, checkpointed
        self._decode = stage1.decode  # a bound method, not a submodule: Stage I's one definition of decoding

    def forward(self, codes: torch.Tensor, incomplete: torch.Tensor) -> torch.Tensor:
        return self._decode(codes, incomplete)


class DecoderTrainer(Trainer):
    """Fits Stage I's decoding side to the grader's codes: a complete model, decoder fine-tuned.

    Stage I's decoder learned from true codes only; at inference it reads the grader's, and
    on a patient from another site those are often wrong (on the held-out TCGA patient the
    decoder given true codes scores about 4.5 dB above the complete model). Here the grader
    and the posterior stay frozen and the shared encoder and decoder learn from the codes the
    grader actually predicts from augmented inputs, so that where a code is wrong they lean on
    the given contrasts. The result is a complete model (Stage II format). On the bundled
    ``brats`` it moved quality between targets (T1w up, T2w down) without a net gain on the
    validation patients, so no shipped model uses it (README, recipe validation).
    """

    stage = 2
    label = "decoder"

    def _prepare(self) -> torch.nn.Module:
        if self.opts.init is None:
            raise UsageError(DECODER_NEEDS_MODEL)
        self.model.requires_grad_(False)
        trainable = DecodingSide(self.model.stage1)
        trainable.requires_grad_(True)
        return trainable

    def _take_weights(self, source: CodeBrain, info: dict) -> None:
        self.model.load_state_dict(source.state_dict())
        self.source_info = info

    def _step(self, full, incomplete, missing, given) -> dict[str, float]:
        tc = self.tc
        with torch.no_grad(), self._autocast():
            levels, _ = self.model.grader.predict(incomplete)
            codes = self.model.stage1.fsq.levels_to_codes(levels)
        with self._autocast():
            fake = self.net(codes, incomplete)
        loss, psnr_missing = weighted_psnr_loss(fake, full, missing, tc.missing_weight, tc.available_weight)
        self._optimise(loss)
        return {"loss": loss.item(), "psnr_missing": psnr_missing.item()}

    def _predict(self, incomplete, full):
        return self.model.complete(incomplete)[0], None

    def _info_extras(self) -> dict:
        return {k: self.source_info.get(k) for k in ("stage1_training", "stage1_metrics")}


TRAINERS: dict[str, type[Trainer]] = {"stage1": StageOneTrainer, "stage2": GraderTrainer, "decoder": DecoderTrainer}
