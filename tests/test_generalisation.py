"""Evaluation across sources: subjects lacking modalities, per-subject reports, per-source tables."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from conftest import run_cli

pytestmark = pytest.mark.slow  # end to end: trains, synthesizes or runs the real tools

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def _subject(src: Path, dst: Path, modalities: tuple[str, ...]) -> None:
    dst.mkdir(parents=True)
    for m in modalities:
        shutil.copyfile(src / f"{m}.nii.gz", dst / f"{m}.nii.gz")


def test_eval_scores_what_each_subject_allows_and_reports_each_subject(stage2_run, sim_data, tmp_path, cache_dir):
    data = tmp_path / "mixed"
    _subject(sim_data / "sim0003", data / "full", ("T1w", "T2w", "FLAIR"))
    _subject(sim_data / "sim0002", data / "no-t2w", ("T1w", "FLAIR"))
    out = tmp_path / "eval.json"
    proc = run_cli("codebrain-eval", "--model", stage2_run, "--data", data, "--output", out, "--cache-dir", cache_dir)
    report = json.loads(out.read_text())
    assert set(report["per_subject"]) == {"full", "no-t2w"}
    partial = report["per_subject"]["no-t2w"]["entries"]
    # only T1w -> FLAIR and FLAIR -> T1w: T2w is neither given nor scored
    assert sorted(e["pattern"] + ":" + e["missing"] for e in partial) == ["FLAIR -> T1w+T2w:T1w",
                                                                         "T1w -> T2w+FLAIR:FLAIR"]
    assert len(report["per_subject"]["full"]["entries"]) == 9 and report["skipped"] == []
    # pooled entries count each slice once: the T1w -> FLAIR entry holds both subjects' slices
    pooled = {(e["pattern"], e["missing"]): e["n_slices"] for e in report["entries"]}
    per = {name: e["n_slices"] for name, s in report["per_subject"].items() for e in s["entries"]
           if e["pattern"] == "T1w -> T2w+FLAIR" and e["missing"] == "FLAIR"}
    assert set(per) == {"full", "no-t2w"} and pooled[("T1w -> T2w+FLAIR", "FLAIR")] == sum(per.values())
    assert "subject no-t2w" in proc.stdout and "subject full" in proc.stdout


def test_eval_says_which_patterns_no_subject_allows(stage2_run, sim_data, tmp_path, cache_dir):
    data = tmp_path / "t1-flair-only"
    _subject(sim_data / "sim0003", data / "a", ("T1w", "FLAIR"))
    out = tmp_path / "eval.json"
    proc = run_cli("codebrain-eval", "--model", stage2_run, "--data", data, "--output", out, "--cache-dir", cache_dir)
    report = json.loads(out.read_text())
    assert len(report["entries"]) == 2
    # T2w given (T2w, T1w+T2w, T2w+FLAIR: 4 targets) or T2w the target (3 patterns): 7 pairs
    assert len(report["skipped"]) == 7 and all("T2w" in s for s in report["skipped"])
    assert "skipped 7 pattern/target pair(s)" in proc.stdout
    assert set(report["by_missing_modality"]) == {"T1w", "FLAIR"}


def _crop(src: Path, dst: Path) -> None:
    """A 20-slice crop of a real volume, 128 voxels across as the tiny model's slices are."""
    img = nib.load(str(src))
    x0, y0, z0 = [max(0, (n - c) // 2) for n, c in zip(img.shape, (120, 128, 20))]
    nib.save(img.slicer[x0 : x0 + 120, y0 : y0 + 128, z0 : z0 + 20], str(dst))


@pytest.fixture
def fake_shared(tmp_path, sim_data) -> Path:
    """Crops of the MIT stroke patient, and a FLAIR+T1Gd source like BraTS 2013 made of simulated images."""
    if not (SHARED / "multisite" / "stroke-cstar").exists():
        pytest.skip(f"{SHARED} (the shared data folder) is not beside the checkout")
    root = tmp_path / "shared"
    (root / "multisite" / "stroke-cstar").mkdir(parents=True)
    (root / "README.md").write_text("crops for a test\n")
    for m in ("T1w", "T2w", "FLAIR"):
        stroke = Path("multisite") / "stroke-cstar" / f"{m}.nii.gz"
        _crop(SHARED / stroke, root / stroke)
    for pat in ("pat0001", "pat0002", "pat0003"):
        folder = root / "multisite" / "brats2013" / pat
        folder.mkdir(parents=True)
        shutil.copyfile(sim_data / "sim0003" / "FLAIR.nii.gz", folder / "FLAIR.nii.gz")
        shutil.copyfile(sim_data / "sim0003" / "T1w.nii.gz", folder / "T1Gd.nii.gz")
    return root


def _benchmark(model: Path, shared: Path, fit: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run benchmarks/generalisation.py as a user would, tables into ``tmp_path/tables``."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "generalisation.py"), "--model", str(model), "--shared", str(shared),
         "--work", str(tmp_path / "work"), "--fit-data", str(fit), "--output", str(tmp_path / "tables"), *args],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_generalisation_benchmark_writes_a_table_per_source(stage2_run, sim_data, fake_shared, tmp_path):
    out = tmp_path / "tables"
    proc = _benchmark(stage2_run, fake_shared, sim_data, tmp_path, "--sources", "stroke-cstar", "brats2013",
                      "--exclude")
    result = json.loads((out / "stroke-cstar.json").read_text())
    assert result["trainable"] and result["subjects"] == ["stroke-cstar"]
    assert set(result["reports"]) == {"model", "mean", "quadratic"}
    for report in result["reports"].values():
        assert len(report["entries"]) == 9 and report["skipped"] == []
        assert 5 < report["overall"]["psnr"] < 60
    # the mean of one input is that input: its PSNR is what the files say, not what the model does
    assert result["reports"]["mean"]["overall"] != result["reports"]["model"]["overall"]
    won = result["beats_both"]
    assert set(won) == {"overall", "stroke-cstar", "patterns", "patterns_won"}
    # stroke-cstar has T1w, T2w and FLAIR: 6 input patterns, each judged on the mean over its targets
    assert len(won["patterns"]) == 6 and won["patterns_won"] == sum(all(w.values()) for w in won["patterns"].values())
    table = (out / "stroke-cstar.md").read_text()
    assert "| T1w+T2w -> FLAIR |" in table and "| **overall** |" in table
    assert f"beats both baselines in PSNR and SSIM: {won['patterns_won']} of 6." in table
    # the tiny model knows only FLAIR of BraTS 2013's two contrasts: nothing to score, said so
    assert "brats2013: nothing to score" in proc.stdout and not (out / "brats2013.json").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["sources"]) == ["stroke-cstar"]
    # the shared images are linked, never copied
    assert (tmp_path / "work" / "sources" / "stroke-cstar" / "stroke-cstar" / "T1w.nii.gz").is_symlink()


def test_training_subjects_are_never_scored(stage2_run, sim_data, fake_shared, tmp_path):
    out = tmp_path / "tables"
    proc = _benchmark(stage2_run, fake_shared, sim_data, tmp_path, "--sources", "stroke-cstar",
                      "--exclude", "stroke-cstar")
    assert "stroke-cstar: nothing to score" in proc.stdout and "excluded: stroke-cstar" in proc.stdout
    assert json.loads((out / "summary.json").read_text())["sources"] == {}


def test_domain_random_inputs_vary_more_than_standard_ones_and_keep_the_targets(sim_data, cache_dir):
    """The input view is redrawn per seed (reproducibly); targets and the background stay untouched."""
    from codebrain.data.slices import SliceDataset, build_slice_cache
    from codebrain.model.config import TrainConfig

    cache = build_slice_cache(sim_data, ["sim0001"], ("T1w", "T2w", "FLAIR"), 128, cache_dir)
    index = len(cache.images) // 2
    spread = {}
    for kind in ("standard", "domain-random"):
        data = SliceDataset(cache, augment=True, intensity=kind)
        diffs = []
        for seed in range(24):
            full, view, _ = data[(index, seed)]
            again = data[(index, seed)][1]
            assert torch.equal(view, again)  # a function of the seed: --resume stays exact
            assert torch.all(view[full == 0] == 0) and 0 <= float(view.min()) and float(view.max()) <= 1
            diffs.append(float((view - full).abs()[full > 0].mean()))
        spread[kind] = np.mean(diffs)
    assert spread["domain-random"] > 1.5 * spread["standard"], spread
    with pytest.raises(ValueError, match="intensity_augmentation"):
        TrainConfig(intensity_augmentation="wild")


def test_a_raw_source_is_prepared_with_the_seed_it_is_asked_for(tmp_path):
    """McCausland's layout (T1w and PDw as acquired, own grids) filled with the raw demo patient's T1w
    and T2w (examples/, CC BY 3.0): the preparation records its ANTs seed, a second call with that seed
    keeps the folder, and a call with another seed (a cache of a different preparation) redoes it."""
    from codebrain.data.real_sources import PREP_RECORD, assemble

    raw = ROOT / "examples" / "TCGA-FG-6692-raw"
    root = tmp_path / "shared"
    folder = root / "multisite" / "mccausland-chris"
    folder.mkdir(parents=True)
    (root / "README.md").write_text("raw scans for a test\n")
    shutil.copyfile(raw / "t1n.nii.gz", folder / "T1w.nii.gz")
    shutil.copyfile(raw / "t2w.nii.gz", folder / "PDw.nii.gz")
    out = tmp_path / "sources"
    subject = assemble(root, out, ["mccausland-chris"], seed=5)["mccausland-chris"] / "mccausland-chris"
    modified = lambda: {m: (subject / f"{m}.nii.gz").stat().st_mtime_ns for m in ("T1w", "PDw")}  # noqa: E731
    assert json.loads((subject / PREP_RECORD).read_text()) == {"seed": 5, "skull_strip": "template"}
    first = modified()
    pdw = nib.load(subject / "PDw.nii.gz")
    assert pdw.shape == nib.load(subject / "T1w.nii.gz").shape  # registered onto the T1w grid
    assert (np.asarray(pdw.dataobj) > 0).mean() > 0.05  # a brain, not an empty mask

    assemble(root, out, ["mccausland-chris"], seed=5)
    assert modified() == first

    assemble(root, out, ["mccausland-chris"], seed=6)
    assert json.loads((subject / PREP_RECORD).read_text()) == {"seed": 6, "skull_strip": "template"}
    assert modified()["PDw"] != first["PDw"]


def test_a_simulated_source_is_made_once_and_scored_like_a_real_one(stage2_run, sim_data, tmp_path, monkeypatch):
    """``--sources sim-enhancing`` needs no shared folder, is simulated into the work folder once (a
    folder made with other options is made again) and gets the same tables as a real source."""
    from dataclasses import replace

    from codebrain.data import sim_sources
    from codebrain.data.simulate import subject_seeds

    shipped = sim_sources.simulated_source("sim-enhancing")
    assert shipped is not None and shipped.options.enhancing_probability == 1.0
    assert set(subject_seeds(shipped.seed, shipped.count)).isdisjoint(subject_seeds(2026, 12))  # train_bundled's
    small = replace(shipped, count=1, options=replace(shipped.options, resolution=2))  # 2 mm, for the tiny model
    monkeypatch.setattr(sim_sources, "SIMULATED_SOURCES", (small,))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generalisation
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    work, out = tmp_path / "work", tmp_path / "tables"
    assert generalisation.main(["--model", str(stage2_run), "--shared", str(tmp_path / "absent"), "--work", str(work),
                                "--fit-data", str(sim_data), "--sources", "sim-enhancing", "--exclude",
                                "--output", str(out)]) == 0
    result = json.loads((out / "sim-enhancing.json").read_text())
    assert result["subjects"] == ["enh0001"] and result["licence"].startswith("simulated")
    assert len(result["reports"]["model"]["entries"]) == 9  # every pattern of the tiny model's 3 contrasts
    folder = work / "sources" / "sim-enhancing" / "enh0001"
    assert {"T1w.nii.gz", "T1Gd.nii.gz", "PDw.nii.gz", "source.json"} <= {p.name for p in folder.iterdir()}
    made = (folder / "T1w.nii.gz").stat().st_mtime_ns
    sim_sources.build(small, work / "sources")
    assert (folder / "T1w.nii.gz").stat().st_mtime_ns == made  # reused
    sim_sources.build(replace(small, options=replace(small.options, gadolinium_mM=(0.2, 0.3))), work / "sources")
    assert (folder / "T1w.nii.gz").stat().st_mtime_ns != made  # other options: simulated again


def test_an_unknown_source_is_named_with_every_known_one(tmp_path):
    """A typo'd source fails before anything is laid out, listing the real and the simulated names."""
    from codebrain.errors import DataError

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generalisation import lay_out
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    with pytest.raises(DataError, match="unknown source 'sim-enhacing'; known: tcga, .*sim-enhancing"):
        lay_out(tmp_path / "absent", tmp_path / "sources", ["stroke-cstar", "sim-enhacing"], 2026)
    assert not (tmp_path / "sources").exists()
