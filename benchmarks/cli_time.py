"""Wall, user and system time of the commands as a user runs them: whole processes, start-up included.

    python benchmarks/cli_time.py [--commands synth bids map eval] [--repeats 3] [--json out.json]

- synth: ``codebrain-synth --model brats``, one real 240x240x155 subject (TCGA-DU-7294 from
  ../shared), T1w -> T1Gd, T2w, FLAIR.
- bids: ``codebrain-bids`` participant level on the raw 4-contrast patient of the demo
  (``examples/TCGA-FG-6692-raw``, FLAIR held out, ``--nprocs`` = the CPUs available), from an
  empty work dir; also each nipype node's own time and the largest process's memory.
- map: the MONAI Deploy app (``.venv-map``) on a 4-series study of 1 mm volumes: T1w, T1Gd, T2w
  of TCGA-DU-7294 and a diffusion series it must pass over; it synthesizes FLAIR.
- eval: ``codebrain-eval --model brats`` (the ``small`` preset's architecture) on 3 simulated
  1 mm subjects, next to the time the network's forward passes alone take on the same slices.

Prints a table (min / median / max over the repeats) and writes JSON with the machine; a JSON file
that an earlier run on the same machine wrote keeps that run's other commands.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codebrain.runtime.environment import environment

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CASE = ROOT.parent / "shared" / "data" / "brats_style" / "TCGA-DU-7294"
CASE_FILES = {"T1w": "t1n", "T1Gd": "t1c", "T2w": "t2w", "FLAIR": "t2f"}


def timed(cmd: list[str], **kwargs) -> dict:
    """Run ``cmd`` to completion; wall seconds and the rusage of it and its descendants."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): {stderr.decode()[-2000:]}")
    return {"wall_s": round(wall, 2), "user_s": round(usage.ru_utime, 2), "sys_s": round(usage.ru_stime, 2),
            "peak_rss_gib": round(usage.ru_maxrss / 2**20, 2)}


def synth(tmp: Path) -> tuple[list[str], dict]:
    out = tmp / "synth"
    return [str(BIN / "codebrain-synth"), "--model", "brats", "--input", f"T1w={CASE / 't1n.nii.gz'}",
            "--output-dir", str(out), "--overwrite"], {}


def bids(tmp: Path) -> tuple[list[str], dict]:
    from codebrain.runtime.resources import available_cpus

    data = tmp / "bids"
    if not data.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_dataset.py"), str(data), "--simulated", "0"],
                       check=True, capture_output=True)
    work = tmp / f"bids-work-{time.monotonic_ns()}"
    return [str(BIN / "codebrain-bids"), str(data), str(tmp / f"bids-out-{work.name}"), "participant",
            "--hold-out", "FLAIR", "-w", str(work), "--nprocs", str(available_cpus()),
            "--skip-bids-validation"], {"work": work}


def map_app(tmp: Path) -> tuple[list[str], dict]:
    import nibabel as nib

    study = tmp / "study"
    if not study.exists():
        volumes = {m: nib.load(CASE / f"{CASE_FILES[m]}.nii.gz") for m in ("T1w", "T1Gd", "T2w")}
        code = ("import sys, nibabel as nib; from app.study_builder import write_study; from pathlib import Path\n"
                "root = Path(sys.argv[1]); vols = {m: nib.load(p) for m, p in (a.split('=') for a in sys.argv[2:])}\n"
                "study = write_study(vols, root)\n"
                "write_study({'T2w': vols['T2w']}, root / 'dwi', study, {'T2w': {'SeriesDescription': 'AX DWI B1000',"
                " 'RepetitionTime': '5000', 'EchoTime': '90', 'ScanningSequence': 'EP'}})\n")
        subprocess.run([str(ROOT / ".venv-map" / "bin" / "python"), "-c", code, str(study),
                        *(f"{m}={img.get_filename()}" for m, img in volumes.items())], check=True, cwd=ROOT)
    out = tmp / f"map-out-{time.monotonic_ns()}"
    return [str(ROOT / ".venv-map" / "bin" / "python"), "-m", "app", "-i", str(study), "-o", str(out)], {"cwd": ROOT}


def eval_data(tmp: Path) -> Path:
    data = tmp / "eval-data"
    if not data.exists():
        subprocess.run([str(BIN / "codebrain-simulate"), "--output", str(data), "--subjects", "3", "--seed", "7",
                        "--modalities", "T1w,T1Gd,T2w,FLAIR", "--resolution", "1"], check=True, capture_output=True)
    return data


