"""Missing-modality patterns: every way to split a modality list into given and missing."""

from __future__ import annotations

import itertools

import numpy as np


def missing_patterns(n: int) -> list[tuple[bool, ...]]:
    """All (missing per modality) tuples with at least one given and one missing modality.

    Ordered by number of inputs, descending (one missing first), then lexicographically,
    as the paper's tables list them.
    """
    patterns = [p for p in itertools.product((False, True), repeat=n) if 0 < sum(p) < n]
    return sorted(patterns, key=lambda p: (sum(p), [not m for m in p]))


def describe(pattern: tuple[bool, ...], modalities: tuple[str, ...]) -> str:
    given = "+".join(m for m, miss in zip(modalities, pattern) if not miss)
    missing = "+".join(m for m, miss in zip(modalities, pattern) if miss)
    return f"{given} -> {missing}"


def random_pattern(rng: np.random.Generator, n: int) -> tuple[bool, ...]:
    patterns = missing_patterns(n)
    return patterns[int(rng.integers(len(patterns)))]
