import csv
import json
import shutil
import socket
import subprocess

import nibabel as nib
import numpy as np
import pytest
from conftest import BIN, TINY_MODALITIES, run_cli
from safetensors.torch import load_file

pytestmark = pytest.mark.slow  # end to end: trains, synthesizes or runs the real tools


def read_log(run):
    with open(run / "log.csv") as f:
        return list(csv.DictReader(f))


def test_stage1_lowers_its_loss_and_writes_a_model(stage1_run):
    rows = read_log(stage1_run)
    first, last = float(rows[0]["loss"]), float(rows[-1]["loss"])
    assert last < first - 20, (first, last)  # the loss is -weighted PSNR: tens of dB
    info = json.loads((stage1_run / "model.json").read_text())
    assert info["stage"] == 1 and info["modalities"] == TINY_MODALITIES.split(",")
    assert info["metrics"]["val_psnr_missing"] > 12
    assert float(rows[-1]["code_perplexity"]) >= 1 and "codes_used_pct" in rows[-1]
    assert (stage1_run / "tb").is_dir() and (stage1_run / "model.safetensors").is_file()
    assert_installed_versions(info["training"]["software"])


def assert_installed_versions(record: dict) -> None:
    """A record names the versions of this environment (the suite runs in the one that wrote it)."""
    from importlib.metadata import version

    for package in ("torch", "numpy", "scipy", "monai", "nibabel", "safetensors"):
        assert record[package] == version(package), package


def test_the_saved_model_is_the_moving_average(stage1_run):
    """tiny sets ema_decay: the shipped weights are the EMA copy of the best step, not the live ones."""
    info = json.loads((stage1_run / "model.json").read_text())
    checkpoint = stage1_run / "checkpoints" / f"step-{info['metrics']['step']:07d}"
    saved = load_file(str(stage1_run / "model.safetensors"))
    ema = load_file(str(checkpoint / "ema.safetensors"))
    live = load_file(str(checkpoint / "model.safetensors"))
    assert int(ema["n_averaged"]) == info["metrics"]["step"]
    key = next(k for k in live if k.endswith("weight"))
    assert (saved["stage1." + key] == ema["module." + key]).all()
    assert not (saved["stage1." + key] == live[key]).all()


