"""The simulator: multi-contrast brain subjects from tissue maps and MR physics.

Each subject is the MNI152 anatomy under a random affine and a smooth non-linear
deformation, optionally with a glioma-like lesion, imaged with jittered relaxation
times and clinical-range sequence parameters, then given a smooth bias field and Rician
noise. Everything is drawn from one seed per subject, so the same seed gives the same
bytes. Writing subjects out is elsewhere: ``training_folder`` (the training layout),
``simulate_bids`` (a raw BIDS dataset), ``simulate_cli`` (``codebrain-simulate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from codebrain.data.anatomy import Anatomy, template_anatomy
from codebrain.data.lesions import add_lesion
from codebrain.data.modalities import MODALITIES
from codebrain.data.physics import (
    GD_RELAXIVITY,
    TISSUES,
    Sequence,
    jittered_properties,
    random_sequences,
    signal,
)
from codebrain.runtime.resources import one_torch_thread

LABELS: dict[str, int] = {t: i + 1 for i, t in enumerate(TISSUES)}  # 0 is background
MAGNITUDE = (300.0, 600.0)


@dataclass
class SimulationOptions:
    """What varies between subjects, and how much (all switchable for validation)."""

    lesion_probability: float = 0.5
    lesion_at_edge: bool = False  # lesions near the cortex (brain-extraction tests) instead of deep
    deform: bool = True
    bias: bool = True
    snr_range: tuple[float, float] | None = (15.0, 60.0)
    field_strengths: tuple[float, ...] = (1.5, 3.0)
    jitter: float = 0.05
    resolution: int = 1  # mm
    lesion_radius_mm: tuple[float, float] = (14.0, 32.0)  # the oedema's radius
    enhancing_probability: float = 0.7  # a lesion's chance of an enhancing rim (low-grade ones often lack it)
    gadolinium_mM: tuple[float, float] = (0.2, 0.7)  # contrast agent in enhancing tissue


@dataclass
class Subject:
    """One simulated head on a 1 mm grid: images on an arbitrary scanner scale, skull on."""

    images: dict[str, np.ndarray]
    labels: np.ndarray
    brain: np.ndarray
    affine: np.ndarray
    sequences: dict[str, Sequence]
    field_strength: float
    metadata: dict = field(default_factory=dict)


def _deform(
    anatomy: Anatomy, fractions: dict[str, np.ndarray], seed: int, voxel_mm: float
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One random affine plus elastic warp (MONAI) applied to every map together.

    The elastic field is smoothed white noise (sigma 7-9 mm) giving displacements of
    about 2-4 mm RMS and up to about 10 mm (the magnitude
    scales with voxel size to the power -2.5 to keep that in mm); the affine rotates up to 7 degrees, scales
    up to 8 % and shifts up to 4 mm.
    """
    from monai.transforms import Rand3DElastic

    names = list(fractions)
    stack = np.stack([fractions[n] for n in names] + [anatomy.brain.astype(np.float32)])
    warp = Rand3DElastic(
        sigma_range=(7.0 / voxel_mm, 9.0 / voxel_mm), magnitude_range=tuple(m * voxel_mm**-2.5 for m in MAGNITUDE),
        prob=1.0,
        rotate_range=(0.12, 0.12, 0.12), scale_range=(0.08, 0.08, 0.08),
        translate_range=(4.0 / voxel_mm,) * 3, mode="bilinear", padding_mode="zeros",
    )
    warp.set_random_state(seed=seed)
    with torch.no_grad(), one_torch_thread():  # the same bytes whatever the machine's core count
        out = np.asarray(warp(stack), dtype=np.float32)  # type: ignore[arg-type]  # MONAI takes arrays too
    return {n: out[i] for i, n in enumerate(names)}, out[-1] > 0.5


