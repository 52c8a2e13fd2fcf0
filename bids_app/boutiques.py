"""The Boutiques descriptor of ``codebrain-bids`` (``--bids-exec-spec``), built from its parser.

Platforms that run BIDS-Apps by descriptor (CBRAIN, ``bosh exec launch``, the BIDS-Apps
execution specification's callers) map input IDs to values and let the descriptor write the
command line. A hand-kept JSON file drifts from the CLI at the first new option, so the
descriptor is derived from the argparse parser itself: every option is an input, its flag,
type, choices, list-ness and default come from argparse, and the exit codes from
``bids_app.exit_codes``. (``boutiques.creator`` does this for plain parsers only, and maps
paths, JSON options and machine-dependent defaults wrongly.)

The execution spec's argument IDs are used where it names one (``InputDataset``,
``OutputLocation``, ``AnalysisLevel``, ``SubjectLabel`` for ``--participant-label``, ``Help``,
``ToolVersion``); the other IDs are the options' names in CamelCase.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bids_app import ANALYSIS_LEVELS
from bids_app.exit_codes import EXIT_OK, MEANINGS
from codebrain import __version__

SPEC_VERSION = "0.0.1"  # the BIDS Apps execution specification draft this follows (bids-standard/execution-spec)
SPEC_IDS = {"bids_dir": "InputDataset", "output_dir": "OutputLocation", "analysis_level": "AnalysisLevel",
            "participant_label": "SubjectLabel", "help": "Help", "version": "ToolVersion"}
NAMES = {"InputDataset": "Input BIDS dataset", "OutputLocation": "Output location (the derivatives dataset)",
         "SubjectLabel": "Participant labels", "ToolVersion": "Tool version"}
VALUE_KEYS = {"SubjectLabel": "[ParticipantLabel]"}  # the spec's backwards-compatible key for BIDS-Apps 1.0
FILES = {"bids_dir", "output_dir", "bids_filter_file"}  # paths a platform must stage or mount
MACHINE_DEFAULTS = {"nprocs"}  # defaults that describe the machine the descriptor was printed on
# From benchmarks/cli_time.py --commands bids (one raw 4-contrast subject, 1 mm grid, --nprocs 2): 139 s
# wall on 2 cores, the largest process 2.1 GiB (the synthesis worker, which keeps up to 1 GiB of freed
# memory for reuse; the ANTs workers and the main process use far less); the walltime leaves room for
# slower disks, larger heads and several sessions.
RESOURCES = {"cpu-cores": 2, "ram": 4, "walltime-estimate": 900}


def long_flag(action: argparse.Action) -> str:
    """The option's first ``--`` spelling (``--work-dir`` rather than ``-w``)."""
    return max(action.option_strings, key=lambda flag: flag.startswith("--"))


def _camel(dest: str) -> str:
    return "".join(word.capitalize() for word in dest.split("_"))


def _input(action: argparse.Action) -> dict[str, Any]:
    """One Boutiques input from one argparse action."""
    ident = SPEC_IDS.get(action.dest, _camel(action.dest))
    entry: dict[str, Any] = {"id": ident, "name": NAMES.get(ident, action.dest.replace("_", " ").capitalize()),
                             "description": (action.help or "").replace("%%", "%"),
                             "value-key": VALUE_KEYS.get(ident, f"[{ident}]"),
                             "optional": not (action.required or not action.option_strings)}
    if action.nargs == 0:  # store_true, --help, --version
        entry["type"] = "Flag"
    elif action.dest in FILES:
        entry["type"] = "File"
    elif action.type in (int, float):
        entry["type"] = "Number"
        entry["integer"] = action.type is int
    else:
        entry["type"] = "String"
    if action.option_strings:
        entry["command-line-flag"] = long_flag(action)
    if action.nargs in ("+", "*"):
        entry["list"] = True
    choices = ANALYSIS_LEVELS if action.dest == "analysis_level" else action.choices
    if choices:
        entry["value-choices"] = list(choices)
    default = action.default
    if entry["type"] != "Flag" and default not in (None, [], argparse.SUPPRESS, {}) \
            and action.dest not in MACHINE_DEFAULTS:
        entry["default-value"] = str(default) if isinstance(default, Path) else default
    return entry


def descriptor(parser: argparse.ArgumentParser, hidden: set[str]) -> dict[str, Any]:
    """The descriptor of ``parser``, leaving out the actions whose dest is in ``hidden``."""
    actions = [a for a in parser._actions if a.dest not in hidden]  # argparse has no public list of them
    ordered = [a for a in actions if not a.option_strings] + [a for a in actions if a.option_strings]
    inputs = [_input(a) for a in ordered]
    command = " ".join([parser.prog, *(i["value-key"] for i in inputs)])
    return {
        "name": parser.prog,
        "tool-version": __version__,
        "description": parser.description.replace("``", ""),
        "schema-version": "0.5",
        "command-line": command,
        "container-image": {"type": "docker", "image": f"codebrain/bids-app:{__version__}"},
        "inputs": inputs,
        "output-files": [{"id": "derivatives", "name": "BIDS Derivatives dataset",
                          "description": "derivatives/codebrain: synthesized images, sidecars, reports, logs",
                          "path-template": "[OutputLocation]", "optional": False},
                         {"id": "dataset_description", "name": "Derivatives dataset description",
                          "path-template": "[OutputLocation]/dataset_description.json", "optional": False}],
        "error-codes": [{"code": code, "description": text} for code, text in MEANINGS.items() if code != EXIT_OK],
        "suggested-resources": RESOURCES,
        "tags": {"domain": ["neuroimaging", "mri", "bids-app", "image synthesis"]},
        "custom": {"BIDSAppSpecVersion": SPEC_VERSION, "OutputDataSpecification": ["BIDS-Derivatives"]},
    }


class PrintDescriptor(argparse.Action):
    """``--bids-exec-spec``: print the descriptor and exit, as ``--version`` does (no other argument needed)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(json.dumps(descriptor(parser, hidden={self.dest}), indent=2))
        parser.exit(EXIT_OK)
