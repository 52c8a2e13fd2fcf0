"""Write a bundled model's card: held-out metrics beside the baselines, into model.json and README.md.

    python scripts/model_card.py NAME WORK_DIR   # record the figures of a training run, then render
    python scripts/model_card.py NAME --render   # render README.md again from model.json alone

Reads WORK_DIR/eval-NAME.json, eval-NAME-mean.json and eval-NAME-quadratic.json (written
by scripts/train_bundled.sh) and, when present, WORK_DIR/generalisation-NAME/summary.json
(``benchmarks/generalisation.py``: every real source the model did not train on), and updates
codebrain/weights/NAME/. The weights' sha256 is of model.safetensors, so editing model.json
does not change it. README.md is made from model.json only, so a wording fix needs no training folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "codebrain" / "weights"
CONFIGS = WEIGHTS.parent / "configs"
# The real sources that chose each recipe (its grader, seed or detail map; docs/research/recipes.md):
# their figures are validation figures, optimistic for a new patient. Every other source is a test.
VALIDATION_SOURCES = {"brats": ("tcga", "stroke-cstar"), "ixi": ("mccausland-chris", "stroke-cstar")}


def pattern_means(report: dict) -> dict[str, dict[str, float]]:
    """Mean over missing modalities of each pattern (the 'pattern mean' the baselines are held to)."""
    out: dict[str, list[dict]] = {}
    for e in report["entries"]:
        out.setdefault("+".join(e["given"]), []).append(e)
    return {k: {m: round(sum(e[m] for e in v) / len(v), 3) for m in ("psnr", "ssim", "mae")} for k, v in out.items()}


def where(training: dict) -> str:
    """The device, and the accelerator's name where the run recorded one (older runs did not)."""
    name = training.get("accelerator")
    return f"device {training['device']}" + (f" ({name})" if name and name != training["device"] else "")


def stage2_runs(training: dict) -> list[dict]:
    """The Stage II runs in order: a grader trained further (``--init``) names the run it started from."""
    runs = [training]
    while (runs[0].get("init") or {}).get("training"):
        runs.insert(0, runs[0]["init"]["training"])
    return runs


def record(name: str, work: Path) -> dict:
    """Put a training run's evaluation and per-source figures into model.json's card."""
    reports = {kind: json.loads((work / f"eval-{name}{suffix}.json").read_text())
               for kind, suffix in (("model", ""), ("mean", "-mean"), ("quadratic", "-quadratic"))}
    means = {kind: pattern_means(r) for kind, r in reports.items()}
    beats = {p: all(means["model"][p]["psnr"] > means[b][p]["psnr"] for b in ("mean", "quadratic"))
             for p in means["model"]}
    info_path = WEIGHTS / name / "model.json"
    info = json.loads(info_path.read_text())
    info["card"] = {
        "recipe": "scripts/train_bundled.sh (configs {})".format(", ".join(
            f"codebrain/configs/{p.name}" for p in sorted(CONFIGS.glob(f"bundled-{name}*.yaml")))),
        "test": {"subjects": reports["model"]["subjects"], "overall": reports["model"]["overall"],
                 "by_number_of_inputs": reports["model"]["by_number_of_inputs"],
                 "by_missing_modality": reports["model"]["by_missing_modality"]},
        "pattern_psnr": {p: {k: means[k][p]["psnr"] for k in means} for p in means["model"]},
        "baselines_overall": {k: reports[k]["overall"] for k in ("mean", "quadratic")},
        "beats_both_baselines_on_every_pattern": all(beats.values()),
    }
    sources = work / f"generalisation-{name}" / "summary.json"
    if sources.exists():
        summary = json.loads(sources.read_text())
        info["card"]["sources"] = summary["sources"]
        info["card"]["training_subjects"] = summary["excluded_as_training"]
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    return info


def role(name: str, source: str) -> str:
    return "validation" if source in VALIDATION_SOURCES[name] else "test"


