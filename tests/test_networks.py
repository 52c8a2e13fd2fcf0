import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from codebrain.model.config import ModelConfig, load_config, preset_names
from codebrain.model.networks import CodeBrain, Grader, StageOne

PAPER_STAGE1 = 135.7e6
PAPER_GRADER = 27.9e6


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("preset", ["paper-ixi", "paper-brats"])
def test_paper_presets_match_published_parameter_counts(preset):
    cfg = load_config(preset).model
    assert abs(n_params(StageOne(cfg)) - PAPER_STAGE1) / PAPER_STAGE1 < 0.05
    assert abs(n_params(Grader(cfg)) - PAPER_GRADER) / PAPER_GRADER < 0.05


# the paper-sized presets take seconds each on a CPU: end to end, not the fast layer
@pytest.mark.parametrize("preset", [pytest.param(p, marks=pytest.mark.slow) if p.startswith(("paper", "bundled"))
                                    else p for p in preset_names()])
def test_forward_shapes(preset):
    cfg = load_config(preset).model
    model = CodeBrain(cfg).eval()
    c = len(cfg.modalities)
    x = torch.rand(2, c, 64, 64)
    out, codes = model.stage1(x, x)
    assert out.shape == (2, c, 64, 64) and codes.shape == (2, len(cfg.fsq_levels), 8, 8)
    assert model.grader(x).shape == (2, sum(lv - 1 for lv in cfg.fsq_levels), 8, 8)
    pred, conf = model.complete(x)
    assert pred.shape == x.shape and conf.shape == (2, 1, 8, 8)


@pytest.mark.slow
def test_small_preset_fits_the_cpu_budget():
    model = CodeBrain(load_config("small").model).eval()
    with FlopCounterMode(display=False) as counter:
        model.complete(torch.zeros(1, 4, 256, 256))
    assert counter.get_total_flops() <= 10e9


@pytest.mark.parametrize("modalities", [("T1w", "T1Gd", "T2w", "PDw", "FLAIR"), ("FLAIR", "T1w")])
def test_any_modality_list(modalities):
    cfg = ModelConfig(modalities=modalities, posterior_width=4, shared_width=4, decoder_width=2, grader_width=4,
                      depth=1, fsq_levels=(5, 5))
    pred, _ = CodeBrain(cfg).eval().complete(torch.rand(1, len(modalities), 32, 32))
    assert pred.shape == (1, len(modalities), 32, 32)


def test_classification_head_ablation():
    cfg = ModelConfig(modalities=("T1w", "T2w"), posterior_width=4, shared_width=4, decoder_width=2,
                      grader_width=4, depth=1, fsq_levels=(8, 5), grader_head="classification")
    grader = Grader(cfg)
    assert grader(torch.rand(1, 2, 32, 32)).shape[1] == 13
    levels, conf = grader.predict(torch.rand(1, 2, 32, 32))
    assert levels.shape == (1, 2, 4, 4) and (levels[:, 0] < 8).all() and (levels[:, 1] < 5).all()
    assert ((conf > 0) & (conf <= 1)).all()


def test_config_errors():
    with pytest.raises(ValueError, match="unknown config"):
        load_config("no-such-preset")
    with pytest.raises(ValueError, match="unknown modality"):
        ModelConfig(modalities=("T1w", "T3w"))


def test_yaml_config_overrides_a_preset(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("preset: small\nmodel:\n  modalities: [T1w, PDw]\ntrain:\n  batch_size: 3\n")
    cfg = load_config(path)
    assert cfg.model.modalities == ("T1w", "PDw") and cfg.train.batch_size == 3
    assert cfg.model.shared_width == load_config("small").model.shared_width
    path.write_text("model:\n  widht: 3\n")
    with pytest.raises(ValueError, match="unknown key model.'widht'"):
        load_config(path)
