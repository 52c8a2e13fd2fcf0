"""Would rescaling each synthesized volume to the inputs' convention help? (issue 13, a rejected lever)

    python benchmarks/output_calibration.py --model brats --sources stroke-cstar --work WORK \\
        [--shared ../shared/data] [--output benchmarks/recipe-validation-calibration]

Every input is divided by its brain's 99.5th percentile, so a real contrast has that percentile at
1; a synthesized volume does not (0.73 to 0.94 on real patients: a model trained on squared errors
pulls its brightest voxels toward the mean). The lever: divide each output by its own 99.5th
percentile, as the inputs are. Each volume goes through ``codebrain.inference.synthesize`` as users run it,
every input pattern the subject's files allow, and is scored by ``codebrain.evaluation.metrics.volume_metrics``
as it is and calibrated. Writes ``<model>-<source>.json`` and ``.md``. Run it on validation sources
only (the rule, fixed before measuring, is in ``RULE.md`` beside the results).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import nibabel as nib
import numpy as np

from codebrain.data.real_sources import assemble, source
from codebrain.data.volumes import brain_mask, normalise
from codebrain.evaluation.metrics import volume_metrics
from codebrain.inference.synthesize import Synthesizer
from codebrain.runtime.environment import environment

VARIANTS = ("as synthesized", "calibrated")


def score_subject(synth: Synthesizer, folder: Path) -> list[dict]:
    """Every pattern of one subject's files: both variants' metrics and the output's 99.5th percentile."""
    images = {m: nib.as_closest_canonical(nib.load(str(folder / f"{m}.nii.gz"))) for m in synth.modalities
              if (folder / f"{m}.nii.gz").exists()}
    arrays = {m: np.asarray(img.get_fdata(dtype=np.float32)) for m, img in images.items()}
    mask = brain_mask(list(arrays.values()))
    rows = []
    for n in range(1, len(images)):
        for given in itertools.combinations(images, n):
            result = synth.run({m: images[m] for m in given})
            for target, img in result.images.items():
                if target not in arrays:
                    continue
                pred = np.asarray(nib.as_closest_canonical(img).get_fdata(dtype=np.float32))
                rows.append({"subject": folder.name, "given": list(given), "target": target,
                             "p99.5": round(float(np.percentile(pred[mask], 99.5)), 3),
                             VARIANTS[0]: volume_metrics(pred, arrays[target], mask),
                             VARIANTS[1]: volume_metrics(normalise(pred, mask), arrays[target], mask)})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(model: str, name: str, rows: list[dict]) -> str:
    lines = [f"## {model} on {name}: outputs as synthesized vs calibrated (PSNR / SSIM %)", "",
             "| given -> target | output p99.5 | as synthesized | calibrated |", "|---|---|---|---|"]
    for r in rows:
        cells = " | ".join(f"{r[v]['psnr']:.2f} / {r[v]['ssim']:.1f}" for v in VARIANTS)
        lines.append(f"| {'+'.join(r['given'])} -> {r['target']} | {r['p99.5']:.2f} | {cells} |")
    means = " | ".join(f"{np.mean([r[v]['psnr'] for r in rows]):.2f} / {np.mean([r[v]['ssim'] for r in rows]):.1f}"
                       for v in VARIANTS)
    return "\n".join(lines + [f"| **mean** | | {means} |", ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="brats")
    parser.add_argument("--sources", nargs="+", required=True)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--work", type=Path, required=True, help="where the sources are laid out")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/recipe-validation-calibration"))
    args = parser.parse_args(argv)
    synth = Synthesizer(args.model, device="cpu")
    folders = assemble(args.shared, args.work / "sources", args.sources)
    args.output.mkdir(parents=True, exist_ok=True)
    for name, folder in folders.items():
        rows = [row for subject in source(name).subjects for row in score_subject(synth, folder / subject)]
        label = f"{synth.info.get('name', args.model)}-{name}"
        (args.output / f"{label}.json").write_text(json.dumps(
            {"model": args.model, "model_sha256": synth.info.get("sha256"), "source": name,
             **environment(), "rows": rows}, indent=2) + "\n")
        (args.output / f"{label}.md").write_text(markdown(args.model, name, rows))
        print(markdown(args.model, name, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
