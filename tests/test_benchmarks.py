"""The accelerator benchmarks run rarely (only when a GPU is lent), so they are kept working here on
the CPU with the tiny preset: a broken one would waste the one device call a session gets."""

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # end to end: trains, synthesizes or runs the real tools

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_train_throughput_compares_with_the_published_trainer(tmp_path):
    anchor = tmp_path / "ref_bench.json"  # bench_ref.py's layout
    anchor.write_text(json.dumps({"stage1": [{"bs": 4, "s_per_it": 100.0}], "stage2": [{"bs": 2, "s_per_it": 100.0}]}))
    out = tmp_path / "t.json"
    run("train_throughput.py", "--preset", "tiny", "--batch-size", "4", "--stage2-batch-size", "2", "--size", "64",
        "--device", "cpu", "--warmup", "1", "--iters", "1", "--anchor", str(anchor), "--json", str(out))
    result = json.loads(out.read_text())
    assert result["software"]["torch"] == version("torch") and result["software"]["monai"] == version("monai")
    assert result["machine"]["cpus_available"] >= 1 and result["machine"]["arch"]
    rows = {r["stage"]: r for r in result["steps"]}
    assert rows["stage1"]["batch_size"] == 4 and rows["stage2"]["batch_size"] == 2
    for row in rows.values():
        assert row["speedup_vs_anchor"] == pytest.approx(100.0 / row["s_per_step"], rel=1e-2)


def test_volume_inference_of_an_untrained_preset(tmp_path):
    anchor = tmp_path / "ref_bench.json"
    anchor.write_text(json.dumps({"infer": [{"amp_bf16": False, "s_per_volume": 1.0},
                                            {"amp_bf16": True, "s_per_volume": 500.0}]}))
    out = tmp_path / "s.json"
    run("synthesize_speed.py", "--preset", "tiny", "--device", "cpu", "--anchor", str(anchor), "--json", str(out))
    result = json.loads(out.read_text())
    assert [r["synthesized"] for r in result["rows"]] == [["T2w", "FLAIR"], ["FLAIR"]]
    net = result["network_only"]
    assert net["slices"] == 155 and net["anchor_s_per_volume"] == 500.0  # the bf16 row, as ours on CUDA
    assert net["speedup_vs_anchor"] == pytest.approx(500.0 / net["s_per_volume"], rel=1e-2)


def test_cli_time_keeps_other_commands_only_from_the_same_machine(tmp_path):
    """``--json`` onto an earlier run: the slow eval measured apart joins the others of its machine;
    figures from another machine are replaced, never mixed into one table."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from cli_time import merged
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    here = {"cpu": "Xeon", "cpus_available": 2}
    earlier = tmp_path / "cli.json"
    commands = {"synth": {"median_s": 11.7}, "eval": {"median_s": 1.0}}
    earlier.write_text(json.dumps({"machine": here, "commands": commands}))
    now = {"machine": here, "commands": {"eval": {"median_s": 471.4}}}
    assert merged(now, earlier)["commands"] == {"synth": {"median_s": 11.7}, "eval": {"median_s": 471.4}}
    elsewhere = {"machine": {"cpu": "EPYC", "cpus_available": 2}, "commands": {"eval": {"median_s": 900.0}}}
    assert merged(elsewhere, earlier) == elsewhere
    assert merged(now, tmp_path / "none.json") == now
