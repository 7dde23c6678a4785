"""Paired differences (experiments/intervals.py): hand formulas, and simulated designs whose truth is known.

The simulations draw ``d[s, i] = mu + seed_s + clip_i + interaction_si`` with normal components, the
layout the interval assumes, at the grid's size (5 seeds, 300 clips) and at 3 seeds, with each kind of
noise dominating in turn. A 95 % interval must cover ``mu`` in 93-97 % of 2000 designs; counting the
interaction twice (the earlier interval) covered it in 97-99 %.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from clipaac_lib.experiments.intervals import paired_difference

DESIGNS = 2000


def _designs(rng: np.random.Generator, seeds: int, clips: int, sd: tuple[float, float, float], mu: float = 0.1):
    """DESIGNS simulated (seeds, clips) difference matrices, each as ``{seed: scores}`` of a and b (b = 0)."""
    sd_seed, sd_clip, sd_inter = sd
    d = (mu + rng.normal(0, sd_seed, (DESIGNS, seeds, 1)) + rng.normal(0, sd_clip, (DESIGNS, 1, clips))
         + rng.normal(0, sd_inter, (DESIGNS, seeds, clips)))
    zero = {s: np.zeros(clips) for s in range(seeds)}
    return [({s: x[s] for s in range(seeds)}, zero) for x in d]


@pytest.mark.parametrize(("seeds", "sd"), [
    (5, (0.04, 0.3, 0.6)),   # like the grid: interaction-heavy per-clip noise, modest seed noise
    (5, (0.0, 0.4, 0.8)),    # no seed effect at all: the interaction alone moves the per-seed means
    (5, (0.10, 0.1, 0.5)),   # seed noise dominates
    (3, (0.05, 0.3, 0.7)),   # three seeds
])
def test_the_95_interval_covers_the_truth_95_percent_of_the_time(seeds, sd):
    rng = np.random.default_rng(hash((seeds, sd)) % 2**32)
    covered = [paired_difference(a, b).holds(0.1) for a, b in _designs(rng, seeds, 300, sd)]
    assert 0.93 <= np.mean(covered) <= 0.97


def test_the_detectable_effect_is_found_80_percent_of_the_time():
    """A true difference equal to the design's detectable effect comes out on its side of zero in about
    80 % of designs (power), where the half-width would be found only about half the time."""
    rng = np.random.default_rng(7)
    sd = (0.04, 0.3, 0.6)
    pilot = paired_difference(*_designs(rng, 5, 300, sd)[0])
    # the detectable effect of the design itself (from its expected variance), not of one noisy draw
    se = math.sqrt(sd[0] ** 2 / 5 + sd[1] ** 2 / 300 + sd[2] ** 2 / 1500)
    effect = (stats.t.ppf(0.975, pilot.df) + stats.t.ppf(0.8, pilot.df)) * se
    found = [paired_difference(a, b).label(+1) == "reproduced" for a, b in _designs(rng, 5, 300, sd, mu=effect)]
    assert 0.75 <= np.mean(found) <= 0.85
    assert 1.25 <= pilot.detectable() / pilot.half_width <= 1.45


def test_seed_noise_alone_gives_the_student_t_interval():
    """Every clip of a seed differs by the same amount: no clip noise, only the seeds' t interval."""
    per_seed = {0: 0.05, 1: 0.02, 2: 0.08}
    a = {s: [0.5 + v] * 40 for s, v in per_seed.items()}
    b = {s: [0.5] * 40 for s in per_seed}
    diff = paired_difference(a, b)
    values = np.array(list(per_seed.values()))
    half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / math.sqrt(3)
    assert diff.mean == pytest.approx(values.mean())
    assert diff.half_width == pytest.approx(half)
    assert diff.df == pytest.approx(2)


def test_clip_noise_alone_gives_the_paired_t_interval_over_clips():
    """Every seed gives the same per-clip differences: the interval is the paired t interval over clips."""
    d = np.random.default_rng(0).normal(0.1, 0.3, 400)
    diff = paired_difference({s: d for s in range(3)}, {s: np.zeros(400) for s in range(3)})
    assert diff.half_width == pytest.approx(stats.t.ppf(0.975, 399) * d.std(ddof=1) / math.sqrt(400))


def test_the_variance_counts_the_interaction_once():
    """In the grid-like design the mean squared standard error matches the true variance of the mean
    (counting the interaction twice makes it 1.28 times too large there)."""
    rng = np.random.default_rng(3)
    n, m, sd = 5, 300, (0.04, 0.3, 0.6)
    ses = [paired_difference(a, b).se for a, b in _designs(rng, n, m, sd)[:500]]
    true = sd[0] ** 2 / n + sd[1] ** 2 / m + sd[2] ** 2 / (n * m)
    assert 0.9 <= np.mean(np.square(ses)) / true <= 1.12


def test_labels_and_one_seed():
    up = paired_difference({s: [0.6 + 0.01 * s] * 5 for s in range(3)}, {s: [0.5] * 5 for s in range(3)})
    assert up.label(+1) == "reproduced" and up.label(-1) == "contradicted"
    noisy = paired_difference({0: [0.6] * 5, 1: [0.4] * 5, 2: [0.55] * 5}, {s: [0.5] * 5 for s in range(3)})
    assert noisy.label(+1) == "undecided"
    one = paired_difference({0: [0.9, 0.8]}, {0: [0.1, 0.2]})
    assert one.seeds == 1 and math.isinf(one.half_width) and one.label(+1) == "undecided"
    assert math.isnan(one.seeds_needed(0.1))


def test_seeds_needed_grows_as_the_effect_shrinks_and_is_inf_below_the_clip_noise():
    rng = np.random.default_rng(5)
    a, b = _designs(rng, 5, 300, (0.05, 0.3, 0.6))[0]
    diff = paired_difference(a, b)
    big, small = diff.seeds_needed(0.2), diff.seeds_needed(0.08)
    assert 2 <= big <= small
    assert diff.seeds_needed(0.001) == math.inf  # the test clips' own noise is larger than that


def test_clips_are_paired_by_file_name():
    names = [f"clip{i}.wav" for i in range(6)]
    a = {0: dict(zip(names, [1.0, 2, 3, 4, 5, 6], strict=True)), 1: dict(zip(names, [2.0, 2, 3, 4, 5, 7], strict=True))}
    b = {0: dict(zip(names, [0.0, 1, 3, 3, 5, 6], strict=True)), 1: dict(zip(names, [1.0, 2, 2, 4, 4, 6], strict=True))}
    shuffled = {s: dict(reversed(list(v.items()))) for s, v in b.items()}
    assert paired_difference(a, shuffled).mean == pytest.approx(paired_difference(a, b).mean)
    renamed = {0: b[0], 1: {("other.wav" if k == "clip3.wav" else k): v for k, v in b[1].items()}}
    with pytest.raises(ValueError, match="clip3.wav|other.wav"):
        paired_difference(a, renamed)


def test_only_common_seeds_are_compared_and_shapes_must_match():
    diff = paired_difference({0: [1.0, 1.0], 1: [2.0, 2.0], 5: [9.0, 9.0]}, {0: [0.0, 0.0], 1: [0.0, 0.0]})
    assert diff.seeds == 2 and diff.mean == pytest.approx(1.5)
    with pytest.raises(ValueError, match="no seed in common"):
        paired_difference({0: [1.0]}, {1: [1.0]})
    with pytest.raises(ValueError, match="same"):
        paired_difference({0: [1.0, 2.0]}, {0: [1.0, 2.0, 3.0]})
