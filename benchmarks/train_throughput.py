"""Training throughput of CodeBrain: images/s and peak memory of a Stage I and a Stage II step.

    python benchmarks/train_throughput.py --preset paper-ixi --batch-size 8 --device cuda --json out.json
    python benchmarks/train_throughput.py --preset small --batch-size 4 --size 128 --device cpu

The steps are codebrain-train's own (``Trainer.train_step`` of ``codebrain.train.trainer``: optimiser, scheduler and
logging work included); Stage I runs in its adversarial phase, the slower one.
``--compile`` wraps the networks in torch.compile; ``--channels-last`` trains in channels-last on a CPU
too (``train.channels_last_cpu``; a GPU always does). ``--anchor ref_bench.json`` (written by
``../shared/anchors/codebrain-official/bench_ref.py`` in the same device call) adds the ratio to
the published trainer at the same batch size. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from codebrain.model.config import load_config
from codebrain.model.io import save_model_dir
from codebrain.runtime.environment import environment
from codebrain.train.distributed import Distributed
from codebrain.train.stages import GraderTrainer, StageOneTrainer
from codebrain.train.trainer import RunOptions, Trainer


def peak_memory_gib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # process peak RSS


def make_trainers(preset: str, device: str, compile_: bool, workdir: Path,
                  channels_last: bool = False) -> tuple[Trainer, Trainer]:
    """The real training steps of codebrain-train, Stage I past the start of its adversarial phase."""
    cfg = load_config(preset)
    cfg = replace(cfg, train=replace(cfg.train, channels_last_cpu=channels_last or cfg.train.channels_last_cpu))
    ctx = Distributed(device)
    first = RunOptions(data=workdir, output=workdir / "stage1", seed=0)
    stage1 = StageOneTrainer(cfg, first, ctx)
    stage1.step = cfg.train.steps  # the slower phase, with the discriminator update
    state = {k: v for k, v in stage1.model.state_dict().items() if k.startswith("stage1.")}
    save_model_dir(first.output, state, cfg.model, 1, {"name": "benchmark"})
    stage2 = GraderTrainer(cfg, RunOptions(data=workdir, output=workdir / "stage2", seed=0, stage1=first.output),
                           ctx)
    for trainer in (stage1, stage2):
        if compile_:
            trainer.net = torch.compile(trainer.net)
        trainer.trainable.train()
    return stage1, stage2


def time_step(trainer: Trainer, full, pattern, device, warmup: int, iters: int) -> tuple[float, float]:
    for _ in range(warmup):
        trainer.train_step(full, full, pattern)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(iters):
        trainer.train_step(full, full, pattern)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / iters, peak_memory_gib(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--channels-last", action="store_true", help="channels-last on a CPU too")
    parser.add_argument("--stage2-batch-size", type=int, help="Stage II batch (default: --batch-size)")
    parser.add_argument("--anchor", type=Path, help="the published trainer's ref_bench.json, for the ratio")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    with tempfile.TemporaryDirectory() as tmp:
        stage1, stage2 = make_trainers(args.preset, args.device, args.compile, Path(tmp), args.channels_last)
    device, model = stage1.device, stage1.model
    n = len(model.config.modalities)
    fmt = torch.channels_last if stage1.channels_last else torch.contiguous_format
    batches = {"stage1": args.batch_size, "stage2": args.stage2_batch_size or args.batch_size}
    full = torch.rand(max(batches.values()), n, args.size, args.size, device=device).contiguous(memory_format=fmt)
    pattern = (True,) + (False,) * (n - 1)
    with FlopCounterMode(display=False) as counter:
        model.eval().complete(full[:1])
    stage1.trainable.train()
    rows = []
    anchor = json.loads(args.anchor.read_text()) if args.anchor else {}
    for name, trainer in (("stage1", stage1), ("stage2", stage2)):
        batch = batches[name]
        seconds, mem = time_step(trainer, full[:batch], pattern, device, args.warmup, args.iters)
        row = {"stage": name, "batch_size": batch, "s_per_step": round(seconds, 4),
               "images_per_s": round(batch / seconds, 2), "peak_mem_gib": round(mem, 2)}
        ref = next((r for r in anchor.get(name, []) if r["bs"] == batch), None)
        if ref is not None:  # the published trainer's step at the same batch, same card
            row["anchor_s_per_step"] = round(ref["s_per_it"], 4)
            row["speedup_vs_anchor"] = round(ref["s_per_it"] / seconds, 2)
        rows.append(row)
    result = {
        "preset": args.preset, "batch_size": args.batch_size, "size": args.size, "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else platform.processor() or platform.machine()),
        "threads": torch.get_num_threads(), "compile": args.compile,
        "channels_last": stage1.channels_last, **environment(),
        "inference_gflop_per_slice": round(counter.get_total_flops() / 1e9, 2),
        "params_stage1_m": round(sum(p.numel() for p in model.stage1.parameters()) / 1e6, 2),
        "params_grader_m": round(sum(p.numel() for p in model.grader.parameters()) / 1e6, 2),
        "steps": rows,
    }
    print(f"{args.preset} batch {args.batch_size} {args.size}x{args.size} on {result['device_name']} "
          f"({'compiled' if args.compile else 'eager'}"
          f"{', channels-last' if stage1.channels_last else ''}); "
          f"inference {result['inference_gflop_per_slice']} GFLOP/slice")
    print(f"{'stage':<8}{'batch':>6}{'s/step':>10}{'images/s':>10}{'peak GiB':>10}{'x anchor':>10}")
    for r in rows:
        ratio = f"{r['speedup_vs_anchor']:>10.2f}" if "speedup_vs_anchor" in r else f"{'-':>10}"
        print(f"{r['stage']:<8}{r['batch_size']:>6}{r['s_per_step']:>10.4f}{r['images_per_s']:>10.2f}"
              f"{r['peak_mem_gib']:>10.2f}{ratio}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
