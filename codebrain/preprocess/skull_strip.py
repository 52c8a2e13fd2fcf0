"""Brain extraction for raw scans, by one of four methods (``benchmarks/brain_extraction.py``
measures them against reference masks; ``docs/benchmarks.md`` holds the table).

``deepbet``
    the learned extraction of deepbet (Fisch et al. 2024, MIT licence, version 1.0.2): two TorchScript networks
    that ship inside its PyPI wheel (a bounding-box net on a 128^3 copy, then the mask net on the
    box at 256^3), trained on T1-weighted scans of adults. On the raw TCGA-FG-6692 it
    agrees with the BraTS mask at Dice 0.967 where the template warp reaches 0.925, in about 4 s.
``template``
    the MNI152 2009c head template (vendored, MNI licence) registered to the reference (affine,
    then SyN on 2 mm copies; the T1w template for T1-weighted references and the T2w template for
    the others), its brain mask warped back and thresholded at 0.5: the classical route of
    fMRIPrep's ``antsBrainExtraction`` without its Atropos refinement, which took four minutes per
    subject here and failed on the raw TCGA T1w.
``hybrid``
    deepbet's mask cut to the template's mask dilated by ``PRIOR_MARGIN_MM`` (5 mm): deepbet draws the
    boundary, the registered template says where the brain can be, so scalp fat, face or neck that
    deepbet takes for brain on an unusual head cannot enter. Adopted by a rule written before it was
    measured (``benchmarks/brain-extraction/template-prior``): on six validation simulations it cut the
    mean HD95 from 15.5 to 6.3 mm and lost Dice on none; it costs the template's registration (~12 s).
``auto`` (the default)
    ``hybrid`` when the reference is T1w, T1Gd or FLAIR, ``template`` for T2w and PDw: deepbet was
    trained on T1w only, but on the simulated FLAIR subjects it kept Dice 0.96 where the T2w
    template's warp fell to 0.86, and on the simulated T2w subject it was the worse (0.935 against 0.942).

Every mask is hole-filled and reduced to its largest connected component. No method downloads
anything at run time (antspynet's and HD-BET's learned extraction would need weights from the
internet; SynthStrip's are in no package on the index).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from codebrain.data.anatomy import TEMPLATE_DIR
from codebrain.errors import DataError
from codebrain.preprocess.backend import ants_module, coarse

SKULL_STRIP_METHODS: tuple[str, ...] = ("auto", "hybrid", "deepbet", "template")
SKULL_STRIP_DEFAULT = "auto"
T1_LIKE = frozenset({"T1w", "T1Gd"})  # the T1w template; the other contrasts get the T2w one
DEEPBET_CONTRASTS = frozenset({"T1w", "T1Gd", "FLAIR"})  # where auto picks hybrid (measured, see above)
PRIOR_MARGIN_MM = 5.0  # hybrid: how far outside the template's brain deepbet may reach (fixed, not tuned)
MIN_BRAIN_VOXELS = 1000
SYN_ITERATIONS = (40, 20, 0)  # 2 mm template: a finer level would add 30 s and measured no better


def resolve_method(method: str, contrast: str) -> str:
    """The method ``method`` stands for on a reference of modality ``contrast`` (``auto`` picks)."""
    if method not in SKULL_STRIP_METHODS:
        raise DataError(f"unknown skull-strip method {method!r} (choose from {', '.join(SKULL_STRIP_METHODS)})")
    if method == "auto":
        return "hybrid" if contrast in DEEPBET_CONTRASTS else "template"
    return method


def _template_brain(reference, contrast: str, outprefix: str) -> np.ndarray:
    ants = ants_module()
    name = "T1w" if contrast in T1_LIKE else "T2w"
    template = ants.image_read(str(TEMPLATE_DIR / f"mni2009c_2mm_{name}.nii.gz"))
    template_mask = ants.image_read(str(TEMPLATE_DIR / "mni2009c_2mm_brain_mask.nii.gz"))
    reg = ants.registration(fixed=coarse(reference), moving=template, type_of_transform="SyN", outprefix=outprefix,
                            reg_iterations=SYN_ITERATIONS, aff_metric="mattes", syn_metric="mattes")
    warped = ants.apply_transforms(reference, template_mask, reg["fwdtransforms"], interpolator="linear")
    return warped.numpy() > 0.5


def deepbet_models() -> tuple[Path, Path]:
    """deepbet's two networks; its wheel installs them as ``site-packages/data/models``, beside the package."""
    try:
        import deepbet.utils
    except ImportError:
        raise DataError("--skull-strip deepbet needs deepbet: pip install 'codebrain[prep]'") from None
    models = Path(deepbet.utils.DATA_PATH) / "models"
    return models / "model.pt", models / "bbox_model.pt"


def _deepbet_brain(reference) -> np.ndarray:
    """deepbet's mask of the reference, which is RAS already (deepbet's own reorientation is skipped)."""
    import torch
    from deepbet import BrainExtraction

    model, bbox_model = deepbet_models()
    bet = BrainExtraction(no_gpu=not torch.cuda.is_available(), model_path=str(model), bbox_model_path=str(bbox_model))
    try:
        mask = bet.run_model(np.asarray(reference.numpy(), np.float32).copy()) > 0.5
    except AssertionError:  # its bounding-box net found no head
        raise DataError("skull stripping failed: deepbet found no brain in the reference") from None
    return bet.postprocess(mask)


def _clean(mask: np.ndarray) -> np.ndarray:
    """Hole-filled largest connected component; refuses a (nearly) empty mask."""
    mask = ndimage.binary_fill_holes(mask)
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum(mask, labels, range(1, n + 1))
        mask = labels == (1 + int(np.argmax(sizes)))
    if mask.sum() < MIN_BRAIN_VOXELS:
        raise DataError("skull stripping failed: the brain mask is (nearly) empty")
    return mask


def brain_mask(reference, outprefix: str, method: str = SKULL_STRIP_DEFAULT, contrast: str = "T1w"):
    """The brain mask on the reference's grid (1 inside, 0 outside) by ``method`` (one of
    ``SKULL_STRIP_METHODS``); ``contrast`` is the reference's modality: ``auto`` and the template
    choice depend on it. ``outprefix`` names the template registration's transform files."""
    method = resolve_method(method, contrast)
    if method == "template":
        mask = _template_brain(reference, contrast, outprefix)
    else:
        mask = _deepbet_brain(reference)
    if method == "hybrid":
        prior = _template_brain(reference, contrast, outprefix)
        mask = _clean(mask) & (ndimage.distance_transform_edt(~prior, sampling=reference.spacing) <= PRIOR_MARGIN_MM)
    return reference.new_image_like(_clean(mask).astype(np.float32))
