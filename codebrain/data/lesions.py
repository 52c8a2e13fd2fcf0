"""Glioma-like lesions: necrotic core, enhancing rim and oedema, as partial-volume fractions.

Shapes are ellipsoids with a smooth random boundary, placed deep in the brain (training) or,
for testing brain extraction, at its edge, where a bright or dark lesion meets the skull. Low-grade
cases (as in TCGA-LGG) often do not enhance, so the rim and the core are optional.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _soft_inside(distance: np.ndarray, radius: float, width: float = 1.5) -> np.ndarray:
    return 1.0 / (1.0 + np.exp((distance - radius) / width))


def add_lesion(
    fractions: dict[str, np.ndarray], brain: np.ndarray, rng: np.random.Generator, voxel_mm: float = 1.0,
    at_edge: bool = False, radius_mm: tuple[float, float] = (14.0, 32.0), enhancing_probability: float = 0.7,
) -> dict[str, np.ndarray]:
    """Return new fractions with one lesion replacing the healthy tissue it covers; ``at_edge`` centres
    it 8 to 14 mm below the brain's surface, so that its oedema reaches the cortex.

    ``radius_mm`` bounds the oedema's radius and ``enhancing_probability`` is the chance of an enhancing
    rim. A validation set widens them: where a large enhancing rim sets a T1Gd's 99.5th percentile, normal
    tissue sits low on the normalised scale, which no real validation patient here shows. The defaults draw
    the same numbers in the same order as before these parameters existed (the training folders depend on
    it); another ``enhancing_probability`` can change whether the rim's draws happen, hence every later draw.
    """
    depth = ndimage.distance_transform_edt(brain) * voxel_mm
    if at_edge:
        candidates = np.argwhere((depth > 8.0) & (depth < 14.0) & (fractions["GM"] + fractions["WM"] > 0.5))
    else:
        candidates = np.argwhere((depth > 25.0) & (fractions["WM"] > 0.5))
    centre = candidates[rng.integers(len(candidates))]
    r_oedema = rng.uniform(*radius_mm)
    enhancing = rng.random() < enhancing_probability
    r_rim = r_oedema * rng.uniform(0.45, 0.75) if enhancing else 0.0
    r_core = r_rim * rng.uniform(0.3, 0.75) if enhancing and rng.random() < 0.8 else 0.0

    reach = int(np.ceil(r_oedema * 1.6 / voxel_mm)) + 3
    box = tuple(slice(max(c - reach, 0), min(c + reach, n)) for c, n in zip(centre, brain.shape))
    grids = np.meshgrid(*[np.arange(s.start, s.stop) for s in box], indexing="ij")
    axes = rng.uniform(0.75, 1.3, size=3)
    dist = np.sqrt(sum(((g - c) * voxel_mm / a) ** 2 for g, c, a in zip(grids, centre, axes)))
    wobble = ndimage.gaussian_filter(rng.normal(size=dist.shape), sigma=4.0 / voxel_mm)
    dist = dist * (1.0 + 0.25 * wobble / max(np.abs(wobble).max(), 1e-6))

    inside_oedema = _soft_inside(dist, r_oedema) * brain[box]
    inside_rim = _soft_inside(dist, r_rim) * brain[box] if r_rim else 0.0 * dist
    inside_core = _soft_inside(dist, r_core) * brain[box] if r_core else 0.0 * dist
    lesion = {
        "necrosis": inside_core,
        "enhancing": inside_rim - inside_core,
        "oedema": inside_oedema - inside_rim,
    }
    out = {k: v.copy() for k, v in fractions.items()}
    covered = inside_oedema.astype(np.float32)
    for tissue in ("CSF", "GM", "WM"):
        out[tissue][box] *= 1.0 - covered
    for tissue, frac in lesion.items():
        full = out.get(tissue, np.zeros(brain.shape, np.float32))
        full[box] += np.clip(frac, 0.0, 1.0).astype(np.float32)
        out[tissue] = full
    return out
