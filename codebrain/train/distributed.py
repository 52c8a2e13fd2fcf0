"""The process group of a training run: one process, or torchrun's many, seen the same way."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from codebrain.runtime.resources import resolve_device


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
