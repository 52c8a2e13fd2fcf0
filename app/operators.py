"""The application's operators: the SDK's selector and volume builder taught CodeBrain's rules,
then synthesis and an MR series writer (the SDK has none for image series)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from monai.deploy.core import Fragment, Operator, OperatorSpec
from monai.deploy.core.domain.dicom_series import DICOMSeries
from monai.deploy.operators import DICOMDataLoaderOperator, DICOMSeriesSelectorOperator, DICOMSeriesToVolumeOperator
from nibabel.processing import resample_from_to

from app.dicom_writer import write_synthetic_series
from app.payloads import SelectedSeries, StudyVolumes, SynthesizedSeries
from app.selection import assign
from app.series_checks import check_series
from codebrain.errors import CannotCreateError, DataError, NoInputError, UsageError
from codebrain.inference.synthesize import Synthesizer, best_bundled_model
from codebrain.model.names import BUNDLED
from codebrain.preprocess.ants import PrepSettings, choose_reference, preprocess
from codebrain.runtime.resources import prepare_inference

log = logging.getLogger("codebrain.map")
MODEL_FILES = ("model.json", "model.safetensors")


def native_datasets(series: DICOMSeries) -> list:
    return [inst.get_native_sop_instance() for inst in series.get_sop_instances()]


def describe(series: DICOMSeries) -> str:
    return f"series {series.SeriesDescription or series.SeriesInstanceUID!s} (#{series.SeriesNumber})"


class CountingDICOMLoader(DICOMDataLoaderOperator):
    """The SDK's loader, also counting each series' files: the loader keeps one instance per slice
    position and drops the others silently, and a series that lost slices that way holds repeated
    or re-sent slices that the application refuses to guess between (``SeriesVolumesOperator``).
    Built on the loader's public ``load_data_to_studies``; the count walks the same folder tree."""

    def load_data_to_studies(self, input_path: Path) -> list:
        studies = super().load_data_to_studies(input_path)
        counts: Counter[str] = Counter()
        for path in Path(input_path).rglob("*"):
            if not path.is_file():
                continue
            try:
                header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SeriesInstanceUID"])
                counts[str(header.SeriesInstanceUID)] += 1
            except Exception:  # not DICOM: the SDK skips it too
                continue
        for study in studies:
            for series in study.get_all_series():
                series.codebrain_files = counts[str(series.SeriesInstanceUID)]
        return studies


