"""What the operators hand each other, one dataclass per port instead of dicts read by key.

selector --SelectedSeries--> volumes --StudyVolumes--> synthesis --SynthesizedSeries--> writer
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import nibabel as nib
import numpy as np
from monai.deploy.core.domain.dicom_series import DICOMSeries
from monai.deploy.core.domain.dicom_study import DICOMStudy


@dataclass(frozen=True)
class SelectedSeries:
    """The study and the series the selection rules chose, one per modality."""

    study: DICOMStudy
    series: dict[str, DICOMSeries]


@dataclass(frozen=True)
class StudyVolumes:
    """Each chosen series as a RAS volume (column, row, slice voxels), beside the series it came from."""

    study: DICOMStudy
    volumes: dict[str, tuple[nib.Nifti1Image, DICOMSeries]]


@dataclass(frozen=True)
class SynthesizedSeries:
    """New images on the grid of ``reference``, as (slice, row, column) arrays ready for DICOM;
    ``confidence`` is empty unless the maps were asked for; ``model`` is the model's card
    information and the inputs used, recorded in every written series."""

    study: DICOMStudy
    reference: DICOMSeries
    images: dict[str, np.ndarray]
    model: dict[str, Any]
    confidence: dict[str, np.ndarray] = field(default_factory=dict)
