"""How close the simulator comes to real contrasts: correlation with the SPM avg152 averages.

The avg152 T1/T2/PD images are averages of 152 real subjects in MNI space; the template
anatomy imaged with typical sequences and no deformation, noise or bias should correlate
with them inside the brain. Both are compared at the averages' 2 mm grid after smoothing
the simulation to the blur an average of 152 affinely aligned brains has.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import nibabel as nib
import numpy as np
from scipy import ndimage

from codebrain.data.physics import Sequence
from codebrain.data.simulate import SimulationOptions, simulate_subject
from codebrain.data.volumes import resample_array

# Typical 1.5 T protocols of the ICBM acquisitions: 3D T1 gradient echo, dual-echo spin echo.
REFERENCE_SEQUENCES: dict[str, Sequence] = {
    "T1w": Sequence("IR", 2000.0, 3.5, 900.0),
    "T2w": Sequence("SE", 5000.0, 100.0),
    "PDw": Sequence("SE", 6000.0, 12.0),
}
SPM_NAMES = {"T1w": "T1", "T2w": "T2", "PDw": "PD"}


def template_correlations(
    spm_dir: Path, smoothing_fwhm_mm: float = 6.0, erosion_mm: int = 5
) -> dict[str, float]:
    """Pearson r inside the brain between each simulated contrast and its real average.

    The averages sit in the linear ICBM152 space and our anatomy in the non-linear 2009
    space, so their cortical edges do not line up; ``erosion_mm`` keeps the comparison
    to the brain's interior, where the contrast rather than the outline is compared.
    """
    options = SimulationOptions(lesion_probability=0.0, deform=False, bias=False, snr_range=None,
                                field_strengths=(1.5,), jitter=0.0)
    modalities = tuple(REFERENCE_SEQUENCES)
    sim = simulate_subject(0, modalities, options, sequences=REFERENCE_SEQUENCES)
    sigma = smoothing_fwhm_mm / 2.355
    out = {}
    for modality in modalities:
        average = next(Path(spm_dir).glob(f"canonical_avg152{SPM_NAMES[modality]}.nii*"))
        real = cast(nib.Nifti1Image, nib.load(str(average)))
        simulated = resample_array(ndimage.gaussian_filter(sim.images[modality], sigma), sim.affine,
                                   real.shape, real.affine)
        interior = ndimage.binary_erosion(sim.brain, iterations=erosion_mm) if erosion_mm else sim.brain
        brain = resample_array(interior, sim.affine, real.shape, real.affine) > 0.5
        real_data = np.asarray(real.dataobj, dtype=np.float32)
        inside = brain & (real_data > 0)
        out[modality] = float(np.corrcoef(simulated[inside], real_data[inside])[0, 1])
    return out
