"""nipype interfaces around ``codebrain.preprocess.ants`` and ``codebrain.inference.synthesize``.

Each node reads and writes files in its own nipype folder, so a killed run resumes from
the last finished node and ``--nprocs`` runs independent nodes side by side. The work
itself is done by ``codebrain`` functions, which the MONAI Deploy app calls too.
"""

from __future__ import annotations

import json
from pathlib import Path

from nipype.interfaces.base import (
    BaseInterfaceInputSpec,
    File,
    InputMultiObject,
    OutputMultiObject,
    SimpleInterface,
    TraitedSpec,
    isdefined,
    traits,
)


def _threads(n: int, seed=None) -> None:
    """Threads for this node; a seed (``--random-seed``) makes ANTs repeatable and single-threaded."""
    from codebrain.preprocess.ants import seed_ants
    from codebrain.runtime.resources import set_threads

    set_threads(seed_ants(seed if isdefined(seed) else None) or n)


class _AntsInput(BaseInterfaceInputSpec):
    threads = traits.Int(1, usedefault=True)
    random_seed = traits.Int(desc="seed ANTs (runs it single-threaded, bitwise repeatable)")


class _BiasInput(_AntsInput):
    in_file = File(exists=True, mandatory=True, desc="raw image")
    n4 = traits.Bool(True, usedefault=True, desc="run N4")


class _ImageOutput(TraitedSpec):
    out_file = File(exists=True)


class BiasCorrect(SimpleInterface):
    """Step 1 of ``codebrain.preprocess.ants``: check, reorient to RAS and remove the bias field (N4)."""

    input_spec = _BiasInput
    output_spec = _ImageOutput

    def _run_interface(self, runtime):
        import ants

        from codebrain.data.volumes import read_nifti
        from codebrain.preprocess.ants import prepare_raw

        _threads(self.inputs.threads, self.inputs.random_seed)
        path = Path(self.inputs.in_file)
        image = prepare_raw(read_nifti(path, "input"), path.name, self.inputs.n4)
        self._results["out_file"] = str(Path(runtime.cwd) / "corrected.nii.gz")
        ants.image_write(image, self._results["out_file"])
        return runtime


class _GridInput(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True)
    max_spacing = traits.Float(1.0, usedefault=True, desc="resample to this isotropic spacing when coarser")


class ReferenceGrid(SimpleInterface):
    """The reference image on the grid every output shares."""

    input_spec = _GridInput
    output_spec = _ImageOutput

    def _run_interface(self, runtime):
        import ants

        from codebrain.preprocess.ants import reference_grid

        self._results["out_file"] = str(Path(runtime.cwd) / "reference.nii.gz")
        ants.image_write(reference_grid(ants.image_read(self.inputs.in_file), self.inputs.max_spacing),
                         self._results["out_file"])
        return runtime


class _CoregInput(_AntsInput):
    moving = File(exists=True, mandatory=True)
    fixed = File(exists=True, mandatory=True)


class _CoregOutput(TraitedSpec):
    out_file = File(exists=True, desc="moving image resampled on the fixed grid")
    transform = File(exists=True, desc="ANTs rigid transform (moving -> fixed), ITK .mat")


class CoRegister(SimpleInterface):
    """Rigid registration with Mattes mutual information (the contrasts differ)."""

    input_spec = _CoregInput
    output_spec = _CoregOutput

    def _run_interface(self, runtime):
        import ants

        from codebrain.preprocess.ants import coregister

        _threads(self.inputs.threads, self.inputs.random_seed)
        warped, transforms = coregister(ants.image_read(self.inputs.moving), ants.image_read(self.inputs.fixed),
                                        str(Path(runtime.cwd) / "moving_to_fixed_"))
        self._results["out_file"] = str(Path(runtime.cwd) / "registered.nii.gz")
        ants.image_write(warped, self._results["out_file"])
        self._results["transform"] = transforms[0]
        return runtime


class _MaskInput(_AntsInput):
    in_file = File(exists=True, mandatory=True, desc="reference image")
    method = traits.Str("auto", usedefault=True, desc="codebrain.preprocess.skull_strip method")
    contrast = traits.Str("T1w", usedefault=True, desc="the reference's modality (picks auto's method, the template)")


class SkullStrip(SimpleInterface):
    """Brain mask of the reference by ``codebrain.preprocess.skull_strip`` (no network needed)."""

    input_spec = _MaskInput
    output_spec = _ImageOutput

    def _run_interface(self, runtime):
        import ants

        from codebrain.preprocess.skull_strip import brain_mask

        _threads(self.inputs.threads, self.inputs.random_seed)
        mask = brain_mask(ants.image_read(self.inputs.in_file), str(Path(runtime.cwd) / "template_to_reference_"),
                          self.inputs.method, self.inputs.contrast)
        self._results["out_file"] = str(Path(runtime.cwd) / "brain_mask.nii.gz")
        ants.image_write(mask, self._results["out_file"])
        return runtime


