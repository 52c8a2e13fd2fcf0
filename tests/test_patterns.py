"""Missing-modality patterns: every split of the modalities into given and missing, in the paper's order."""

from __future__ import annotations

import numpy as np

from codebrain.data.patterns import describe, missing_patterns, random_pattern


def test_every_split_once_with_one_input_missing_first():
    patterns = missing_patterns(4)
    assert len(patterns) == len(set(patterns)) == 2**4 - 2  # never all given, never all missing
    assert [sum(p) for p in patterns] == sorted(sum(p) for p in patterns)
    assert patterns[0] == (True, False, False, False)  # the first modality missing, the rest given
    assert describe(patterns[0], ("T1w", "T1Gd", "T2w", "FLAIR")) == "T1Gd+T2w+FLAIR -> T1w"


def test_the_sampler_draws_every_pattern_and_repeats_with_its_seed():
    draws = [random_pattern(np.random.default_rng([7, step, 1]), 3) for step in range(300)]
    assert set(draws) == set(missing_patterns(3))
    assert draws == [random_pattern(np.random.default_rng([7, step, 1]), 3) for step in range(300)]
