"""ANTs preprocessing that both front ends share: bias correction, co-registration, skull stripping.

Raw scans of one session come on their own grids, with skull, with a bias field. The
model wants them co-registered, skull-stripped and on one grid. The pipeline is described
once, here, as five steps; :func:`preprocess` runs them in order in one process (the DICOM
app, the benchmarks' raw source), and the BIDS-App runs each as one nipype node
(``bids_app.interfaces``), so that nodes cache, resume and run side by side:

==============  =========================  ======================  =================
step            function                   BIDS-App node           runs
==============  =========================  ======================  =================
correct         :func:`prepare_raw`        ``BiasCorrect``         once per image
reference grid  :func:`reference_grid`     ``ReferenceGrid``       on the reference
co-register     :func:`coregister`         ``CoRegister``          per other image
skull strip     :func:`brain_mask`         ``SkullStrip``          on the reference
mask            :func:`apply_mask`         ``Synthesize``          per image
==============  =========================  ======================  =================

1. every image is checked, reoriented to RAS and bias-corrected (N4, fitted on a 4 mm copy);
2. the reference is chosen by ``REFERENCE_PRIORITY`` (3D T1w first: usually the finest
   grid and the best anatomy), unless the caller names one; a reference coarser than 1 mm
   in any direction is resampled to 1 mm isotropic;
3. every other image is registered rigidly to a 2 mm copy of the reference (Mattes mutual
   information, since contrasts differ) and resampled onto its full grid;
4. the brain mask of the reference by ``PrepSettings.skull_strip`` (``codebrain.preprocess.skull_strip``:
   deepbet's learned extraction, or the MNI152 2009c template's mask warped by SyN);
5. the images are multiplied by the mask. Intensity normalisation is left to
   ``codebrain.inference.synthesize``, which applies the rule the model was trained with.

The choices a user makes (:class:`PrepSettings`) are one object for both front ends.
Needs antspyx (``pip install "codebrain[prep]"``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from codebrain.data.volumes import check_values
from codebrain.errors import DataError
from codebrain.preprocess.backend import ants_module, coarse
from codebrain.preprocess.skull_strip import SKULL_STRIP_DEFAULT, brain_mask

REFERENCE_PRIORITY: tuple[str, ...] = ("T1w", "T1Gd", "FLAIR", "T2w", "PDw")
MAX_REFERENCE_SPACING = 1.0  # mm
N4_SPACING = 4.0  # mm


@dataclass(frozen=True)
class PrepSettings:
    """What a user may change about the pipeline (the BIDS-App's ``--no-n4``, ``--max-spacing``,
    ``--random-seed``, ``--skull-strip``; the DICOM app's ``CODEBRAIN_RANDOM_SEED`` and
    ``CODEBRAIN_SKULL_STRIP``)."""

    n4: bool = True  # False for inputs already bias-corrected
    max_spacing: float = MAX_REFERENCE_SPACING  # a coarser reference is resampled to this, isotropic
    seed: int | None = None  # seeded, single-threaded ANTs: repeatable bit for bit
    skull_strip: str = SKULL_STRIP_DEFAULT  # one of skull_strip.SKULL_STRIP_METHODS


@dataclass
class Preprocessed:
    """Every image and the brain mask on the grid of ``reference``, masked."""

    reference: str
    images: dict[str, nib.Nifti1Image]
    mask: nib.Nifti1Image


def seed_ants(seed: int | None) -> int | None:
    """Make ANTs' registrations repeatable: seed the metric sampling and run it single-threaded.

    ANTs samples Mattes mutual information at random points; with a fixed seed the samples are
    the same, but the sums over threads still differ in rounding from run to run, so only a
    single-threaded, seeded run is bitwise repeatable (measured: with 2 threads and a seed, two
    runs of the same subject differ; with 1 thread they are identical). Returns the ITK thread
    count to use, 1 when seeded, None to keep the caller's.
    """
    if seed is None:
        return None
    import ants.config

    ants.config.set_ants_deterministic(True, seed)  # also seeds numpy and sets one ITK thread
    return 1


def to_ants(img: nib.Nifti1Image):
    ants = ants_module()
    img = nib.Nifti1Image(np.asarray(nib.funcs.squeeze_image(img).get_fdata(dtype=np.float32)), img.affine)
    img.header.set_xyzt_units("mm", "sec")  # else ITK warns on every read
    return ants.from_nibabel_nifti(nib.as_closest_canonical(img))


def to_nibabel(image) -> nib.Nifti1Image:
    out = ants_module().to_nibabel_nifti(image)
    return nib.Nifti1Image(np.asarray(out.get_fdata(dtype=np.float32)), out.affine)


def choose_reference(available: list[str], override: str | None = None) -> str:
    if override is not None:
        if override not in available:
            raise DataError(f"reference {override!r} is not among the inputs ({', '.join(available)})")
        return override
    for name in REFERENCE_PRIORITY:
        if name in available:
            return name
    raise DataError("no input to preprocess")


def bias_correct(image):
    """N4 on a 4 mm isotropic copy, fitted inside a head mask, its field resampled back and divided out.

    The field is smooth, so 4 mm loses nothing; working on an isotropic copy rather than
    N4's own shrink factor keeps thick-slice 2D scans (5 mm slices, 26 of them) from
    collapsing to a handful of slices, where N4 ran for many minutes without converging.
    The head mask (``ants.get_mask``: above-mean intensity, closed and filled) keeps the air
    around the head out of the fit: without it N4 fitted mostly background, took four times as
    long (57 s instead of 15 s single-threaded on a raw T1w) and left a real 12 % field
    (standard deviation of its log inside the head) almost untouched.
    """
    ants = ants_module()
    small = ants.resample_image(image, (N4_SPACING,) * 3, use_voxels=False, interp_type=0)
    field = ants.n4_bias_field_correction(small, mask=ants.get_mask(small), shrink_factor=1, return_bias_field=True,
                                          convergence={"iters": [50, 50, 30], "tol": 1e-6})
    field = ants.resample_image_to_target(field, image, interp_type="linear").numpy()
    field[field <= 1e-3] = 1.0  # outside the copy's extent
    return image.new_image_like((image.numpy() / field).astype(np.float32))


def reference_grid(image, max_spacing: float = MAX_REFERENCE_SPACING):
    """The reference itself, or isotropic ``max_spacing`` (the models' 1 mm) where it is coarser."""
    if max(image.spacing) <= max_spacing + 1e-3:
        return image
    spacing = (min(min(image.spacing), max_spacing),) * 3
    return ants_module().resample_image(image, spacing, use_voxels=False, interp_type=4)  # B-spline


def coregister(moving, fixed, outprefix: str, kind: str = "Rigid"):
    """Register ``moving`` to ``fixed``; returns the resampled image and the transform files."""
    ants = ants_module()
    reg = ants.registration(fixed=coarse(fixed), moving=moving, type_of_transform=kind, outprefix=outprefix,
                            aff_metric="mattes")
    warped = ants.apply_transforms(fixed, moving, reg["fwdtransforms"], interpolator="bSpline")
    return warped, list(reg["fwdtransforms"])


def prepare_raw(img: nib.Nifti1Image, name: str, n4: bool = True):
    """Step 1 for one raw image: refuse what is not a finite 3D volume, reorient to RAS, N4."""
    if len(img.shape) != 3:
        raise DataError(f"{name}: not a 3D image (shape {img.shape})")
    check_values(img.get_fdata(dtype=np.float32), name)
    image = to_ants(img)
    return bias_correct(image) if n4 else image


def preprocess(
    images: dict[str, nib.Nifti1Image], reference: str | None = None, settings: PrepSettings = PrepSettings(),
    threads: int | None = None, workdir: str | Path | None = None,
) -> Preprocessed:
    """The five steps in order, in this process; ``workdir`` keeps the registrations' transform files
    (a temporary folder by default)."""
    threads = seed_ants(settings.seed) or threads
    if threads:
        os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = str(threads)
    ref_name = choose_reference(list(images), reference)
    with contextlib.ExitStack() as stack:
        work = str(workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="codebrain-prep-")))
        Path(work).mkdir(parents=True, exist_ok=True)
        corrected = {name: prepare_raw(img, name, settings.n4) for name, img in images.items()}
        fixed = reference_grid(corrected[ref_name], settings.max_spacing)
        warped = {ref_name: fixed}
        for name, image in corrected.items():
            if name != ref_name:
                warped[name], _ = coregister(image, fixed, f"{work}/{name}_to_{ref_name}_")
        mask = brain_mask(fixed, f"{work}/template_to_{ref_name}_", settings.skull_strip, ref_name)
    return Preprocessed(ref_name, {name: to_nibabel(apply_mask(img, mask)) for name, img in warped.items()},
                        to_nibabel(mask))


def apply_mask(image, mask):
    """Zero outside the brain and clip the negative ringing of B-spline resampling."""
    return image.new_image_like(np.where(mask.numpy() > 0, np.clip(image.numpy(), 0, None), 0).astype(np.float32))
