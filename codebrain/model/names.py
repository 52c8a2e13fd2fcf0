"""Names the command lines offer, kept apart from what uses them so that ``--help`` and
``--version`` import argparse and these tables, not torch (seconds of start-up)."""

from __future__ import annotations

BUNDLED: tuple[str, ...] = ("brats", "ixi")  # the models under codebrain/weights, by name
PLANES: dict[str, int] = {"axial": 2, "coronal": 1, "sagittal": 0}  # slice direction -> the RAS axis it runs along
