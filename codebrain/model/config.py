"""Model and training configuration: presets shipped as YAML, overridable by a user's YAML.

A user's file may name a ``preset`` to start from and override any key of ``model`` or
``train``; unknown keys are errors, so a typo never trains the wrong model silently.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from codebrain.data.modalities import check_modalities

# model.json's ``detail.amount`` for amounts fitted per pattern and target (``codebrain.model.detail``)
FITTED = "fit"

CONFIG_DIR = resources.files("codebrain") / "configs"


@dataclass(frozen=True)
class ModelConfig:
    modalities: tuple[str, ...] = ("T1w", "T1Gd", "T2w", "FLAIR")
    posterior_width: int = 32
    shared_width: int = 96
    decoder_width: int = 96
    grader_width: int = 96
    depth: int = 6
    fsq_levels: tuple[int, ...] = (8, 8, 8, 5, 5, 5)
    grader_head: str = "ordinal"  # or "classification" (the paper's ablation)

    def __post_init__(self) -> None:
        object.__setattr__(self, "modalities", check_modalities(self.modalities))
        object.__setattr__(self, "fsq_levels", tuple(int(v) for v in self.fsq_levels))
        if self.grader_head not in ("ordinal", "classification"):
            raise ValueError(f"grader_head must be 'ordinal' or 'classification', not {self.grader_head!r}")


INTENSITY_AUGMENTATIONS = ("standard", "domain-random")


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 300_000
    batch_size: int = 8
    lr: float = 5e-4
    lr_min: float = 5e-5
    betas: tuple[float, float] = (0.9, 0.9)
    weight_decay: float = 0.0
    missing_weight: float = 20.0
    available_weight: float = 5.0
    gan_weight: float = 0.1
    gan_start: float = 0.2  # fraction of the steps before the adversarial term starts
    disc_lr: float = 5e-5
    ema_decay: float = 0.0  # >0: validate and save an exponential moving average of the weights
    image_size: int = 256  # training slices are padded / cropped to this square
    crop_size: int = 0  # >0: random square crops of this size (fast CPU training)
    val_every: int = 2000
    val_slices: int = 256
    checkpoint_every: int = 5000
    log_every: int = 50
    augment: bool = True
    # input-only intensity augmentation: "standard" (mild bias, gamma, noise) or "domain-random"
    # (SynthSR-style: random monotone intensity curves, wide gamma, strong bias, blur, noise), so the
    # grader reads anatomy from relative contrast rather than one site's absolute intensities
    intensity_augmentation: str = "standard"
    workers: int = 2
    # train in oneDNN's channels-last layout on a CPU too (a GPU always does): a Stage II step on
    # whole slices runs 1.3x faster so on 2 cores. Off by default, so that the stages the bundled
    # models trained on a CPU in the default layout rebuild bit for bit
    channels_last_cpu: bool = False

    def __post_init__(self) -> None:
        if self.intensity_augmentation not in INTENSITY_AUGMENTATIONS:
            raise ValueError(f"intensity_augmentation must be one of {', '.join(INTENSITY_AUGMENTATIONS)}, "
                             f"not {self.intensity_augmentation!r}")


@dataclass(frozen=True)
class Config:
    name: str
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def preset_names() -> list[str]:
    return sorted(p.name[: -len(".yaml")] for p in CONFIG_DIR.iterdir() if p.name.endswith(".yaml"))


def _merge(base: dict, override: dict, where: str) -> dict:
    out = dict(base)
    for key, value in override.items():
        if key not in base:
            raise ValueError(f"unknown key {where}{key!r}")
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def config_from_dict(data: dict[str, Any], name: str) -> Config:
    unknown = set(data) - {"preset", "model", "train", "name"}
    if unknown:
        raise ValueError(f"unknown top-level key {sorted(unknown)[0]!r} in config {name}")
    if "preset" in data:
        base = load_config(data["preset"]).to_dict()
    else:
        base = {"model": dataclasses.asdict(ModelConfig()), "train": dataclasses.asdict(TrainConfig())}
    model = _merge(base["model"], data.get("model") or {}, "model.")
    train = _merge(base["train"], data.get("train") or {}, "train.")
    return Config(name=data.get("name", name), model=ModelConfig(**model), train=TrainConfig(**train))


def load_config(spec: str | Path) -> Config:
    """A preset name (``small``, ``paper-brats``, ...) or the path of a YAML file."""
    path = Path(spec)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise FileNotFoundError(str(path))
        text, name = path.read_text(), path.stem
    elif str(spec) in preset_names():
        text, name = (CONFIG_DIR / f"{spec}.yaml").read_text(), str(spec)
    else:
        raise ValueError(f"unknown config {str(spec)!r}: not a YAML file nor a preset ({', '.join(preset_names())})")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError(f"config {name} is not a mapping")
    return config_from_dict(data, name)
