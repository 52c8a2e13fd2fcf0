"""Training one stage: the loop, validation, checkpoints and the time limit in :class:`Trainer`.

What is trained and what one step does live in its subclasses (:mod:`codebrain.train.stages`),
which override the hooks named ``_prepare``, ``_step``, ``_predict`` and the checkpoint ones. A
run is reproducible from its seed and resumable bit for bit: batches and missing patterns depend
only on the step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import platform
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import yaml
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader
from tqdm import tqdm

from codebrain.data.patterns import missing_patterns, random_pattern
from codebrain.data.slices import SeededSampler, SliceCache, SliceDataset, build_slice_cache
from codebrain.data.volumes import split_subjects
from codebrain.errors import CodeBrainError, DataError, UsageError
from codebrain.evaluation.metrics import slice_metrics
from codebrain.model.config import Config
from codebrain.model.io import load_model_dir, save_model_dir
from codebrain.model.networks import CodeBrain
from codebrain.runtime.environment import software_versions
from codebrain.train.distributed import Distributed
from codebrain.train.log import TrainingLog

KEEP_CHECKPOINTS = 2
STAGE1_NEEDED = "stage2 needs --stage1 RUN1 (the Stage I run folder)"
DECODER_NEEDS_MODEL = "decoder needs --init MODEL (a complete model: bundled name or Stage II run folder)"


@dataclass(frozen=True)
class RunOptions:
    """Where a run reads and writes and how it starts: what the command line adds to the config."""

    data: Path  # DIR/<subject>/<Modality>.nii.gz [+ splits.json]
    output: Path  # the run folder
    seed: int = 1337
    stage1: Path | None = None  # Stage II: the Stage I run (or a complete model) to build on
    init: str | None = None  # fine-tuning: start from this model's weights
    resume: bool = False
    time_limit: float | None = None  # minutes of wall time, then end cleanly
    cache_dir: Path | None = None
    command: str = ""  # as the user typed it, recorded in model.json


def load_caches(opts: RunOptions, cfg: Config, ctx: Distributed) -> tuple[SliceCache, SliceCache]:
    """Training and validation slices (one process reads the NIfTI files; the others map the cache)."""
    mods = cfg.model.modalities
    train_subjects = split_subjects(opts.data, "train")
    has_val = (opts.data / "splits.json").exists()
    val_subjects = (split_subjects(opts.data, "val") if has_val else []) or train_subjects[:1]

    def build() -> tuple[SliceCache, SliceCache]:
        train, val = (build_slice_cache(opts.data, subjects, mods, cfg.train.image_size, opts.cache_dir)
                      for subjects in (train_subjects, val_subjects))
        return train, val

    caches = build() if ctx.main else None
    ctx.barrier()
    train, val = caches or build()
    return _complete_only(train, "training"), _complete_only(val, "validation")


def _complete_only(cache: SliceCache, what: str) -> SliceCache:
    """Training needs every modality of a slice: Stage I encodes the full stack."""
    keep = np.asarray(cache.present.all(axis=1), dtype=bool)
    if not keep.any():
        raise DataError(f"no {what} subject has every modality of the model")
    if keep.all():
        return cache
    dropped = sorted({s for s, k in zip(cache.subjects, keep.tolist()) if not k})
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
    """One stage of training; subclasses name the trained module and define one step."""

    stage: ClassVar[int]
    label: ClassVar[str]

    def __init__(self, cfg: Config, opts: RunOptions, ctx: Distributed) -> None:
        self.cfg, self.opts, self.ctx = cfg, opts, ctx
        self.tc = cfg.train
        self.device = ctx.device
        self.cuda = self.device.type == "cuda"
        self.channels_last = self.cuda or self.tc.channels_last_cpu
        torch.manual_seed(opts.seed)
        self.model = CodeBrain(cfg.model)
        self.trainable = self._prepare()
        self.init_info = self._init_from(opts.init) if opts.init else None
        self.model.to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # the stub lacks it
        self.opt = torch.optim.AdamW(self.trainable.parameters(), lr=self.tc.lr, betas=self.tc.betas,
                                     weight_decay=self.tc.weight_decay)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=self.tc.steps, eta_min=self.tc.lr_min)
        self._add_modules()
        # the EMA copy is what validation scores and what ships: it smooths the last steps'
        # noise, which a short schedule with a high learning rate leaves in the weights
        self.ema = None
        if self.tc.ema_decay > 0:
            self.ema = AveragedModel(self.trainable, multi_avg_fn=ema_with_warmup(self.tc.ema_decay))
        self.net = self._parallel(self.trainable)
        self.step = 0
        self.best = -float("inf")
        self.started = time.time()

    # -- what a stage defines ----------------------------------------------------------
    def _prepare(self) -> torch.nn.Module:
        """Set the model up for this stage; returns the module that is trained."""
        raise NotImplementedError

    def _add_modules(self) -> None:
        """Modules trained beside the model (created after the optimiser: the RNG order is part of a seed)."""

    def _step(self, full: torch.Tensor, incomplete: torch.Tensor, missing: torch.Tensor,
              given: torch.Tensor) -> dict[str, float]:
        """One optimisation step on a batch; returns the numbers to log."""
        raise NotImplementedError

    def _predict(self, incomplete: torch.Tensor, full: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        """Validation: the completed stack and, for the grader, its code accuracy."""
        raise NotImplementedError

    def _checkpoint_modules(self) -> dict[str, torch.nn.Module]:
        return {}

    def _checkpoint_state(self) -> dict[str, Any]:
        return {}

    def _restore_state(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`_checkpoint_state` saved."""

    def _log_extras(self) -> dict[str, float]:
        return {}

    def _saved_weights(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def _info_extras(self) -> dict:
        return {}

    # -- shared parts ------------------------------------------------------------------
    def _parallel(self, module: torch.nn.Module) -> torch.nn.Module:
        if self.ctx.world == 1:
            return module
        return DistributedDataParallel(module, device_ids=[self.device] if self.cuda else None)

    def _init_from(self, spec: str) -> dict:
        """Start the trained stage from another model's weights (fine-tuning), not from random ones.

        The source must have this config's architecture; a Stage II run takes its grader (its
        own Stage I still comes from ``--stage1``), a Stage I run its Stage I.
        """
        source, info = load_model_dir(spec, stage=self.stage)
        as_plain = lambda cfg: json.loads(json.dumps(dataclasses.asdict(cfg)))  # noqa: E731 - tuples vs lists
        if as_plain(source.config) != as_plain(self.cfg.model):
            raise DataError(f"--init {spec}: its architecture differs from the config's")
        self._take_weights(source, info)
        # the source's own training record, so a chain of runs (a grader trained further) stays traceable
        return {"model": str(spec), "sha256": info["sha256"], "training": info.get("training")}

    def _take_weights(self, source: CodeBrain, info: dict) -> None:
        """Fine-tuning: copy what this stage trains from the ``--init`` model."""
        self.trainable.load_state_dict((source.stage1 if self.stage == 1 else source.grader).state_dict())

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cuda)

    def _optimise(self, loss: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.sched.step()
        if self.ema is not None:
            self.ema.update_parameters(self.trainable)

    def train_step(self, full: torch.Tensor, view: torch.Tensor, missing_row: tuple[bool, ...]) -> dict[str, float]:
        """``view`` is the intensity-augmented input stack; the modalities in ``missing_row`` are withheld."""
        missing = torch.tensor(missing_row, device=self.device).expand(full.shape[0], -1)
        given = (~missing).float()[:, :, None, None]
        return self._step(full, view * given, missing, given)

    @contextlib.contextmanager
    def averaged_weights(self) -> Iterator[None]:
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
                pred, accuracy = self._predict(incomplete, full)
            if accuracy is not None:
                accs.append(accuracy)
            for c in torch.nonzero(missing).flatten().tolist():
                psnrs.append(slice_metrics(pred[:, c : c + 1], full[:, c : c + 1])["psnr"].mean().item())
        self.trainable.train()
        out = {"val_psnr_missing": float(np.mean(psnrs))}
        if accs:
            out["val_code_accuracy"] = float(np.mean(accs))
        return out

    # -- checkpoints and the model directory --------------------------------------------
    def _modules(self) -> dict[str, torch.nn.Module]:
        mods = {"model": self.trainable, **self._checkpoint_modules()}
        if self.ema is not None:
            mods["ema"] = self.ema
        return mods

    def save_checkpoint(self) -> None:
        folder = self.opts.output / "checkpoints" / f"step-{self.step:07d}"
        tmp = folder.with_name(f".part-{folder.name}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, module in self._modules().items():
            save_file({k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()},
                      str(tmp / f"{name}.safetensors"))
        state = {"step": self.step, "best": self.best, "opt": self.opt.state_dict(),
                 "sched": self.sched.state_dict(), **self._checkpoint_state()}
        torch.save(state, tmp / "state.pt")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        for old in sorted((self.opts.output / "checkpoints").glob("step-*"))[:-KEEP_CHECKPOINTS]:
            shutil.rmtree(old)

    def load_checkpoint(self) -> bool:
        found = sorted((self.opts.output / "checkpoints").glob("step-*"))
        if not found:
            return False
        folder = found[-1]
        for name, module in self._modules().items():
            module.load_state_dict(load_file(str(folder / f"{name}.safetensors"), device=str(self.device)))
        state = torch.load(folder / "state.pt", map_location=self.device, weights_only=True)
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.step, self.best = state["step"], state["best"]
        self._restore_state(state)
        return True

    def save_model(self, metrics: dict[str, float]) -> None:
        info: dict[str, Any] = {
            "name": self.opts.output.name,
            "training": {
                "config": self.cfg.to_dict(),
                "data": str(self.opts.data),
                "command": self.opts.command,
                "seed": self.opts.seed,
                "step": self.step,
                "device": str(self.device),
                "accelerator": torch.cuda.get_device_name(self.device) if self.cuda else platform.processor() or "cpu",
                "software": software_versions(),  # torch and every other package that shapes the weights
                "world_size": self.ctx.world,
                "host": socket.gethostname(),
                "wall_time_s": round(time.time() - self.started, 1),
            },
            "metrics": metrics,
        }
        if self.init_info:
            info["training"]["init"] = self.init_info
        info.update(self._info_extras())
        save_model_dir(self.opts.output, self._saved_weights(), self.cfg.model, self.stage, info)

    # -- the run -------------------------------------------------------------------------
    def start(self) -> None:
        """Resume from the newest checkpoint (``--resume``) or start a fresh run folder."""
        output = self.opts.output
        if self.opts.resume:
            if not self.load_checkpoint():
                raise DataError(f"--resume: {output} has no checkpoint")
        elif (output / "checkpoints").exists() and any((output / "checkpoints").iterdir()):
            raise UsageError(f"{output} already holds checkpoints; use --resume or another --output")
        if self.ctx.main:
            output.mkdir(parents=True, exist_ok=True)
            (output / "config.yaml").write_text(yaml.safe_dump(self.cfg.to_dict(), sort_keys=False))
        self.started = time.time()

    def fit(self, train_cache: SliceCache, val_cache: SliceCache) -> None:
        """Train to the configured number of steps (or the time limit), validating, saving the best
        (EMA) model and checkpointing on the way."""
        self.start()
        tc, ctx = self.tc, self.ctx
        dataset = SliceDataset(train_cache, augment=tc.augment, crop=tc.crop_size,
                               intensity=tc.intensity_augmentation)
        val = SliceDataset(val_cache)
        sampler = SeededSampler(len(dataset), tc.batch_size, self.opts.seed, self.step, ctx.rank, ctx.world)
        loader = DataLoader(dataset, batch_size=tc.batch_size, sampler=sampler, num_workers=tc.workers,
                            pin_memory=self.cuda, persistent_workers=tc.workers > 0)
        log = TrainingLog(self.opts.output, self.step) if ctx.main else None
        n_mods = len(self.cfg.model.modalities)
        self.trainable.train()
        progress = tqdm(total=tc.steps, initial=self.step, desc=self.label, unit="step",
                        disable=None if ctx.main else True)
        running: dict[str, list[float]] = {}
        batches = iter(loader)
        limit = self.opts.time_limit
        deadline = self.started + 60 * limit if limit else float("inf")
        while self.step < tc.steps:
            full, view = self._to_device(next(batches))
            pattern = random_pattern(np.random.default_rng([self.opts.seed, self.step, 1]), n_mods)
            out = self.train_step(full, view, pattern)
            self.step += 1
            for k, v in out.items():
                running.setdefault(k, []).append(v)
            out_of_time = limit is not None and ctx.mean(float(time.time() > deadline)) > 0  # all ranks agree
            is_last = self.step == tc.steps or out_of_time
            if self.step % tc.log_every == 0 or is_last:
                row: dict[str, float] = {"step": self.step, "elapsed_s": round(time.time() - self.started, 1),
                                         "lr": float(self.sched.get_last_lr()[0])}
                row.update({k: ctx.mean(float(np.mean(v))) for k, v in running.items()})
                row.update(self._log_extras())
                running.clear()
                if self.step % tc.val_every == 0 or is_last:
                    row.update(self._validate_and_keep_best(val))
                if log is not None:
                    log.write(row)
                progress.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k in ("loss", "psnr_missing",
                                      "code_accuracy", "val_psnr_missing")})
            if ctx.main and (self.step % tc.checkpoint_every == 0 or is_last):
                self.save_checkpoint()
            progress.update(1)
            if out_of_time:
                tqdm.write(f"codebrain-train: --time-limit reached at step {self.step} of {tc.steps}; "
                           "the best validated model and a checkpoint are saved (--resume continues)")
                break
        progress.close()
        if log is not None:
            log.close()
        ctx.barrier()

    def _to_device(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        full, view, _ = (t.to(self.device, non_blocking=True) for t in batch)
        if self.channels_last:
            full = full.contiguous(memory_format=torch.channels_last)
            view = view.contiguous(memory_format=torch.channels_last)
        return full, view

    def _validate_and_keep_best(self, val: SliceDataset) -> dict[str, float]:
        ctx = self.ctx
        if not ctx.same_weights(self.trainable):
            raise CodeBrainError(f"the {ctx.world} ranks hold different weights at step {self.step}; "
                                 "a node or its software differs from the others")
        if ctx.world > 1 and ctx.main:
            tqdm.write(f"codebrain-train: step {self.step}: weights identical on all {ctx.world} ranks")
        with self.averaged_weights():
            metrics = self.validate(val)
            if metrics["val_psnr_missing"] > self.best:
                self.best = metrics["val_psnr_missing"]
                if ctx.main:
                    self.save_model({k: round(v, 4) for k, v in metrics.items()} | {"step": self.step})
        return metrics