class ModalitySelectorOperator(DICOMSeriesSelectorOperator):
    """One study in; ``{modality: DICOMSeries}`` out, chosen by the selection rules (``app.selection``)."""

    def __init__(self, fragment: Fragment, *args, rules: str, **kwargs) -> None:
        super().__init__(fragment, *args, rules=rules, all_matched=True, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input(self.input_name_study_list)
        spec.output("selected")

    def select(self, studies: list) -> dict[str, DICOMSeries]:
        """The study's series per modality; the checks that make a study unusable raise DataError."""
        if not studies:
            raise NoInputError("no DICOM study in the input folder")
        if len(studies) > 1:
            raise DataError(f"the input holds {len(studies)} studies; the application takes one study per run")
        series = studies[0].get_all_series()
        if not any(str(s.Modality).upper() == "MR" for s in series):
            found = sorted({str(s.Modality) for s in series})
            raise DataError(f"not an MR study (modalities: {', '.join(found)})")
        selected = self.filter(self._load_rules(), studies, all_matched=True)
        chosen = assign((s.selection_name, s.series) for study in selected for s in study.selected_series)
        if not chosen:
            names = "; ".join(str(s.SeriesDescription) for s in series)
            raise DataError(f"no series matched the selection rules (series descriptions: {names})")
        return chosen

    def compute(self, op_input, op_output, context) -> None:
        studies = op_input.receive(self.input_name_study_list) or []
        chosen = self.select(studies)
        for name, s in chosen.items():
            log.info("%s <- %s", name, describe(s))
        op_output.emit(SelectedSeries(studies[0], chosen), "selected")


class SeriesVolumesOperator(DICOMSeriesToVolumeOperator):
    """Every selected series to a NIfTI-style volume: voxels (column, row, slice) with a RAS affine.

    The SDK's own operator converts only the first selected series, returns voxels as (slice,
    row, column) while its affine indexes (column, row, slice), and scales both in-plane axes by
    the first PixelSpacing value; this operator reuses its slice sorting and rescaling, checks
    the series first (``app.series_checks``) and builds the affine with the right spacing.
    """

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("selected")
        spec.output("volumes")

    def volume(self, name: str, series: DICOMSeries) -> nib.Nifti1Image:
        label = f"{name} ({describe(series)})"
        kept = len(series.get_sop_instances())
        if getattr(series, "codebrain_files", kept) > kept:
            raise DataError(f"{label}: {series.codebrain_files - kept} instance(s) at the same position as another "
                            "(duplicated or repeated slices)")
        check_series(native_datasets(series), label)
        self.prepare_series(series)
        voxels = self.generate_voxel_data(series).astype(np.float32)  # (slice, row, column)
        affine = np.array(getattr(series, self.ATTRIBUTE_NIFTI_AFFINE), dtype=float)
        first = series.get_sop_instances()[0].get_native_sop_instance()
        row_spacing, column_spacing = (float(v) for v in first.PixelSpacing)
        affine[:3, 0] *= column_spacing / row_spacing
        affine[:3, 1] *= row_spacing / column_spacing
        image = nib.Nifti1Image(np.ascontiguousarray(voxels.transpose(2, 1, 0)), affine)
        image.header.set_xyzt_units("mm")
        return image

    def compute(self, op_input, op_output, context) -> None:
        selected: SelectedSeries = op_input.receive("selected")
        volumes = {name: (self.volume(name, s), s) for name, s in selected.series.items()}
        op_output.emit(StudyVolumes(selected.study, volumes), "volumes")


class SynthesisOperator(Operator):
    """Preprocess like the BIDS-App (``codebrain.preprocess.ants``), synthesize (``codebrain.inference.synthesize``),
    and bring every result back onto the reference series' own grid."""

    def __init__(self, fragment: Fragment, *args, model_path: str | None, device: str, confidence: bool,
                 planes: tuple[str, ...], prep: PrepSettings, **kwargs) -> None:
        self.model_path, self.device, self.confidence, self.planes = model_path, device, confidence, planes
        self.prep = prep  # from the environment: CODEBRAIN_RANDOM_SEED seeds ANTs (bitwise repeatable)
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("volumes")
        spec.output("synthesized")

    def _model(self, available: list[str]) -> str:
        """-m / HOLOSCAN_MODEL_PATH: a bundled model's name, a model folder, or a folder holding one
        model folder (the MAP packager's layout); the bundled model that uses most of the study when
        it holds none (the MAP's default model folder is empty)."""
        if self.model_path in BUNDLED:
            return self.model_path
        path = Path(self.model_path or "")
        if self.model_path and path.is_dir():
            found = [path] if (path / "model.json").is_file() else sorted(p.parent for p in path.glob("*/model.json"))
            if len(found) > 1:
                raise UsageError(f"{path} holds several models ({', '.join(p.name for p in found)}); "
                                 "point -m at one")
            if found:
                missing = [f for f in MODEL_FILES if not (found[0] / f).is_file()]
                if missing:
                    raise UsageError(f"model folder {found[0]} lacks {', '.join(missing)}")
                return str(found[0])
        name = best_bundled_model(available)
        if name is None:
            raise DataError(f"no bundled model has anything to synthesize from {', '.join(available)}")
        return name

    def compute(self, op_input, op_output, context) -> None:
        received: StudyVolumes = op_input.receive("volumes")
        volumes = received.volumes
        threads = prepare_inference()
        synth = Synthesizer(self._model(list(volumes)), device=self.device, planes=self.planes, progress=True)
        usable = {m: v for m, v in volumes.items() if m in synth.modalities}
        if not usable:
            raise DataError(f"model {synth.info['name']} takes {', '.join(synth.modalities)}; "
                            f"the study has {', '.join(volumes)}")
        synth.check_modalities(usable)  # before the costly registration
        reference = choose_reference(list(usable))
        prep = preprocess({m: img for m, (img, _) in usable.items()}, reference, self.prep, threads)
        ordered = {reference: prep.images[reference]} | prep.images
        result = synth.run(ordered)
        native, ref_series = usable[reference]
        mask = resample_from_to(prep.mask, native, order=0).get_fdata() > 0

        def on_reference(img: nib.Nifti1Image) -> np.ndarray:
            data = np.asarray(resample_from_to(img, native, order=1).dataobj, dtype=np.float32) * mask
            return np.clip(data, 0, None).transpose(2, 1, 0)  # (slice, row, column) as the series

        op_output.emit(SynthesizedSeries(
            received.study, ref_series, {m: on_reference(img) for m, img in result.images.items()},
            result.model_info | {"inputs": list(usable)},
            {m: on_reference(img) for m, img in result.confidence.items()} if self.confidence else {},
        ), "synthesized")


class SyntheticSeriesWriterOperator(Operator):
    """New MR series in the study of the reference series (``app.dicom_writer``), written to a
    hidden folder in the output and moved into place only when every series is complete."""

    def __init__(self, fragment: Fragment, *args, output_folder: Path, **kwargs) -> None:
        self.output_folder = Path(output_folder)
        super().__init__(fragment, *args, **kwargs)

    def setup(self, spec: OperatorSpec) -> None:
        spec.input("synthesized")

    def compute(self, op_input, op_output, context) -> None:
        done: SynthesizedSeries = op_input.receive("synthesized")
        datasets = native_datasets(done.reference)
        numbers = [int(s.SeriesNumber) for s in done.study.get_all_series() if str(s.SeriesNumber or "").isdigit()]
        number = max(numbers, default=0) + 1
        try:
            self.output_folder.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".codebrain-partial-", dir=self.output_folder))
        except OSError as err:
            raise CannotCreateError(f"cannot write to {self.output_folder}: {err.strerror}") from None
        try:
            folders = []
            for kind, images in (("synthetic", done.images), ("confidence", done.confidence)):
                for modality, volume in images.items():
                    folder = f"{kind}-{modality}"
                    write_synthetic_series(volume, datasets, modality, done.model, staging / folder, number,
                                           confidence=kind == "confidence")
                    folders.append(folder)
                    number += 1
            for folder in folders:
                target = self.output_folder / folder
                if target.exists():
                    shutil.rmtree(target)
                os.replace(staging / folder, target)
                print(f"codebrain-map: wrote {target}", flush=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
