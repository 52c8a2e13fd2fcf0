"""Refuse series a volume cannot be built from, before any work (the SDK would drop or misplace slices)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset

from codebrain.errors import DataError

ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"  # Enhanced MR Image Storage
GEOMETRY = ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing", "Rows", "Columns")


def check_series(datasets: Sequence[Dataset], label: str) -> None:
    """One volume: at least two slices, full geometry, one orientation, one frame of reference,
    no duplicated instance or position, evenly spaced parallel slices."""
    if any(ds.get("SOPClassUID") == ENHANCED_MR or int(ds.get("NumberOfFrames") or 1) > 1 for ds in datasets):
        raise DataError(f"{label}: an Enhanced (multi-frame) MR series, which this application does not read; "
                        "send the scanner's classic (one image per slice) export of the series")
    if len(datasets) < 2:
        raise DataError(f"{label}: a single-slice series cannot be a volume")
    for ds in datasets:
        missing = [k for k in GEOMETRY if k not in ds or ds[k].value in (None, "")]
        if missing:
            raise DataError(f"{label}: instance {ds.get('InstanceNumber', '?')} lacks {', '.join(missing)}")
    uids = [ds.SOPInstanceUID for ds in datasets]
    if len(set(uids)) != len(uids):
        raise DataError(f"{label}: the same SOP instance appears more than once")
    frames = {ds.get("FrameOfReferenceUID") for ds in datasets}
    if len(frames) > 1:
        raise DataError(f"{label}: slices in {len(frames)} frames of reference")
    orientation = np.array(datasets[0].ImageOrientationPatient, dtype=float)
    if any(not np.allclose(np.array(ds.ImageOrientationPatient, dtype=float), orientation, atol=1e-4)
           for ds in datasets):
        raise DataError(f"{label}: slices with different orientations (a localizer or a multi-stack series)")
    if len({(int(ds.Rows), int(ds.Columns)) for ds in datasets}) > 1:
        raise DataError(f"{label}: slices of different sizes")
    normal = np.cross(orientation[:3], orientation[3:])
    depth = np.sort([float(np.dot(normal, np.array(ds.ImagePositionPatient, dtype=float))) for ds in datasets])
    steps = np.diff(depth)
    if (steps < 1e-3).any():
        raise DataError(f"{label}: two slices at the same position (duplicated instances or several echoes)")
    if np.ptp(steps) > 0.01 * steps.mean() + 1e-3:
        raise DataError(f"{label}: uneven slice spacing ({steps.min():.2f} to {steps.max():.2f} mm): "
                        "gaps or missing slices")
