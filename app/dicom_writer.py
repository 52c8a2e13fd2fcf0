"""MR Image Storage series written with pydicom: the synthesized contrasts, and test studies.

The SDK writes segmentations, SR and PDF but no image series. A synthesized series joins the
study of its source: patient and study modules are copied from the reference series, the
frame of reference and the slice geometry are the reference's, slice for slice, and the new
series says plainly that it is synthetic (ImageType DERIVED\\SECONDARY, SeriesDescription,
DerivationDescription, Contributing Equipment naming the model).

Pixels are unsigned 16-bit: ``round(value * SCALE)``. For synthesized images the value is
the model's normalised scale (1.0 = the 99.5th percentile of the brain in training, see
``codebrain.inference.synthesize``), so 1000 in the pixel data is that level; confidence maps store
[0, 1] the same way.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, MRImageStorage, generate_uid

from codebrain import __version__
from codebrain.runtime.environment import software_versions

SCALE = 1000.0
PATIENT_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge", "PatientWeight",
                 "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber",
                 "ReferringPhysicianName", "StudyDescription", "SpecificCharacterSet", "IssuerOfPatientID")
# per modality: the sequence family a synthetic image imitates (ScanningSequence is type 1)
SCANNING_SEQUENCE = {"T1w": "GR", "T1Gd": "GR", "T2w": "SE", "PDw": "SE", "FLAIR": "IR"}


def lps(vector: np.ndarray) -> np.ndarray:
    """NIfTI RAS+ world coordinates to DICOM LPS (and back: the map is its own inverse)."""
    return np.asarray(vector, dtype=float) * np.array([-1.0, -1.0, 1.0])


def ds_string(values: Sequence[float]) -> list[str]:
    """Decimal strings that fit DICOM's 16-character DS limit."""
    return [f"{v:.10g}"[:16] for v in values]


def to_uint16(values: np.ndarray, scale: float = SCALE) -> np.ndarray:
    return np.clip(np.rint(np.asarray(values, dtype=np.float64) * scale), 0, 65535).astype(np.uint16)


def window(pixels: np.ndarray) -> tuple[float, float]:
    """Window centre and width spanning the 1st to 99.5th percentile of the non-zero voxels."""
    inside = pixels[pixels > 0]
    if inside.size == 0:
        return SCALE / 2, SCALE
    low, high = np.percentile(inside, [1, 99.5])
    return float(round((low + high) / 2)), float(max(round(high - low), 1))


def _new_file(dataset: Dataset) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"CODEBRAIN_{__version__}"[:16]
    dataset.file_meta = meta
    return dataset


def mr_instance(series: Dataset, pixels: np.ndarray, geometry: dict, number: int) -> Dataset:
    """One slice: ``series`` holds the patient, study and series modules shared by every slice."""
    ds = Dataset()
    ds.update(series)
    now = datetime.datetime.now()
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceNumber = number
    ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.InstanceCreationDate, ds.InstanceCreationTime = ds.ContentDate, ds.ContentTime
    for key, value in geometry.items():
        setattr(ds, key, value)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    return _new_file(ds)


def _save_all(instances: list[Dataset], out_dir: Path, prefix: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ds in instances:
        path = out_dir / f"{prefix}-{int(ds.InstanceNumber):04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def series_module(source: Dataset, description: str, number: int, modality_name: str) -> Dataset:
    """Patient and study copied from ``source``; a new MR series on its frame of reference."""
    ds = Dataset()
    for key in PATIENT_STUDY:
        if key in source:
            ds[key] = source[key]
    for key in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                "StudyID", "AccessionNumber", "ReferringPhysicianName"):
        ds.setdefault(key, "")  # type 2: present, may be empty
    ds.Modality = "MR"
    ds.BodyPartExamined = source.get("BodyPartExamined", "HEAD")  # unpaired: no Laterality
    ds.Manufacturer = source.get("Manufacturer", "")
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = number
    ds.SeriesDescription = description[:64]
    now = datetime.datetime.now()
    ds.SeriesDate, ds.SeriesTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.FrameOfReferenceUID = source.get("FrameOfReferenceUID") or generate_uid()
    ds.PositionReferenceIndicator = source.get("PositionReferenceIndicator", "")
    ds.ScanningSequence = SCANNING_SEQUENCE.get(modality_name, "RM")
    ds.SequenceVariant = "NONE"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = source.get("MRAcquisitionType", "")
    ds.EchoTime = ""
    ds.EchoTrainLength = ""
    ds.RepetitionTime = ""
    if ds.ScanningSequence == "IR":
        ds.InversionTime = ""
    ds.MagneticFieldStrength = source.get("MagneticFieldStrength", "")
    ds.PatientPosition = source.get("PatientPosition", "HFS")
    return ds


