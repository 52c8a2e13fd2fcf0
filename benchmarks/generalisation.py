"""Generalisation across sources: a model and both baselines on every patient it never saw, real or simulated.

    python benchmarks/generalisation.py --model brats --shared ../shared/data --work WORK \\
        --fit-data TRAIN_DIR [--fit-split train] [--exclude TCGA-FG-6692 ...] [--sources ...] [--output DIR]

The real patients of the shared data folder (``codebrain.data.real_sources``: TCGA, the
C-STAR stroke patient, BraTS 2013, McCausland) are laid out under ``WORK/sources`` (the raw
McCausland T1w/PDw pair is registered and skull-stripped by the project's preprocessing), and so are
the simulated validation sources (``codebrain.data.sim_sources``: ``sim-enhancing``, strong enhancement
and large lesions, simulated there once).
Per source, the subjects the model did not train on (``--exclude``, default: the model card's
``training_subjects``) are scored by the ``codebrain-eval`` protocol on every pattern their files
allow: the model, the mean of the given inputs, and the per-voxel quadratic regression fitted
on the model's own training folder (``--fit-data``/``--fit-split``, so the baseline knows exactly
what the model knew). Writes ``<source>.json`` and ``<source>.md`` per source (overall, per
subject, per pattern) and ``summary.json``/``summary.md``; prints the summary.
Non-commercial images are only read from the shared folder, never copied.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from codebrain.data.real_sources import PREP_SEED, SOURCES, Source, assemble, source
from codebrain.data.sim_sources import SIMULATED_SOURCES, SimulatedSource, build, simulated_source
from codebrain.data.slices import build_slice_cache
from codebrain.errors import DataError
from codebrain.evaluation.baselines import MeanOfInputs, fit_quadratic
from codebrain.evaluation.protocol import evaluate_slices, model_predictor
from codebrain.model.io import load_model_dir, training_size
from codebrain.runtime.environment import environment

METHODS = ("model", "mean", "quadratic")


def lay_out(shared: Path, out: Path, names: list[str], prep_seed: int
            ) -> dict[str, tuple[Source | SimulatedSource, Path]]:
    """The named sources, real (linked or prepared from ``shared``) or simulated, in the order asked."""
    known = [s.name for s in (*SOURCES, *SIMULATED_SOURCES)]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DataError(f"unknown source {unknown[0]!r}; known: {', '.join(known)}")
    simulated = {n: s for n in names if (s := simulated_source(n)) is not None}
    real_names = [n for n in names if n not in simulated]
    real = assemble(shared, out, real_names, prep_seed) if real_names else {}  # assemble([]) means all
    return {n: (simulated[n], build(simulated[n], out)) if n in simulated else (source(n), real[n]) for n in names}


def score_source(predictors: dict, mods: tuple[str, ...], folder: Path, subjects: list[str], size: int,
                 cache_dir: Path | None) -> dict:
    """Every method on one source's subjects; empty when no subject has two of the model's modalities."""
    subjects = [s for s in subjects if sum((folder / s / f"{m}.nii.gz").exists() for m in mods) >= 2]
    if not subjects:
        return {}
    cache = build_slice_cache(folder, subjects, mods, size, cache_dir)
    return {name: evaluate_slices(predict, mods, cache.images, cache.present, subjects=cache.subjects)
            for name, predict in predictors.items()}


def _wins(model: dict, baselines: list[dict]) -> dict[str, bool]:
    return {k: model[k] > max(b[k] for b in baselines) for k in ("psnr", "ssim")}


def pattern_means(report: dict) -> dict[str, dict[str, float]]:
    """Metric means per input pattern (over its targets), the unit the issue counts wins in."""
    groups: dict[str, list[dict]] = {}
    for entry in report["entries"]:
        groups.setdefault("+".join(entry["given"]), []).append(entry)
    return {given: {k: sum(e[k] for e in group) / len(group) for k in ("psnr", "ssim")}
            for given, group in groups.items()}


def verdict(reports: dict) -> dict:
    """Does the model beat both baselines in PSNR and SSIM, overall, per subject and per input pattern?"""
    model, baselines = reports["model"], [reports[k] for k in METHODS[1:]]
    out = {"overall": _wins(model["overall"], [b["overall"] for b in baselines])}
    for subject in model["per_subject"]:
        out[subject] = _wins(model["per_subject"][subject]["overall"],
                             [b["per_subject"][subject]["overall"] for b in baselines])
    means = [pattern_means(r) for r in (model, *baselines)]
    patterns = {given: _wins(m, [b[given] for b in means[1:]]) for given, m in means[0].items()}
    out["patterns"] = patterns
    out["patterns_won"] = sum(all(w.values()) for w in patterns.values())
    return out


def markdown(name: str, result: dict) -> str:
    reports = result["reports"]
    head = "| | " + " | ".join(f"{k} PSNR / SSIM" for k in METHODS) + " |\n|---|" + "---|" * len(METHODS)
    cell = lambda s: f"{s['psnr']:.2f} / {s['ssim']:.1f}"  # noqa: E731
    lines = [f"## {name} ({result['licence']}; trainable: {result['trainable']})", "",
             f"Subjects scored: {', '.join(result['subjects'])}. Model: {result['model']}.", "", head]
    lines.append("| **overall** | " + " | ".join(cell(reports[k]["overall"]) for k in METHODS) + " |")
    won = result["beats_both"]
    lines[4:4] = [f"Input patterns on which the model beats both baselines in PSNR and SSIM: "
                  f"{won['patterns_won']} of {len(won['patterns'])}.", ""]
    for subject in reports["model"]["per_subject"]:
        lines.append(f"| {subject} | " + " | ".join(cell(reports[k]["per_subject"][subject]["overall"])
                                                     for k in METHODS) + " |")
    for i, entry in enumerate(reports["model"]["entries"]):
        label = f"{'+'.join(entry['given'])} -> {entry['missing']}"
        lines.append(f"| {label} | " + " | ".join(cell(reports[k]["entries"][i]) for k in METHODS) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="brats", help="bundled model name or model directory")
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--work", type=Path, required=True, help="where the sources are laid out and cached")
    parser.add_argument("--fit-data", type=Path, required=True, help="the model's training folder (quadratic fit)")
    parser.add_argument("--fit-split", default="train")
    parser.add_argument("--mirror", action="store_true", help="the model as codebrain-synth --mirror runs it")
    parser.add_argument("--exclude", nargs="*", help="subjects the model trained on (default: its card's list)")
    parser.add_argument("--sources", nargs="+", default=[s.name for s in (*SOURCES, *SIMULATED_SOURCES)],
                        help="real (codebrain.data.real_sources) or simulated (codebrain.data.sim_sources) "
                        "source names; default all")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/generalisation"))
    parser.add_argument("--prep-seed", type=int, default=PREP_SEED,
                        help="ANTs seed for the sources prepared from raw scans (McCausland)")
    args = parser.parse_args(argv)

    model, info = load_model_dir(args.model)
    mods = model.config.modalities
    size = training_size(info)
    exclude = set(args.exclude if args.exclude is not None else info.get("card", {}).get("training_subjects", []))
    cache_dir = args.work / "cache"
    folders = lay_out(args.shared, args.work / "sources", args.sources, args.prep_seed)
    quadratic = fit_quadratic(args.fit_data, args.fit_split, mods, size, cache_dir)
    predictors = {"model": model_predictor(model, mirror=args.mirror), "mean": MeanOfInputs(), "quadratic": quadratic}
    args.output.mkdir(parents=True, exist_ok=True)
    summary = {"model": str(args.model), "model_sha256": info["sha256"], "mirror": args.mirror,
               "modalities": list(mods), "excluded_as_training": sorted(exclude), "fit_data": str(args.fit_data),
               "prep_seed": args.prep_seed, **environment(), "sources": {}}
    for name, (src, folder) in folders.items():
        subjects = [s for s in src.subjects if s not in exclude]
        started = time.time()
        print(f"{name}: scoring {', '.join(subjects) or 'no subject'} ...", file=sys.stderr, flush=True)
        reports = score_source(predictors, mods, folder, subjects, size, cache_dir)
        if not reports or not reports["model"]["entries"]:
            print(f"{name}: nothing to score for {','.join(mods)} (files: {','.join(src.files)}; "
                  f"excluded: {', '.join(sorted(exclude & set(src.subjects))) or 'none'})")
            continue
        result = {"source": name, "licence": src.licence, "trainable": src.trainable,
                  "subjects": sorted(reports["model"]["per_subject"]), "model": str(args.model),
                  "seconds": round(time.time() - started, 1), "beats_both": verdict(reports), "reports": reports}
        (args.output / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.output / f"{name}.md").write_text(markdown(name, result))
        summary["sources"][name] = {"subjects": result["subjects"], "beats_both": result["beats_both"],
                                    **{k: reports[k]["overall"] for k in METHODS}}
        print(markdown(name, result))
    (args.output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.output / "summary.md").write_text(summary_markdown(summary))
    print(summary_markdown(summary))
    return 0


def summary_markdown(summary: dict) -> str:
    lines = [f"Model {summary['model']} ({', '.join(summary['modalities'])}); quadratic fitted on "
             f"{summary['fit_data']}; excluded as training: {', '.join(summary['excluded_as_training']) or 'none'}.",
             "", "| source | subjects | model PSNR / SSIM | mean | quadratic | beats both (PSNR, SSIM) "
             "| patterns won |", "|---|---|---|---|---|---|---|"]
    for name, s in summary["sources"].items():
        cells = [f"{s[k]['psnr']:.2f} / {s[k]['ssim']:.1f}" for k in METHODS]
        won = s["beats_both"]["overall"]
        lines.append(f"| {name} | {len(s['subjects'])} | " + " | ".join(cells)
                     + f" | {'yes' if won['psnr'] else 'no'}, {'yes' if won['ssim'] else 'no'} "
                     f"| {s['beats_both']['patterns_won']} / {len(s['beats_both']['patterns'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
