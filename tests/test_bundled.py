"""The bundled models: present, verified, chosen by modality, and better than averaging inputs."""

import numpy as np
import pytest

from codebrain.data.simulate import SimulationOptions, simulate_subject
from codebrain.inference.synthesize import choose_model, synthesize
from codebrain.model.io import load_model_dir, read_model_info

pytestmark = pytest.mark.slow  # end to end: trains, synthesizes or runs the real tools


@pytest.mark.parametrize("name, modalities", [("brats", ["T1w", "T1Gd", "T2w", "FLAIR"]),
                                               ("ixi", ["T1w", "T2w", "PDw"])])
def test_bundled_model_loads_and_has_a_card(name, modalities):
    model, info = load_model_dir(name)
    assert info["modalities"] == modalities and info["stage"] == 2
    assert info["card"]["test"]["overall"]["psnr"] > 0 and info["training"]["command"]
    assert sum(p.numel() for p in model.parameters()) < 5e6  # a few MB


@pytest.mark.parametrize("name", ["brats", "ixi"])
def test_bundled_model_card_meets_the_release_bar(name):
    """A model ships only if, on its held-out real patient, every pattern mean beats both baselines
    (the card's own table), and the card's summary flag agrees with that table."""
    card = read_model_info(name)["card"]
    losing = [p for p, v in card["pattern_psnr"].items() if v["model"] <= max(v["mean"], v["quadratic"])]
    assert not losing, losing
    assert card["beats_both_baselines_on_every_pattern"]


def test_default_model_follows_the_inputs():
    assert choose_model(["T1w", "FLAIR"]) == "brats"
    assert choose_model(["T1w"]) == "brats"
    assert choose_model(["PDw", "T2w"]) == "ixi"


def test_synthesis_correlates_with_the_truth_on_an_unseen_subject():
    """A simulated subject with a seed the training never used, at 1 mm as the models were trained."""
    sub = simulate_subject(424242, ("T1w", "T1Gd", "T2w", "FLAIR"), SimulationOptions(lesion_probability=1.0))
    inputs = {m: (sub.images[m] * sub.brain, sub.affine) for m in ("T1w",)}
    result = synthesize(inputs)
    assert result.model_info["name"] == "brats"
    brain = sub.brain
    for target in ("T2w", "FLAIR"):  # contrasts the input does not already resemble
        truth = sub.images[target][brain]
        r_model = np.corrcoef(result.images[target].get_fdata()[brain], truth)[0, 1]
        mean_of_inputs = np.mean([inputs[m][0][brain] for m in inputs], axis=0)
        r_mean = np.corrcoef(mean_of_inputs, truth)[0, 1]
        assert r_model > r_mean + 0.2 and r_model > 0.6, (target, r_model, r_mean)
