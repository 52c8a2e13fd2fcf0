"""Simulated validation sources: the subjects no real patient here can stand in for.

A recipe is chosen on validation sources, and the real ones here miss the cases that
``benchmarks/generalisation.py`` most needs to see (issue 31): strong enhancement and large lesions.
On the normalised scale every command uses (each volume divided by its 99.5th brain percentile), a large,
bright enhancing rim sets a T1Gd's percentile, and normal tissue then sits low. It sits at 0.31 of it in
one simulated training subject and at 0.61 in the one real training patient. The only real validation
patient with T1Gd sits at 0.47.

Each source is simulated on demand under ``OUT/<source>/<subject>`` in the training layout, all five
contrasts, from its own root seed. The training folder's subjects come from seed 2026
(``scripts/train_bundled.sh``), so none of them is among these. A subject folder is reused only when its
record says it was simulated with the same seed and options.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from codebrain.data.modalities import MODALITIES
from codebrain.data.simulate import SimulationOptions, simulate_subject, subject_seeds
from codebrain.data.training_folder import write_training_subject

RECORD = "source.json"  # in a simulated subject folder: the seed and options it was made with


@dataclass(frozen=True)
class SimulatedSource:
    name: str
    seed: int  # root seed; subject k gets the k-th of ``subject_seeds(seed, n)``
    prefix: str  # subject names: prefix + 0001, 0002, ...
    count: int
    options: SimulationOptions
    licence: str = "simulated (CodeBrain's own)"
    trainable: bool = False  # a validation source: training on it would void it

    @property
    def subjects(self) -> tuple[str, ...]:
        return tuple(f"{self.prefix}{i + 1:04d}" for i in range(self.count))

    @property
    def files(self) -> dict[str, str]:
        """Modality -> file name in a subject folder, as a real ``Source`` has."""
        return {m: f"{m}.nii.gz" for m in MODALITIES}


SIMULATED_SOURCES: tuple[SimulatedSource, ...] = (
    SimulatedSource("sim-enhancing", seed=3101, prefix="enh", count=2, options=SimulationOptions(
        lesion_probability=1.0, lesion_radius_mm=(24.0, 36.0), enhancing_probability=1.0,
        gadolinium_mM=(0.5, 0.9))),
)


def simulated_source(name: str) -> SimulatedSource | None:
    return next((s for s in SIMULATED_SOURCES if s.name == name), None)


def build(src: SimulatedSource, out: Path) -> Path:
    """Simulate ``src``'s subjects into ``out/<name>`` (kept ones reused); returns the source folder."""
    folder = out / src.name
    for subject, seed in zip(src.subjects, subject_seeds(src.seed, src.count)):
        target = folder / subject
        record = {"seed": seed, "options": asdict(src.options)}
        if (target / RECORD).exists() and json.loads((target / RECORD).read_text()) == json.loads(json.dumps(record)):
            continue
        (target / RECORD).unlink(missing_ok=True)
        write_training_subject(simulate_subject(seed, options=src.options), target)
        (target / RECORD).write_text(json.dumps(record) + "\n")  # last: a half-written folder has none
    return folder