def test_resume_reproduces_an_uninterrupted_run(stage1_run, tmp_path, cache_dir, sim_data):
    """Cut the finished run back to its middle checkpoint, resume, and compare the final weights."""
    run = tmp_path / "resumed"
    shutil.copytree(stage1_run, run)
    checkpoints = sorted((run / "checkpoints").glob("step-*"))
    assert [c.name for c in checkpoints] == ["step-0000040", "step-0000060"]
    shutil.rmtree(checkpoints[-1])
    run_cli("codebrain-train", "stage1", "--config", "tiny", "--data", sim_data, "--output", run,
            "--device", "cpu", "--max-steps", "60", "--cache-dir", cache_dir, "--resume")
    a = load_file(str(stage1_run / "checkpoints" / "step-0000060" / "model.safetensors"))
    b = load_file(str(run / "checkpoints" / "step-0000060" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert (a[key] == b[key]).all(), key
    ema_a, ema_b = (load_file(str(r / "checkpoints" / "step-0000060" / "ema.safetensors")) for r in (stage1_run, run))
    assert all((ema_a[k] == ema_b[k]).all() for k in ema_a)


def test_stage2_learns_the_code(stage2_run):
    rows = read_log(stage2_run)
    chance = 1.0 / 5  # the smallest FSQ channel of the tiny preset has 5 levels
    assert float(rows[-1]["code_accuracy"]) > chance
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    info = json.loads((stage2_run / "model.json").read_text())
    assert info["stage"] == 2 and info["stage1_training"]["step"] > 0
    weights = load_file(str(stage2_run / "model.safetensors"))
    assert any(k.startswith("grader.") for k in weights) and any(k.startswith("stage1.") for k in weights)


def test_a_new_grader_on_a_complete_model_keeps_its_stage1_provenance(stage2_run, sim_data, tmp_path, cache_dir):
    """--stage1 may name a complete model (how the bundled brats grader was retrained): the card must
    then name the Stage I run inside it, not that model's own grader run."""
    out = tmp_path / "regraded"
    run_cli("codebrain-train", "stage2", "--config", "tiny", "--data", sim_data, "--stage1", stage2_run,
            "--output", out, "--device", "cpu", "--max-steps", "4", "--cache-dir", cache_dir)
    old = json.loads((stage2_run / "model.json").read_text())
    new = json.loads((out / "model.json").read_text())
    assert new["stage1_training"] == old["stage1_training"] and " stage1 " in new["stage1_training"]["command"]
    assert new["stage1_metrics"] == old["stage1_metrics"]


def test_eval_writes_the_table(stage2_run, sim_data, tmp_path, cache_dir):
    out = tmp_path / "eval.json"
    proc = run_cli("codebrain-eval", "--model", stage2_run, "--data", sim_data, "--output", out,
                   "--cache-dir", cache_dir)
    report = json.loads(out.read_text())
    assert report["subjects"] == ["sim0003"]
    assert len(report["entries"]) == 9  # 3 patterns with 1 missing + 3 with 2 missing (x2 targets)
    assert set(report["by_number_of_inputs"]) == {"1", "2"}
    overall = report["overall"]
    assert 5 < overall["psnr"] < 60 and 0 < overall["ssim"] <= 100 and overall["mae"] > 0
    assert "T2w+FLAIR" in proc.stdout and "overall" in proc.stdout


def test_torchrun_two_nodes_on_cpu(sim_data, tmp_path, cache_dir):
    """Two torchrun agents meet through a c10d rendezvous as two cluster nodes would (one gloo
    process each, as `srun torchrun --nnodes 2 ...` starts them); the trainer checks that both
    ranks hold identical weights at every validation."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "ddp"
    command = [str(BIN / "torchrun"), "--nnodes", "2", "--nproc-per-node", "1", "--rdzv-backend", "c10d",
               "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "codebrain-test", "-m", "codebrain.cli.train",
               "stage1", "--config", "tiny", "--data", str(sim_data), "--output", str(out), "--device", "cpu",
               "--max-steps", "6", "--batch-size", "2", "--cache-dir", str(cache_dir)]
    nodes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    logs = [node.communicate(timeout=600) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(err[-3000:] for _, err in logs)
    info = json.loads((out / "model.json").read_text())
    assert info["training"]["world_size"] == 2 and info["training"]["step"] == 6
    assert "weights identical on all 2 ranks" in "".join(out + err for out, err in logs)


@pytest.mark.parametrize("case", ["missing-data", "unknown-preset", "corrupt-nifti", "stage2-without-stage1",
                                  "decoder-without-init", "detail-without-init", "stage1-without-config"])
def test_cli_errors_are_one_line(case, sim_data, tmp_path, cache_dir):
    data, config, extra = sim_data, "tiny", []
    if case == "missing-data":
        data = tmp_path / "nothing-here"
    elif case == "unknown-preset":
        config = "huge"
    elif case == "corrupt-nifti":
        data = tmp_path / "data"
        shutil.copytree(sim_data / "sim0001", data / "sim0001")
        raw = (data / "sim0001" / "T2w.nii.gz").read_bytes()
        (data / "sim0001" / "T2w.nii.gz").write_bytes(raw[: len(raw) // 3])
    stage = "stage1"
    if case == "stage2-without-stage1":
        stage = "stage2"
    elif case in ("decoder-without-init", "detail-without-init"):
        stage = case.split("-")[0]
    config_opt = [] if case == "stage1-without-config" else ["--config", config]
    proc = run_cli("codebrain-train", stage, *config_opt, "--data", data, "--output", tmp_path / "run",
                   "--device", "cpu", "--cache-dir", tmp_path / "c", *extra, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("codebrain-train: error:"), proc.stderr
    assert "Traceback" not in proc.stderr
    if case.endswith(("without-init", "without-config")):
        assert proc.returncode == 2 and not (tmp_path / "run").exists()
    if case == "corrupt-nifti":
        assert "sim0001" in lines[0] and "T2w" in lines[0]


def test_the_detail_stage_adds_the_maps_fine_band_and_nothing_else(sim_data, stage2_run, tmp_path, cache_dir):
    """`detail` keeps every network weight, stores the intensity map fitted on the training split with its
    provenance, changes only the missing modalities inside the brain, and refuses to overwrite a model."""
    import torch

    from codebrain.model.io import load_model_dir

    out = tmp_path / "detail"
    run_cli("codebrain-train", "detail", "--data", sim_data, "--init", stage2_run, "--output", out,
            "--detail-sigma", "1.5", "--cache-dir", cache_dir)
    before, after = (load_file(str(run / "model.safetensors")) for run in (stage2_run, out))
    assert set(after) - set(before) == {"detail.coef"}
    assert all((before[k] == after[k]).all() for k in before)
    assert after["detail.coef"].abs().sum(dim=(1, 2)).count_nonzero() == 6  # 2^3 - 2 partial patterns
    source, info = (json.loads((run / "model.json").read_text()) for run in (stage2_run, out))
    detail = info["detail"]
    assert (detail["sigma"], detail["amount"], detail["model_sha256"]) == (1.5, 0.25, source["sha256"])
    assert detail["subjects"] == ["sim0001", "sim0002"] and info["training"] == source["training"]
    assert_installed_versions(detail["software"])  # the fit's own environment, beside the network's
    plain, _ = load_model_dir(stage2_run)
    model, _ = load_model_dir(out)
    img = nib.load(sim_data / "sim0003" / "T1w.nii.gz").get_fdata()
    z = img.shape[2] // 2
    full = torch.stack([torch.from_numpy(nib.load(sim_data / "sim0003" / f"{m}.nii.gz").get_fdata()[..., z])
                        for m in TINY_MODALITIES.split(",")]).float()
    full = torch.nn.functional.pad(full / full.amax(dim=(1, 2), keepdim=True), (0, 128 - full.shape[2], 0,
                                   128 - full.shape[1]))[None]
    incomplete = full * torch.tensor([1.0, 0.0, 0.0])[None, :, None, None]
    (a, _), (b, _) = plain.complete(incomplete), model.complete(incomplete)
    assert torch.equal(a[:, 0], b[:, 0])  # the given T1w is untouched
    changed = (a[:, 1:] - b[:, 1:]).abs() > 1e-6
    assert changed.any() and not changed[..., :, -8:].any()  # the padded background stays as it was
    again = run_cli("codebrain-train", "detail", "--data", sim_data, "--init", stage2_run, "--output", out,
                    "--cache-dir", cache_dir, check=False)
    assert again.returncode == 64 and "already holds a model" in again.stderr, again.stderr


def test_fitted_detail_amounts_are_stored_per_pattern_and_loaded(sim_data, stage2_run, tmp_path, cache_dir):
    """`--detail-amount fit` stores one amount per pattern and target (0 for given modalities, within
    [0, 1]), records "fit" in model.json, and the saved model applies exactly those."""
    import torch

    from codebrain.model.detail import given_index
    from codebrain.model.io import load_model_dir

    out = tmp_path / "fitted"
    run = run_cli("codebrain-train", "detail", "--data", sim_data, "--init", stage2_run, "--output", out,
                  "--detail-amount", "fit", "--cache-dir", cache_dir)
    assert "pattern 6/6" in run.stderr, run.stderr
    assert json.loads((out / "model.json").read_text())["detail"]["amount"] == "fit"
    model, _ = load_model_dir(out)
    gain = model.detail.gain
    assert set(load_file(str(out / "model.safetensors"))) >= {"detail.coef", "detail.gain"}
    for bits in range(1, 7):
        given = torch.tensor([bool(bits >> c & 1) for c in range(3)])
        assert torch.all(gain[given_index(given), given] == 0)
    missing = gain[[given_index(torch.tensor(g)) for g in ([1, 0, 0], [0, 1, 0], [0, 0, 1])]]
    assert 0 < missing.sum() and missing.max() <= 1, gain  # a tiny, blurry network takes much of the map
    incomplete = torch.rand(2, 3, 128, 128) * torch.tensor([1.0, 0.0, 0.0])[None, :, None, None]
    detail, model.detail = model.detail, None
    network_only = model.complete(incomplete)[0]
    given = torch.tensor([True, False, False])
    expected = network_only + gain[given_index(given)][None, :, None, None] * detail.fine_band(
        incomplete, network_only, given)
    model.detail = detail
    torch.testing.assert_close(model.complete(incomplete)[0][:, 1:], expected[:, 1:])


def test_brats_preparation(tmp_path, sim_data):
    """BraTS 2023 names (case folder, ``<case>-t1n.nii.gz``) become the training layout."""
    src = tmp_path / "BraTS2023"
    for i in range(5):
        case = f"BraTS-GLI-{i:05d}-000"
        (src / case).mkdir(parents=True)
        for suffix, mod in (("t1n", "T1w"), ("t2w", "T2w"), ("t2f", "FLAIR")):
            shutil.copyfile(sim_data / "sim0001" / f"{mod}.nii.gz", src / case / f"{case}-{suffix}.nii.gz")
    out = tmp_path / "prepared"
    run_cli("codebrain-prepare", "brats", "--input", src, "--output", out, "--val", "0.2", "--test", "0.2")
    splits = json.loads((out / "splits.json").read_text())
    assert sorted(splits["train"] + splits["val"] + splits["test"]) == [f"BraTS-GLI-{i:05d}-000" for i in range(5)]
    assert len(splits["test"]) == 1 and len(splits["val"]) == 1
    flair = (out / "BraTS-GLI-00003-000" / "FLAIR.nii.gz").read_bytes()
    assert flair == (sim_data / "sim0001" / "FLAIR.nii.gz").read_bytes()


def test_ixi_preparation_registers_t1_to_t2(tmp_path, sim_data):
    pytest.importorskip("ants")
    t2 = nib.load(sim_data / "sim0002" / "T2w.nii.gz")
    t1 = nib.load(sim_data / "sim0002" / "T1w.nii.gz")
    src = tmp_path / "IXI"
    src.mkdir()
    shifted = t1.affine.copy()
    shifted[:3, 3] += [4.0, -2.0, 0.0]  # the T1 comes on another grid, as in IXI
    nib.save(nib.Nifti1Image(t1.get_fdata(dtype=np.float32), shifted), src / "IXI012-HH-1211-T1.nii.gz")
    nib.save(t2, src / "IXI012-HH-1211-T2.nii.gz")
    nib.save(nib.load(sim_data / "sim0002" / "FLAIR.nii.gz"), src / "IXI012-HH-1211-PD.nii.gz")
    out = tmp_path / "prepared"
    run_cli("codebrain-prepare", "ixi", "--input", src, "--output", out, "--test", "0")
    reg = nib.load(out / "IXI012-HH-1211" / "T1w.nii.gz")
    assert reg.shape == t2.shape and np.allclose(reg.affine, t2.affine, atol=1e-3)
    truth = t1.get_fdata().ravel()
    assert np.corrcoef(reg.get_fdata().ravel(), truth)[0, 1] > 0.97  # unregistered: 0.93


def test_eval_scores_baselines_with_the_same_protocol(sim_data, tmp_path, cache_dir):
    reports = {}
    for baseline in ("mean", "quadratic"):
        out = tmp_path / f"{baseline}.json"
        run_cli("codebrain-eval", "--baseline", baseline, "--modalities", TINY_MODALITIES, "--data", sim_data,
                "--image-size", "128", "--output", out, "--cache-dir", cache_dir)
        reports[baseline] = json.loads(out.read_text())
    assert len(reports["mean"]["entries"]) == len(reports["quadratic"]["entries"]) == 9
    # Simulated contrasts are smooth functions of tissue: a fitted mapping beats averaging.
    assert reports["quadratic"]["overall"]["psnr"] > reports["mean"]["overall"]["psnr"] + 2
    bad = run_cli("codebrain-eval", "--baseline", "mean", "--data", sim_data, check=False)
    assert bad.returncode == 2 and "--modalities" in bad.stderr


def test_stage2_fine_tunes_from_a_complete_model(sim_data, stage1_run, stage2_run, tmp_path, cache_dir):
    """--init starts the grader from another model's grader: its first validation equals that model's."""
    out = tmp_path / "ft"
    run_cli("codebrain-train", "stage2", "--config", "tiny", "--data", sim_data, "--stage1", stage1_run,
            "--init", stage2_run, "--output", out, "--device", "cpu", "--max-steps", "2", "--cache-dir", cache_dir)
    info = json.loads((out / "model.json").read_text())
    source = json.loads((stage2_run / "model.json").read_text())
    assert info["training"]["init"] == {"model": str(stage2_run), "sha256": source["sha256"],
                                        "training": source["training"]}  # the chain of runs stays traceable
    fresh = tmp_path / "fresh"
    run_cli("codebrain-train", "stage2", "--config", "tiny", "--data", sim_data, "--stage1", stage1_run,
            "--output", fresh, "--device", "cpu", "--max-steps", "2", "--cache-dir", cache_dir)
    accuracy = lambda run: json.loads((run / "model.json").read_text())["metrics"]["val_code_accuracy"]  # noqa: E731
    assert accuracy(out) > accuracy(fresh) + 0.05  # two steps from random weights do not reach a trained grader
    bad = run_cli("codebrain-train", "stage2", "--config", "tiny", "--data", sim_data, "--stage1", stage1_run,
                  "--init", "brats", "--output", tmp_path / "bad", "--device", "cpu", "--max-steps", "2",
                  "--cache-dir", cache_dir, check=False)
    assert bad.returncode == 65 and "architecture differs" in bad.stderr and bad.stderr.count("\n") == 1, bad.stderr


def test_the_decoder_stage_fits_the_decoder_to_the_graders_codes(sim_data, stage2_run, tmp_path, cache_dir):
    """`decoder` trains only Stage I's shared encoder and decoder on the grader's own codes: the grader
    and the posterior are the source model's, bit for bit, the complete model completes the validation
    slices better than before, and the model remembers the run it came from and its Stage I."""
    out = tmp_path / "decoder"
    run_cli("codebrain-train", "decoder", "--config", "tiny", "--data", sim_data, "--init", stage2_run,
            "--output", out, "--device", "cpu", "--max-steps", "30", "--cache-dir", cache_dir)
    before = load_file(str(stage2_run / "model.safetensors"))
    after = load_file(str(out / "model.safetensors"))
    assert before.keys() == after.keys()
    frozen = [k for k in before if k.startswith(("grader.", "stage1.posterior."))]
    trained = [k for k in before if k.startswith(("stage1.shared.", "stage1.decoder."))]
    assert frozen and all((before[k] == after[k]).all() for k in frozen)
    assert any((before[k] != after[k]).any() for k in trained)
    source, info = (json.loads((run / "model.json").read_text()) for run in (stage2_run, out))
    assert info["stage"] == 2 and info["training"]["init"]["sha256"] == source["sha256"]
    assert info["stage1_training"] == source["stage1_training"]
    assert info["metrics"]["val_psnr_missing"] > source["metrics"]["val_psnr_missing"]


def test_channels_last_on_a_cpu_changes_the_memory_order_not_the_arithmetic(stage1_run, tmp_path):
    """``train.channels_last_cpu`` (how the brats grader trains faster on a CPU): the network really
    runs in channels-last, and three grader steps give the default layout's losses and weights up to
    float rounding, so a CPU recipe may switch layouts without changing what it learns."""
    import dataclasses

    import torch

    from codebrain.model.config import load_config
    from codebrain.train.distributed import Distributed
    from codebrain.train.stages import GraderTrainer
    from codebrain.train.trainer import RunOptions

    torch.manual_seed(0)
    full = torch.rand(4, len(TINY_MODALITIES.split(",")), 64, 64)
    runs = {}
    for layout in (False, True):
        cfg = load_config("tiny")
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, channels_last_cpu=layout))
        trainer = GraderTrainer(cfg, RunOptions(data=tmp_path, output=tmp_path / str(layout), seed=3,
                                                stage1=stage1_run), Distributed("cpu"))
        conv = next(m for m in trainer.model.grader.modules()
                    if isinstance(m, torch.nn.Conv2d) and m.kernel_size[0] > 1)
        assert conv.weight.is_contiguous(memory_format=torch.channels_last) == layout
        batch = full.contiguous(memory_format=torch.channels_last) if layout else full
        losses = [trainer.train_step(batch, batch, (True, False, False))["loss"] for _ in range(3)]
        runs[layout] = losses, {k: v.detach().clone() for k, v in trainer.model.grader.state_dict().items()}
    np.testing.assert_allclose(runs[True][0], runs[False][0], rtol=1e-4)
    assert runs[True][0][-1] != runs[True][0][0]  # the steps did train
    for key, value in runs[False][1].items():
        torch.testing.assert_close(runs[True][1][key], value, rtol=1e-3, atol=1e-5)