def evaluate(tmp: Path) -> tuple[list[str], dict]:
    return [str(BIN / "codebrain-eval"), "--model", "brats", "--data", str(eval_data(tmp)),
            "--cache-dir", str(tmp / "cache"), "--output", str(tmp / "eval.json")], {}


def forward_only(tmp: Path) -> dict:
    """``codebrain-eval``'s own loop in process, with the time inside the network's forward passes
    summed apart: the same slices, patterns and batches as the command scores."""
    import torch

    from codebrain.data.slices import build_slice_cache
    from codebrain.data.volumes import split_subjects
    from codebrain.evaluation.protocol import evaluate_slices, model_predictor
    from codebrain.model.io import load_model_dir
    from codebrain.runtime.resources import prepare_inference

    prepare_inference()
    model, info = load_model_dir("brats", device=torch.device("cpu"))
    data = eval_data(tmp)
    size = info["training"]["config"]["train"]["image_size"]
    mods = model.config.modalities
    cache = build_slice_cache(data, split_subjects(data, "test"), mods, size, tmp / "cache")
    predict, spent, passes = model_predictor(model), [0.0], [0]

    def timed_predict(incomplete, missing):
        start = time.perf_counter()
        out = predict(incomplete, missing)
        spent[0] += time.perf_counter() - start
        passes[0] += len(incomplete)
        return out

    start = time.perf_counter()
    evaluate_slices(timed_predict, mods, cache.images, cache.present)
    return {"forward_s": round(spent[0], 1), "forward_passes": passes[0],
            "in_process_eval_s": round(time.perf_counter() - start, 1)}


COMMANDS = {"synth": synth, "bids": bids, "map": map_app, "eval": evaluate}


def node_times(work: Path) -> dict[str, float]:
    from nipype.utils.filemanip import loadpkl

    nodes = {p.parent.name: round(loadpkl(p).runtime.duration, 1) for p in work.rglob("result_*.pklz")}
    return dict(sorted(nodes.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", nargs="+", choices=list(COMMANDS), default=list(COMMANDS))
    parser.add_argument("--repeats", type=int, default=3, help="runs per command (default 3)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = {**environment(), "commands": {}}
    with tempfile.TemporaryDirectory(prefix="codebrain-cli-time-") as tmp:
        for name in args.commands:
            runs, extra = [], {}
            for i in range(args.repeats):
                cmd, kwargs = COMMANDS[name](Path(tmp))
                work = kwargs.pop("work", None)
                print(f"{name} {i + 1}/{args.repeats} ...", file=sys.stderr, flush=True)
                runs.append(timed(cmd, **kwargs))
                if work is not None:
                    extra["node_s"] = node_times(work)
            if name == "eval":
                extra.update(forward_only(Path(tmp)))
            walls = [r["wall_s"] for r in runs]
            result["commands"][name] = {
                "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)),
                "runs": runs, "min_s": min(walls), "median_s": round(statistics.median(walls), 2),
                "max_s": max(walls), **extra}
    m = result["machine"]
    print(f"{m['cpu']}, {m['cpus_available']} CPUs available ({m['cpus_host']} on the host)")
    print(f"{'command':<8}{'min s':>8}{'median s':>10}{'max s':>8}{'user s':>9}{'sys s':>8}{'sys/user':>9}{'GiB':>6}")
    for name, r in result["commands"].items():
        last = r["runs"][-1]
        print(f"{name:<8}{r['min_s']:>8.1f}{r['median_s']:>10.1f}{r['max_s']:>8.1f}{last['user_s']:>9.1f}"
              f"{last['sys_s']:>8.1f}{last['sys_s'] / max(last['user_s'], 1e-9):>9.0%}{last['peak_rss_gib']:>6.2f}")
        if "forward_s" in r:
            print(f"        forward passes alone: {r['forward_s']:.1f} s ({r['forward_passes']} slices x patterns; "
                  f"{r['in_process_eval_s']:.1f} s for the whole loop); the command takes "
                  f"{r['median_s'] / r['forward_s']:.2f}x that")
        for node, seconds in r.get("node_s", {}).items():
            print(f"        {node:<24}{seconds:>8.1f}")
    if args.json:
        args.json.write_text(json.dumps(merged(result, args.json), indent=2) + "\n")


def merged(result: dict, path: Path) -> dict:
    """``result`` with the other commands an earlier run on the same machine and software wrote to ``path``
    (the slow eval runs apart from the others); a file from another machine or with other package versions
    is replaced, never mixed in."""
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return result
    if (earlier.get("machine"), earlier.get("software")) != (result["machine"], result.get("software")):
        return result
    return {**result, "commands": earlier.get("commands", {}) | result["commands"]}


if __name__ == "__main__":
    main()
