"""Wall time of codebrain-bids per subject, and where it goes (ANTs nodes, synthesis, report).

    python benchmarks/bids_app_time.py [--nprocs 2] [--json out.json]

Runs the participant level on the real raw patient of the demo (TCGA-FG-6692: four contrasts
on 0.9 x 0.9 x 5.5 mm grids, skull on, resampled to 1 mm) from an empty work dir, then reads
each nipype node's runtime. Target: at most 3 min per subject on 2 cores. Prints a table and
writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nipype.utils.filemanip import loadpkl

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nprocs", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        bids, work = Path(tmp) / "bids", Path(tmp) / "work"
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_dataset.py"), str(bids), "--simulated", "0"],
                       check=True, capture_output=True)
        start = time.perf_counter()
        subprocess.run([str(bin_dir / "codebrain-bids"), str(bids), str(bids / "derivatives" / "codebrain"),
                        "participant", "--hold-out", "FLAIR", "-w", str(work), "--nprocs", str(args.nprocs),
                        "--skip-bids-validation"], check=True, capture_output=True)
        wall = time.perf_counter() - start
        # the largest single process of the run (the CLI or a MultiProc worker), in GiB: what a
        # scheduler's memory request must cover per process
        peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        nodes = {p.parent.name: round(loadpkl(p).runtime.duration, 1) for p in work.rglob("result_*.pklz")}
    nodes = dict(sorted(nodes.items(), key=lambda kv: -kv[1]))
    result = {"subject": "sub-tcgafg6692 (4 raw contrasts, FLAIR held out)", "nprocs": args.nprocs,
              "machine": f"{platform.machine()} x{os.cpu_count()}", "wall_s": round(wall, 1),
              "peak_rss_gib": round(peak_gib, 2), "node_s": nodes, "target_s": 180}
    print(f"codebrain-bids, one subject, --nprocs {args.nprocs} on {result['machine']}: {wall:.0f} s wall, "
          f"largest process {peak_gib:.2f} GiB")
    print(f"{'node':<24}{'s':>8}")
    for name, seconds in nodes.items():
        print(f"{name:<24}{seconds:>8.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
