"""How realistic and how fast the simulator is: correlation with real averages, seconds per subject.

    python benchmarks/simulator_realism.py [--spm tests/data/spm12_avg152] [--json out.json]
    python benchmarks/simulator_realism.py --figure docs/simulator.png --real ../shared/data/brats_style/TCGA-DU-7294

The figure puts one axial slice of every simulated contrast above the real ones.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from codebrain.data.modalities import MODALITIES
from codebrain.data.realism import template_correlations
from codebrain.data.simulate import SimulationOptions, simulate_subject
from codebrain.runtime.environment import environment

REAL_FILES = {"T1w": "t1n", "T1Gd": "t1c", "T2w": "t2w", "FLAIR": "t2f"}


def figure(path: Path, real_dir: Path | None, spm_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nibabel as nib

    sub = simulate_subject(5, MODALITIES, SimulationOptions(lesion_probability=1.0))
    lesion = np.isin(sub.labels, (4, 5, 6))
    z = int(np.argwhere(lesion)[:, 2].mean()) if lesion.any() else sub.labels.shape[2] // 2
    fig, axes = plt.subplots(2, len(MODALITIES), figsize=(3 * len(MODALITIES), 6.4))
    for col, modality in enumerate(MODALITIES):
        image = (sub.images[modality] * sub.brain)[:, :, z]
        axes[0, col].imshow(np.rot90(image), cmap="gray", vmax=np.percentile(image[image > 0], 99.5))
        axes[0, col].set_title(f"simulated {modality}")
        if real_dir is not None and modality in REAL_FILES:
            real = nib.as_closest_canonical(nib.load(str(real_dir / f"{REAL_FILES[modality]}.nii.gz"))).get_fdata()
            sl = real[:, :, real.shape[2] // 2 + 10]
            axes[1, col].set_title(f"real {modality} (TCGA)")
        else:
            real = nib.as_closest_canonical(nib.load(str(next(spm_dir.glob("canonical_avg152PD.nii*"))))).get_fdata()
            sl = real[:, :, real.shape[2] // 2 + 5]
            axes[1, col].set_title(f"real {modality} (avg152)")
        axes[1, col].imshow(np.rot90(sl), cmap="gray", vmax=np.percentile(sl[sl > 0], 99.5))
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=72)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spm", type=Path, default=Path(__file__).parents[1] / "tests" / "data" / "spm12_avg152")
    parser.add_argument("--subjects", type=int, default=3, help="subjects to time")
    parser.add_argument("--json")
    parser.add_argument("--figure", type=Path)
    parser.add_argument("--real", type=Path, help="folder with a real BraTS-style case for the figure")
    args = parser.parse_args()
    interior = template_correlations(args.spm)
    whole = template_correlations(args.spm, erosion_mm=0)
    times = {}
    for res in (1, 2):
        start = time.perf_counter()
        for seed in range(args.subjects):
            simulate_subject(seed, MODALITIES, SimulationOptions(resolution=res))
        times[f"{res}mm"] = round((time.perf_counter() - start) / args.subjects, 2)
    print(f"{'contrast':<10}{'r interior':>12}{'r whole brain':>15}")
    for m in interior:
        print(f"{m:<10}{interior[m]:>12.3f}{whole[m]:>15.3f}")
    print("seconds per subject (5 contrasts, lesions 50 %): " + ", ".join(f"{k}: {v}" for k, v in times.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"r_interior": interior, "r_whole_brain": whole,
                                               "seconds_per_subject": times, **environment()}, indent=2))
    if args.figure:
        figure(args.figure, args.real, args.spm)


if __name__ == "__main__":
    main()
