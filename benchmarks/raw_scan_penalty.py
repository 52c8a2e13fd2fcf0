"""The raw-scan penalty: what a user loses by bringing raw scans instead of BraTS-processed ones.

    python benchmarks/raw_scan_penalty.py --out benchmarks/raw-scan-penalty [--methods auto template] [--map auto]

TCGA-FG-6692 (CC BY 3.0) exists twice: as acquired (``examples/TCGA-FG-6692-raw``: skull on, thick
slices, each contrast on its own grid) and BraTS-processed (``../shared/data/brats_style``: skull
stripped, co-registered, 1 mm SRI24). The bundled ``brats`` synthesizes FLAIR from T1w, T1Gd and T2w
both ways: from the BraTS inputs directly, and from the raw ones through the BIDS-App's
preprocessing (``codebrain.preprocess.ants``, seeded) with each ``--skull-strip`` method. Both
outputs are scored in SRI24 against the BraTS FLAIR (the raw-path output brought there by an affine
registration of the preprocessed raw T1w to the BraTS T1w), on the same voxels: inside the BraTS
brain (what a user gets), and inside both brain masks (what is left once mask disagreement is
taken out: registration, grid, bias correction). Note: the ``brats`` model trained on this
patient, which flatters both paths alike.

The MAP path (``--map``): the same raw scans written as a DICOM study (``app.study_builder``, one
series per contrast), the MONAI Deploy application run on it as a PACS would (``.venv-map/bin/python
-m app``, ``CODEBRAIN_SKULL_STRIP`` set, seeded), its synthetic FLAIR series read back with dcm2niix
(on the reference series' grid: 0.9 x 0.9 x 5.5 mm here), and scored the same way.

Writes ``results.json`` (with the machine and package versions) and ``results.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from codebrain.evaluation.metrics import volume_metrics
from codebrain.inference.synthesize import Synthesizer
from codebrain.preprocess.ants import PrepSettings, preprocess, to_ants
from codebrain.preprocess.backend import ants_module
from codebrain.preprocess.skull_strip import SKULL_STRIP_METHODS
from codebrain.runtime.environment import write_benchmark

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "examples" / "TCGA-FG-6692-raw"
FILES = {"T1w": "t1n", "T1Gd": "t1c", "T2w": "t2w"}  # the inputs; FLAIR (t2f) is the target
SEED = 7
MAP_PYTHON = Path(os.environ.get("CODEBRAIN_MAP_PYTHON", ROOT / ".venv-map" / "bin" / "python"))
DCM2NIIX = Path(sys.executable).parent / "dcm2niix"


def _raw_path(method: str, synth: Synthesizer, fixed, fixed_mask) -> tuple[np.ndarray, np.ndarray]:
    """The raw path's FLAIR and brain mask, brought onto the BraTS grid."""
    prep = preprocess({m: nib.load(str(RAW / f"{f}.nii.gz")) for m, f in FILES.items()}, reference="T1w",
                      settings=PrepSettings(seed=SEED, skull_strip=method))
    flair = synth.run(prep.images).images["FLAIR"]
    return _to_brats(prep.images["T1w"], flair, prep.mask, fixed, fixed_mask)


def _to_brats(t1w: nib.Nifti1Image, flair: nib.Nifti1Image, mask: nib.Nifti1Image, fixed,
              fixed_mask) -> tuple[np.ndarray, np.ndarray]:
    """FLAIR and mask brought onto the BraTS grid by an affine registration of the path's T1w."""
    ants = ants_module()
    reg = ants.registration(fixed=fixed, moving=to_ants(t1w), type_of_transform="Affine",
                            mask=fixed_mask, aff_metric="mattes")

    def moved(image: nib.Nifti1Image) -> np.ndarray:
        return ants.apply_transforms(fixed, to_ants(image), reg["fwdtransforms"], interpolator="linear").numpy()

    return moved(flair), moved(mask) > 0.5


def _dcm2niix(series: Path, out: Path) -> nib.Nifti1Image:
    out.mkdir(parents=True)
    subprocess.run([str(DCM2NIIX), "-z", "y", "-f", "vol", "-o", str(out), str(series)], check=True,
                   capture_output=True)
    image = nib.load(str(out / "vol.nii.gz"))
    return nib.Nifti1Image(image.get_fdata(dtype=np.float32), image.affine)