def _geometry_from_reference(ref: Dataset) -> dict:
    geometry = {k: ref[k].value for k in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing")}
    geometry["SliceThickness"] = ref.get("SliceThickness", "")
    if "SliceLocation" in ref:
        geometry["SliceLocation"] = ref.SliceLocation
    return geometry


def write_synthetic_series(
    volume: np.ndarray, reference: Sequence[Dataset], modality: str, model: dict, out_dir: Path,
    series_number: int, confidence: bool = False,
) -> list[Path]:
    """``volume`` is (slices, rows, columns) in the order of ``reference`` (the reference series'
    sorted instances); each slice takes its reference slice's position and orientation."""
    if volume.shape != (len(reference), int(reference[0].Rows), int(reference[0].Columns)):
        raise ValueError(f"volume {volume.shape} does not match the reference series "
                         f"({len(reference)} x {reference[0].Rows} x {reference[0].Columns})")
    name, version = model.get("name", "model"), model.get("codebrain_version", __version__)
    software = [f"{package} {v}"[:64] for package, v in software_versions().items()]
    what = f"{modality} confidence" if confidence else modality
    source_desc = reference[0].get("SeriesDescription", "")
    series = series_module(reference[0], f"SYNTHETIC {what} (CodeBrain {name})", series_number, modality)
    series.ImageType = ["DERIVED", "SECONDARY", "OTHER"]
    series.DerivationDescription = (
        f"{'Confidence of the ' if confidence else ''}{modality} synthesized by CodeBrain {version}, model {name} "
        f"(sha256 {str(model.get('sha256', ''))[:12]}), from {', '.join(model.get('inputs', []))}; "
        f"geometry of series {source_desc!r}. Not acquired: not for diagnosis on its own.")[:1024]
    series.Manufacturer = "CodeBrain"
    series.ManufacturerModelName = f"CodeBrain {name}"[:64]
    # the software that made these pixels (SoftwareVersions is multi-valued): CodeBrain, torch, pydicom, ...
    series.SoftwareVersions = software
    series.BurnedInAnnotation = "NO"
    series.LossyImageCompression = "00"
    equipment = Dataset()
    equipment.Manufacturer = "CodeBrain"
    equipment.ManufacturerModelName = f"CodeBrain {name}"[:64]
    equipment.SoftwareVersions = software
    equipment.ContributionDescription = f"{what} synthesized from other contrasts"[:1024]
    purpose = Dataset()
    purpose.CodeValue, purpose.CodingSchemeDesignator, purpose.CodeMeaning = "109103", "DCM", "Modifying Equipment"
    equipment.PurposeOfReferenceCodeSequence = DicomSequence([purpose])
    series.ContributingEquipmentSequence = DicomSequence([equipment])
    pixels = to_uint16(volume)
    series.WindowCenter, series.WindowWidth = window(pixels)
    instances = []
    for k, ref in enumerate(reference):
        ds = mr_instance(series, pixels[k], _geometry_from_reference(ref), k + 1)
        source = Dataset()
        source.ReferencedSOPClassUID, source.ReferencedSOPInstanceUID = ref.SOPClassUID, ref.SOPInstanceUID
        ds.SourceImageSequence = DicomSequence([source])
        instances.append(ds)
    return _save_all(instances, out_dir, f"{modality}{'-confidence' if confidence else ''}")


def write_nifti_series(
    image: nib.Nifti1Image, study: Dataset, modality: str, out_dir: Path, series_number: int,
    acquisition: dict | None = None,
) -> list[Path]:
    """Write a NIfTI volume as an acquired-looking MR series of ``study`` (for test studies and
    demos: no multi-contrast DICOM study can be shared). Slices run along the image's third axis."""
    data = np.asarray(image.get_fdata(dtype=np.float32))
    if data.ndim != 3:
        raise ValueError(f"{modality}: not a 3D image")
    affine = image.affine
    zooms = np.linalg.norm(affine[:3, :3], axis=0)
    orientation = np.concatenate([lps(affine[:3, 0]) / zooms[0], lps(affine[:3, 1]) / zooms[1]])
    scale = 4000.0 / max(float(np.percentile(data[data > 0], 99.5)) if (data > 0).any() else 1.0, 1e-6)
    pixels = to_uint16(data, scale)
    acquisition = dict(acquisition or {})
    series = series_module(study, acquisition.pop("SeriesDescription", modality), series_number, modality)
    series.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    for key, value in acquisition.items():
        setattr(series, key, value)
    series.WindowCenter, series.WindowWidth = window(pixels)
    instances = []
    for k in range(data.shape[2]):
        position = lps((affine @ np.array([0.0, 0.0, k, 1.0]))[:3])
        geometry = {"ImageOrientationPatient": ds_string(orientation), "ImagePositionPatient": ds_string(position),
                    "PixelSpacing": ds_string([zooms[1], zooms[0]]), "SliceThickness": ds_string([zooms[2]])[0],
                    "SpacingBetweenSlices": ds_string([zooms[2]])[0]}
        instances.append(mr_instance(series, pixels[:, :, k].T, geometry, k + 1))
    return _save_all(instances, out_dir, modality)
