"""Seconds to synthesize every missing modality of one 240x240x155 subject.

    python benchmarks/synthesize_speed.py [--model brats] [--device cpu] [--planes axial] [--json out.json]

Uses a real BraTS-style case when ``--case`` names one (a folder with t1n/t1c/t2w/t2f),
else a simulated subject resampled to 240x240x155. Times from one and from three inputs,
model loading excluded, after one warm-up run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from codebrain.data.simulate import SimulationOptions, simulate_subject
from codebrain.synthesize import Synthesizer

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="brats")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--planes", nargs="+", default=["axial"])
    parser.add_argument("--case", type=Path, help="BraTS-style case folder (t1n, t1c, t2w, t2f)")
    parser.add_argument("--json")
    args = parser.parse_args()
    synth = Synthesizer(args.model, device=args.device, planes=tuple(args.planes))
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
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.machine()} x{os.cpu_count()}"
    print(f"{args.model} on {device}, planes {'+'.join(args.planes)}, 240x240x155")
    for r in rows:
        print(f"{'+'.join(r['inputs']):<22} -> {'+'.join(r['synthesized']):<22} {r['seconds']:>7.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"model": args.model, "device": device, "planes": args.planes,
                                               "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
