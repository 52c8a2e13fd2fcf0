"""The paper's protocol on a test split (the command is ``codebrain.cli.evaluate``).

For every missing pattern of the model's modality list (at least one modality given,
at least one missing), every missing modality is synthesized slice by slice and scored
against the real one: PSNR (data range 1, prediction clamped to [0, 1]), SSIM (%) and
MAE (x1000), averaged over slices. Summaries: per missing modality (over the patterns
where it is missing), by number of inputs, and overall (the mean over every
pattern x missing modality entry). Slices are those of the training cache: axial,
normalised, padded or cropped to the model's training size, as the paper's arrays are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm

from codebrain.data.patterns import describe, missing_patterns
from codebrain.evaluation.metrics import slice_metrics
from codebrain.model.networks import CodeBrain

METRICS = ("psnr", "ssim", "mae")


def _mean(entries: list[dict]) -> dict[str, float]:
    return {k: round(float(np.mean([e[k] for e in entries])), 4) for k in METRICS} if entries else {}


Predictor = Callable[[torch.Tensor, np.ndarray], torch.Tensor]


def model_predictor(model: CodeBrain, mirror: bool = False) -> Predictor:
    """The model as users get it: outputs are 0 outside the brain mask of the given inputs.

    ``codebrain.inference.synthesize`` zeroes every output outside the union of the inputs' non-zero
    voxels, and the quadratic baseline does the same; scoring the raw network output instead
    would count its faint background noise, which no user ever sees, against it (about 5 points
    of SSIM on FLAIR targets, whose real background is exactly 0). ``mirror``: as
    ``codebrain-synth --mirror`` (the axial slices here have left-right in dimension 2).
    """
    model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # oneDNN's fast layout (stub lacks it)

    def predict(incomplete: torch.Tensor, missing: np.ndarray) -> torch.Tensor:
        given = torch.from_numpy(~missing).to(incomplete.device)
        inside = (incomplete[:, given] > 0).any(1, keepdim=True)
        return model.complete(incomplete.contiguous(memory_format=torch.channels_last), mirror=mirror)[0] * inside
    return predict


@torch.inference_mode()
def evaluate_slices(
    predict: Predictor, modalities: tuple[str, ...], images: np.ndarray, present: np.ndarray,
    batch_size: int = 4, device: str | torch.device = "cpu", subjects: list[str] | None = None,
) -> dict:
    """Score every pattern on (N, C, S, S) slices; ``present`` marks real modalities per slice.

    ``predict(incomplete, missing)`` returns every modality from the input with the
    missing channels zeroed: the model, or a baseline (``codebrain.evaluation.baselines``). A slice
    counts for a pattern and target only where its subject has every given modality and the
    target, so subjects that lack modalities (one source has FLAIR and T1Gd only) are scored
    on what their files allow; a pattern and target that no subject has the files for is
    listed (``"given -> target"``) under ``skipped``. With ``subjects`` (one name per slice) the
    report also holds each subject's own summary, because one site's patient pooled with another's
    hides where a model fails.
    """
    mods = tuple(modalities)
    names = np.asarray(subjects if subjects is not None else ["all"] * len(images))
    scored: list[tuple[tuple[bool, ...], int, np.ndarray, dict[str, np.ndarray]]] = []
    skipped = []
    for pattern in tqdm(missing_patterns(len(mods)), desc="patterns", unit="pattern", disable=None):
        missing = np.asarray(pattern)
        for c in np.flatnonzero(missing):
            usable = np.flatnonzero(present[:, ~missing].all(1) & present[:, c])
            if not len(usable):
                skipped.append(describe_entry(pattern, mods, c))
        usable = np.flatnonzero(present[:, ~missing].all(1) & present[:, missing].any(1))
        per_slice: dict[int, dict[str, list[float]]] = {c: {k: [] for k in METRICS} for c in np.flatnonzero(missing)}
        rows: dict[int, list[int]] = {c: [] for c in per_slice}
        for start in range(0, len(usable), batch_size):
            idx = usable[start : start + batch_size]
            full = torch.from_numpy(np.asarray(images[idx], dtype=np.float32)).to(device)
            pred = predict(full * torch.from_numpy(~missing).float().to(device)[None, :, None, None], missing)
            for c in per_slice:
                real = present[idx, c]
                if not real.any():
                    continue
                m = slice_metrics(pred[real, c : c + 1], full[real, c : c + 1])
                for k in METRICS:
                    per_slice[c][k] += m[k].cpu().tolist()
                rows[c] += idx[real].tolist()
        for c, values in per_slice.items():
            if rows[c]:
                scored.append((pattern, int(c), names[rows[c]], {k: np.asarray(v) for k, v in values.items()}))
    report = summarise(_entries(scored, mods), mods)
    if subjects is not None:
        report["per_subject"] = {
            name: summarise(_entries(scored, mods, name), mods) for name in dict.fromkeys(subjects)}
    report["skipped"] = skipped
    return report


def describe_entry(pattern: tuple[bool, ...], modalities: tuple[str, ...], target: int) -> str:
    return f"{'+'.join(m for m, x in zip(modalities, pattern) if not x)} -> {modalities[target]}"


def _entries(scored: list, mods: tuple[str, ...], subject: str | None = None) -> list[dict]:
    """One entry per pattern and target: metric means over the slices (of ``subject`` when given)."""
    entries = []
    for pattern, c, owners, values in scored:
        keep = owners == subject if subject is not None else np.ones(len(owners), bool)
        if keep.any():
            entries.append({"pattern": describe(pattern, mods), "given": [m for m, x in zip(mods, pattern) if not x],
                            "missing": mods[c], "n_inputs": int(sum(not x for x in pattern)),
                            "n_slices": int(keep.sum()),
                            **{k: round(float(v[keep].mean()), 4) for k, v in values.items()}})
    return entries


def summarise(entries: list[dict], modalities: tuple[str, ...]) -> dict:
    return {
        "modalities": list(modalities),
        "entries": entries,
        "by_missing_modality": {m: _mean([e for e in entries if e["missing"] == m]) for m in modalities
                                if any(e["missing"] == m for e in entries)},
        "by_number_of_inputs": {str(n): _mean([e for e in entries if e["n_inputs"] == n])
                                for n in sorted({e["n_inputs"] for e in entries})},
        "overall": _mean(entries),
    }


def format_table(report: dict) -> str:
    """Rows: given modalities; columns: PSNR / SSIM of each missing modality, as in the paper."""
    mods = report["modalities"]
    head = f"{'given':<28}" + "".join(f"{m + ' PSNR/SSIM/MAE':>26}" for m in mods)
    lines = [head, "-" * len(head)]
    for given in dict.fromkeys("+".join(e["given"]) for e in report["entries"]):
        row = {e["missing"]: e for e in report["entries"] if "+".join(e["given"]) == given}
        cells = [f"{row[m]['psnr']:8.2f} {row[m]['ssim']:7.2f} {row[m]['mae']:7.2f}" if m in row else f"{'-':>24}"
                 for m in mods]
        lines.append(f"{given:<28}" + "".join(f"{c:>26}" for c in cells))
    lines.append("-" * len(head))
    for n, s in report["by_number_of_inputs"].items():
        lines.append(f"{'mean, ' + n + ' input(s)':<28}{s['psnr']:8.2f} dB  SSIM {s['ssim']:6.2f}  MAE {s['mae']:6.2f}")
    lines.append(_summary_line("overall", report["overall"]))
    if len(report.get("per_subject", {})) > 1:
        lines += [_summary_line(f"subject {name}", r["overall"]) for name, r in report["per_subject"].items()]
    if report.get("skipped"):
        lines.append(f"skipped {len(report['skipped'])} pattern/target pair(s) that no subject has the files for: "
                     + "; ".join(report["skipped"]))
    return "\n".join(lines)


def _summary_line(label: str, summary: dict) -> str:
    if not summary:
        return f"{label:<28}nothing to score"
    return f"{label:<28}{summary['psnr']:8.2f} dB  SSIM {summary['ssim']:6.2f}  MAE {summary['mae']:6.2f}"