class _SynthInput(BaseInterfaceInputSpec):
    in_files = InputMultiObject(File(exists=True), mandatory=True, desc="images on the reference grid")
    modalities = traits.List(traits.Str, mandatory=True, desc="modality of each in_file, reference first")
    held_out = traits.List(traits.Str, desc="modalities preprocessed for comparison, not given to the model")
    mask_file = File(exists=True, mandatory=True)
    model = traits.Str(mandatory=True, desc="model directory or bundled name")
    device = traits.Str("cpu", usedefault=True)
    threads = traits.Int(1, usedefault=True)


class _SynthOutput(TraitedSpec):
    preproc_files = OutputMultiObject(File(exists=True), desc="masked inputs, in the order of modalities")
    synth_files = OutputMultiObject(File(exists=True))
    confidence_files = OutputMultiObject(File(exists=True))
    synthesized = traits.List(traits.Str)
    model_info = File(exists=True, desc="the model's model.json plus its path")


class Synthesize(SimpleInterface):
    """Mask the inputs and complete the missing modalities with ``codebrain.inference.synthesize``."""

    input_spec = _SynthInput
    output_spec = _SynthOutput

    def _run_interface(self, runtime):
        import ants

        from codebrain.data.volumes import save_nifti
        from codebrain.inference.synthesize import Synthesizer
        from codebrain.preprocess.ants import apply_mask, to_nibabel
        from codebrain.runtime.resources import prepare_inference

        cwd = Path(runtime.cwd)
        mask = ants.image_read(self.inputs.mask_file)
        masked = {m: to_nibabel(apply_mask(ants.image_read(f), mask))
                  for m, f in zip(self.inputs.modalities, self.inputs.in_files)}
        self._results["preproc_files"] = []
        for modality, img in masked.items():
            path = cwd / f"preproc_{modality}.nii.gz"
            save_nifti(img.get_fdata(dtype="float32"), img.affine, path)
            self._results["preproc_files"].append(str(path))
        prepare_inference(self.inputs.threads)
        synth = Synthesizer(self.inputs.model, device=self.inputs.device)
        given = {m: img for m, img in masked.items() if m not in self.inputs.held_out}
        result = synth.run(given)
        self._results.update(synth_files=[], confidence_files=[], synthesized=list(result.images))
        for modality, img in result.images.items():
            for kind, image in (("synth", img), ("confidence", result.confidence[modality])):
                path = cwd / f"{kind}_{modality}.nii.gz"
                save_nifti(image.get_fdata(dtype="float32"), image.affine, path)
                self._results[f"{kind}_files"].append(str(path))
        info = dict(result.model_info, warnings=result.warnings)
        self._results["model_info"] = str(cwd / "model_info.json")
        Path(self._results["model_info"]).write_text(json.dumps(info, indent=2, default=str))
        return runtime


class _SinkInput(BaseInterfaceInputSpec):
    session = traits.Dict(mandatory=True, desc="subject, session, sources, reference, held_out, bids_dir, output_dir")
    modalities = traits.List(traits.Str, mandatory=True)
    preproc_files = InputMultiObject(File(exists=True), mandatory=True)
    synthesized = traits.List(traits.Str, mandatory=True)
    synth_files = InputMultiObject(File(exists=True))
    confidence_files = InputMultiObject(File(exists=True))
    mask_file = File(exists=True, mandatory=True)
    transforms = InputMultiObject(File(exists=True), desc="one per non-reference modality, in order")
    model_info = File(exists=True, mandatory=True)


class _SinkOutput(TraitedSpec):
    out_json = File(exists=True, desc="what was written, for the report")


class WriteDerivatives(SimpleInterface):
    """Copy a session's results into the derivative dataset under their BIDS names."""

    input_spec = _SinkInput
    output_spec = _SinkOutput

    def _run_interface(self, runtime):
        from bids_app.sink import write_session

        record = write_session(
            dict(self.inputs.session), list(self.inputs.modalities), list(self.inputs.preproc_files),
            list(self.inputs.synthesized), list(self.inputs.synth_files or []),
            list(self.inputs.confidence_files or []), self.inputs.mask_file, list(self.inputs.transforms or []),
            json.loads(Path(self.inputs.model_info).read_text()))
        self._results["out_json"] = str(Path(runtime.cwd) / "written.json")
        record.write(Path(self._results["out_json"]))
        return runtime


class _ReportInput(BaseInterfaceInputSpec):
    records = InputMultiObject(File(exists=True), mandatory=True, desc="written.json of each session")
    output_dir = traits.Str(mandatory=True)
    subject = traits.Str(mandatory=True)


class _ReportOutput(TraitedSpec):
    out_report = File(exists=True)


class SubjectReport(SimpleInterface):
    """The subject's HTML report with its figures, written last: its presence marks the subject done."""

    input_spec = _ReportInput
    output_spec = _ReportOutput

    def _run_interface(self, runtime):
        from bids_app.records import SessionRecord, subject_records
        from bids_app.report import write_subject_report

        output_dir, subject = Path(self.inputs.output_dir), self.inputs.subject
        records = subject_records(output_dir, subject, [SessionRecord.read(Path(f)) for f in self.inputs.records])
        self._results["out_report"] = str(write_subject_report(output_dir, subject, records))
        return runtime
