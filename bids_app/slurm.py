"""``--slurm-array``: a cohort as one SLURM job array, one participant per task, then the group level.

nipype's SLURM plugin (``--plugin SLURM``) submits every node of every subject as its own job:
right for a handful of subjects, but a 500-subject cohort becomes thousands of short jobs, each
waiting on the scheduler. The array submits one job per participant instead, each running this
same command on its participant (MultiProc inside its allocation), and the group summary as a
job that starts once every task succeeded (``afterok``; SLURM cancels it if one failed). The
tasks share OUTPUT_DIR and the work dir, as the subject locks allow. Scripts and logs go to
``OUTPUT_DIR/logs/slurm/``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bids_app.boutiques import long_flag
from bids_app.exit_codes import EXIT_OK, UnavailableError, WorkflowError

# options that concern the submission, or that each task sets itself
NOT_PASSED = {"slurm_array", "slurm_wait", "sbatch_args", "slurm_command", "participant_label", "nprocs",
              "skip_bids_validation", "bids_exec_spec", "help", "version"}
PATHS = {"bids_filter_file", "work_dir"}  # relative paths: tasks must see what the submitter meant


def task_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The options of this command line that each task repeats (those not at their defaults)."""
    options: list[str] = []
    for action in parser._actions:  # argparse has no public list of them
        if not action.option_strings or action.dest in NOT_PASSED:
            continue
        value = getattr(args, action.dest, action.default)
        if value == action.default:
            continue
        flag = long_flag(action)
        if action.dest in PATHS:
            value = Path(value).resolve()
        if action.nargs == 0:
            options.append(flag)
        elif isinstance(value, list):
            options += [flag, *map(str, value)]
        else:
            options += [flag, json.dumps(value) if isinstance(value, dict) else str(value)]
    return options


def _script(lines: list[str], path: Path) -> Path:
    path.write_text("#!/bin/bash\nset -euo pipefail\n" + "\n".join(lines) + "\n")
    return path


def _sbatch(args: list[str]) -> str:
    """Submit; the job ID (``sbatch --parsable`` prints ``id`` or ``id;cluster``)."""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise UnavailableError("--slurm-array needs SLURM's sbatch on PATH (run it on a login node)")
    proc = subprocess.run([sbatch, "--parsable", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise UnavailableError(f"sbatch refused the job: {reason}")
    return proc.stdout.strip().split(";")[0]


def _this_command() -> list[str]:
    """This very codebrain-bids, by absolute path, so tasks run the submitter's version."""
    argv0 = Path(sys.argv[0])
    if argv0.suffix == ".py":  # python -m bids_app
        return [sys.executable, "-m", "bids_app"]
    return [str(Path(shutil.which(sys.argv[0]) or argv0).resolve())]


def submit_cohort(parser: argparse.ArgumentParser, args: argparse.Namespace, subjects: list[str]) -> int:
    """Write and submit the participant array and the dependent group job; wait if ``--slurm-wait``."""
    logs = args.output_dir.resolve() / "logs" / "slurm"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    command = shlex.split(args.slurm_command) if args.slurm_command else _this_command()
    data = [str(args.bids_dir.resolve()), str(args.output_dir.resolve())]
    run = shlex.join([*command, *data])
    options = shlex.join(task_options(parser, args))
    array = _script([f"LABELS=({' '.join(shlex.quote(s) for s in subjects)})",
                     f'{run} participant --participant-label "${{LABELS[$SLURM_ARRAY_TASK_ID]}}" '
                     f'--nprocs "${{SLURM_CPUS_PER_TASK:-1}}" --skip-bids-validation {options}'],
                    logs / f"participant-{stamp}.sh")
    group = _script([f"{run} group"], logs / f"group-{stamp}.sh")
    extra = shlex.split(args.sbatch_args or "")
    array_id = _sbatch(["--job-name", "codebrain-bids", f"--array=0-{len(subjects) - 1}",
                        f"--cpus-per-task={args.nprocs}", "--output", str(logs / "participant-%A_%a.out"),
                        *extra, str(array)])
    group_args = ["--job-name", "codebrain-bids-group", f"--dependency=afterok:{array_id}",
                  "--kill-on-invalid-dep=yes", "--output", str(logs / "group-%j.out"), *extra, str(group)]
    print(f"codebrain-bids: submitted {len(subjects)} participant(s) as job array {array_id} "
          f"({', '.join(f'sub-{s}' for s in subjects)}); logs in {logs}")
    if not args.slurm_wait:
        print(f"codebrain-bids: the group level is job {_sbatch(group_args)}, after every task succeeded")
        return EXIT_OK
    print("codebrain-bids: waiting for the array and the group level (--slurm-wait)")
    try:
        _sbatch(["--wait", *group_args])
    except UnavailableError:  # sbatch --wait exits non-zero when a job failed
        raise WorkflowError(f"the job array {array_id} or the group level failed; see {logs}") from None
    print(f"codebrain-bids: job array {array_id} and the group level finished")
    return EXIT_OK
