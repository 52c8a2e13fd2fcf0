"""The real patients of ``../shared/data`` as evaluation (and, where licensed, training) folders.

Generalisation is measured per *source* (a site, scanner and era), not per patient: a model
that learned one site's intensities looks fine on that site's next patient and fails on the
next site. Each source below is laid out as ``OUT/<source>/<subject>/<Modality>.nii.gz``, the
training-folder layout every CodeBrain command reads, with the licence that decides whether
shipped weights may learn from it. Co-registered, skull-stripped sources are linked, not
copied (non-commercial images never enter the repository or a model folder); the one source
as acquired (``mccausland-chris``: T1w and PDw on their own grids, skull on) goes through the
project's own preprocessing (N4, rigid ANTs registration of the PDw to the T1w, template
skull stripping), as a user's raw scans would, with a fixed ANTs seed so that a benchmark
table is repeatable bit for bit. The preparation is recorded in the subject folder; a folder
prepared otherwise is prepared again. (Measured on McCausland: seeds 7, 11 and 2026 move the
scores by at most 0.01 dB; the preprocessing code itself moved them by up to 1.8 dB when N4
changed, which is why a table must be re-measured after any change to ``codebrain.preprocess.ants``.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from codebrain.data.modalities import BRATS_SUFFIXES
from codebrain.data.volumes import read_nifti, save_nifti
from codebrain.errors import DataError, NoInputError

PREP_SEED = 2026  # ANTs seed of the raw sources' preprocessing (seeded runs are single-threaded)
PREP_RECORD = "prep.json"  # in a prepared subject folder: the settings it was prepared with


@dataclass(frozen=True)
class Source:
    name: str
    folder: str  # under the shared data root
    subjects: tuple[str, ...]
    files: dict[str, str]  # modality -> file name inside a subject folder
    licence: str
    trainable: bool  # may shipped weights be trained on it
    raw: bool = False  # as acquired: needs co-registration and skull stripping

    def path(self, root: Path, subject: str, modality: str) -> Path:
        return root / self.folder / subject / self.files[modality]


_BRATS_FILES = {modality: f"{suffix}.nii.gz" for suffix, modality in BRATS_SUFFIXES.items()
                if suffix in ("t1n", "t1c", "t2w", "t2f")}
SOURCES: tuple[Source, ...] = (
    Source("tcga", "brats_style", ("TCGA-DU-7294", "TCGA-FG-6692"), _BRATS_FILES, "CC BY 3.0", True),
    Source("stroke-cstar", "multisite", ("stroke-cstar",), {m: f"{m}.nii.gz" for m in ("T1w", "T2w", "FLAIR")},
           "MIT", True),
    Source("brats2013", "multisite/brats2013", ("pat0001", "pat0002", "pat0003"),
           {m: f"{m}.nii.gz" for m in ("FLAIR", "T1Gd")}, "CC BY-NC-SA 3.0 CH", False),
    Source("mccausland-chris", "multisite", ("mccausland-chris",), {m: f"{m}.nii.gz" for m in ("T1w", "PDw")},
           "CC BY-NC 4.0", False, raw=True),
)


def source(name: str) -> Source:
    for s in SOURCES:
        if s.name == name:
            return s
    raise DataError(f"unknown source {name!r}; known: {', '.join(s.name for s in SOURCES)}")


def assemble(shared: Path, out: Path, names: list[str] | None = None, seed: int = PREP_SEED) -> dict[str, Path]:
    """Lay out the named sources (default all) under ``out``; returns source name -> folder.

    Idempotent: a subject folder that already holds every file is kept, so the registration
    of the raw source runs once per work folder; a raw subject prepared with another seed (or
    none) is prepared again, so a cached folder never stands in for a different preparation.
    """
    if not (shared / "README.md").exists():
        raise NoInputError(f"{shared} is not the shared data folder (no README.md)")
    folders = {}
    for src in (source(n) for n in (names or [s.name for s in SOURCES])):
        for subject in src.subjects:
            target = out / src.name / subject
            if all((target / f"{m}.nii.gz").exists() for m in src.files) and (
                    not src.raw or _prepared_with(target) == _preparation(seed)):
                continue
            missing = [p for p in (src.path(shared, subject, m) for m in src.files) if not p.exists()]
            if missing:
                raise NoInputError(f"source {src.name}: {missing[0]} does not exist")
            target.mkdir(parents=True, exist_ok=True)
            if src.raw:
                _preprocess_raw(src, shared, subject, target, seed)
            else:
                for modality in src.files:
                    link = target / f"{modality}.nii.gz"
                    link.unlink(missing_ok=True)
                    link.symlink_to(src.path(shared, subject, modality).resolve())
        folders[src.name] = out / src.name
    return folders


# The brain extraction the model cards' McCausland figures were measured with (the BIDS-App's default
# became deepbet later): changing it changes those figures, so it changes only with a re-measurement.
CARD_SKULL_STRIP = "template"


def _preparation(seed: int) -> dict:
    """What ``PREP_RECORD`` holds for a preparation, so writing and comparing it cannot drift apart."""
    return {"seed": seed, "skull_strip": CARD_SKULL_STRIP}


def _prepared_with(target: Path) -> dict | None:
    record = target / PREP_RECORD
    return json.loads(record.read_text()) if record.exists() else None


def _preprocess_raw(src: Source, shared: Path, subject: str, target: Path, seed: int) -> None:
    """N4, rigid registration onto the first modality's grid and skull stripping (``CARD_SKULL_STRIP``).

    The brain is then cut to where every contrast has data: a thick-slice PDw covers less
    of the head than the 3D T1w, and slices beyond its field of view would be scored as
    black targets.
    """
    from codebrain.preprocess.ants import PrepSettings, preprocess

    (target / PREP_RECORD).unlink(missing_ok=True)
    images = {m: read_nifti(src.path(shared, subject, m), f"{subject} {m}") for m in src.files}
    result = preprocess(images, reference=next(iter(src.files)),
                        settings=PrepSettings(seed=seed, skull_strip=CARD_SKULL_STRIP))
    arrays = {m: img.get_fdata(dtype=np.float32) for m, img in result.images.items()}
    covered = ndimage.binary_fill_holes(np.all([a > 0 for a in arrays.values()], axis=0))
    for modality, array in arrays.items():
        save_nifti(array * covered, result.images[modality].affine, target / f"{modality}.nii.gz")
    (target / PREP_RECORD).write_text(json.dumps(_preparation(seed)) + "\n")
