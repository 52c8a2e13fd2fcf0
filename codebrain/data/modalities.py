"""The canonical modality names and how public layouts spell them.

Every part of CodeBrain speaks these five names; the file-name tables below are the
only place that knows how BraTS and IXI spell them (BIDS: ``bids_names``).
"""

from __future__ import annotations

MODALITIES: tuple[str, ...] = ("T1w", "T1Gd", "T2w", "PDw", "FLAIR")

BRATS_MODALITIES: tuple[str, ...] = ("T1w", "T1Gd", "T2w", "FLAIR")

BRATS_SUFFIXES: dict[str, str] = {
    "t1n": "T1w", "t1": "T1w",
    "t1c": "T1Gd", "t1ce": "T1Gd",
    "t2w": "T2w", "t2": "T2w",
    "t2f": "FLAIR", "flair": "FLAIR",
}
IXI_SUFFIXES: dict[str, str] = {"T1": "T1w", "T2": "T2w", "PD": "PDw"}


def check_modalities(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate an ordered modality list, so a typo fails at the command line, not mid-run."""
    names = tuple(names)
    unknown = [n for n in names if n not in MODALITIES]
    if unknown:
        raise ValueError(f"unknown modality {unknown[0]!r}; known: {', '.join(MODALITIES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"modality list has duplicates: {', '.join(names)}")
    if len(names) < 2:
        raise ValueError("a model needs at least two modalities")
    return names
