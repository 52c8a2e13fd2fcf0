"""Draw the README's figure: three acquired contrasts, the synthesized fourth and the real one.

    python scripts/readme_figure.py [OUT.png]   (default docs/synthesis.png)

The patient is TCGA-DU-7294 (``../shared/data/brats_style``), which the bundled ``brats`` never
trained on; FLAIR is withheld and synthesized from T1w, T1Gd and T2w by the inference API, on the
whole volume, then one axial slice is shown. Credit: TCIA TCGA-LGG, CC BY 3.0.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402

from codebrain import Synthesizer  # noqa: E402
from codebrain.runtime.resources import prepare_inference  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PATIENT = ROOT.parent / "shared" / "data" / "brats_style" / "TCGA-DU-7294"
FILES = {"T1w": "t1n", "T1Gd": "t1c", "T2w": "t2w", "FLAIR": "t2f"}
SLICE = 75  # axial, mid-brain


def main(out: Path) -> None:
    images = {m: nib.load(PATIENT / f"{f}.nii.gz") for m, f in FILES.items()}
    prepare_inference()
    result = Synthesizer("brats", device="cpu").run({m: images[m] for m in ("T1w", "T1Gd", "T2w")})
    panels = [(f"given: {m}", images[m]) for m in ("T1w", "T1Gd", "T2w")]
    panels += [("synthesized: FLAIR", result.images["FLAIR"]), ("real FLAIR (withheld)", images["FLAIR"])]
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.4))
    for ax, (title, img) in zip(axes, panels):
        data = np.asarray(img.dataobj, dtype=np.float32)[:, :, SLICE]
        ax.imshow(np.rot90(data), cmap="gray", vmin=0, vmax=np.percentile(data[data > 0], 99.5))
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.suptitle("bundled brats on TCGA-DU-7294 (never seen in training; TCIA TCGA-LGG, CC BY 3.0)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "synthesis.png")
