"""Write one session's results into the derivative dataset and record what was written."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from bids_app.derivatives import (
    bids_uri,
    confidence_sidecar,
    copy_atomic,
    image_path,
    mask_path,
    synth_sidecar,
    transform_path,
    write_json,
)
from bids_app.records import SessionRecord, records_dir
from codebrain.data.volumes import save_nifti
from codebrain.evaluation.metrics import volume_metrics


def _save_mask(src: str, dst: Path) -> None:
    img = nib.load(src)
    save_nifti(np.asarray(img.get_fdata(dtype=np.float32)), img.affine, dst, np.uint8)


def write_session(session: dict, modalities: list[str], preproc_files: list[str], synthesized: list[str],
                  synth_files: list[str], confidence_files: list[str], mask_file: str, transforms: list[str],
                  model: dict) -> SessionRecord:
    """Everything under ``sub-<l>/[ses-<s>/]anat``; returns a record for the report and the group level."""
    bids_dir, out_root = Path(session["bids_dir"]), Path(session["output_dir"])
    subject, ses, reference = session["subject"], session.get("session"), session["reference"]
    held_out = session.get("held_out", [])
    sources = {m: bids_uri(bids_dir, Path(p)) for m, p in session["sources"].items()}
    ce = session.get("ce", {})

    def rel(path: Path) -> str:
        return path.relative_to(out_root).as_posix()

    files: dict[str, dict[str, str]] = {"preproc": {}, "synth": {}, "confidence": {}, "transform": {}}

    for modality, src in zip(modalities, preproc_files):
        dst = out_root / image_path(subject, ses, modality, "preproc", ce.get(modality))
        copy_atomic(Path(src), dst)  # the synthesis node wrote it as the final float32 NIfTI
        write_json(out_root / image_path(subject, ses, modality, "preproc", ce.get(modality), ".json"), {
            "Description": f"N4 bias-corrected, rigidly co-registered to the {reference} image, on its grid, "
                           "skull-stripped" + (" (the reference itself)" if modality == reference else ""),
            "Sources": [sources[modality]], "SkullStripped": True, "SpatialReference": sources[reference],
            "HeldOut": modality in held_out,
        })
        files["preproc"][modality] = rel(dst)
    mask = out_root / mask_path(subject, ses)
    _save_mask(mask_file, mask)
    write_json(out_root / mask_path(subject, ses, ".json"), {
        "Type": "Brain", "Sources": [sources[reference]], "SpatialReference": sources[reference],
        "Description": "MNI152 2009c brain mask warped to the reference through an ANTs SyN registration",
    })
    files["mask"] = rel(mask)
    for modality, src in zip([m for m in modalities if m != reference], transforms):
        dst = out_root / transform_path(subject, ses, modality, reference)
        copy_atomic(Path(src), dst)
        files["transform"][modality] = rel(dst)
    given = {m: sources[m] for m in modalities if m not in held_out}
    for modality, synth, conf in zip(synthesized, synth_files, confidence_files):
        synth_dst = out_root / image_path(subject, ses, modality, "synth")
        conf_dst = out_root / image_path(subject, ses, modality, "confidence")
        copy_atomic(Path(synth), synth_dst)
        copy_atomic(Path(conf), conf_dst)
        write_json(out_root / image_path(subject, ses, modality, "synth", extension=".json"),
                   synth_sidecar(model, given, reference, conf_dst.name) | {"SpatialReference": sources[reference]})
        write_json(out_root / image_path(subject, ses, modality, "confidence", extension=".json"),
                   confidence_sidecar(rel(synth_dst)) | {"SpatialReference": sources[reference]})
        files["synth"][modality] = rel(synth_dst)
        files["confidence"][modality] = rel(conf_dst)

    mask_data = nib.load(mask_file).get_fdata() > 0
    confidence = {m: round(float(nib.load(c).get_fdata()[mask_data].mean()), 4)
                  for m, c in zip(synthesized, confidence_files)}
    comparison = {}
    for modality in held_out:
        if modality in synthesized:
            real = preproc_files[modalities.index(modality)]
            synth = synth_files[synthesized.index(modality)]
            comparison[modality] = volume_metrics(nib.load(synth).get_fdata(), nib.load(real).get_fdata(), mask_data)
    record = SessionRecord(
        subject=subject, session=ses, reference=reference,
        given=list(given), held_out=held_out, synthesized=synthesized,
        sources=session["sources"], files=files, output_dir=str(out_root),
        model={"name": model["name"], "sha256": model["sha256"], "path": model.get("path")},
        mean_confidence=confidence, held_out_metrics=comparison,
        warnings=model.get("warnings", []),
    )
    record.write(records_dir(out_root) / f"{record.name}.json")
    return record
