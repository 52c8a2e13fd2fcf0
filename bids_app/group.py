"""Group level: one row per subject and session of what was given, synthesized and how confidently."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from bids_app.derivatives import write_text
from bids_app.records import SessionRecord, records_dir
from codebrain.data.modalities import MODALITIES
from codebrain.errors import NoInputError

COLUMNS = ("participant_id", "session_id", "given", "synthesized", "reference", "model",
           "mean_confidence", "held_out_psnr")


def _rows(output_dir: Path) -> list[dict[str, str]]:
    """From the session records the participant level keeps (logs/sessions): nothing is recomputed."""
    order = {m: i for i, m in enumerate(MODALITIES)}
    rows = []
    for path in sorted(records_dir(output_dir).glob("sub-*.json")):
        r = SessionRecord.read(path)
        synthesized = sorted(r.synthesized, key=order.__getitem__)
        rows.append({
            "participant_id": f"sub-{r.subject}",
            "session_id": f"ses-{r.session}" if r.session else "n/a",
            "given": "+".join(r.given), "synthesized": "+".join(synthesized),
            "reference": r.reference, "model": r.model["name"],
            "mean_confidence": " ".join(f"{m}:{r.mean_confidence[m]:.3f}" for m in synthesized),
            "held_out_psnr": " ".join(f"{m}:{v['psnr']:.2f}" for m, v in r.held_out_metrics.items()) or "n/a",
        })
    return rows


def write_group_summary(output_dir: Path) -> tuple[Path, Path]:
    rows = _rows(output_dir)
    if not rows:
        raise NoInputError(f"{output_dir} holds no synthesized images: run the participant level first")
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
