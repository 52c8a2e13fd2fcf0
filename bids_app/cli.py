"""``codebrain-bids``: complete the missing anatomical contrasts of a BIDS dataset (a BIDS-App).

    codebrain-bids BIDS_DIR OUTPUT_DIR participant [--participant-label 01 02] [--nprocs 4]
    codebrain-bids BIDS_DIR OUTPUT_DIR group

Participant level: per subject and session, find the anatomical images with pybids,
preprocess them with ANTs (N4, co-registration to a reference, skull stripping) on a
nipype workflow, synthesize every contrast the model knows and the session lacks, and
write BIDS Derivatives plus an HTML report per subject into OUTPUT_DIR. Group level: a
cohort summary (TSV and HTML) of what was given and synthesized, with confidence.
The input dataset is only read.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import sys
import textwrap
import time
from contextlib import ExitStack
from pathlib import Path

from bids_app import ANALYSIS_LEVELS
from bids_app import exit_codes as ec
from bids_app.boutiques import PrintDescriptor
from bids_app.exit_codes import AnalysisLevelError, WorkflowError
from bids_app.locks import remove_partial_files, shared_files, subject_locks
from bids_app.multiproc import TetheredMultiProcPlugin
from codebrain import __version__
from codebrain.data.modalities import MODALITIES
from codebrain.errors import CannotCreateError, DataError, NoInputError, UsageError, WriteError, run_guarded
from codebrain.preprocess.skull_strip import SKULL_STRIP_DEFAULT, SKULL_STRIP_METHODS
from codebrain.runtime.resources import available_cpus

EPILOG = textwrap.fill("exit codes: " + "; ".join(f"{code} {text}" for code, text in ec.MEANINGS.items()) + ".", 100)


FULL_DISK_BYTES = 1 << 20  # less free space than this after a failed run: the disk filled up


class Parser(argparse.ArgumentParser):
    """argparse, but a malformed command line exits 64 (EX_USAGE) as the BIDS-Apps spec asks."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(ec.EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> Parser:
    p = Parser(prog="codebrain-bids", description=__doc__.split("\n\n")[0],
               epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bids_dir", type=Path, help="the raw BIDS dataset (read only)")
    p.add_argument("output_dir", type=Path, help="the derivative dataset to write, e.g. BIDS_DIR/derivatives/codebrain")
    p.add_argument("analysis_level", help="participant or group")
    p.add_argument("--version", action="version", version=f"codebrain-bids {__version__}")
    p.add_argument("--bids-exec-spec", action=PrintDescriptor,
                   help="print the Boutiques descriptor (BIDS Apps execution specification) and exit")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    p.add_argument("--verbose", "-v", action="store_true", help="show nipype's log of every node")
    sel = p.add_argument_group("selection")
    sel.add_argument("--participant-label", "--participant_label", nargs="+", metavar="L",
                     help="subjects to process, with or without sub- (default: all)")
    sel.add_argument("--session-label", nargs="+", metavar="S", help="sessions to process, with or without ses-")
    sel.add_argument("--bids-filter-file", type=Path, metavar="F.json",
                     help='narrow the queries per modality: {"t1w": {"acquisition": "mprage"}, "flair": {...}}')
    sel.add_argument("--skip-bids-validation", action="store_true", help="do not run the BIDS validator first")
    mod = p.add_argument_group("model")
    mod.add_argument("--model", help="model directory or bundled name (default: per session, the bundled model "
                                     "that uses the most of its images)")
    mod.add_argument("--reference", choices=MODALITIES,
                     help="modality whose grid every output shares (default: first of T1w, T1Gd, FLAIR, T2w, PDw)")
    mod.add_argument("--hold-out", nargs="+", choices=MODALITIES, default=[], metavar="MODALITY",
                     help="preprocess these but hide them from the model, then compare the synthesized ones with "
                          "them in the report (a check of the model on your own data)")
    mod.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    mod.add_argument("--max-spacing", type=float, default=1.0, metavar="MM",
                     help="resample a coarser reference to this isotropic spacing (default 1, as the models were "
                          "trained)")
    mod.add_argument("--no-n4", action="store_true", help="skip N4 bias correction (already corrected inputs)")
    mod.add_argument("--skull-strip", choices=SKULL_STRIP_METHODS, default=SKULL_STRIP_DEFAULT, metavar="METHOD",
                     help="brain extraction: deepbet (learned), template (the MNI152 mask warped by SyN), hybrid "
                          "(deepbet kept within 5 mm of the template's brain) or auto: hybrid on a T1w, T1Gd or "
                          "FLAIR reference, the template on T2w or PDw (default auto; measured in "
                          "docs/benchmarks.md)")
    run = p.add_argument_group("execution")
    run.add_argument("--work-dir", "-w", type=Path, default=Path("work"),
                     help="nipype work dir: keeps intermediate results so a rerun resumes (default ./work)")
    run.add_argument("--wait-lock", action="store_true",
                     help="if another run holds one of these subjects (in OUTPUT_DIR or the work dir), wait for it "
                          "instead of exiting 75")
    run.add_argument("--clean-workdir", action="store_true", help="delete the work dir after a successful run")
    run.add_argument("--nprocs", "--n-cpus", type=int, default=available_cpus(),
                     help="processes for nipype MultiProc (default: the CPUs this process may use: its "
                          "affinity, capped by a container's CPU quota)")
    run.add_argument("--omp-nthreads", type=int,
                     help="threads per ANTs node (default: half of --nprocs, at most 8; synthesis uses all)")
    run.add_argument("--random-seed", type=int, metavar="N",
                     help="seed ANTs' sampling and run its nodes single-threaded, so that two runs give identical "
                          "derivatives (ANTs is not repeatable across threads); slower")
    run.add_argument("--plugin", default=None,
                     help="nipype plugin: Linear, MultiProc (default when --nprocs > 1), SLURM, SGE, ...")
    run.add_argument("--plugin-args", type=json.loads, default={}, metavar="JSON",
                     help='plugin arguments, e.g. \'{"sbatch_args": "-p short --mem=8G"}\' for SLURM')
    cluster = p.add_argument_group("cluster (SLURM)")
    cluster.add_argument("--slurm-array", action="store_true",
                         help="submit one SLURM array task per selected participant (each runs this command on its "
                              "participant) and the group level as a job that starts once all succeeded, then return")
    cluster.add_argument("--sbatch-args", metavar="ARGS",
                         help='sbatch options for those jobs, e.g. "-p short --time 1:00:00 --mem 8G" '
                              "(default: --cpus-per-task as --nprocs)")
    cluster.add_argument("--slurm-command", metavar="CMD",
                         help='what each task runs instead of this codebrain-bids, e.g. "apptainer run --cleanenv '
                              '-B /data codebrain-bids.sif"')
    cluster.add_argument("--slurm-wait", action="store_true",
                         help="with --slurm-array: wait until the group level has run; exit 1 if a task failed")
    return p


def check_output_dir(bids_dir: Path, output_dir: Path) -> None:
    bids, out = bids_dir.resolve(), output_dir.resolve()
    if out == bids or (out.is_relative_to(bids) and not out.is_relative_to(bids / "derivatives")):
        raise UsageError(f"OUTPUT_DIR {output_dir} is inside the raw dataset but not under derivatives/; "
                         f"use e.g. {bids_dir / 'derivatives' / 'codebrain'}")
    writable_dir(output_dir, "OUTPUT_DIR")


def check_work_dir(bids_dir: Path, work_dir: Path) -> None:
    if work_dir.resolve().is_relative_to(bids_dir.resolve()):
        raise UsageError(f"--work-dir {work_dir} is inside the raw dataset, which is only read; "
                         "run from another folder or pass --work-dir")
    writable_dir(work_dir, "--work-dir")


def writable_dir(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CannotCreateError(f"{what} {path} cannot be created: {err.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CannotCreateError(f"{what} {path} is not writable")


def check_free_space(plans: list, factors: dict[Path, int]) -> None:
    """Fail in a second, not after preprocessing, on a disk that cannot hold the run: a folder needs
    ``factor`` times the size of the input files (a floor: outputs are about the inputs' size, the
    work dir holds a few intermediate copies), so a run that fits is never refused."""
    inputs = sum(Path(p).stat().st_size for plan in plans for p in plan.images.values())
    for folder, factor in factors.items():
        free = shutil.disk_usage(folder).free
        if free < factor * inputs:
            raise WriteError(f"no space left on {folder}: {free >> 20} MiB free, at least "
                             f"{(factor * inputs) >> 20} MiB needed for {len(plans)} session(s)")


def full_disk(crashes: list[Path], folders: list[Path]) -> Path | None:
    """The folder whose disk filled up, when that is why nodes failed (a node's ENOSPC reaches us only
    inside its crash file, and a full disk may have kept the crash file from being written at all)."""
    said = any("No space left on device" in c.read_text(errors="replace") for c in crashes)
    free = {f: shutil.disk_usage(f).free for f in folders if f.exists()}
    fullest = min(free, key=free.get, default=None)
    if fullest is not None and (said or free[fullest] < FULL_DISK_BYTES):
        return fullest
    return None


def quiet_nipype(verbose: bool) -> None:
    """nipype logs every node at INFO; users get a progress bar instead unless --verbose."""
    from nipype import config, logging

    # without --verbose, node failures are reported by our one line and their crash files
    config.set("logging", "workflow_level", "INFO" if verbose else "CRITICAL")
    config.set("logging", "interface_level", "INFO" if verbose else "CRITICAL")
    logging.update_logging(config)


def participant(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from bids_app.planning import model_modalities, plan_session
    from bids_app.query import collect, load_filters, open_layout
    from bids_app.workflow import Plan

    if args.model:
        model_modalities(args.model)  # fail now on a bad --model
        if Path(args.model).exists():  # nipype runs each node in its own folder
            args.model = str(Path(args.model).resolve())
    layout = open_layout(args.bids_dir)
    sessions = collect(layout, args.participant_label, args.session_label, load_filters(args.bids_filter_file))
    plans: list[Plan] = []
    for entry in sessions:
        outcome = plan_session(entry, args.model, args.reference, args.hold_out)
        if isinstance(outcome, str):
            tqdm.write(f"codebrain-bids: skipping {outcome}")
        else:
            plans.append(outcome)
            for path in outcome.passed_over:
                tqdm.write(f"codebrain-bids: {outcome.name}: passing over {Path(path).name} (one image per modality)")
    subjects = {p.subject for p in plans}
    if args.slurm_array:
        from bids_app.planning import check_inputs
        from bids_app.slurm import submit_cohort

        check_inputs(plans)
        check_work_dir(args.bids_dir, args.work_dir)
        return submit_cohort(build_parser(), args, sorted(subjects))
    with ExitStack() as held:
        held.enter_context(subject_locks(sorted(subjects), [args.output_dir], args.wait_lock))
        return _run_plans(args, plans, subjects, held)


def _run_plans(args: argparse.Namespace, plans: list, subjects: set[str], held: ExitStack) -> int:
    """The participant level once this run holds its subjects in OUTPUT_DIR (``held`` takes more locks)."""
    from tqdm import tqdm

    from bids_app.derivatives import write_dataset_description
    from bids_app.planning import check_inputs, is_done
    from bids_app.provenance import write_run_log
    from bids_app.workflow import Options, init_codebrain_wf
    from codebrain.preprocess.ants import PrepSettings

    for subject in sorted(subjects):
        for path in remove_partial_files(args.output_dir / f"sub-{subject}"):
            tqdm.write(f"codebrain-bids: removed {path.name}, left by an interrupted run")
    done = {s for s in subjects if all(is_done(p, args.output_dir) for p in plans if p.subject == s)}
    for s in sorted(done):
        tqdm.write(f"codebrain-bids: sub-{s} is already finished in {args.output_dir} (delete its report to redo it)")
    plans = [p for p in plans if p.subject not in done]
    if not plans:
        with shared_files(args.output_dir):
            write_dataset_description(args.output_dir, args.bids_dir)
        tqdm.write("codebrain-bids: nothing to do")
        return ec.EXIT_OK
    check_inputs(plans)
    check_work_dir(args.bids_dir, args.work_dir)
    check_free_space(plans, {args.output_dir: 1, args.work_dir: 2})
    held.enter_context(subject_locks(sorted(subjects - done), [args.work_dir], args.wait_lock))
    with shared_files(args.output_dir):
        write_dataset_description(args.output_dir, args.bids_dir)
    nprocs = max(1, int(args.plugin_args.get("n_procs", args.nprocs)))
    omp = args.omp_nthreads or max(1, min(nprocs // 2, 8))  # two ANTs nodes at a time scale better than one
    opts = Options(args.bids_dir.resolve(), args.output_dir.resolve(), omp, nprocs, args.device,
                   PrepSettings(n4=not args.no_n4, max_spacing=args.max_spacing, seed=args.random_seed,
                                skull_strip=args.skull_strip))
    wf = init_codebrain_wf(plans, opts, args.work_dir.resolve())
    plugin = args.plugin or ("MultiProc" if nprocs > 1 else "Linear")
    plugin_args = dict(args.plugin_args)
    if plugin == "MultiProc":
        plugin_args.setdefault("n_procs", nprocs)
    log = write_run_log(args, plans, plugin, plugin_args)
    wf.config["execution"].update({"crashdump_dir": str(args.output_dir.resolve() / "logs"),
                                   "crashfile_format": "txt", "stop_on_first_crash": False,
                                   "remove_unnecessary_outputs": True})
    started = time.time()
    tqdm.write(f"codebrain-bids: {len(plans)} session(s) of {len(subjects - done)} subject(s), plugin {plugin}; "
               f"log {log}")
    quiet_nipype(args.verbose)
    progress = tqdm(total=len(wf._get_all_nodes()), desc="codebrain-bids", unit="node", disable=None)
    if plugin in ("Linear", "MultiProc"):  # the cluster plugins run nodes elsewhere and take no callback
        plugin_args["status_callback"] = lambda node, status: progress.update(status == "end")
    else:  # nipype's SLURM and SGE plugins name jobs after $LOGNAME, unset in containers and cron jobs
        os.environ.setdefault("LOGNAME", login_name())
    try:
        wf.run(plugin=TetheredMultiProcPlugin(plugin_args) if plugin == "MultiProc" else plugin,
               plugin_args=plugin_args)
    except RuntimeError as err:  # nipype: some nodes failed; their crash files are in logs/
        crashes = sorted(c for c in (args.output_dir / "logs").glob("crash-*") if c.stat().st_mtime >= started)
        full = full_disk(crashes, [args.output_dir, args.work_dir])
        if full:
            raise WriteError(f"no space left on {full} (the workflow stopped; "
                             "rerun after freeing space to resume)") from None
        raise WorkflowError(f"the workflow failed ({str(err).splitlines()[0]}); crash files: "
                            f"{', '.join(c.name for c in crashes) or 'none'} in {args.output_dir / 'logs'}") from None
    finally:
        progress.close()
    if args.clean_workdir:
        shutil.rmtree(args.work_dir / "codebrain_wf", ignore_errors=True)
    tqdm.write(f"codebrain-bids: done in {time.time() - started:.0f} s; reports: "
               + ", ".join(f"sub-{s}.html" for s in sorted(subjects - done)))
    return ec.EXIT_OK


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # an arbitrary container uid has no passwd entry
        return f"uid{os.getuid()}"


def run(args: argparse.Namespace) -> int:
    if args.analysis_level not in ANALYSIS_LEVELS:
        raise AnalysisLevelError(f"analysis level must be participant or group, not {args.analysis_level!r}")
    if not args.bids_dir.is_dir():
        raise NoInputError(f"BIDS_DIR {args.bids_dir} does not exist or is not a folder")
    if args.nprocs < 1 or (args.omp_nthreads is not None and args.omp_nthreads < 1):
        raise UsageError("--nprocs and --omp-nthreads must be at least 1")
    submission = [f for f, v in (("--slurm-wait", args.slurm_wait), ("--sbatch-args", args.sbatch_args),
                                 ("--slurm-command", args.slurm_command)) if v]
    if submission and not args.slurm_array:
        raise UsageError(f"{submission[0]} goes with --slurm-array")
    if args.slurm_array and args.analysis_level != "participant":
        raise UsageError("--slurm-array submits the participant level (the group level follows it)")
    check_output_dir(args.bids_dir, args.output_dir)
    if args.analysis_level == "group":
        from bids_app.group import write_group_summary

        write_group_summary(args.output_dir)
        return ec.EXIT_OK
    if not (args.bids_dir / "dataset_description.json").is_file():
        raise DataError(f"{args.bids_dir} is not a BIDS dataset (no dataset_description.json)")
    if not args.skip_bids_validation:
        from bids_app.validation import validate

        validate(args.bids_dir)
    return participant(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_guarded(parser.prog, lambda: run(args), ec.CODES, debug=args.debug, output=args.output_dir,
                       on_interrupt="interrupted; rerun the same command to resume from the work dir")


if __name__ == "__main__":
    sys.exit(main())
