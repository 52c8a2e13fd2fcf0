"""Tissue probability maps of the MNI152 template, the anatomy every simulated subject starts from.

GM and WM come from the 1 mm ICBM 2009a maps that nilearn ships; CSF, the intracranial
and the head masks from the 2 mm ICBM 2009c maps vendored in ``templates/`` (MNI
licence in ``templates/LICENCE-MNI.txt``), resampled onto the 1 mm grid. Skull and scalp
are the head mask minus the brain, split by the distance to the brain surface.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import cast

import nibabel as nib
import numpy as np
from scipy import ndimage

from codebrain.data.volumes import resample_array

TEMPLATE_DIR = resources.files("codebrain.data") / "templates"


@dataclass(frozen=True)
class Anatomy:
    """Partial-volume fractions of one head on one grid (all arrays share ``affine``)."""

    fractions: dict[str, np.ndarray]  # tissue -> fraction in [0, 1], summing to <= 1
    brain: np.ndarray  # bool, intracranial mask
    affine: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.brain.shape


def _resample_to(img: nib.Nifti1Image, shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    """Linear resampling of a template map onto another grid of the same space."""
    return resample_array(np.asarray(img.dataobj, dtype=np.float32), img.affine, shape, affine)


@lru_cache(maxsize=2)
def template_anatomy(resolution: int = 1) -> Anatomy:
    """The MNI152 anatomy at ``resolution`` mm: GM, WM, CSF, fat (scalp) and bone (skull)."""
    from nilearn import datasets

    gm_img = datasets.load_mni152_gm_template(resolution=resolution)
    shape, affine = gm_img.shape, gm_img.affine
    gm = np.asarray(gm_img.dataobj, dtype=np.float32)
    wm = np.asarray(datasets.load_mni152_wm_template(resolution=resolution).dataobj, dtype=np.float32)
    gm, wm = gm / max(gm.max(), 1e-6), wm / max(wm.max(), 1e-6)
    def load(name: str) -> np.ndarray:
        return _resample_to(cast(nib.Nifti1Image, nib.load(str(TEMPLATE_DIR / f"mni2009c_2mm_{name}.nii.gz"))),
                            shape, affine)

    csf, icv_mask, head = load("csf"), load("brain_mask"), load("head_mask")

    brain = (icv_mask > 0.5) | (gm + wm > 0.5)
    brain = ndimage.binary_fill_holes(ndimage.binary_closing(brain, iterations=2))
    gm, wm = gm * brain, wm * brain
    total = gm + wm
    over = np.maximum(total, 1.0)
    gm, wm = gm / over, wm / over
    csf = np.where(brain, np.maximum(1.0 - gm - wm, np.minimum(csf, 1.0 - gm - wm)), 0.0)

    # Skull hugs the brain, scalp (fat) lies outside it: split the shell by distance.
    shell = (head > 0.5) & ~brain
    depth = ndimage.distance_transform_edt(~brain) * resolution
    bone = (shell & (depth <= 6.0)).astype(np.float32)
    fat = (shell & (depth > 6.0)).astype(np.float32)
    fractions = {"CSF": csf, "GM": gm, "WM": wm, "fat": fat, "bone": bone}
    return Anatomy({k: v.astype(np.float32) for k, v in fractions.items()}, brain, affine)