def _bias_field(shape: tuple[int, ...], seed: int) -> np.ndarray:
    from monai.transforms import RandBiasField

    bias = RandBiasField(degree=3, coeff_range=(0.05, 0.3), prob=1.0)
    bias.set_random_state(seed=seed)
    return np.asarray(bias(np.ones((1, *shape), np.float32)), dtype=np.float32)[0]


def _contrast(
    modality: str, seq: Sequence, fractions: dict[str, np.ndarray],
    props: dict[str, tuple[float, float, float]], field_strength: float, gd_mM: float,
) -> np.ndarray:
    """Partial-volume signal: the fraction-weighted sum of each tissue's signal."""
    out = np.zeros(next(iter(fractions.values())).shape, np.float32)
    for tissue, frac in fractions.items():
        pd, t1, t2 = props[tissue]
        if modality == "T1Gd" and tissue == "enhancing":
            t1 = 1.0 / (1.0 / t1 + GD_RELAXIVITY[field_strength] * gd_mM / 1000.0)
        out += frac * np.float32(signal(seq, np.asarray(pd, np.float64), np.asarray(t1, np.float64),
                                        np.asarray(t2, np.float64)))
    return out


def _labels(fractions: dict[str, np.ndarray]) -> np.ndarray:
    names = list(fractions)
    stack = np.stack([fractions[n] for n in names])
    labels = np.asarray([LABELS[n] for n in names], np.uint8)[stack.argmax(0)]
    labels[stack.sum(0) < 0.5] = 0
    return labels


def _rician(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    real = image + rng.normal(0.0, sigma, image.shape).astype(np.float32)
    imag = rng.normal(0.0, sigma, image.shape).astype(np.float32)
    return np.sqrt(real * real + imag * imag)


def simulate_subject(
    seed: int, modalities: tuple[str, ...] = MODALITIES, options: SimulationOptions | None = None,
    sequences: dict[str, Sequence] | None = None,
) -> Subject:
    """Simulate one subject; the same seed and options always give the same arrays.

    ``sequences`` fixes the acquisition parameters (validation against real averages);
    by default they are drawn from clinical ranges.
    """
    options = options or SimulationOptions()
    rng = np.random.default_rng(seed)
    anatomy = template_anatomy(options.resolution)
    fractions = dict(anatomy.fractions)
    has_lesion = rng.random() < options.lesion_probability
    if has_lesion:
        fractions = add_lesion(fractions, anatomy.brain, rng, float(options.resolution), options.lesion_at_edge,
                               options.lesion_radius_mm, options.enhancing_probability)
    brain = anatomy.brain
    if options.deform:
        fractions, brain = _deform(anatomy, fractions, int(rng.integers(2**31)), float(options.resolution))

    field_strength = float(rng.choice(options.field_strengths))
    props = jittered_properties(rng, field_strength, options.jitter)
    drawn = random_sequences(rng, field_strength, props["CSF"][1])
    sequences = {**drawn, **(sequences or {})}
    gd_mM = rng.uniform(*options.gadolinium_mM)
    gain = rng.uniform(500.0, 3000.0)
    images = {}
    for modality in modalities:
        image = _contrast(modality, sequences[modality], fractions, props, field_strength, gd_mM)
        if options.bias:
            image *= _bias_field(image.shape, int(rng.integers(2**31)))
        if options.snr_range is not None:
            sigma = float(image[brain].mean()) / rng.uniform(*options.snr_range)
            image = _rician(image, sigma, rng)
        images[modality] = (image * gain).astype(np.float32)
    return Subject(
        images=images, labels=_labels(fractions), brain=brain, affine=anatomy.affine,
        sequences={m: sequences[m] for m in modalities}, field_strength=field_strength,
        metadata={"seed": seed, "lesion": has_lesion, "gadolinium_mM": round(gd_mM, 3)},
    )


def subject_seeds(seed: int, n: int) -> list[int]:
    """Independent per-subject seeds, so subject k does not depend on how many are made."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]
