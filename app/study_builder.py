"""Build a multi-series MR study from NIfTI volumes (``python -m app.study_builder``).

No multi-contrast DICOM study can be shared, so the tests and the demo write one from the
NIfTI scans: one series per contrast, with the descriptions and sequence parameters a scanner
would record (TR/TE/TI, a contrast agent for T1Gd), all in one study and frame of reference.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import nibabel as nib
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from app import __version__
from app.dicom_writer import write_nifti_series

ACQUISITION: dict[str, dict] = {
    "T1w": {"SeriesDescription": "AX T1 SE", "ScanningSequence": "SE", "RepetitionTime": "550", "EchoTime": "12"},
    "T1Gd": {"SeriesDescription": "AX T1 SE POST", "ScanningSequence": "SE", "RepetitionTime": "550",
             "EchoTime": "12", "ContrastBolusAgent": "GADOBUTROL"},
    "T2w": {"SeriesDescription": "AX T2 FSE", "ScanningSequence": "SE", "RepetitionTime": "4200", "EchoTime": "102"},
    "FLAIR": {"SeriesDescription": "AX T2 FLAIR", "ScanningSequence": "IR", "RepetitionTime": "9000",
              "EchoTime": "125", "InversionTime": "2500"},
    "PDw": {"SeriesDescription": "AX PD FSE", "ScanningSequence": "SE", "RepetitionTime": "3000", "EchoTime": "15"},
}


def new_study(patient_id: str = "CODEBRAIN-TEST", description: str = "MRI BRAIN") -> Dataset:
    study = Dataset()
    study.PatientName = f"TEST^{patient_id}"
    study.PatientID = patient_id
    study.PatientBirthDate, study.PatientSex = "19700101", "O"
    study.StudyInstanceUID = generate_uid()
    study.StudyDate = datetime.date.today().strftime("%Y%m%d")
    study.StudyTime = "120000"
    study.StudyID, study.AccessionNumber = "1", f"ACC{patient_id[-8:]}"
    study.ReferringPhysicianName = ""
    study.StudyDescription = description
    study.FrameOfReferenceUID = generate_uid()
    study.SpecificCharacterSet = "ISO_IR 100"
    return study


def write_study(images: dict[str, nib.Nifti1Image], out_dir: Path, study: Dataset | None = None,
                acquisition: dict[str, dict] | None = None) -> Dataset:
    """One series per modality under ``out_dir/<modality>/``; returns the study's attributes."""
    study = study or new_study()
    for number, (modality, image) in enumerate(images.items(), start=1):
        params = dict(ACQUISITION.get(modality, {"SeriesDescription": modality}))
        params.update((acquisition or {}).get(modality, {}))
        write_nifti_series(image, study, modality, Path(out_dir) / modality, number, params)
    return study


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.study_builder", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("output", type=Path, help="folder for the study (one subfolder per series)")
    parser.add_argument("inputs", nargs="+", metavar="MODALITY=NIFTI", help="e.g. T1w=t1.nii.gz FLAIR=flair.nii.gz")
    parser.add_argument("--patient-id", default="CODEBRAIN-TEST")
    args = parser.parse_args(argv)
    images = {}
    for item in args.inputs:
        modality, sep, path = item.partition("=")
        if not sep or modality not in ACQUISITION:
            parser.error(f"{item!r}: expected MODALITY=PATH with MODALITY among {', '.join(ACQUISITION)}")
        try:
            images[modality] = nib.load(path)
        except (OSError, nib.filebasedimages.ImageFileError) as err:
            parser.error(f"{path}: {err}")
    try:
        study = write_study(images, args.output, new_study(args.patient_id))
    except ValueError as err:  # not a 3D image
        parser.error(str(err))
    print(f"study {study.StudyInstanceUID}: {', '.join(images)} in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
