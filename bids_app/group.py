"""Group level: one row per subject and session of what was given, synthesized and how confidently."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

from codebrain.cli import UserError
from codebrain.data.modalities import MODALITIES

from bids_app.derivatives import write_text
from bids_app.exit_codes import EXIT_NOINPUT

COLUMNS = ("participant_id", "session_id", "given", "synthesized", "reference", "model",
           "mean_confidence", "held_out_psnr")


def _rows(output_dir: Path) -> list[dict[str, str]]:
    by_session: dict[tuple[str, str], dict] = {}
    for sidecar in sorted(output_dir.glob("sub-*/**/anat/*_desc-synth_*.json")):
        meta = json.loads(sidecar.read_text())
        parts = dict(p.split("-", 1) for p in sidecar.name.split("_")[:-1] if "-" in p)
        key = (f"sub-{parts['sub']}", f"ses-{parts['ses']}" if "ses" in parts else "n/a")
        row = by_session.setdefault(key, {"given": meta["InputModalities"], "synth": [], "conf": [], "psnr": [],
                                          "reference": meta["ReferenceModality"], "model": meta["Model"]["Name"]})
        modality = _modality(sidecar.name)
        row["synth"].append(modality)
        conf = sidecar.with_name(meta["ConfidenceMap"])
        row["conf"].append(f"{modality}:{_mean_confidence(conf, sidecar):.3f}")
        preproc = sidecar.with_name(sidecar.name.replace("desc-synth", "desc-preproc"))
        if preproc.exists() and json.loads(preproc.read_text()).get("HeldOut"):
            row["psnr"].append(f"{modality}:{_held_out_psnr(sidecar, preproc):.2f}")
    order = {m: i for i, m in enumerate(MODALITIES)}
    return [{"participant_id": sub, "session_id": ses, "given": "+".join(r["given"]),
             "synthesized": "+".join(sorted(r["synth"], key=order.get)),
             "reference": r["reference"], "model": r["model"], "mean_confidence": " ".join(r["conf"]),
             "held_out_psnr": " ".join(r["psnr"]) or "n/a"} for (sub, ses), r in sorted(by_session.items())]


def _modality(name: str) -> str:
    suffix = name.rsplit("_", 1)[1].split(".")[0]
    return "T1Gd" if suffix == "T1w" and "_ce-" in name else suffix


def _mask(sidecar: Path):
    import nibabel as nib

    prefix = sidecar.name.split("_ce-")[0].split("_desc-")[0]
    return nib.load(str(sidecar.with_name(f"{prefix}_desc-brain_mask.nii.gz"))).get_fdata() > 0


def _mean_confidence(path: Path, sidecar: Path) -> float:
    import nibabel as nib

    return float(nib.load(str(path)).get_fdata()[_mask(sidecar)].mean())


def _held_out_psnr(synth_sidecar: Path, preproc_sidecar: Path) -> float:
    import nibabel as nib

    from codebrain.metrics import volume_metrics

    def image(sidecar: Path):
        return nib.load(str(sidecar.with_name(sidecar.name.replace(".json", ".nii.gz")))).get_fdata()

    return volume_metrics(image(synth_sidecar), image(preproc_sidecar), _mask(synth_sidecar))["psnr"]


def write_group_summary(output_dir: Path) -> tuple[Path, Path]:
    rows = _rows(output_dir)
    if not rows:
        raise UserError(f"{output_dir} holds no synthesized images: run the participant level first", EXIT_NOINPUT)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    tsv, page = output_dir / "group_summary.tsv", output_dir / "group_summary.html"
    write_text(tsv, buf.getvalue())
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(r[c])}</td>" for c in COLUMNS) + "</tr>" for r in rows)
    links = " ".join(f'<a href="{r["participant_id"]}.html">{r["participant_id"]}</a>'
                     for r in {r["participant_id"]: r for r in rows}.values())
    write_text(page, "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>CodeBrain: group</title>"
               "<style>body{font-family:system-ui,sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}"
               "table{border-collapse:collapse}</style></head><body><h1>CodeBrain: cohort summary</h1>"
               f"<p>{len(rows)} session(s). Reports: {links}</p><table><tr>"
               + "".join(f"<th>{c}</th>" for c in COLUMNS) + f"</tr>{cells}</table></body></html>\n")
    print(f"codebrain-bids: {len(rows)} session(s) summarised in {tsv} and {page}")
    return tsv, page
