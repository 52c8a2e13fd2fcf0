"""Write a bundled model's card: test metrics beside the baselines, into model.json and README.md.

    python scripts/model_card.py NAME WORK_DIR

Reads WORK_DIR/eval-NAME.json, eval-NAME-mean.json and eval-NAME-quadratic.json (written
by scripts/train_bundled.sh) and, when present, WORK_DIR/generalisation-NAME/summary.json
(``benchmarks/generalisation.py``: every real source the model did not train on), and updates
codebrain/weights/NAME/. The weights' sha256 is of model.safetensors, so editing model.json
does not change it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "codebrain" / "weights"
CONFIGS = WEIGHTS.parent / "configs"


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


def main(name: str, work: Path) -> None:
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
    lines = [f"# Bundled model `{name}`", "",
             f"Modalities: {', '.join(info['modalities'])}. Test subject(s): {', '.join(reports['model']['subjects'])}"
             " (real, never seen in training).", "",
             "| given | CodeBrain PSNR | mean of inputs | quadratic regression |", "|---|---|---|---|"]
    for p, v in info["card"]["pattern_psnr"].items():
        lines.append(f"| {p} | {v['model']:.2f} | {v['mean']:.2f} | {v['quadratic']:.2f} |")
    o = {k: reports[k]["overall"] for k in reports}
    cells = " | ".join(f"{o[k]['psnr']:.2f} / {o[k]['ssim']:.1f} / {o[k]['mae']:.1f}"
                       for k in ("model", "mean", "quadratic"))
    lines.append(f"| **overall** (PSNR / SSIM % / MAE x1000) | {cells} |")
    s1 = info["stage1_training"]
    lines += ["", f"Stage I: `{s1['command']}`, {s1['step']} steps, seed {s1['seed']}, {where(s1)}, "
              f"{s1['wall_time_s']} s.",
              "Stage II: " + "; then trained further: ".join(
                  f"`{r['command']}`, {r['step']} steps, seed {r['seed']}, {where(r)}, {r['wall_time_s']} s"
                  for r in stage2_runs(info["training"])) + ".",
              f"Recipe: {info['card']['recipe']}. sha256 of model.safetensors: `{info['sha256']}`."]
    if "detail" in info:
        d = info["detail"]
        lines.insert(-1, f"Detail: the fine band (below sigma {d['sigma']} px, amount {d['amount']}) of the quadratic "
                         f"intensity map fitted on the training split ({len(d['subjects'])} subject folders): "
                         f"`{d['command']}`.")
    if "sources" in info["card"]:
        lines += ["", "Per source (real patients this model never trained on; "
                  "`benchmarks/generalisation.py`; PSNR / SSIM %):", "",
                  "| source | subjects | CodeBrain | mean of inputs | quadratic regression | beats both (PSNR, SSIM) |",
                  "|---|---|---|---|---|---|"]
        for src, v in info["card"]["sources"].items():
            won = v["beats_both"]["overall"]
            lines.append(f"| {src} | {', '.join(v['subjects'])} | "
                         + " | ".join(f"{v[k]['psnr']:.2f} / {v[k]['ssim']:.1f}"
                                      for k in ("model", "mean", "quadratic"))
                         + f" | {'yes' if won['psnr'] else 'no'}, {'yes' if won['ssim'] else 'no'} |")
    (WEIGHTS / name / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
