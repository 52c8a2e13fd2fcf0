"""Join graders trained on one Stage I into one model folder (``graders`` in model.json).

    python make_ensemble.py [--ensemble probabilities|outputs] OUTPUT MEMBER MEMBER [MEMBER ...]

The first member gives Stage I, the detail map and the provenance; every further member adds only its
grader, as ``extra_graders.K``. Members must share the architecture and every Stage I tensor, bit for bit:
the averaged probabilities choose levels of one codebook, read by one decoder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from codebrain.model.config import ModelConfig
from codebrain.model.io import read_model_info, resolve_model_dir, save_model_dir
from codebrain.model.networks import ENSEMBLES

GENERATED = ("format", "codebrain_version", "stage", "modalities", "architecture", "normalisation", "sha256")


def main(output: Path, members: list[str], ensemble: str) -> None:
    infos = [read_model_info(m) for m in members]
    states = [load_file(str(resolve_model_dir(m) / "model.safetensors")) for m in members]
    first, state = infos[0], dict(states[0])
    for spec, info, other in zip(members[1:], infos[1:], states[1:]):
        if info["architecture"] != first["architecture"]:
            sys.exit(f"{spec}: another architecture than {members[0]}")
        stage1 = [k for k in state if k.startswith("stage1.")]
        if not all(torch.equal(state[k], other[k]) for k in stage1):
            sys.exit(f"{spec}: its Stage I differs from {members[0]}'s; an ensemble needs one decoder")
    for k, other in enumerate(states[1:]):
        state.update({f"extra_graders.{k}.{key[len('grader.'):]}": v for key, v in other.items()
                      if key.startswith("grader.")})
    extra = {key: v for key, v in first.items() if key not in GENERATED}
    extra["graders"], extra["ensemble"] = len(members), ensemble
    extra["ensemble_members"] = [{"model": str(m), "sha256": i["sha256"], "training": i["training"]}
                                 for m, i in zip(members, infos)]
    extra.pop("card", None)  # the members' figures are not the ensemble's
    save_model_dir(output, state, ModelConfig(**first["architecture"]), first["stage"], extra)
    print(f"{output}: {len(members)} graders ({ensemble} averaged) on the Stage I of {members[0]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ensemble", choices=ENSEMBLES, default=ENSEMBLES[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("members", nargs="+", help="model folders or bundled names, the first giving Stage I")
    args = parser.parse_args()
    if len(args.members) < 2:
        parser.error("an ensemble needs at least two members")
    main(args.output, args.members, args.ensemble)
