"""Paired differences with seed and test-clip noise (experiments/intervals.py), against hand formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from clipaac_lib.experiments.intervals import paired_difference


def test_seed_noise_alone_gives_the_student_t_interval():
    """Every clip of a seed differs by the same amount: no clip noise, only the seeds' t interval."""
    per_seed = {0: 0.05, 1: 0.02, 2: 0.08}
    a = {s: [0.5 + v] * 40 for s, v in per_seed.items()}
    b = {s: [0.5] * 40 for s in per_seed}
    diff = paired_difference(a, b)
    values = np.array(list(per_seed.values()))
    half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / math.sqrt(3)
    assert diff.mean == pytest.approx(values.mean())
    assert diff.se_clip == pytest.approx(0.0, abs=1e-12)
    assert diff.half_width == pytest.approx(half)
    assert diff.by_seed == pytest.approx(tuple(values))


def test_clip_noise_alone_matches_the_standard_error_of_the_mean():
    """Identical seeds: the interval is the clip bootstrap's, about 1.96 sd / sqrt(clips)."""
    rng = np.random.default_rng(1)
    d = rng.normal(0.03, 0.2, size=400)
    a = {s: list(0.5 + d) for s in range(3)}
    b = {s: [0.5] * 400 for s in range(3)}
    diff = paired_difference(a, b, n_boot=4000)
    assert diff.se_seed == pytest.approx(0.0, abs=1e-12)
    assert diff.se_clip == pytest.approx(d.std(ddof=1) / math.sqrt(400), rel=0.08)
    assert diff.half_width == pytest.approx(1.96 * d.std(ddof=1) / math.sqrt(400), rel=0.08)


def test_labels_follow_the_interval_and_the_paper_sign():
    up = paired_difference({s: [0.6 + 0.01 * s] * 5 for s in range(3)}, {s: [0.5] * 5 for s in range(3)})
    assert up.low > 0
    assert up.label(paper_sign=+1) == "reproduced" and up.label(paper_sign=-1) == "contradicted"
    noisy = paired_difference({0: [0.6] * 5, 1: [0.4] * 5, 2: [0.55] * 5}, {s: [0.5] * 5 for s in range(3)})
    assert noisy.low < 0 < noisy.high and noisy.label(+1) == "undecided"
    one = paired_difference({0: [0.9, 0.8]}, {0: [0.1, 0.2]})
    assert one.seeds == 1 and math.isinf(one.half_width) and one.label(+1) == "undecided"


def test_only_common_seeds_count_and_bad_input_is_named():
    diff = paired_difference({0: [1.0, 1.0], 1: [2.0, 2.0], 5: [9.0, 9.0]}, {0: [0.0, 0.0], 1: [0.0, 0.0]})
    assert diff.seeds == 2 and diff.mean == pytest.approx(1.5)
    with pytest.raises(ValueError, match="no seed in common"):
        paired_difference({0: [1.0]}, {1: [1.0]})
    with pytest.raises(ValueError, match="same test clips"):
        paired_difference({0: [1.0, 2.0]}, {0: [1.0, 2.0, 3.0]})
