"""Which series of a study is which modality.

The SDK's ``DICOMSeriesSelectorOperator`` matches series against named rules; several rules
may carry the same name and one series may match several names. This module turns its
matches into one series per modality: rules are tried in file order, a modality takes the
first series that matches one of its rules, and a series serves one modality only (so a
post-contrast T1 listed before T1 is not also taken as the native T1).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.errors import EXIT_USAGE, AppError
from codebrain.data.modalities import MODALITIES

DEFAULT_RULES = Path(__file__).with_name("selection_rules.json")
RULES_VARIABLE = "CODEBRAIN_SELECTION_RULES"


def rules_path() -> Path:
    """The site's rules file when ``CODEBRAIN_SELECTION_RULES`` names one, else the shipped default."""
    return Path(os.environ.get(RULES_VARIABLE) or DEFAULT_RULES)


def load_rules(path: Path | None = None) -> str:
    """Read and check a rules file; returns the JSON text the SDK operator takes."""
    path = path or rules_path()
    try:
        rules = json.loads(path.read_text())
    except OSError as err:
        raise AppError(f"selection rules {path}: {err.strerror}", EXIT_USAGE) from None
    except json.JSONDecodeError as err:
        raise AppError(f"selection rules {path}: not valid JSON ({err.msg}, line {err.lineno})", EXIT_USAGE) from None
    selections = rules.get("selections") if isinstance(rules, dict) else None
    if not isinstance(selections, list) or not selections:
        raise AppError(f"selection rules {path}: expected a non-empty \"selections\" list", EXIT_USAGE)
    for i, selection in enumerate(selections):
        name = selection.get("name") if isinstance(selection, dict) else None
        if name not in MODALITIES:
            raise AppError(f"selection rules {path}: selection {i + 1} is named {name!r}; names must be "
                           f"modalities ({', '.join(MODALITIES)})", EXIT_USAGE)
        if not isinstance(selection.get("conditions"), dict) or not selection["conditions"]:
            raise AppError(f"selection rules {path}: selection {i + 1} ({name}) has no conditions", EXIT_USAGE)
    return json.dumps(rules)


def assign(matches: Iterable[tuple[str, Any]], key=lambda series: series.SeriesInstanceUID) -> dict[str, Any]:
    """``(selection name, series)`` pairs in rule order -> one series per modality, each series once."""
    chosen: dict[str, Any] = {}
    used: set[str] = set()
    for name, series in matches:
        uid = key(series)
        if name in chosen or uid in used:
            continue
        chosen[name] = series
        used.add(uid)
    return chosen
