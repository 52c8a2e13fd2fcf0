"""Turn the public IXI and BraTS 2023 layouts into a training folder (``codebrain-prepare``).

BraTS cases are already co-registered and skull-stripped: files are renamed into
``DIR/<case>/<Modality>.nii.gz``. IXI's T1 is acquired on another grid than its T2 and PD (which
share the dual-echo grid), so it is registered rigidly to the T2 with ANTs and resampled onto it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from codebrain.data.modalities import BRATS_SUFFIXES, IXI_SUFFIXES
from codebrain.errors import NoInputError, UsageError

BRATS_FILE = re.compile(r"^(?:(?P<case>.+?)[-_])?(?P<suffix>t1n|t1c|t2w|t2f|t1ce|t1|t2|flair)\.nii(\.gz)?$", re.I)
IXI_FILE = re.compile(r"^(?P<case>IXI\d+-[A-Za-z]+-\d+)-(?P<suffix>T1|T2|PD)\.nii(\.gz)?$")


def find_cases(root: Path, pattern: re.Pattern, table: dict[str, str]) -> dict[str, dict[str, Path]]:
    cases: dict[str, dict[str, Path]] = {}
    for path in sorted(root.rglob("*.nii*")):
        m = pattern.match(path.name)
        if m:
            suffix = m["suffix"] if pattern is IXI_FILE else m["suffix"].lower()
            case = m["case"] or path.parent.name  # BraTS-GLI-x/BraTS-GLI-x-t1n or TCGA-x/t1n
            cases.setdefault(case, {})[table[suffix]] = path
    return cases


def make_splits(subjects: list[str], val: float, test: float, seed: int) -> dict[str, list[str]]:
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise UsageError("--val and --test are fractions whose sum is below 1")
    order = list(np.random.default_rng(seed).permutation(sorted(subjects)))
    n_test, n_val = round(test * len(order)), round(val * len(order))
    return {"train": sorted(order[n_test + n_val:]), "val": sorted(order[n_test:n_test + n_val]),
            "test": sorted(order[:n_test])}


def _copy_nifti(src: Path, dst: Path) -> None:
    import nibabel as nib

    if src.name.endswith(".nii.gz"):
        shutil.copyfile(src, dst)
    else:
        nib.save(nib.load(str(src)), str(dst))


def prepare_brats(cases: dict[str, dict[str, Path]], output: Path) -> None:
    for case, files in tqdm(cases.items(), desc="BraTS cases", unit="case", disable=None):
        (output / case).mkdir(parents=True, exist_ok=True)
        for modality, src in files.items():
            _copy_nifti(src, output / case / f"{modality}.nii.gz")


def prepare_ixi(cases: dict[str, dict[str, Path]], output: Path) -> None:
    try:
        import ants
    except ImportError:
        raise UsageError("IXI preparation registers T1 to T2 with ANTs: pip install antspyx") from None
    for case, files in tqdm(cases.items(), desc="IXI subjects", unit="subject", disable=None):
        if "T2w" not in files:
            tqdm.write(f"codebrain-prepare: {case} has no T2; skipped")
            continue
        (output / case).mkdir(parents=True, exist_ok=True)
        fixed = ants.image_read(str(files["T2w"]))
        for modality, src in files.items():
            dst = output / case / f"{modality}.nii.gz"
            if modality == "T1w":
                moving = ants.image_read(str(src))
                reg = ants.registration(fixed=fixed, moving=moving, type_of_transform="Rigid")
                ants.image_write(ants.apply_transforms(fixed, moving, reg["fwdtransforms"], interpolator="bSpline"),
                                 str(dst))
            else:
                _copy_nifti(src, dst)


def prepare(layout: str, source: Path, output: Path, val: float, test: float, seed: int) -> dict[str, list[str]]:
    """Write the training folder ``output`` from the ``layout`` ("brats" or "ixi") files under ``source``."""
    if not source.is_dir():
        raise NoInputError(f"--input {source} is not a folder")
    pattern, table = (BRATS_FILE, BRATS_SUFFIXES) if layout == "brats" else (IXI_FILE, IXI_SUFFIXES)
    cases = find_cases(source, pattern, table)
    if not cases:
        raise NoInputError(f"no {layout.upper()} files found under {source}")
    output.mkdir(parents=True, exist_ok=True)
    (prepare_brats if layout == "brats" else prepare_ixi)(cases, output)
    done = sorted(p.name for p in output.iterdir() if p.is_dir())
    splits = make_splits(done, val, test, seed)
    (output / "splits.json").write_text(json.dumps(splits, indent=2) + "\n")
    return splits
