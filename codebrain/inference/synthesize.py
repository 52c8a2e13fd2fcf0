"""The one inference API every front end calls (``codebrain-synth`` is ``codebrain.cli.synth``).

    from codebrain.inference.synthesize import Synthesizer
    result = Synthesizer("brats").run({"T1w": t1_img, "FLAIR": flair_img})
    result.images["T2w"]        # nibabel image on the grid and affine of the first input
    result.confidence["T2w"]    # [0, 1], same grid

Inputs must be co-registered and skull-stripped (the BIDS-App and the MONAI Deploy app
do that with ``codebrain.preprocess.ants``). Outputs are float32 on the model's normalised
scale: 0 outside the brain, about 1 at the 99.5th percentile of brain intensity of that
contrast (the normalisation of ``codebrain.data.volumes``).

Confidence: the grader predicts each FSQ channel of the code as ordinal bits; the
probability of the predicted level (bits treated as independent) is combined over the
channels by a geometric mean, per code position (8x8 voxels in-plane), and upsampled
bilinearly. It says how sure the model is of the full-stack code it decodes from: a
low value marks tissue the model has not learned to represent from these inputs (e.g. a
lesion seen only in a missing contrast). The code is shared by every output of a pass,
so all synthesized modalities carry the same map for one plane; with several planes it
is the mean over planes.

Mirroring (``mirror=True``, ``codebrain-synth --mirror``): axial and coronal slices are also
completed left-right mirrored and the two results averaged (``CodeBrain.complete``); sagittal
slices have no left-right axis in-plane and run once. Twice the forward passes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform
from nibabel.processing import resample_from_to
from tqdm import tqdm

from codebrain.data.volumes import as_3d, brain_mask, check_values, normalise
from codebrain.errors import DataError, UsageError
from codebrain.model.io import load_model_dir, read_model_info, resolve_model_dir
from codebrain.model.names import BUNDLED, PLANES
from codebrain.runtime.resources import resolve_device

ImageLike = nib.Nifti1Image | tuple[np.ndarray, np.ndarray]


@dataclass
class SynthesisResult:
    images: dict[str, nib.Nifti1Image]
    confidence: dict[str, nib.Nifti1Image]
    model_info: dict
    warnings: list[str] = field(default_factory=list)


def choose_model(modalities: list[str]) -> str:
    """The bundled model whose modality list holds every input: ``brats`` before ``ixi``."""
    for name in BUNDLED:
        if set(modalities) <= set(read_model_info(name)["modalities"]):
            return name
    raise UsageError(f"no bundled model covers {', '.join(modalities)}; pass --model")


def best_bundled_model(available: list[str]) -> str | None:
    """For batch front ends: the bundled model that uses the most of ``available`` and still has
    something to synthesize (``brats`` first on ties); None when none does."""
    best, best_used = None, 0
    for name in BUNDLED:
        known = set(read_model_info(name)["modalities"])
        used = len(known & set(available))
        if used > best_used and known - set(available):
            best, best_used = name, used
    return best


def _as_image(value: ImageLike, name: str) -> nib.Nifti1Image:
    if isinstance(value, tuple):
        array, affine = value
        value = nib.Nifti1Image(np.asarray(array, dtype=np.float32), np.asarray(affine, dtype=float))
    if not isinstance(value, nib.spatialimages.SpatialImage):
        raise DataError(f"{name}: expected a nibabel image or (array, affine), got {type(value).__name__}")
    return as_3d(value, name)


class Synthesizer:
    """Loads a model once; ``run`` completes one subject's missing modalities."""

    def __init__(self, model: str | Path = "brats", device: str = "auto", planes: tuple[str, ...] = ("axial",),
                 batch_size: int = 16, progress: bool = False, mirror: bool = False) -> None:
        unknown = [p for p in planes if p not in PLANES]
        if unknown or not planes:
            raise UsageError(f"planes must be among {', '.join(PLANES)}")
        self.device = resolve_device(device)
        self.model, self.info = load_model_dir(model, device=self.device)
        # NAFNet's full-resolution 1x1/depthwise convolutions and layer norms run several times
        # faster on oneDNN in channels-last layout than through NCHW reorders at every layer
        self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # the stub lacks it
        self.info["path"] = str(resolve_model_dir(model))
        self.modalities = tuple(self.info["modalities"])
        self.planes, self.batch_size, self.progress, self.mirror = tuple(planes), batch_size, progress, mirror

    def check_modalities(self, given: Iterable[str]) -> None:
        """Refuse an input set the model cannot complete; callers with costly preparation (the DICOM
        app's registration) ask before it."""
        given = list(given)
        if not given:
            raise DataError("no input modality given")
        unknown = [m for m in given if m not in self.modalities]
        if unknown:
            raise DataError(f"the model does not know {unknown[0]!r} (it takes {', '.join(self.modalities)})")
        if set(given) == set(self.modalities):
            raise DataError(f"every modality of the model is given ({', '.join(self.modalities)}): "
                            "nothing to synthesize")

    def _prepare(self, inputs: Mapping[str, ImageLike]) -> tuple[nib.Nifti1Image, dict[str, np.ndarray], list[str]]:
        self.check_modalities(inputs)
        images = {m: _as_image(v, m) for m, v in inputs.items()}
        ref_name, ref = next(iter(images.items()))
        notes = []
        ras = {}
        for name, img in images.items():
            if img.shape != ref.shape or not np.allclose(img.affine, ref.affine, atol=1e-3):
                notes.append(f"{name} is on another grid than {ref_name}: resampled to the grid of {ref_name}")
                warnings.warn(notes[-1], stacklevel=3)
                img = resample_from_to(img, ref, order=1)
            data = np.asarray(nib.as_closest_canonical(img).get_fdata(dtype=np.float32))
            check_values(data, name)
            ras[name] = data
        return ref, ras, notes

    @torch.inference_mode()
    def _predict_plane(self, stack: np.ndarray, mask: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Run the model slice by slice along RAS ``axis``; returns (C, X, Y, Z) and (X, Y, Z)."""
        moved = np.moveaxis(stack, axis + 1, 1)  # (C, n, H, W)
        keep = np.flatnonzero(np.moveaxis(mask, axis, 0).any(axis=(1, 2)))
        c, n, h, w = moved.shape
        ph, pw = -h % 8, -w % 8
        out = np.zeros((c, n, h, w), np.float32)
        conf = np.zeros((n, h, w), np.float32)
        amp = dict(device_type="cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")
        mirror = self.mirror and axis != PLANES["sagittal"]  # the slices' dimension 2 is left-right
        starts = range(0, len(keep), self.batch_size)
        for start in tqdm(starts, desc="synthesizing", unit="batch", disable=not self.progress or None):
            idx = keep[start : start + self.batch_size]
            x = torch.from_numpy(np.ascontiguousarray(moved[:, idx].transpose(1, 0, 2, 3))).to(self.device)
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)).contiguous(memory_format=torch.channels_last)
            with torch.autocast(**amp):
                pred, confidence = self.model.complete(x, mirror=mirror)
            confidence = F.interpolate(confidence.float(), scale_factor=8, mode="bilinear", align_corners=False)
            crop = (slice(None), slice(None), slice(ph // 2, ph // 2 + h), slice(pw // 2, pw // 2 + w))
            out[:, idx] = pred.float()[crop].cpu().numpy().transpose(1, 0, 2, 3)
            conf[idx] = confidence[crop][:, 0].cpu().numpy()
        return np.moveaxis(out, 1, axis + 1), np.moveaxis(conf, 0, axis)

    def run(self, inputs: Mapping[str, ImageLike]) -> SynthesisResult:
        ref, ras, notes = self._prepare(inputs)
        mask = brain_mask(list(ras.values()))
        if not mask.any():
            raise DataError("the brain mask is empty: no voxel is non-zero in the inputs")
        shape = mask.shape
        stack = np.stack([normalise(ras[m], mask) if m in ras else np.zeros(shape, np.float32)
                          for m in self.modalities])
        outs, confs = zip(*(self._predict_plane(stack, mask, PLANES[p]) for p in self.planes))
        out = np.mean(outs, axis=0)
        conf = np.clip(np.mean(confs, axis=0), 0.0, 1.0) * mask
        canonical = nib.as_closest_canonical(ref)
        to_input = ornt_transform(axcodes2ornt("RAS"), io_orientation(ref.affine))

        def back(data: np.ndarray) -> nib.Nifti1Image:
            img = nib.Nifti1Image(data.astype(np.float32), canonical.affine).as_reoriented(to_input)
            result = nib.Nifti1Image(np.asarray(img.dataobj, dtype=np.float32), ref.affine)
            result.header.set_xyzt_units("mm")
            return result

        images, confidence = {}, {}
        for i, m in enumerate(self.modalities):
            if m not in ras:
                images[m] = back(np.clip(out[i], 0.0, None) * mask)
                confidence[m] = back(conf)
        return SynthesisResult(images, confidence, self.info, notes)


def synthesize(inputs: Mapping[str, ImageLike], model: str | Path | None = None, **kwargs) -> SynthesisResult:
    """One-call form: picks the bundled model that covers the inputs when ``model`` is None."""
    return Synthesizer(model or choose_model(list(inputs)), **kwargs).run(inputs)
