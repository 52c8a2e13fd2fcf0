"""Run the BIDS validator (``bids-validator-deno``) on the input, as BIDS-Apps do before any work."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from bids_app.exit_codes import BidsValidationError


def validator() -> str:
    beside_python = str(Path(sys.executable).parent)
    found = shutil.which("bids-validator-deno") or shutil.which("bids-validator-deno", path=beside_python)
    if not found:
        raise BidsValidationError("the BIDS validator (pip install bids-validator-deno) is not installed; "
                                  "install it or pass --skip-bids-validation")
    return found


def validate(bids_dir: Path) -> None:
    """Stop the run with exit 16 when the validator reports errors (warnings are fine)."""
    proc = subprocess.run([validator(), "--format", "json", "--ignoreWarnings", str(bids_dir)],
                          capture_output=True, text=True, check=False)
    try:
        issues = json.loads(proc.stdout)["issues"]["issues"]
    except (json.JSONDecodeError, KeyError, TypeError):
        output = (proc.stderr or proc.stdout).strip()[:200]
        raise BidsValidationError(f"the BIDS validator failed to run: {output}") from None
    errors = [i for i in issues if i.get("severity") == "error"]
    if errors:
        first = errors[0]
        raise BidsValidationError(f"BIDS validation failed with {len(errors)} error(s), first: {first.get('code')} "
                                  f"at {first.get('location', '?')} (fix the dataset or pass --skip-bids-validation)")
