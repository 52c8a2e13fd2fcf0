"""Tissue relaxation properties and the MR signal equations the simulator uses.

Values are literature means; the simulator jitters them per subject (about 5 %) so a
model never sees one fixed contrast. Times are in milliseconds, proton density is
relative to CSF.

Sources
- GM, WM at 1.5 T and 3 T: Stanisz GJ et al., "T1, T2 relaxation and magnetization
  transfer in tissue at 3T", Magn Reson Med 2005;54:507-512 (Table 1), and Wansapura JP
  et al., "NMR relaxation times in the human brain at 3.0 tesla", J Magn Reson Imaging
  1999;9:531-538.
- CSF: Lu H et al., "Routine clinical brain MRI sequences for use at 3.0 Tesla",
  J Magn Reson Imaging 2005;22:13-22 (T1 about 4.2 s at 1.5 T, 4.3 s at 3 T; T2 about 2 s).
- Proton density (WM 0.69, GM 0.80, CSF 1.0): Tofts P (ed.), "Quantitative MRI of the
  Brain", Wiley 2003, ch. 4.
- Tumour compartments (oedema, necrosis, enhancing tumour): Just M, Thelen M, "Tissue
  characterization with T1, T2, and proton density values: results in 160 patients with
  brain tumors", Radiology 1988;169:779-785, scaled to 3 T by the GM/WM T1 ratios above.
- Scalp fat and skull: Gold GE et al., "Musculoskeletal MRI at 3.0 T: relaxation times and
  image contrast", AJR 2004;183:343-351 (subcutaneous fat T1 about 290/370 ms).
- Gadolinium relaxivity r1 (gadobutrol/gadoterate class, plasma, 37 C): Rohrer M et al.,
  "Comparison of magnetic properties of MRI contrast media solutions at different
  magnetic field strengths", Invest Radiol 2005;40:715-724 (about 4.5 /mM/s at 1.5 T,
  3.9 at 3 T).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TISSUES: tuple[str, ...] = ("CSF", "GM", "WM", "necrosis", "enhancing", "oedema", "fat", "bone")

# tissue -> field (T) -> (PD, T1 ms, T2 ms)
RELAXATION: dict[str, dict[float, tuple[float, float, float]]] = {
    "CSF": {1.5: (1.00, 4200.0, 2000.0), 3.0: (1.00, 4300.0, 1800.0)},
    "GM": {1.5: (0.80, 1124.0, 95.0), 3.0: (0.80, 1820.0, 99.0)},
    "WM": {1.5: (0.69, 884.0, 72.0), 3.0: (0.69, 1084.0, 69.0)},
    "necrosis": {1.5: (0.95, 2500.0, 350.0), 3.0: (0.95, 3200.0, 320.0)},
    "enhancing": {1.5: (0.85, 1250.0, 110.0), 3.0: (0.85, 1700.0, 105.0)},
    "oedema": {1.5: (0.88, 1350.0, 170.0), 3.0: (0.88, 1800.0, 160.0)},
    "fat": {1.5: (0.90, 290.0, 85.0), 3.0: (0.90, 370.0, 80.0)},
    "bone": {1.5: (0.08, 600.0, 10.0), 3.0: (0.08, 700.0, 8.0)},
}
GD_RELAXIVITY = {1.5: 4.5, 3.0: 3.9}  # r1 in 1/(mM s)


@dataclass(frozen=True)
class Sequence:
    """One acquisition: 'SE' spin echo, 'IR' inversion recovery or 'GRE' spoiled gradient echo."""

    kind: str
    repetition_time: float  # ms
    echo_time: float  # ms
    inversion_time: float | None = None  # ms
    flip_angle: float | None = None  # degrees, GRE only

    def sidecar(self, field_strength: float) -> dict[str, float]:
        """BIDS fields, in BIDS units (seconds, tesla)."""
        out = {
            "MagneticFieldStrength": field_strength,
            "RepetitionTime": round(self.repetition_time / 1000.0, 4),
            "EchoTime": round(self.echo_time / 1000.0, 4),
        }
        if self.inversion_time is not None:
            out["InversionTime"] = round(self.inversion_time / 1000.0, 4)
        if self.flip_angle is not None:
            out["FlipAngle"] = round(self.flip_angle, 1)
        return out


def signal(seq: Sequence, pd: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Magnitude signal of the spin-echo, inversion-recovery or spoiled gradient-echo equation.

    GRE uses T2 in place of T2* (the short echo times make the difference small).
    """
    e2 = np.exp(-seq.echo_time / t2)
    e1_tr = np.exp(-seq.repetition_time / t1)
    if seq.kind == "SE":
        return pd * (1.0 - e1_tr) * e2
    if seq.kind == "IR":
        assert seq.inversion_time is not None
        return pd * np.abs(1.0 - 2.0 * np.exp(-seq.inversion_time / t1) + e1_tr) * e2
    if seq.kind == "GRE":
        assert seq.flip_angle is not None
        alpha = np.deg2rad(seq.flip_angle)
        return pd * np.sin(alpha) * (1.0 - e1_tr) / (1.0 - np.cos(alpha) * e1_tr) * e2
    raise ValueError(f"unknown sequence kind {seq.kind!r}")


def nulling_time(t1: float, repetition_time: float) -> float:
    """Inversion time that nulls a tissue of the given T1 (used for FLAIR on CSF)."""
    return float(t1 * np.log(2.0 / (1.0 + np.exp(-repetition_time / t1))))


def random_sequences(rng: np.random.Generator, field: float, csf_t1: float) -> dict[str, Sequence]:
    """Clinical-range parameters per contrast; T1Gd reuses the subject's T1w sequence."""
    if rng.random() < 0.6:  # 3D inversion-prepared gradient echo (MPRAGE-like)
        # TI between the GM and the CSF null points, which move with T1 (field strength).
        ti = rng.uniform(850, 1000) if field < 2 else rng.uniform(1050, 1250)
        t1w = Sequence("IR", rng.uniform(2000, 2500), rng.uniform(2.0, 4.5), ti)
    else:  # 3D spoiled gradient echo (FLASH / SPGR)
        t1w = Sequence("GRE", rng.uniform(15, 25), rng.uniform(3.0, 6.0), flip_angle=rng.uniform(25, 35))
    flair_tr = rng.uniform(8000, 11000)
    flair_ti = nulling_time(csf_t1, flair_tr) * rng.uniform(0.97, 1.03)
    return {
        "T1w": t1w,
        "T1Gd": t1w,
        "T2w": Sequence("SE", rng.uniform(4000, 8000), rng.uniform(80, 120)),
        "PDw": Sequence("SE", rng.uniform(6000, 9000), rng.uniform(8, 20)),
        "FLAIR": Sequence("IR", flair_tr, rng.uniform(100, 140), flair_ti),
    }


def jittered_properties(
    rng: np.random.Generator, field: float, jitter: float = 0.08
) -> dict[str, tuple[float, float, float]]:
    """Per-subject tissue properties: literature means times a log-normal jitter."""
    out = {}
    for tissue in TISSUES:
        pd, t1, t2 = RELAXATION[tissue][field]
        f = np.exp(rng.normal(0.0, jitter, size=3))
        out[tissue] = (min(pd * f[0], 1.0), t1 * f[1], t2 * f[2])
    return out
