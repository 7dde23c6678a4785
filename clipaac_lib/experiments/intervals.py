"""A paired difference between two systems, with a 95 % interval that counts both kinds of noise.

Two systems of the ablation grid are compared seed by seed: seed ``s`` fixes the data order, the
dropout stream and the initialisation they share, and both are scored on the same test clips. Their
difference ``D`` is the mean over seeds and clips of ``d[s, i] = a[s, i] - b[s, i]`` (per-clip scores,
e.g. CIDEr-D). Its uncertainty has two sources:

- **seeds** (training noise on these clips): the spread of the per-seed differences ``d_s``;
  ``se_seed = sd(d_s) / sqrt(n_seeds)``;
- **test clips** (which clips the test split happens to hold): a paired bootstrap over clips, the same
  clip indices for both systems and every seed; ``se_clip`` is the sd of the resampled ``D``.

The interval is ``D ± t * sqrt(se_seed² + se_clip²)`` with ``t`` the Student quantile at the
Welch-Satterthwaite degrees of freedom of the two parts. Its half-width is the design's **minimum
detectable effect**: a true difference smaller than it would usually come out *undecided*. The label is
*reproduced* when the interval lies on the paper's side of 0, *contradicted* when it lies on the
other side, *undecided* when it contains 0 (or when one seed leaves the training noise unmeasured).

Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["INTERVAL_LABELS", "PairedDifference", "paired_difference"]

INTERVAL_LABELS = ("reproduced", "contradicted", "undecided")


@dataclass(frozen=True)
class PairedDifference:
    """``mean`` difference (a - b) with its ``low``-``high`` interval at ``level``; ``se_seed`` and
    ``se_clip`` (NaN when not measurable), the ``seeds`` and ``clips`` it rests on, per-seed ``by_seed``."""

    mean: float
    low: float
    high: float
    level: float
    se_seed: float
    se_clip: float
    seeds: int
    clips: int
    by_seed: tuple[float, ...]

    @property
    def half_width(self) -> float:
        """The interval's half-width: the smallest effect this design can tell from 0."""
        return (self.high - self.low) / 2

    def label(self, paper_sign: float) -> str:
        """*reproduced*, *contradicted* or *undecided* for a paper effect of sign ``paper_sign``."""
        if self.seeds < 2 or not (math.isfinite(self.low) and math.isfinite(self.high)):
            return "undecided"
        if self.low > 0 or self.high < 0:
            return "reproduced" if (self.low > 0) == (paper_sign > 0) else "contradicted"
        return "undecided"


def _per_seed(scores: Mapping[int, Sequence[float]], seeds: list[int]) -> np.ndarray:
    rows = [np.asarray(scores[s], dtype=float) for s in seeds]
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"every seed must score the same clips; got {[len(r) for r in rows]} clips per seed")
    return np.stack(rows)  # (seeds, clips)


def paired_difference(
    a: Mapping[int, Sequence[float]],
    b: Mapping[int, Sequence[float]],
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> PairedDifference:
    """The paired difference of system ``a`` minus system ``b``.

    ``a``/``b``: ``{seed: per-clip scores}``, the clips in the same order for every seed and both
    systems; only the seeds both ran are compared. ``n_boot`` clip resamples drawn with
    ``numpy.random.default_rng(seed)``.
    """
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError(f"no seed in common: a has seeds {sorted(a)}, b has {sorted(b)}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    sa, sb = _per_seed(a, seeds), _per_seed(b, seeds)
    if sa.shape != sb.shape:
        raise ValueError(f"a scores {sa.shape[1]} clips per seed, b {sb.shape[1]}: compare the same test clips")
    d = sa - sb  # (seeds, clips)
    n, m = d.shape
    if m < 2:
        raise ValueError("a paired interval needs at least 2 test clips")
    by_seed = d.mean(axis=1)  # (seeds,)
    mean = float(by_seed.mean())
    rng = np.random.default_rng(seed)
    per_clip = d.mean(axis=0)  # (clips,) the mean over seeds of each clip's difference
    boot = per_clip[rng.integers(0, m, size=(n_boot, m))].mean(axis=1)  # (n_boot,)
    se_clip = float(boot.std(ddof=1))
    se_seed = float(by_seed.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    if n < 2:
        return PairedDifference(mean, -math.inf, math.inf, level, se_seed, se_clip, n, m, tuple(by_seed))
    var = se_seed**2 + se_clip**2
    parts = se_seed**4 / (n - 1) + se_clip**4 / (m - 1)
    df = var**2 / parts if parts > 0 else math.inf
    half = float(stats.t.ppf(0.5 + level / 2, df) * math.sqrt(var)) if var > 0 else 0.0
    return PairedDifference(mean, mean - half, mean + half, level, se_seed, se_clip, n, m, tuple(by_seed))
