"""The MONAI Deploy application: DICOM loader -> modality selection -> volumes -> synthesis -> writer."""

from __future__ import annotations

import os
from pathlib import Path

from holoscan.conditions import CountCondition
from monai.deploy.core import Application

from app.operators import (
    CountingDICOMLoader,
    ModalitySelectorOperator,
    SeriesVolumesOperator,
    SynthesisOperator,
    SyntheticSeriesWriterOperator,
)
from app.selection import load_rules
from codebrain.errors import NoInputError, UsageError
from codebrain.model.names import PLANES
from codebrain.preprocess.ants import PrepSettings
from codebrain.preprocess.skull_strip import SKULL_STRIP_DEFAULT, SKULL_STRIP_METHODS


def settings() -> dict:
    """Site settings from the environment (a MAP takes no command-line options of its own)."""
    device = os.environ.get("CODEBRAIN_DEVICE", "auto")
    if device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"CODEBRAIN_DEVICE must be auto, cpu or cuda, not {device!r}")
    planes = tuple(p for p in os.environ.get("CODEBRAIN_PLANES", "axial").replace(",", " ").split() if p)
    if not planes or any(p not in PLANES for p in planes):
        raise UsageError(f"CODEBRAIN_PLANES must list planes among {', '.join(PLANES)}")
    confidence = os.environ.get("CODEBRAIN_CONFIDENCE", "0").lower() in ("1", "true", "yes")
    seed = os.environ.get("CODEBRAIN_RANDOM_SEED", "")
    if seed and not seed.isdigit():
        raise UsageError(f"CODEBRAIN_RANDOM_SEED must be a non-negative integer, not {seed!r}")
    skull_strip = os.environ.get("CODEBRAIN_SKULL_STRIP", SKULL_STRIP_DEFAULT)
    if skull_strip not in SKULL_STRIP_METHODS:
        raise UsageError(f"CODEBRAIN_SKULL_STRIP must be one of {', '.join(SKULL_STRIP_METHODS)}, not {skull_strip!r}")
    return {"device": device, "planes": planes, "confidence": confidence, "rules": load_rules(),
            "prep": PrepSettings(seed=int(seed) if seed else None, skull_strip=skull_strip)}


class CodeBrainApp(Application):
    """Completes a brain MR study: every contrast the model knows and the study lacks becomes a new,
    clearly labelled MR series in the same study."""

    name = "codebrain-map"
    description = __doc__

    def compose(self) -> None:
        context = Application.init_app_context(self.argv)
        inputs, output = Path(context.input_path), Path(context.output_path)
        if not inputs.is_dir():
            raise NoInputError(f"input folder {inputs} does not exist")
        options = settings()
        loader = CountingDICOMLoader(self, CountCondition(self, 1), input_folder=inputs, must_load=False,
                                         name="dicom_loader")
        selector = ModalitySelectorOperator(self, rules=options["rules"], name="modality_selector")
        volumes = SeriesVolumesOperator(self, name="series_volumes")
        synthesis = SynthesisOperator(self, model_path=str(context.model_path or ""), device=options["device"],
                                      confidence=options["confidence"], planes=options["planes"], prep=options["prep"],
                                      name="synthesis")
        writer = SyntheticSeriesWriterOperator(self, output_folder=output, name="series_writer")
        self.add_flow(loader, selector, {("dicom_study_list", "dicom_study_list")})
        self.add_flow(selector, volumes, {("selected", "selected")})
        self.add_flow(volumes, synthesis, {("volumes", "volumes")})
        self.add_flow(synthesis, writer, {("synthesized", "synthesized")})
