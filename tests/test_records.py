"""Session records: what the participant level writes is what the report and the group level read."""

from __future__ import annotations

import csv

from bids_app.group import write_group_summary
from bids_app.records import SessionRecord, records_dir, subject_records


def record(subject: str, session: str | None, psnr: float) -> SessionRecord:
    return SessionRecord(
        subject=subject, session=session, reference="T1w", given=["T1w", "T2w"], held_out=["FLAIR"],
        synthesized=["FLAIR", "T1Gd"], sources={"T1w": "/raw/t1.nii.gz", "T2w": "/raw/t2.nii.gz"},
        files={"mask": "sub-01/anat/m.nii.gz"}, output_dir="/out",
        model={"name": "brats", "sha256": "ab", "path": None},
        mean_confidence={"FLAIR": 0.8123, "T1Gd": 0.7}, held_out_metrics={"FLAIR": {"psnr": psnr, "ssim": 90.0}},
        warnings=[])


def test_a_record_survives_its_file(tmp_path):
    original = record("01", "pre", 21.5)
    original.write(tmp_path / "r.json")
    assert SessionRecord.read(tmp_path / "r.json") == original
    assert original.name == "sub-01_ses-pre"


def test_earlier_sessions_join_and_this_run_wins(tmp_path):
    for r in (record("01", "a", 20.0), record("01", "b", 21.0), record("012", "a", 22.0)):
        r.write(records_dir(tmp_path) / f"{r.name}.json")
    merged = subject_records(tmp_path, "01", [record("01", "b", 25.0)])
    assert sorted((r.session, r.held_out_metrics["FLAIR"]["psnr"]) for r in merged) == [("a", 20.0), ("b", 25.0)]


def test_the_group_table_is_read_from_the_records(tmp_path):
    for r in (record("01", None, 20.0), record("02", None, 22.5)):
        r.write(records_dir(tmp_path) / f"{r.name}.json")
    tsv, _ = write_group_summary(tmp_path)
    rows = list(csv.DictReader(tsv.open(), delimiter="\t"))
    assert [(r["participant_id"], r["synthesized"], r["held_out_psnr"]) for r in rows] == [
        ("sub-01", "T1Gd+FLAIR", "FLAIR:20.00"), ("sub-02", "T1Gd+FLAIR", "FLAIR:22.50")]
    assert rows[0]["mean_confidence"] == "T1Gd:0.700 FLAIR:0.812"
