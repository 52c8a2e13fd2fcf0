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

from codebrain.data.modalities import MODALITIES
from codebrain.errors import UsageError

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
        raise UsageError(f"selection rules {path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise UsageError(f"selection rules {path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    selections = rules.get("selections") if isinstance(rules, dict) else None
    if not isinstance(selections, list) or not selections:
        raise UsageError(f"selection rules {path}: expected a non-empty \"selections\" list")
    for i, selection in enumerate(selections):
        name = selection.get("name") if isinstance(selection, dict) else None
        if name not in MODALITIES:
            raise UsageError(f"selection rules {path}: selection {i + 1} is named {name!r}; names must be "
                             f"modalities ({', '.join(MODALITIES)})")
        if not isinstance(selection.get("conditions"), dict) or not selection["conditions"]:
            raise UsageError(f"selection rules {path}: selection {i + 1} ({name}) has no conditions")
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
