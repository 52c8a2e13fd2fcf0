"""Training throughput of CodeBrain: images/s and peak memory of a Stage I and a Stage II step.

    python benchmarks/train_throughput.py --preset paper-ixi --batch-size 8 --device cuda --json out.json
    python benchmarks/train_throughput.py --preset small --batch-size 4 --size 128 --device cpu

Stage I steps include the discriminator update (the adversarial phase, the slower one).
``--compile`` wraps the networks in torch.compile. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from codebrain.losses import MaskedAdversarialLoss, last, make_discriminator, weighted_psnr_loss
from codebrain.model.config import load_config
from codebrain.model.networks import CodeBrain
from codebrain.model.ordinal import grading_loss


def peak_memory_gib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # process peak RSS


def make_steps(model: CodeBrain, device: torch.device, compile_: bool):
    cfg = model.config
    n = len(cfg.modalities)
    disc = make_discriminator(n).to(device)
    adv = MaskedAdversarialLoss()
    opt1 = torch.optim.AdamW(model.stage1.parameters(), lr=5e-4, betas=(0.9, 0.9))
    opt_d = torch.optim.AdamW(disc.parameters(), lr=5e-5, betas=(0.5, 0.9))
    opt2 = torch.optim.AdamW(model.grader.parameters(), lr=5e-4, betas=(0.9, 0.9))
    stage1 = torch.compile(model.stage1) if compile_ else model.stage1
    grader = torch.compile(model.grader) if compile_ else model.grader
    amp = dict(device_type="cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    def stage1_step(full: torch.Tensor, missing: torch.Tensor) -> None:
        given = (~missing).float()[:, :, None, None]
        with torch.autocast(**amp):
            fake, _ = stage1(full * given, full)
            loss, _ = weighted_psnr_loss(fake, full, missing, 20.0, 5.0)
            cand = fake * (1 - given) + full * given
            loss_d = adv.discriminator(last(disc(torch.cat([full, full], 1))).float(),
                                       last(disc(torch.cat([cand.detach(), full], 1))).float(), missing)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        with torch.autocast(**amp):
            loss = loss + 0.1 * adv.generator(last(disc(torch.cat([cand, full], 1))).float(), missing)
        opt1.zero_grad(set_to_none=True)
        loss.backward()
        opt1.step()

    def stage2_step(full: torch.Tensor, missing: torch.Tensor) -> None:
        given = (~missing).float()[:, :, None, None]
        with torch.no_grad(), torch.autocast(**amp):
            levels = model.stage1.fsq.codes_to_levels(model.stage1.encode(full).float())
        with torch.autocast(**amp):
            loss = grading_loss(grader(full * given).float(), levels, cfg.fsq_levels)
        opt2.zero_grad(set_to_none=True)
        loss.backward()
        opt2.step()

    return stage1_step, stage2_step


def time_step(step, full, missing, device, warmup: int, iters: int) -> tuple[float, float]:
    for _ in range(warmup):
        step(full, missing)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(iters):
        step(full, missing)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / iters, peak_memory_gib(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    cfg = load_config(args.preset).model
    model = CodeBrain(cfg).to(device)
    fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    model.to(memory_format=fmt)
    n = len(cfg.modalities)
    full = torch.rand(args.batch_size, n, args.size, args.size, device=device).contiguous(memory_format=fmt)
    missing = torch.zeros(args.batch_size, n, dtype=torch.bool, device=device)
    missing[:, 0] = True
    with FlopCounterMode(display=False) as counter:
        model.eval().complete(full[:1])
    model.train()
    stage1_step, stage2_step = make_steps(model, device, args.compile)
    rows = []
    for name, step in (("stage1", stage1_step), ("stage2", stage2_step)):
        seconds, mem = time_step(step, full, missing, device, args.warmup, args.iters)
        rows.append({"stage": name, "s_per_step": round(seconds, 4),
                     "images_per_s": round(args.batch_size / seconds, 2), "peak_mem_gib": round(mem, 2)})
    result = {
        "preset": args.preset, "batch_size": args.batch_size, "size": args.size, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(), "compile": args.compile, "torch": torch.__version__,
        "inference_gflop_per_slice": round(counter.get_total_flops() / 1e9, 2),
        "params_stage1_m": round(sum(p.numel() for p in model.stage1.parameters()) / 1e6, 2),
        "params_grader_m": round(sum(p.numel() for p in model.grader.parameters()) / 1e6, 2),
        "steps": rows,
    }
    print(f"{args.preset} batch {args.batch_size} {args.size}x{args.size} on {result['device_name']} "
          f"({'compiled' if args.compile else 'eager'}); inference {result['inference_gflop_per_slice']} GFLOP/slice")
    print(f"{'stage':<8}{'s/step':>10}{'images/s':>10}{'peak GiB':>10}")
    for r in rows:
        print(f"{r['stage']:<8}{r['s_per_step']:>10.4f}{r['images_per_s']:>10.2f}{r['peak_mem_gib']:>10.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