def _map_path(method: str, fixed, fixed_mask) -> tuple[np.ndarray, np.ndarray]:
    """The MAP's FLAIR series (pixels / SCALE: the model's scale) and its brain, on the BraTS grid."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # app/ is not installed in .venv: its study builder comes from the checkout
    from app.dicom_writer import SCALE
    from app.study_builder import write_study

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_study({m: nib.load(str(RAW / f"{f}.nii.gz")) for m, f in FILES.items()}, work / "study")
        proc = subprocess.run([str(MAP_PYTHON), "-m", "app", "-i", str(work / "study"), "-o", str(work / "out")],
                              cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "CODEBRAIN_SKULL_STRIP": method, "CODEBRAIN_RANDOM_SEED": str(SEED)})
        if proc.returncode:
            raise RuntimeError(f"the MAP exited with {proc.returncode}: {proc.stderr.strip()[-500:]}")
        flair = _dcm2niix(work / "out" / "synthetic-FLAIR", work / "flair")
        t1w = _dcm2niix(work / "study" / "T1w", work / "t1w")
    values = flair.get_fdata(dtype=np.float32) / SCALE
    scaled = nib.Nifti1Image(values, flair.affine)
    brain = nib.Nifti1Image((values > 0).astype(np.float32), flair.affine)  # the series is zero outside it
    return _to_brats(t1w, scaled, brain, fixed, fixed_mask)


def measure(brats: Path, methods: list[str], map_methods: list[str]) -> dict:
    ants = ants_module()
    synth = Synthesizer("brats", device="cpu")
    truth = nib.load(str(brats / "t2f.nii.gz")).get_fdata(dtype=np.float32)
    inputs = {m: nib.load(str(brats / f"{f}.nii.gz")) for m, f in FILES.items()}
    brain = np.asarray(inputs["T1w"].dataobj) > 0
    from_brats = synth.run(inputs).images["FLAIR"].get_fdata(dtype=np.float32)
    fixed = ants.image_read(str(brats / "t1n.nii.gz"))
    fixed_mask = fixed.new_image_like(brain.astype(np.float32))
    rows: dict = {"BraTS-processed inputs": {"brain": volume_metrics(from_brats, truth, brain)}}
    runs = [(f"BIDS-App path, --skull-strip {m}", lambda m=m: _raw_path(m, synth, fixed, fixed_mask)) for m in methods]
    runs += [(f"MAP on a DICOM study, CODEBRAIN_SKULL_STRIP={m}", lambda m=m: _map_path(m, fixed, fixed_mask))
             for m in map_methods]
    for name, run in runs:
        start = time.perf_counter()
        flair, mask = run()
        both = brain & mask
        rows[name] = {
            "brain": volume_metrics(flair, truth, brain), "both_masks": volume_metrics(flair, truth, both),
            "brats_path_on_both_masks": volume_metrics(from_brats, truth, both),
            "mask_dice": round(float(2 * both.sum() / (brain.sum() + mask.sum())), 4),
            "seconds": round(time.perf_counter() - start, 1)}
        print(f"  {name}: {rows[name]}", flush=True)
    return rows


def markdown(rows: dict) -> str:
    base = rows["BraTS-processed inputs"]["brain"]
    lines = ["| FLAIR from T1w, T1Gd, T2w | PSNR dB (BraTS brain) | SSIM % | penalty dB | mask Dice | "
             "PSNR dB inside both masks: raw / BraTS path |", "|---|---|---|---|---|---|",
             f"| BraTS-processed inputs | {base['psnr']:.2f} | {base['ssim']:.1f} | | | |"]
    for name, row in list(rows.items())[1:]:
        b, both, ref = row["brain"], row["both_masks"], row["brats_path_on_both_masks"]
        lines.append(f"| {name} | {b['psnr']:.2f} | {b['ssim']:.1f} | {base['psnr'] - b['psnr']:.2f} | "
                     f"{row['mask_dice']:.3f} | {both['psnr']:.2f} / {ref['psnr']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    methods = [m for m in SKULL_STRIP_METHODS if m != "deepbet"]  # auto is deepbet on this T1w reference
    parser.add_argument("--methods", nargs="*", choices=SKULL_STRIP_METHODS, default=methods, metavar="METHOD",
                        help="skull-strip methods of the BIDS-App path (default: auto template; none: skip it)")
    parser.add_argument("--map", nargs="*", choices=SKULL_STRIP_METHODS, default=["auto"], metavar="METHOD",
                        help="skull-strip methods of the MAP path (default: auto; none: skip the MAP)")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared data folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.json and results.md")
    args = parser.parse_args(argv)
    brats = args.shared / "data" / "brats_style" / "TCGA-FG-6692"
    if not brats.is_dir():
        print(f"error: {brats} not found", file=sys.stderr)
        return 2
    if args.map and not MAP_PYTHON.exists():
        print(f"error: the MAP environment {MAP_PYTHON} is missing (scripts/setup.sh makes it)", file=sys.stderr)
        return 2
    rows = measure(brats, args.methods, args.map)
    write_benchmark(args.out, {"seed": SEED, "rows": rows}, markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
