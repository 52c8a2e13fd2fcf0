"""What a run was asked to do and with which software: ``OUTPUT_DIR/logs/run-<time>-<pid>.json``.

A derivative is only as reproducible as its record: the command, every option, the plan
per session, and the version of every installed package (ANTs, nipype, torch, ...).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

from bids_app.derivatives import write_json
from codebrain import __version__


def package_versions() -> dict[str, str]:
    return dict(sorted((d.metadata["Name"], d.version) for d in metadata.distributions() if d.metadata["Name"]))


def write_run_log(args: argparse.Namespace, plans: list, plugin: str, plugin_args: dict) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # the PID tells apart the array tasks of a cohort that start in the same second
    path = Path(args.output_dir) / "logs" / f"run-{stamp}-{os.getpid()}.json"
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    write_json(path, {
        "codebrain": __version__,
        "command": sys.argv,
        "options": options,
        "plugin": plugin, "plugin_args": plugin_args,
        "sessions": [{"subject": p.subject, "session": p.session, "reference": p.reference, "model": p.model,
                      "inputs": {m: str(f) for m, f in p.images.items()}, "held_out": p.held_out,
                      "passed_over": p.passed_over} for p in plans],
        "python": sys.version, "platform": platform.platform(),
        "packages": package_versions(),
    })
    return path
