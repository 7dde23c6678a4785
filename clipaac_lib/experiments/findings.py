"""Seed statistics, and the paper's four findings as comparisons of two systems.

Each system of the paper's Tables 1 and 2 is trained with several seeds. :func:`seed_table` turns the
runs (one row per system and seed) into one row per system: mean and sample standard deviation of each
metric, and the number of seeds. :data:`FINDINGS` holds the paper's claims as comparisons of two
systems on CIDEr-D, each differing in one way (plus the combined Table 1 step as a summary row); the paper's side of each comes from :mod:`clipaac_lib.experiments.paper`, never typed
here. Systems 4 and 8 are the same configuration (AudioCLIP init, fine-tuned, alpha 0.2, batch 8), so
results of either stand for both (:data:`ALIASES`). Whether our runs reproduce each finding is decided
seed by seed, with an interval, by :mod:`clipaac_lib.experiments.paired`.

Explained in ``notebooks/06_ablations.ipynb`` and the report page ``book/report.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from clipaac_lib.common import png_bytes  # re-exported: the report pastes figures with it
from clipaac_lib.experiments.paper import TABLE1, TABLE2
from clipaac_lib.metrics import METRIC_KEYS

__all__ = ["Finding", "FINDINGS", "ALIASES", "seed_table", "paper_score", "png_bytes"]

#: Systems that are the same configuration: Table 1's system 4 is Table 2's system 8.
ALIASES = {4: 8, 8: 4}


@dataclass(frozen=True)
class Finding:
    """One claim of the paper: ``system_better`` scores higher than ``system_worse`` (on CIDEr-D).
    ``worse_tag`` picks a tagged job of the worse system (the equal-steps batch-4 run: ``"steps"``);
    ``summary``: a row that combines the steps of the chain, not a claim of its own."""

    name: str
    sentence: str
    system_better: int
    system_worse: int
    worse_tag: str = ""
    summary: bool = False

    def paper_difference(self, metric: str = "cider_d") -> float:
        """The paper's ``metric`` of ``system_better`` minus that of ``system_worse``."""
        return paper_score(self.system_better, metric) - paper_score(self.system_worse, metric)


#: The paper's findings (sections 4.1 and 4.2), each one claim: one comparison of two systems that differ in
#: one way. Table 1 is a chain (random -> AudioSet audio head -> AudioCLIP frozen -> AudioCLIP fine-tuned);
#: its end-to-end step, 4 against 1, changes three things at once and is a summary row.
FINDINGS: tuple[Finding, ...] = (
    Finding("AudioSet pretraining helps",
            "An audio head pretrained on AudioSet (system 2) beats a random initialisation (system 1).", 2, 1),
    Finding("the audio-text encoder helps",
            "AudioCLIP's audio-text encoder, fine-tuned (system 4), beats the audio-only one (system 2).", 4, 2),
    Finding("fine-tuning beats freezing",
            "Fine-tuning the AudioCLIP encoder (system 4) beats freezing it (system 3).", 4, 3),
    Finding("the contrastive loss helps",
            "Adding the contrastive loss with alpha 0.2 (system 8) beats training without it, alpha 0 (system 5).",
            8, 5),
    Finding("larger batches help",
            "Batch size 16 (system 9) beats batch size 4 (system 7), at alpha 0.2 and equal epochs.", 9, 7),
    Finding("combined: AudioCLIP fine-tuned vs random",
            "The whole of Table 1 at once: system 4 against system 1 (initialisation, text head and alpha "
            "change together).", 4, 1, summary=True),
)


def seed_table(records: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Per-system seed statistics of ``records`` (long format: columns ``system``, ``seed`` and metrics).

    Returns one row per system (index ``system``, sorted) with ``<m>_mean`` and ``<m>_sd`` for each metric
    ``m`` (sample standard deviation, ddof=1: NaN with one seed; missing values are skipped) and
    ``n_seeds``, the number of seeds. Metrics absent from ``records`` and repeated (system, seed) pairs
    are errors.
    """
    missing = [c for c in ("system", "seed", *metrics) if c not in records.columns]
    if missing:
        raise ValueError(f"records lack columns {missing}; they have {list(records.columns)}")
    repeated = records.duplicated(["system", "seed"])
    if repeated.any():
        pairs = records.loc[repeated, ["system", "seed"]].to_records(index=False).tolist()
        raise ValueError(f"records repeat (system, seed) pairs {pairs}: one row per seed")
    grouped = records.groupby("system")
    columns: dict[str, pd.Series] = {}
    for m in metrics:
        values = grouped[m]
        columns[f"{m}_mean"] = values.mean()
        columns[f"{m}_sd"] = values.std(ddof=1)
    columns["n_seeds"] = grouped["seed"].nunique()
    table = pd.DataFrame(columns).sort_index()
    table.index.name = "system"
    return table


def paper_score(system: int, metric: str = "cider_d") -> float:
    """The paper's published ``metric`` of ``system`` (1-10), read from Table 1 or Table 2."""
    if metric not in METRIC_KEYS:
        raise ValueError(f"the paper publishes no {metric!r}; it has {METRIC_KEYS}")
    tables = {**TABLE1, **TABLE2}
    if system not in tables:
        raise ValueError(f"the paper has no system {system}; it has {sorted(tables)}")
    return tables[system][1][METRIC_KEYS.index(metric)]





