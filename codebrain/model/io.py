"""Model directories: ``model.safetensors`` plus ``model.json``, verified by sha256.

Weights are never unpickled. ``model.json`` carries everything needed to rebuild and
trust the network: architecture, modality list, normalisation, training provenance,
metrics and the checksum of the weights file.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from codebrain import __version__
from codebrain.data.volumes import NORMALISATION
from codebrain.errors import DataError, NoInputError
from codebrain.model.config import ModelConfig, TrainConfig
from codebrain.model.names import BUNDLED
from codebrain.model.networks import CodeBrain
from codebrain.runtime.staging import atomic_write

FORMAT = "codebrain-model/1"
WEIGHTS_DIR = resources.files("codebrain") / "weights"
SCHEMA = json.loads((resources.files("codebrain.model") / "model.schema.json").read_text())


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model_dir(
    path: Path, state: dict[str, torch.Tensor], config: ModelConfig, stage: int, info: dict[str, Any]
) -> None:
    """Write both files under temporary names, then rename them into place.

    The folder may hold other things (a training run's logs and checkpoints), so the
    files are swapped one by one, weights first: a reader never finds a model.json
    that points to weights that are not there yet.
    """
    path = Path(path)
    # the inner block is renamed first: weights, then the model.json that names their sha256
    with atomic_write(path / "model.json") as json_tmp, atomic_write(path / "model.safetensors") as weights_tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(weights_tmp))
        json_tmp.write_text(json.dumps(_model_info(config, stage, info, sha256(weights_tmp)), indent=2) + "\n")


def _model_info(config: ModelConfig, stage: int, info: dict, weights_sha256: str) -> dict:
    return {
        "format": FORMAT,
        "codebrain_version": __version__,
        "stage": stage,
        "modalities": list(config.modalities),
        "architecture": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(config).items()},
        "normalisation": NORMALISATION,
        **info,
        "sha256": weights_sha256,
    }


def resolve_model_dir(spec: str | Path) -> Path:
    """A model directory, or the name of a bundled model."""
    if str(spec) in BUNDLED:
        return Path(str(WEIGHTS_DIR / str(spec)))
    path = Path(spec)
    if not (path / "model.json").is_file():
        raise NoInputError(f"{spec} is neither a model directory (no model.json) nor a bundled model "
                           f"({', '.join(BUNDLED)})")
    return path


def read_model_info(spec: str | Path) -> dict[str, Any]:
    """model.json checked against ``model.schema.json``: a bad folder is one line naming the bad key."""
    path = resolve_model_dir(spec) / "model.json"
    try:
        info = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(info))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        message = error.message if len(error.message) < 200 else error.message[:200] + "..."
        raise DataError(f"{path}: {where}: {message}")
    return info


def training_size(info: dict[str, Any]) -> int:
    """The square slice size a model trained on: evaluation and fitted maps must use the same."""
    return int(info.get("training", {}).get("config", {}).get("train", {}).get("image_size", TrainConfig.image_size))


def _check_shapes(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path, prefix: str = "") -> None:
    """Name the first tensor that does not fit the declared architecture, instead of torch's list of all."""
    expected = {prefix + k: v.shape for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    if missing:
        raise DataError(f"{path}: the weights lack {missing[0]} (and {len(missing) - 1} more); "
                        "they do not match the architecture in model.json")
    for key, shape in expected.items():
        if state[key].shape != shape:
            raise DataError(f"{path}: {key} has shape {tuple(state[key].shape)}, the architecture in model.json "
                            f"needs {tuple(shape)}")


def load_model_dir(spec: str | Path, stage: int = 2, device: str | torch.device = "cpu") -> tuple[CodeBrain, dict]:
    """Rebuild the network and load verified weights; ``stage=1`` accepts a Stage I run."""
    path = resolve_model_dir(spec)
    info = read_model_info(path)
    if info["stage"] < stage:
        raise DataError(f"{path} is a Stage {info['stage']} model; Stage {stage} is needed "
                        "(train the grader with codebrain-train stage2)")
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise NoInputError(f"{path}: model.safetensors is missing")
    if sha256(weights) != info["sha256"]:
        raise DataError(f"{weights}: sha256 does not match model.json; the weights are corrupt or were changed")
    model = CodeBrain(ModelConfig(**info["architecture"]), detail=info.get("detail"))
    try:
        state = load_file(str(weights))
    except SafetensorError as err:
        raise DataError(f"{weights}: not a safetensors file ({err})") from None
    if stage == 1:
        _check_shapes(model.stage1, state, weights, "stage1.")
        model.stage1.load_state_dict({k[len("stage1."):]: v for k, v in state.items() if k.startswith("stage1.")})
    else:
        _check_shapes(model, state, weights)
        model.load_state_dict(state)
    return model.to(device).eval(), info
