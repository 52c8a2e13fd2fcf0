"""Which anatomical images of a BIDS dataset feed CodeBrain: pybids queries, labels, filters.

A modality is a pybids query (``T1Gd`` is a ``T1w`` with any ``ce-`` label, ``T1w`` one
without). A site narrows the queries with an fMRIPrep-style filter file, one entry per
modality in lower case: ``{"t1w": {"acquisition": "mprage"}, "flair": {"run": 2}}``.

When a session has several images of one modality, one is used, by this rule: the finest
grid (smallest voxel volume) first, then the highest ``run``, then the file name. That
keeps a high-resolution 3D acquisition over a thick-slice 2D one, and a repeat (run-2)
over the run it replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np

from bids_app.derivatives import NamedSession
from bids_app.exit_codes import NothingSelectedError
from codebrain.data.modalities import MODALITIES
from codebrain.errors import DataError, NoInputError, UsageError

# pybids entity queries per modality (the suffix, and the ce- entity: pybids calls it ceagent)
QUERIES: dict[str, dict] = {
    "T1w": {"suffix": "T1w", "ceagent": None},
    "T1Gd": {"suffix": "T1w", "ceagent": "ANY"},
    "T2w": {"suffix": "T2w"},
    "PDw": {"suffix": "PDw"},
    "FLAIR": {"suffix": "FLAIR"},
}


@dataclass
class Session(NamedSession):
    """One subject (and session) with the image chosen per modality, and what was passed over."""

    subject: str
    session: str | None
    images: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, list[Path]] = field(default_factory=dict)


def strip_prefix(labels: list[str] | None, prefix: str) -> list[str] | None:
    """Labels may be given with or without ``sub-`` / ``ses-``."""
    if not labels:
        return None
    return [label[len(prefix):] if label.startswith(prefix) else label for label in labels]


def load_filters(path: Path | None) -> dict[str, dict]:
    if path is None:
        return {}
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise NoInputError(f"--bids-filter-file {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise UsageError(f"--bids-filter-file {path} is not valid JSON ({err.msg}, line {err.lineno})") from None
    names = {m.lower(): m for m in MODALITIES}
    if not isinstance(raw, dict) or any(not isinstance(v, dict) for v in raw.values()):
        raise UsageError(f"--bids-filter-file {path}: expected {{\"t1w\": {{...}}, ...}}")
    unknown = [k for k in raw if k.lower() not in names]
    if unknown:
        raise UsageError(f"--bids-filter-file {path}: unknown modality {unknown[0]!r} "
                         f"(use {', '.join(sorted(names))})")
    return {names[k.lower()]: v for k, v in raw.items()}


def open_layout(bids_dir: Path):
    """A pybids layout of the raw dataset; it never writes into the dataset (no database file)."""
    from bids import BIDSLayout

    if not bids_dir.is_dir():
        raise NoInputError(f"BIDS_DIR {bids_dir} does not exist or is not a folder")
    if not (bids_dir / "dataset_description.json").is_file():
        raise DataError(f"{bids_dir} is not a BIDS dataset (no dataset_description.json)")
    try:
        return BIDSLayout(str(bids_dir), validate=False, derivatives=False)
    except Exception as err:  # pybids raises several types for malformed datasets
        raise DataError(f"{bids_dir} is not a readable BIDS dataset: {err}") from None


def _voxel_volume(path: Path) -> float:
    try:
        return float(np.prod(nib.load(str(path)).header.get_zooms()[:3]))
    except Exception:  # an unreadable file is reported when the workflow reads it
        return float("inf")


def pick(files: list) -> tuple[Path, list[Path]]:
    """The documented rule: finest grid, then highest run, then name. Returns (chosen, passed over)."""
    ranked = sorted(files, key=lambda f: (_voxel_volume(Path(f.path)), -int(f.entities.get("run", 0) or 0), f.path))
    return Path(ranked[0].path), [Path(f.path) for f in ranked[1:]]


def _narrow(query: dict, rules: dict, subject: str, session: str | None) -> bool:
    """Apply a filter-file entry: subject and session may only narrow the loop's own, other keys override.

    Returns False when the entry excludes this subject/session altogether."""
    for key, current in (("subject", subject), ("session", session)):
        if key in rules:
            allowed = rules[key] if isinstance(rules[key], list) else [rules[key]]
            if current not in [str(a) for a in allowed]:
                return False
    query.update({k: v for k, v in rules.items() if k not in ("subject", "session")})
    return True


def collect(layout, participant_labels: list[str] | None, session_labels: list[str] | None,
            filters: dict[str, dict], modalities: tuple[str, ...] = MODALITIES) -> list[Session]:
    """Every selected subject/session with its images.

    A participant or session label that matches nothing exits 18, the BIDS-Apps execution spec's
    code for "entity-based filtering selected no files" (a cluster array with one bad label in
    its list must be told apart from a malformed command line).
    """
    from bids.layout import Query

    subjects = sorted(layout.get_subjects())
    if not subjects:
        raise DataError(f"{layout.root} holds no sub-* folders")
    wanted = strip_prefix(participant_labels, "sub-") or subjects
    unknown = [s for s in wanted if s not in subjects]
    if unknown:
        raise NothingSelectedError(f"participant label {unknown[0]!r} is not in the dataset "
                                   f"(it has {', '.join(subjects)})")
    sessions_wanted = strip_prefix(session_labels, "ses-")
    if sessions_wanted:
        known = set(layout.get_sessions())
        missing = [s for s in sessions_wanted if s not in known]
        if missing:
            raise NothingSelectedError(f"session label {missing[0]!r} is not in the dataset")
    out = []
    for subject in wanted:
        sessions = layout.get_sessions(subject=subject) or [None]
        for session in sessions:
            if sessions_wanted and session not in sessions_wanted:
                continue
            entry = Session(subject, session)
            for modality in modalities:
                query = {"subject": subject, "session": session or Query.NONE, "datatype": "anat",
                         "extension": [".nii", ".nii.gz"], **QUERIES[modality]}
                if "ceagent" in query:
                    query["ceagent"] = Query.ANY if query["ceagent"] == "ANY" else Query.NONE
                wanted_here = _narrow(query, filters.get(modality, {}), subject, session)
                files = layout.get(invalid_filters="allow", **query) if wanted_here else []
                if files:
                    entry.images[modality], entry.skipped[modality] = pick(files)
            out.append(entry)
    # a filter that matches nothing is a typo more often than a wish: say so instead of dropping images
    empty = [m for m in filters if m in modalities and not any(m in s.images for s in out)]
    if empty:
        raise NothingSelectedError(f"the --bids-filter-file entry for {empty[0].lower()} selected no image")
    return out
