"""A paired difference between two systems, with a 95 % interval that counts each kind of noise once.

Two systems of the ablation grid are compared seed by seed: seed ``s`` fixes the data order, the
dropout stream and the initialisation they share, and both are scored on the same test clips. Their
difference is the mean over seeds and clips of ``d[s, i] = a[s, i] - b[s, i]`` (per-clip scores, e.g.
CIDEr-D). It is read as a two-way layout without replication,
``d[s, i] = mu + seed_s + clip_i + interaction_si``, with three variance components: how much the
difference moves with the seed (training noise), with the clip (which clips the test split happens to
hold), and with their interaction. The mean's variance is
``var_seed / n + var_clip / m + var_interaction / (n m)`` (n seeds, m clips), estimated from the
three mean squares of the layout: ``(MS_seed + MS_clip - MS_residual) / (n m)``, which counts the
interaction once (the spread of the per-seed means holds it, and so does the spread of the per-clip
means: adding both counts it twice). It is never taken below ``max(MS_seed, MS_clip) / (n m)``, each
of which alone underestimates it. The interval is ``mean ± t * se`` with ``t`` the Student quantile at
the Satterthwaite degrees of freedom of that combination. ``tests/test_intervals.py`` simulates designs
with all three kinds of noise and checks that the 95 % interval covers the truth 93-97 % of the time.

The **detectable effect** is the true difference this design finds (interval off zero, on the right
side) with 80 % power at the 5 % level: ``(t_0.975 + t_0.8) * se``, about 1.3-1.4 times the
half-width. :meth:`PairedDifference.seeds_needed` says how many seeds would detect a given effect.
The label is *reproduced* when the interval lies on the paper's side of 0, *contradicted* when it lies
on the other side, *undecided* when it contains 0 (or when one seed leaves the training noise unmeasured).

Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["INTERVAL_LABELS", "POWER", "PairedDifference", "paired_difference", "paired_matrix"]

INTERVAL_LABELS = ("reproduced", "contradicted", "undecided")
#: The power at which :meth:`PairedDifference.detectable` is defined.
POWER = 0.8

Scores = Mapping[str, float] | Sequence[float]


@dataclass(frozen=True)
class PairedDifference:
    """``mean`` difference (a - b) with its ``low``-``high`` interval at ``level``; its standard error
    ``se`` and degrees of freedom ``df``; the variance components ``var_seed``, ``var_clip`` and
    ``var_interaction`` (NaN when not measurable); the ``seeds`` and ``clips`` it rests on; per-seed
    means ``by_seed``."""

    mean: float
    low: float
    high: float
    level: float
    se: float
    df: float
    var_seed: float
    var_clip: float
    var_interaction: float
    seeds: int
    clips: int
    by_seed: tuple[float, ...]

    @property
    def half_width(self) -> float:
        """The interval's half-width."""
        return (self.high - self.low) / 2

    def detectable(self, power: float = POWER) -> float:
        """The smallest true difference found with probability ``power`` at this interval's level:
        ``(t_(1+level)/2 + t_power) * se`` (inf with one seed)."""
        if not math.isfinite(self.se):
            return math.inf
        return float((stats.t.ppf(0.5 + self.level / 2, self.df) + stats.t.ppf(power, self.df)) * self.se)

    def seeds_needed(self, effect: float, power: float = POWER, max_seeds: int = 1000) -> float:
        """The fewest seeds (with these clips and variance components) whose design would detect a true
        difference of ``effect`` with ``power``; inf when even ``max_seeds`` would not (the test clips'
        noise alone is too large), NaN when the components are unknown (one seed)."""
        if not all(math.isfinite(v) for v in (self.var_seed, self.var_clip, self.var_interaction)):
            return math.nan
        m = self.clips
        for n in range(2, max_seeds + 1):
            # the mean squares this design would expect, combined as paired_difference combines them
            ms_seed = self.var_interaction + m * self.var_seed
            ms_clip = self.var_interaction + n * self.var_clip
            se, df = _se_df(ms_seed, ms_clip, self.var_interaction, n, m)
            t = stats.t.ppf(0.5 + self.level / 2, df) + stats.t.ppf(power, df)
            if t * se <= abs(effect):
                return float(n)
        return math.inf

    def holds(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval."""
        return self.low <= value <= self.high

    def label(self, paper_sign: float) -> str:
        """*reproduced*, *contradicted* or *undecided* for a paper effect of sign ``paper_sign``."""
        if self.seeds < 2 or not (math.isfinite(self.low) and math.isfinite(self.high)):
            return "undecided"
        if self.low > 0 or self.high < 0:
            return "reproduced" if (self.low > 0) == (paper_sign > 0) else "contradicted"
        return "undecided"


def _se_df(ms_seed: float, ms_clip: float, ms_res: float, n: int, m: int) -> tuple[float, float]:
    """Standard error of the mean of an (n, m) layout from its mean squares, counting the interaction
    once, and its Satterthwaite degrees of freedom (module docstring)."""
    parts = [(ms_seed, n - 1), (ms_clip, m - 1), (-ms_res, (n - 1) * (m - 1))]
    combined = ms_seed + ms_clip - ms_res
    if combined < max(ms_seed, ms_clip):  # below a lower bound: the bound, with its degrees of freedom
        parts = [(ms_seed, n - 1)] if ms_seed >= ms_clip else [(ms_clip, m - 1)]
        combined = max(ms_seed, ms_clip)
    denominator = sum(c * c / df for c, df in parts)
    df = combined**2 / denominator if denominator > 0 else math.inf
    return math.sqrt(max(combined, 0.0) / (n * m)), df


def _names(scores: Mapping[int, Scores]) -> list[str] | None:
    first = next(iter(scores.values()))
    return sorted(first) if isinstance(first, Mapping) else None


def paired_matrix(a: Mapping[int, Scores], b: Mapping[int, Scores], seeds: Sequence[int]) -> np.ndarray:
    """``d[s, i] = a[s][clip i] - b[s][clip i]`` for ``seeds`` as a (seeds, clips) array.

    Per-clip scores are ``{file_name: score}`` (paired by name: every seed of both systems must score
    the same files, else a ValueError names the first that differs) or sequences (paired by position).
    """
    names = _names(a)
    rows = []
    for s in seeds:
        if names is None:
            ra, rb = np.asarray(a[s], dtype=float), np.asarray(b[s], dtype=float)
            if ra.shape != rb.shape or ra.shape[0] != len(next(iter(a.values()))):
                raise ValueError(f"seed {s}: a scores {ra.shape[0]} clips, b {rb.shape[0]}: compare the same "
                                 "test clips")
        else:
            for side, scores in (("a", a[s]), ("b", b[s])):
                if not isinstance(scores, Mapping) or set(scores) != set(names):
                    got = set(scores) if isinstance(scores, Mapping) else set()
                    odd = sorted(got ^ set(names))
                    raise ValueError(f"seed {s} of system {side} does not score the same test clips: "
                                     f"{odd[0] if odd else 'scores given by position'} differs; compare "
                                     "runs of one test split")
            ra = np.array([a[s][n] for n in names], dtype=float)
            rb = np.array([b[s][n] for n in names], dtype=float)
        rows.append(ra - rb)
    return np.stack(rows)  # (seeds, clips)


def paired_difference(a: Mapping[int, Scores], b: Mapping[int, Scores], *, level: float = 0.95) -> PairedDifference:
    """The paired difference of system ``a`` minus system ``b`` (module docstring).

    ``a``/``b``: ``{seed: per-clip scores}``, ``{file_name: score}`` or sequences in one clip order
    (:func:`paired_matrix`); only the seeds both ran are compared.
    """
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError(f"no seed in common: a has seeds {sorted(a)}, b has {sorted(b)}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    d = paired_matrix(a, b, seeds)
    n, m = d.shape
    if m < 2:
        raise ValueError("a paired interval needs at least 2 test clips")
    by_seed = d.mean(axis=1)  # (seeds,)
    by_clip = d.mean(axis=0)  # (clips,)
    mean = float(d.mean())
    ms_clip = n * float(by_clip.var(ddof=1))
    if n < 2:
        nan = math.nan
        return PairedDifference(mean, -math.inf, math.inf, level, math.inf, nan, nan, nan, nan, n, m,
                                tuple(by_seed))
    ms_seed = m * float(by_seed.var(ddof=1))
    resid = d - by_seed[:, None] - by_clip[None, :] + mean
    ms_res = float((resid**2).sum()) / ((n - 1) * (m - 1))
    se, df = _se_df(ms_seed, ms_clip, ms_res, n, m)
    half = float(stats.t.ppf(0.5 + level / 2, df) * se) if se > 0 else 0.0
    return PairedDifference(mean, mean - half, mean + half, level, se, df,
                            max(0.0, (ms_seed - ms_res) / m), max(0.0, (ms_clip - ms_res) / n), ms_res, n, m,
                            tuple(by_seed))
