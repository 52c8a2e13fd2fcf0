"""``codebrain-train``: Stage I (code + decoder) and Stage II (the grader) on one device or many.

    codebrain-train stage1 --config small --data DIR --output RUN1
    codebrain-train stage2 --config small --data DIR --stage1 RUN1 --output RUN2
    torchrun --nproc_per_node 4 -m codebrain.train stage1 ...

Every run folder holds ``config.yaml``, ``log.csv``, TensorBoard events (``tb/``),
checkpoints (``checkpoints/step-N``, the two newest kept) and, at the top, the model
directory of the best validation step (``model.safetensors`` + ``model.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import json
import os
import platform
import shlex
import shutil
import socket
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader
from tqdm import tqdm

from codebrain.cli import EXIT_USAGE, UserError, make_parser, resolve_device, run_command
from codebrain.data.slices import SeededSampler, SliceCache, SliceDataset, build_slice_cache
from codebrain.data.volumes import split_subjects
from codebrain.losses import MaskedAdversarialLoss, last, make_discriminator, weighted_psnr_loss
from codebrain.metrics import slice_metrics
from codebrain.model.config import Config, load_config
from codebrain.model.io import load_model_dir, save_model_dir
from codebrain.model.networks import CodeBrain
from codebrain.model.ordinal import grading_loss
from codebrain.patterns import missing_patterns, random_pattern

KEEP_CHECKPOINTS = 2


class Distributed:
    """Rank, world size and device; torchrun sets WORLD_SIZE, a plain run is a world of one."""

    def __init__(self, device: str) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        kind = resolve_device(device).type
        self.device = torch.device(f"cuda:{local}" if kind == "cuda" else "cpu")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.world > 1:
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def mean(self, value: float) -> float:
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t.item()) / self.world

    def same_weights(self, module: torch.nn.Module) -> bool:
        """Whether every rank holds bitwise the same weights, as data-parallel training must keep them.

        Ranks apply the same all-reduced gradients, so any difference means a broken node or a
        rank-dependent step; better to stop than to save a model only rank 0 had."""
        if self.world == 1:
            return True
        with torch.no_grad():
            mine = torch.stack([torch.cat([p.detach().double().flatten() for p in module.parameters()]).sum(),
                                torch.cat([p.detach().double().flatten() ** 2 for p in module.parameters()]).sum()])
        everyone = [torch.empty_like(mine) for _ in range(self.world)]
        dist.all_gather(everyone, mine)
        return all(torch.equal(mine, other) for other in everyone)

    def close(self) -> None:
        if self.world > 1:
            dist.destroy_process_group()


def _apply_overrides(cfg: Config, args: argparse.Namespace) -> Config:
    """Command-line options win over the config file."""
    train = dict(vars(cfg.train))
    for key, value in (("steps", args.max_steps), ("batch_size", args.batch_size), ("workers", args.workers)):
        if value is not None:
            train[key] = value
    model = dict(vars(cfg.model))
    if args.modalities:
        model["modalities"] = tuple(args.modalities.split(","))
    return Config(name=cfg.name, model=type(cfg.model)(**model), train=type(cfg.train)(**train))


def _caches(args: argparse.Namespace, cfg: Config, ctx: Distributed) -> tuple[SliceCache, SliceCache]:
    mods = cfg.model.modalities
    train_subjects = split_subjects(args.data, "train")
    has_val = (args.data / "splits.json").exists()
    val_subjects = (split_subjects(args.data, "val") if has_val else []) or train_subjects[:1]

    def build() -> tuple[SliceCache, SliceCache]:
        return tuple(build_slice_cache(args.data, subjects, mods, cfg.train.image_size, args.cache_dir)
                     for subjects in (train_subjects, val_subjects))

    caches = build() if ctx.main else None  # one process reads NIfTI; the others map the cache
    ctx.barrier()
    train, val = caches or build()
    return _complete_only(train, "training"), _complete_only(val, "validation")


def _complete_only(cache: SliceCache, what: str) -> SliceCache:
    """Training needs every modality of a slice: Stage I encodes the full stack."""
    keep = cache.present.all(1)
    if not keep.any():
        raise UserError(f"no {what} subject has every modality of the model")
    if keep.all():
        return cache
    dropped = sorted({s for s, k in zip(cache.subjects, keep) if not k})
    tqdm.write(f"codebrain-train: skipping incomplete subjects for {what}: {', '.join(dropped)}")
    idx = np.flatnonzero(keep)
    return SliceCache(cache.images[idx], cache.present[idx], [cache.subjects[i] for i in idx])


def ema_with_warmup(decay: float):
    """EMA whose decay grows as (1 + n) / (10 + n) up to ``decay``: a fixed 0.999 over a 1,600-step
    run kept a fifth of the random initial weights in the average and ruined the model (measured)."""

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        steps = float(n)  # one read of the counter per update, not one per tensor
        weight = 1.0 - min(decay, (1.0 + steps) / (10.0 + steps))
        for a, c in zip(averaged, current):
            a.lerp_(c, weight)

    return update


class Trainer:
    """One stage of training; the two stages differ in their modules and their step."""

    def __init__(self, args: argparse.Namespace, cfg: Config, ctx: Distributed) -> None:
        self.args, self.cfg, self.ctx = args, cfg, ctx
        self.tc = cfg.train
        self.device = ctx.device
        self.cuda = self.device.type == "cuda"
        self.stage = 1 if args.stage == "stage1" else 2
        torch.manual_seed(args.seed)
        self.model = CodeBrain(cfg.model)
        if self.stage == 2:
            stage1, self.stage1_info = load_model_dir(args.stage1, stage=1)
            if tuple(self.stage1_info["modalities"]) != cfg.model.modalities:
                raise UserError(f"--stage1 {args.stage1} was trained on {self.stage1_info['modalities']}, "
                                f"the config has {list(cfg.model.modalities)}")
            self.model.stage1.load_state_dict(stage1.stage1.state_dict())
            self.model.stage1.requires_grad_(False)
        self.trainable = self.model.stage1 if self.stage == 1 else self.model.grader
        self.init_info = self._init_from(args.init) if args.init else None
        self.model.to(self.device)
        if self.cuda:
            self.model.to(memory_format=torch.channels_last)
        self.opt = torch.optim.AdamW(self.trainable.parameters(), lr=self.tc.lr, betas=self.tc.betas,
                                     weight_decay=self.tc.weight_decay)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=self.tc.steps, eta_min=self.tc.lr_min)
        self.disc = None
        if self.stage == 1 and self.tc.gan_weight > 0:
            self.disc = make_discriminator(len(cfg.model.modalities)).to(self.device)
            self.opt_d = torch.optim.AdamW(self.disc.parameters(), lr=self.tc.disc_lr, betas=(0.5, 0.9))
            self.adv = MaskedAdversarialLoss()
        # the EMA copy is what validation scores and what ships: it smooths the last steps'
        # noise, which a short schedule with a high learning rate leaves in the weights
        self.ema = None
        if self.tc.ema_decay > 0:
            self.ema = AveragedModel(self.trainable, multi_avg_fn=ema_with_warmup(self.tc.ema_decay))
        self.net = self.trainable
        self.disc_net = self.disc
        if ctx.world > 1:
            self.net = DistributedDataParallel(self.trainable, device_ids=[self.device] if self.cuda else None)
            if self.disc is not None:
                self.disc_net = DistributedDataParallel(self.disc, device_ids=[self.device] if self.cuda else None)
        self.step = 0
        self.best = -float("inf")
        self.usage = torch.zeros(self.model.stage1.fsq.codebook_size, dtype=torch.long)

    def _init_from(self, spec: str) -> dict:
        """Start the trained stage from another model's weights (fine-tuning), not from random ones.

        The source must have this config's architecture; a Stage II run takes its grader (its
        own Stage I still comes from ``--stage1``), a Stage I run its Stage I.
        """
        source, info = load_model_dir(spec, stage=self.stage)
        as_plain = lambda cfg: json.loads(json.dumps(dataclasses.asdict(cfg)))  # noqa: E731 - tuples vs lists
        if as_plain(source.config) != as_plain(self.cfg.model):
            raise UserError(f"--init {spec}: its architecture differs from the config's")
        self.trainable.load_state_dict((source.stage1 if self.stage == 1 else source.grader).state_dict())
        return {"model": str(spec), "sha256": info["sha256"]}

    # -- checkpoints -------------------------------------------------------------------
    def _modules(self) -> dict[str, torch.nn.Module]:
        mods = {"model": self.trainable}
        if self.disc is not None:
            mods["disc"] = self.disc
        if self.ema is not None:
            mods["ema"] = self.ema
        return mods

    @contextlib.contextmanager
    def averaged_weights(self):
        """Swap the EMA weights in for validation and saving (a no-op without EMA)."""
        if self.ema is None:
            yield
            return
        live = {k: v.detach().clone() for k, v in self.trainable.state_dict().items()}
        self.trainable.load_state_dict(self.ema.module.state_dict())
        try:
            yield
        finally:
            self.trainable.load_state_dict(live)

    def save_checkpoint(self) -> None:
        folder = self.args.output / "checkpoints" / f"step-{self.step:07d}"
        tmp = folder.with_name(f".part-{folder.name}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, module in self._modules().items():
            save_file({k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()},
                      str(tmp / f"{name}.safetensors"))
        state = {"step": self.step, "best": self.best, "opt": self.opt.state_dict(),
                 "sched": self.sched.state_dict(), "usage": self.usage}
        if self.disc is not None:
            state["opt_d"] = self.opt_d.state_dict()
        torch.save(state, tmp / "state.pt")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        for old in sorted((self.args.output / "checkpoints").glob("step-*"))[:-KEEP_CHECKPOINTS]:
            shutil.rmtree(old)

    def load_checkpoint(self) -> bool:
        found = sorted((self.args.output / "checkpoints").glob("step-*"))
        if not found:
            return False
        folder = found[-1]
        for name, module in self._modules().items():
            module.load_state_dict(load_file(str(folder / f"{name}.safetensors"), device=str(self.device)))
        state = torch.load(folder / "state.pt", map_location=self.device, weights_only=True)
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        if self.disc is not None:
            self.opt_d.load_state_dict(state["opt_d"])
        self.step, self.best, self.usage = state["step"], state["best"], state["usage"].cpu()
        return True

    # -- one step ----------------------------------------------------------------------
    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cuda)

    def _batch_to_device(self, batch):
        full, view, _ = (t.to(self.device, non_blocking=True) for t in batch)
        if self.cuda:
            full = full.contiguous(memory_format=torch.channels_last)
            view = view.contiguous(memory_format=torch.channels_last)
        return full, view

    def train_step(self, full: torch.Tensor, view: torch.Tensor, missing_row: tuple[bool, ...]) -> dict[str, float]:
        missing = torch.tensor(missing_row, device=self.device).expand(full.shape[0], -1)
        given = (~missing).float()[:, :, None, None]
        incomplete = view * given
        if self.stage == 2:
            return self._grader_step(full, incomplete)
        with self._autocast():
            fake, codes = self.net(incomplete, full)
        loss, psnr_missing = weighted_psnr_loss(fake, full, missing, self.tc.missing_weight, self.tc.available_weight)
        out = {"psnr_missing": psnr_missing.item()}
        if self.disc is not None and self.step >= self.tc.gan_start * self.tc.steps:
            candidate = fake * (1 - given) + full * given
            with self._autocast():
                d_real = last(self.disc_net(torch.cat([full, full], 1)))
                d_fake = last(self.disc_net(torch.cat([candidate.detach(), full], 1)))
                loss_d = self.adv.discriminator(d_real.float(), d_fake.float(), missing)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            self.disc.requires_grad_(False)
            with self._autocast():
                loss_g = self.adv.generator(last(self.disc_net(torch.cat([candidate, full], 1))).float(), missing)
            self.disc.requires_grad_(True)
            loss = loss + self.tc.gan_weight * loss_g
            out.update(loss_d=loss_d.item(), loss_g=loss_g.item())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.sched.step()
        self._update_ema()
        indices = self.model.stage1.fsq.codes_to_indices(codes.detach()).flatten().cpu()
        self.usage += torch.bincount(indices, minlength=self.usage.numel())
        out["loss"] = loss.item()
        return out

    def _grader_step(self, full: torch.Tensor, incomplete: torch.Tensor) -> dict[str, float]:
        with torch.no_grad(), self._autocast():
            levels = self.model.stage1.fsq.codes_to_levels(self.model.stage1.encode(full).float())
        with self._autocast():
            logits = self.net(incomplete).float()
        if self.cfg.model.grader_head == "ordinal":
            loss = grading_loss(logits, levels, self.cfg.model.fsq_levels)
        else:
            parts = torch.split(logits, list(self.cfg.model.fsq_levels), dim=1)
            loss = torch.stack([torch.nn.functional.cross_entropy(p, levels[:, i]) for i, p in enumerate(parts)]).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.sched.step()
        self._update_ema()
        with torch.no_grad():
            predicted, _ = self.model.grader.decode_logits(logits.detach())
            accuracy = (predicted == levels).float().mean().item()
        return {"loss": loss.item(), "code_accuracy": accuracy}

    def _update_ema(self) -> None:
        if self.ema is not None:
            self.ema.update_parameters(self.trainable)

    def code_usage(self) -> dict[str, float]:
        counts = self.usage[self.usage > 0].double()
        if counts.numel() == 0:
            return {}
        p = counts / counts.sum()
        out = {"code_perplexity": float(torch.exp(-(p * p.log()).sum())),
               "codes_used_pct": 100.0 * counts.numel() / self.usage.numel()}
        self.usage.zero_()
        return out

    # -- validation --------------------------------------------------------------------
    @torch.no_grad()
    def validate(self, val: SliceDataset) -> dict[str, float]:
        """Mean PSNR on missing modalities over the first slices, cycling through every pattern."""
        self.model.eval()
        patterns = missing_patterns(len(self.cfg.model.modalities))
        n = min(len(val), self.tc.val_slices)
        psnrs, accs = [], []
        bs = self.tc.batch_size
        for start in range(0, n, bs):
            full = torch.stack([val[i][0] for i in range(start, min(start + bs, n))]).to(self.device)
            pattern = patterns[(start // bs) % len(patterns)]
            missing = torch.tensor(pattern, device=self.device)
            incomplete = full * (~missing).float()[None, :, None, None]
            with self._autocast():
                if self.stage == 1:
                    pred, _ = self.model.stage1(incomplete, full)
                else:
                    pred, _ = self.model.complete(incomplete)
                    levels = self.model.stage1.fsq.codes_to_levels(self.model.stage1.encode(full).float())
                    accs.append((self.model.grader.predict(incomplete)[0] == levels).float().mean().item())
            for c in torch.nonzero(missing).flatten().tolist():
                psnrs.append(slice_metrics(pred[:, c : c + 1], full[:, c : c + 1])["psnr"].mean().item())
        self.trainable.train()
        out = {"val_psnr_missing": float(np.mean(psnrs))}
        if accs:
            out["val_code_accuracy"] = float(np.mean(accs))
        return out

    # -- outputs -----------------------------------------------------------------------
    def save_model(self, metrics: dict[str, float]) -> None:
        state = self.model.state_dict()
        if self.stage == 1:
            state = {k: v for k, v in state.items() if k.startswith("stage1.")}
        info = {
            "name": self.args.output.name,
            "training": {
                "config": self.cfg.to_dict(),
                "data": str(self.args.data),
                "command": shlex.join(["codebrain-train", *sys.argv[1:]]),
                "seed": self.args.seed,
                "step": self.step,
                "device": str(self.device),
                "accelerator": torch.cuda.get_device_name(self.device) if self.cuda else platform.processor() or "cpu",
                "torch": torch.__version__,
                "world_size": self.ctx.world,
                "host": socket.gethostname(),
                "wall_time_s": round(time.time() - self.started, 1),
            },
            "metrics": metrics,
        }
        if self.init_info:
            info["training"]["init"] = self.init_info
        if self.stage == 2:
            # --stage1 may name a complete model, whose own grader run is not the Stage I it holds
            prefix = "stage1_" if self.stage1_info["stage"] == 2 else ""
            info["stage1_training"] = self.stage1_info.get(f"{prefix}training")
            info["stage1_metrics"] = self.stage1_info.get(f"{prefix}metrics")
        save_model_dir(self.args.output, state, self.cfg.model, self.stage, info)


def _log(output: Path, row: dict[str, float], writer) -> None:
    path = output / "log.csv"
    fields = ["step", "elapsed_s", "lr", "loss", "psnr_missing", "loss_d", "loss_g", "code_accuracy", "code_perplexity",
              "codes_used_pct", "val_psnr_missing", "val_code_accuracy"]
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerow(row)
    for key, value in row.items():
        if key != "step":
            writer.add_scalar(key, value, row["step"])


def train(args: argparse.Namespace) -> int:
    try:
        cfg = _apply_overrides(load_config(args.config), args)
    except ValueError as err:
        raise UserError(str(err), EXIT_USAGE) from None
    if args.stage == "stage2" and args.stage1 is None:
        raise UserError("stage2 needs --stage1 RUN1 (the Stage I run folder)", EXIT_USAGE)
    ctx = Distributed(args.device)
    try:
        return _train(args, cfg, ctx)
    finally:
        ctx.close()


def _train(args: argparse.Namespace, cfg: Config, ctx: Distributed) -> int:
    train_cache, val_cache = _caches(args, cfg, ctx)
    trainer = Trainer(args, cfg, ctx)
    output = args.output
    if args.resume:
        if not trainer.load_checkpoint():
            raise UserError(f"--resume: {output} has no checkpoint")
    elif (output / "checkpoints").exists() and any((output / "checkpoints").iterdir()):
        raise UserError(f"{output} already holds checkpoints; use --resume or another --output", EXIT_USAGE)
    if ctx.main:
        output.mkdir(parents=True, exist_ok=True)
        (output / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    trainer.started = time.time()
    tc = cfg.train
    dataset = SliceDataset(train_cache, augment=tc.augment, crop=tc.crop_size, intensity=tc.intensity_augmentation)
    val = SliceDataset(val_cache)
    sampler = SeededSampler(len(dataset), tc.batch_size, args.seed, trainer.step, ctx.rank, ctx.world)
    loader = DataLoader(dataset, batch_size=tc.batch_size, sampler=sampler, num_workers=tc.workers,
                        pin_memory=trainer.cuda, persistent_workers=tc.workers > 0)
    writer = None
    if ctx.main:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(output / "tb"), purge_step=trainer.step or None)
    n_mods = len(cfg.model.modalities)
    trainer.trainable.train()
    progress = tqdm(total=tc.steps, initial=trainer.step, desc=f"{args.stage}", unit="step",
                    disable=None if ctx.main else True)
    running: dict[str, list[float]] = {}
    batches = iter(loader)
    deadline = trainer.started + 60 * args.time_limit if args.time_limit else float("inf")
    while trainer.step < tc.steps:
        full, view = trainer._batch_to_device(next(batches))
        pattern = random_pattern(np.random.default_rng([args.seed, trainer.step, 1]), n_mods)
        out = trainer.train_step(full, view, pattern)
        trainer.step += 1
        for k, v in out.items():
            running.setdefault(k, []).append(v)
        out_of_time = args.time_limit is not None and ctx.mean(float(time.time() > deadline)) > 0  # all ranks agree
        is_last = trainer.step == tc.steps or out_of_time
        if trainer.step % tc.log_every == 0 or is_last:
            row = {"step": trainer.step, "elapsed_s": round(time.time() - trainer.started, 1),
                   "lr": trainer.sched.get_last_lr()[0]}
            row.update({k: ctx.mean(float(np.mean(v))) for k, v in running.items()})
            if trainer.stage == 1:
                row.update(trainer.code_usage())
            running.clear()
            if trainer.step % tc.val_every == 0 or is_last:
                if not ctx.same_weights(trainer.trainable):
                    raise UserError(f"the {ctx.world} ranks hold different weights at step {trainer.step}; "
                                    "a node or its software differs from the others", 1)
                if ctx.world > 1 and ctx.main:
                    tqdm.write(f"codebrain-train: step {trainer.step}: weights identical on all {ctx.world} ranks")
                with trainer.averaged_weights():
                    row.update(trainer.validate(val))
                    if row["val_psnr_missing"] > trainer.best:
                        trainer.best = row["val_psnr_missing"]
                        if ctx.main:
                            val_metrics = {k: round(v, 4) for k, v in row.items() if k.startswith("val_")}
                            trainer.save_model(val_metrics | {"step": trainer.step})
            if ctx.main:
                _log(output, row, writer)
            progress.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k in ("loss", "psnr_missing",
                                  "code_accuracy", "val_psnr_missing")})
        if ctx.main and (trainer.step % tc.checkpoint_every == 0 or is_last):
            trainer.save_checkpoint()
        progress.update(1)
        if out_of_time:
            tqdm.write(f"codebrain-train: --time-limit reached at step {trainer.step} of {tc.steps}; "
                       "the best validated model and a checkpoint are saved (--resume continues)")
            break
    progress.close()
    if writer is not None:
        writer.close()
    ctx.barrier()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser("codebrain-train", __doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=("stage1", "stage2"), help="which stage to train")
    parser.add_argument("--config", required=True, help="preset name (small, paper-brats, ...) or YAML file")
    parser.add_argument("--data", required=True, type=Path, help="DIR/<subject>/<Modality>.nii.gz [+ splits.json]")
    parser.add_argument("--output", required=True, type=Path, help="run folder to create")
    parser.add_argument("--stage1", type=Path, help="stage2 only: the Stage I run folder")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    parser.add_argument("--init", metavar="MODEL_DIR",
                        help="fine-tune: start this stage from a model's weights (bundled name or folder; same "
                             "architecture) instead of random ones")
    parser.add_argument("--max-steps", type=int, help="total steps (overrides the config; sets the schedule)")
    parser.add_argument("--batch-size", type=int, help="batch size per process (overrides the config)")
    parser.add_argument("--modalities", help="comma-separated modality list (overrides the config)")
    parser.add_argument("--workers", type=int, help="data loader workers per process")
    parser.add_argument("--time-limit", type=float, metavar="MINUTES",
                        help="end cleanly (validate, save, checkpoint) after this wall time, as under a "
                             "cluster job's limit; the schedule keeps its configured length")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--cache-dir", type=Path, help="slice cache (default $CODEBRAIN_CACHE or ~/.cache/codebrain)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
