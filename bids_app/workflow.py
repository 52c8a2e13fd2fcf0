"""The nipype workflow: one sub-workflow per subject, one per session inside it.

Per session: N4 per image -> reference grid -> rigid co-registration of the others and
skull stripping (in parallel) -> synthesis -> derivatives; per subject, the report once
every session is written. nipype caches each node's result in the work dir, which is
what lets a killed run resume where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nipype.interfaces.utility import Merge
from nipype.pipeline import engine as pe

from bids_app.derivatives import NamedSession
from bids_app.interfaces import (
    BiasCorrect,
    CoRegister,
    ReferenceGrid,
    SkullStrip,
    SubjectReport,
    Synthesize,
    WriteDerivatives,
)
from codebrain.preprocess.ants import PrepSettings


@dataclass
class Plan(NamedSession):
    """What one session's workflow does, decided before anything runs."""

    subject: str
    session: str | None
    images: dict[str, Path]  # modality -> raw file, reference first
    reference: str
    model: str
    held_out: list[str] = field(default_factory=list)
    ce: dict[str, str] = field(default_factory=dict)  # modality -> ce- label of its source
    passed_over: list[str] = field(default_factory=list)  # other images of a used modality (query.pick)


@dataclass
class Options:
    bids_dir: Path
    output_dir: Path
    omp_nthreads: int = 1
    synth_threads: int = 1  # the synthesis node takes every core: it is one long PyTorch pass
    device: str = "cpu"
    prep: PrepSettings = PrepSettings()  # --no-n4, --max-spacing, --random-seed, --skull-strip


def init_session_wf(plan: Plan, opts: Options) -> pe.Workflow:
    """The steps of ``codebrain.preprocess.ants`` as nodes, then synthesis and the derivatives."""
    wf = pe.Workflow(name=f"ses_{plan.session}_wf" if plan.session else "anat_wf")
    prep = opts.prep
    threads = 1 if prep.seed is not None else opts.omp_nthreads
    seed = {} if prep.seed is None else {"random_seed": prep.seed}
    order = list(plan.images)  # reference first
    n4 = {m: pe.Node(BiasCorrect(in_file=str(plan.images[m]), n4=prep.n4, threads=threads, **seed),
                     name=f"n4_{m}", n_procs=threads) for m in order}
    grid = pe.Node(ReferenceGrid(max_spacing=prep.max_spacing), name="reference_grid")
    mask = pe.Node(SkullStrip(method=prep.skull_strip, contrast=plan.reference, threads=threads, **seed),
                   name="skull_strip", n_procs=threads)
    images = _merge(len(order), "merge_images")
    synth = pe.Node(Synthesize(modalities=order, held_out=plan.held_out, model=plan.model, device=opts.device,
                               threads=opts.synth_threads), name="synthesize", n_procs=opts.synth_threads)
    session = {"subject": plan.subject, "session": plan.session, "reference": plan.reference,
               "held_out": plan.held_out, "ce": plan.ce, "sources": {m: str(p) for m, p in plan.images.items()},
               "bids_dir": str(opts.bids_dir), "output_dir": str(opts.output_dir)}
    # the nodes that write into OUTPUT_DIR always run, so deleted outputs come back on a rerun
    sink = pe.Node(WriteDerivatives(session=session, modalities=order), name="derivatives", overwrite=True)
    wf.connect([
        (n4[plan.reference], grid, [("out_file", "in_file")]),
        (grid, mask, [("out_file", "in_file")]),
        (grid, images, [("out_file", "in1")]),
        (images, synth, [("out", "in_files")]),
        (mask, synth, [("out_file", "mask_file")]),
        (mask, sink, [("out_file", "mask_file")]),
        (synth, sink, [("preproc_files", "preproc_files"), ("synthesized", "synthesized"),
                       ("synth_files", "synth_files"), ("confidence_files", "confidence_files"),
                       ("model_info", "model_info")]),
    ])
    moving = order[1:]
    if moving:
        transforms = _merge(len(moving), "merge_transforms")
        wf.connect(transforms, "out", sink, "transforms")
    for i, modality in enumerate(moving, start=1):
        coreg = pe.Node(CoRegister(threads=threads, **seed), name=f"coregister_{modality}", n_procs=threads)
        wf.connect([
            (n4[modality], coreg, [("out_file", "moving")]),
            (grid, coreg, [("out_file", "fixed")]),
            (coreg, images, [("out_file", f"in{i + 1}")]),
            (coreg, transforms, [("transform", f"in{i}")]),
        ])
    return wf


def _merge(n: int, name: str) -> pe.Node:
    """A list of ``n`` inputs; run in the main process, since a cluster job per list costs seconds of
    scheduling for microseconds of work (three of the dozen nodes of a session)."""
    node = pe.Node(Merge(n), name=name)
    node.run_without_submitting = True
    return node


def init_codebrain_wf(plans: list[Plan], opts: Options, work_dir: Path) -> pe.Workflow:
    """The top workflow: subjects side by side, each ending with its report."""
    top = pe.Workflow(name="codebrain_wf", base_dir=str(work_dir))
    by_subject: dict[str, list[Plan]] = {}
    for plan in plans:
        by_subject.setdefault(plan.subject, []).append(plan)
    for subject, sessions in by_subject.items():
        sub_wf = pe.Workflow(name=f"sub_{subject}_wf")
        records = _merge(len(sessions), "merge_records")
        report = pe.Node(SubjectReport(output_dir=str(opts.output_dir), subject=subject), name="report",
                         overwrite=True)
        sub_wf.connect(records, "out", report, "records")
        for i, plan in enumerate(sessions, start=1):
            ses_wf = init_session_wf(plan, opts)
            sub_wf.connect(ses_wf, "derivatives.out_json", records, f"in{i}")
        top.add_nodes([sub_wf])
    return top
