"""Decide, before anything runs, what each session's workflow does, or why it is skipped."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from bids_app.derivatives import image_path
from bids_app.query import Session
from bids_app.workflow import Plan
from codebrain.data.volumes import as_3d, check_values, read_nifti
from codebrain.errors import NoInputError
from codebrain.inference.synthesize import best_bundled_model
from codebrain.model.io import read_model_info
from codebrain.preprocess.ants import choose_reference


def model_modalities(model: str) -> list[str]:
    try:
        return list(read_model_info(model)["modalities"])
    except FileNotFoundError:
        raise NoInputError(f"--model {model}: no such model directory or bundled model") from None


def plan_session(entry: Session, model: str | None, reference: str | None, hold_out: list[str]) -> Plan | str:
    """A Plan, or the reason to skip the session (nothing to start from, nothing to synthesize)."""
    present = list(entry.images)
    given = [m for m in present if m not in hold_out]
    name = model or best_bundled_model(given)
    if name is None:
        return f"{entry.name}: no bundled model has anything to synthesize from {', '.join(given) or 'nothing'}"
    known = model_modalities(name)
    used = [m for m in given if m in known]
    held = [m for m in hold_out if m in present and m in known]
    if not used:
        return f"{entry.name}: none of the model's modalities ({', '.join(known)}) was found: nothing to start from"
    if set(used) == set(known):
        return f"{entry.name}: every modality of the model is present: nothing to synthesize"
    if reference is not None and reference not in used:
        tqdm.write(f"codebrain-bids: {entry.name} has no usable {reference} image; "
                   "its reference follows the default priority")
        reference = None
    ref = choose_reference(used, reference)
    order = [ref] + [m for m in used + held if m != ref]
    ce = {}
    for m in order:
        if m == "T1Gd":
            ce[m] = next((part[3:] for part in entry.images[m].name.split("_") if part.startswith("ce-")), "")
    passed_over = [str(p) for m in order for p in entry.skipped.get(m, [])]
    return Plan(entry.subject, entry.session, {m: entry.images[m] for m in order}, ref, name, held, ce, passed_over)


def check_inputs(plans: list[Plan]) -> None:
    """Read every input now: a corrupt, truncated, 4D or empty file stops the run before any work."""
    for plan in plans:
        for modality, path in plan.images.items():
            img = as_3d(read_nifti(path, f"{plan.name} {modality}"), path.name)
            check_values(img.get_fdata(dtype="float32"), path.name)


def is_done(plan: Plan, output_dir: Path) -> bool:
    """Finished earlier: the subject's report and every synthesized image of the session exist."""
    if not (output_dir / f"sub-{plan.subject}.html").exists():
        return False
    targets = [m for m in model_modalities(plan.model) if m not in plan.images or m in plan.held_out]
    return all((output_dir / image_path(plan.subject, plan.session, m, "synth")).exists() for m in targets)
