"""Seconds to synthesize every missing modality of one 240x240x155 subject.

    python benchmarks/synthesize_speed.py [--model brats] [--device cpu] [--planes axial] [--json out.json]
    python benchmarks/synthesize_speed.py --preset paper-ixi --device cuda --anchor ref_bench.json

Uses a real BraTS-style case when ``--case`` names one (a folder with t1n/t1c/t2w/t2f),
else a simulated subject resampled to 240x240x155. Times from one and from three inputs,
model loading excluded, after one warm-up run. ``--preset`` times an untrained model of a
preset instead (speed does not depend on the weights), and adds the network alone (grader and
decoder, bf16 on CUDA) on a 155-slice 256x256 volume already on the device: the figure the
published code's ``bench_ref.py inf`` reports, whose JSON ``--anchor`` reads for the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from codebrain.data.simulate import SimulationOptions, simulate_subject
from codebrain.inference.synthesize import Synthesizer
from codebrain.model.config import load_config
from codebrain.model.io import save_model_dir
from codebrain.model.networks import CodeBrain
from codebrain.runtime.environment import environment
from codebrain.runtime.resources import prepare_inference

BRATS_FILES = {"T1w": "t1n", "T1Gd": "t1c", "T2w": "t2w", "FLAIR": "t2f"}


def subject(modalities: tuple[str, ...], case: Path | None) -> dict[str, nib.Nifti1Image]:
    if case is not None:
        return {m: nib.load(str(case / f"{BRATS_FILES[m]}.nii.gz")) for m in modalities}
    sim = simulate_subject(0, modalities, SimulationOptions(resolution=1))
    out = {}
    for m in modalities:
        data = np.zeros((240, 240, 155), np.float32)
        src = sim.images[m] * sim.brain
        sx, sy, sz = (min(a, b) for a, b in zip(src.shape, data.shape))
        data[:sx, :sy, :sz] = src[:sx, :sy, :sz]
        out[m] = nib.Nifti1Image(data, sim.affine)
    return out


def untrained(preset: str, folder: Path) -> Path:
    """A complete model directory of ``preset`` with its initial weights."""
    cfg = load_config(preset).model
    save_model_dir(folder, CodeBrain(cfg).state_dict(), cfg, 2, {"name": f"untrained {preset}"})
    return folder


def network_only(synth: Synthesizer, slices: int = 155, size: int = 256, repeats: int = 10) -> dict:
    """Grader + decoder over one volume's slices already on the device, batched as ``Synthesizer``."""
    n = len(synth.modalities)
    x = torch.rand(slices, n, size, size, device=synth.device).contiguous(memory_format=torch.channels_last)
    x[:, 1:] = 0  # one input given
    cuda = synth.device.type == "cuda"

    def run() -> None:
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            for first in range(0, slices, synth.batch_size):
                synth.model.complete(x[first : first + synth.batch_size])
        if cuda:
            torch.cuda.synchronize()

    run()
    runs = repeats if cuda else 1  # a CPU pass takes seconds: one is a stable figure
    start = time.perf_counter()
    for _ in range(runs):
        run()
    seconds = (time.perf_counter() - start) / runs
    return {"slices": slices, "size": size, "batch_size": synth.batch_size, "s_per_volume": round(seconds, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="brats")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--planes", nargs="+", default=["axial"])
    parser.add_argument("--case", type=Path, help="BraTS-style case folder (t1n, t1c, t2w, t2f)")
    parser.add_argument("--preset", help="time an untrained model of this preset (e.g. paper-ixi) instead")
    parser.add_argument("--batch-size", type=int, default=16, help="slices per forward pass")
    parser.add_argument("--anchor", type=Path, help="bench_ref.py's ref_bench.json, for the ratio (with --preset)")
    parser.add_argument("--json")
    args = parser.parse_args()
    prepare_inference()
    with tempfile.TemporaryDirectory() as tmp:
        model = untrained(args.preset, Path(tmp) / "model") if args.preset else args.model
        synth = Synthesizer(model, device=args.device, planes=tuple(args.planes), batch_size=args.batch_size)
    mods = synth.modalities
    images = subject(mods, args.case)
    rows = []
    for n_inputs in (1, len(mods) - 1):
        inputs = {m: images[m] for m in mods[:n_inputs]}
        synth.run(inputs)  # warm-up
        start = time.perf_counter()
        result = synth.run(inputs)
        rows.append({"inputs": list(inputs), "synthesized": list(result.images),
                     "seconds": round(time.perf_counter() - start, 2)})
    name = args.preset or args.model
    device = torch.cuda.get_device_name() if synth.device.type == "cuda" else f"{platform.machine()} x{os.cpu_count()}"
    result = {"model": name, "device": device, "planes": args.planes, **environment(), "rows": rows}
    print(f"{name} on {device}, planes {'+'.join(args.planes)}, 240x240x155")
    for r in rows:
        print(f"{'+'.join(r['inputs']):<22} -> {'+'.join(r['synthesized']):<22} {r['seconds']:>7.2f} s")
    if args.preset:
        net = result["network_only"] = network_only(synth)
        line = f"network alone, {net['slices']} slices {net['size']}x{net['size']}: {net['s_per_volume']:.3f} s"
        if args.anchor:
            ref = next(r for r in json.loads(args.anchor.read_text())["infer"] if r["amp_bf16"])
            net["anchor_s_per_volume"] = round(ref["s_per_volume"], 4)
            net["speedup_vs_anchor"] = round(ref["s_per_volume"] / net["s_per_volume"], 2)
            line += f" (published code, bf16: {ref['s_per_volume']:.3f} s; {net['speedup_vs_anchor']:.2f}x)"
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