def held_out_role(name: str, card: dict) -> str:
    """How to read the first table: its patients' source either chose the recipe or chose nothing."""
    subjects = set(card["test"]["subjects"])
    sources = [s for s, v in card.get("sources", {}).items() if subjects & set(v["subjects"])]
    if not sources:  # without the per-source record the role cannot be told: never guess "test"
        sys.exit(f"model_card: no source in the card holds {', '.join(sorted(subjects))}; "
                 f"run benchmarks/generalisation.py into WORK/generalisation-{name} first")
    return ("validation: this source chose the recipe, so read the figures as optimistic for a new patient"
            if any(role(name, s) == "validation" for s in sources) else "test: nothing was chosen on it")


def render(name: str, info: dict) -> str:
    """The card's README, from model.json alone."""
    card = info["card"]
    lines = [f"# Bundled model `{name}`", "",
             f"Modalities: {', '.join(info['modalities'])}. Held-out subject(s): {', '.join(card['test']['subjects'])}"
             f" (real, never seen in training; {held_out_role(name, card)}).", "",
             "| given | CodeBrain PSNR | mean of inputs | quadratic regression |", "|---|---|---|---|"]
    for p, v in card["pattern_psnr"].items():
        lines.append(f"| {p} | {v['model']:.2f} | {v['mean']:.2f} | {v['quadratic']:.2f} |")
    o = {"model": card["test"]["overall"], **card["baselines_overall"]}
    cells = " | ".join(f"{o[k]['psnr']:.2f} / {o[k]['ssim']:.1f} / {o[k]['mae']:.1f}"
                       for k in ("model", "mean", "quadratic"))
    lines.append(f"| **overall** (PSNR / SSIM % / MAE x1000) | {cells} |")
    s1 = info["stage1_training"]
    lines += ["", f"Stage I: `{s1['command']}`, {s1['step']} steps, seed {s1['seed']}, {where(s1)}, "
              f"{s1['wall_time_s']} s.",
              "Stage II: " + "; then trained further: ".join(
                  f"`{r['command']}`, {r['step']} steps, seed {r['seed']}, {where(r)}, {r['wall_time_s']} s"
                  for r in stage2_runs(info["training"])) + ".",
              f"Recipe: {card['recipe']}. sha256 of model.safetensors: `{info['sha256']}`."]
    if "detail" in info:
        d = info["detail"]
        lines.insert(-1, f"Detail: the fine band (below sigma {d['sigma']} px, amount {d['amount']}) of the quadratic "
                         f"intensity map fitted on the training split ({len(d['subjects'])} subject folders): "
                         f"`{d['command']}`.")
    if "sources" in card:
        lines += ["", "Per source (real patients this model never trained on; "
                  "`benchmarks/generalisation.py`; PSNR / SSIM %; a validation source chose the recipe, "
                  "a test source chose nothing):", "",
                  "| source | role | subjects | CodeBrain | mean of inputs | quadratic regression "
                  "| beats both (PSNR, SSIM) |",
                  "|---|---|---|---|---|---|---|"]
        for src, v in card["sources"].items():
            won = v["beats_both"]["overall"]
            lines.append(f"| {src} | {role(name, src)} | {', '.join(v['subjects'])} | "
                         + " | ".join(f"{v[k]['psnr']:.2f} / {v[k]['ssim']:.1f}"
                                      for k in ("model", "mean", "quadratic"))
                         + f" | {'yes' if won['psnr'] else 'no'}, {'yes' if won['ssim'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: python scripts/model_card.py NAME (WORK_DIR | --render)")
    name = argv[0]
    if name not in VALIDATION_SOURCES:
        sys.exit(f"model_card: {name} has no entry in VALIDATION_SOURCES (which real sources chose its recipe)")
    info = (json.loads((WEIGHTS / name / "model.json").read_text()) if argv[1] == "--render"
            else record(name, Path(argv[1])))
    text = render(name, info)
    (WEIGHTS / name / "README.md").write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main(sys.argv[1:])
