"""The paper's ablation grids as training jobs over seeds, each one :func:`clipaac_lib.train.train` call.

- Table 1: encoder initialisation (random, audio-only, audio-text frozen, audio-text), batch 8;
- Table 2: contrastive weight alpha (0, 0.1, 0.2, 0.3 at batch 8) and batch size (4, 8, 16 at alpha 0.2),
  with the encoder of system 4 (AudioCLIP init, fine-tuned): the published file for the paper-size model,
  the book's own pretraining (:mod:`clipaac_lib.pretrain`) for any other. Never another encoder.

:func:`~clipaac_lib.experiments.grid.run_grid` answers each (job, seed) from a run record, training only
what no record answers (systems 4 and 8 are one configuration, so one run). :func:`summarize` gives mean
and seed spread per
system, :func:`side_by_side` sets them beside the paper's numbers, :func:`plot_systems` draws them with
the noise band of the reference system and the baselines (:mod:`clipaac_lib.experiments.baselines`). Whether each
finding of the paper is reproduced is :mod:`clipaac_lib.experiments.findings`'s call. It needs only the installed
package (no notebook, no repository). Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from clipaac_lib.experiments.baselines import MODEL_ROW, Baselines
from clipaac_lib.experiments.findings import ALIASES, seed_table
from clipaac_lib.experiments.paper import METRIC_NAMES, TABLE1, TABLE2, system_name
from clipaac_lib.experiments.yardsticks import Yardsticks
from clipaac_lib.metrics import METRIC_KEYS
from clipaac_lib.model import similarity_matrix
from clipaac_lib.pretrain import weights_present
from clipaac_lib.train import (
    RunNotFoundError,
    RunResult,
    TrainConfig,
    find_run,
    open_test_split,
    untrained_model,
)

__all__ = ["GRID_RECIPE", "Job", "REFERENCE_SYSTEM", "SUMMARY_METRICS", "parse_tables", "parse_seeds", "seeded_systems", "select_systems", "grid_plan",
           "init_available", "table1_jobs", "table2_jobs", "summarize", "merge_summaries",
           "side_by_side", "plot_systems",
           "first_run", "figure2_similarities", "plot_figure2"]

#: The grid's recipe in the offline book (notebook 06's parameter defaults): every training clip, 12 epochs
#: for every system, where the validation curves of the 2026-12-06 grid had flattened (``results/README.md``;
#: notebook 06 checks it again; 12 epochs at batch 16 take the optimiser steps of 3 epochs at batch 4, the
#: equal-steps comparison).
GRID_RECIPE: dict[str, Any] = {"num_epochs": 12, "limit_train_clips": None}
#: The paper's reference system (AudioCLIP init, fine-tuned, alpha 0.2, batch 8): Table 1's 4 = Table 2's 8.
REFERENCE_SYSTEM = 4
#: Scores summarised over seeds: the caption metrics the paper reports and audio-to-text recall@1.
SUMMARY_METRICS = [*METRIC_KEYS, "cider_d_held_out", "a2t_r1"]


@dataclass
class Job:
    """One system of a paper table: its id and the :class:`TrainConfig` fields that reproduce it."""

    system: int
    params: dict[str, Any] = field(default_factory=dict)
    #: Tells apart two jobs of one system (the equal-steps batch-4 run: ``"steps"``); part of the record name.
    tag: str = ""

    def name(self, seed: int) -> str:
        """The record's file stem: ``system07-seed0``, or ``system07-steps-seed0`` for a tagged job."""
        return f"system{self.system:02d}" + (f"-{self.tag}" if self.tag else "") + f"-seed{seed}"

    def config(self, seed: int | None = None) -> TrainConfig:
        """The validated training configuration of this system (bad parameters fail here, by name)."""
        params = self.params if seed is None else {**self.params, "seed": seed}
        return TrainConfig(**params).validate()


def parse_tables(text: str) -> set[str]:
    """``"1,2"`` -> ``{"1", "2"}``: which of the paper's tables to run (a clear error for anything else)."""
    tables = {t.strip() for t in str(text).split(",") if t.strip()}
    if not tables or not tables <= {"1", "2"}:
        raise ValueError(f"run_tables must list 1 and/or 2, such as '1,2'; got {text!r}")
    return tables


def parse_seeds(seeds: int | str | Sequence[int]) -> list[int]:
    """``3`` -> ``[0, 1, 2]``; ``"0,5"`` or ``[0, 5]`` -> ``[0, 5]``: the seeds of a grid."""
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive count or a list of seeds, got {seeds}")
        return list(range(seeds))
    parts = seeds.split(",") if isinstance(seeds, str) else list(seeds)
    try:
        values = [int(str(p).strip()) for p in parts if str(p).strip()]
    except ValueError:
        raise ValueError(f"seeds must be integers such as '0,1,2', got {seeds!r}") from None
    if not values or len(set(values)) != len(values) or min(values) < 0:
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds!r}")
    return values


def select_systems(jobs: Sequence[Job], systems: str | int = "all") -> list[Job]:
    """The jobs of ``systems``: ``"all"``, or system ids such as ``4`` or ``"1,4"`` (notebook 06's
    ``systems`` parameter); ids that are not in ``jobs`` select nothing."""
    if systems == "all":
        return list(jobs)
    try:
        chosen = {int(part) for part in str(systems).split(",") if part.strip()}
    except ValueError:
        raise ValueError(f'systems must be "all" or system ids such as "1,4", got {systems!r}') from None
    return [job for job in jobs if job.system in chosen]


def seeded_systems(seeded: str) -> set[int] | None:
    """``run_grid``'s ``seeded`` from notebook 6's parameter: ``"reference"`` -> the reference system and
    its alias (4 and 8, one configuration); ``"all"`` -> None (every system runs every seed)."""
    if seeded == "all":
        return None
    if seeded == "reference":
        return {REFERENCE_SYSTEM, ALIASES[REFERENCE_SYSTEM]}
    raise ValueError(f'seeded must be "reference" or "all", got {seeded!r}')


def init_available(config: TrainConfig) -> bool:
    """True when the encoder initialisation of ``config`` can run here: ``random``; any init for a model
    other than ``paper`` (the book makes its own pretrained files); the published file, already in the
    cache, for the paper-size model."""
    return config.init == "random" or config.model_config != "paper" or weights_present(config.init)


def table1_jobs(**common: Any) -> list[Job]:
    """Paper Table 1: systems 1-4 (initialisation and freezing), plus ``common`` parameters."""
    return [Job(sid, {**common, **setting, "batch_size": 8}) for sid, (setting, _) in TABLE1.items()]


def table2_jobs(**common: Any) -> list[Job]:
    """Paper Table 2: systems 5-10 (alpha and batch size), all with system 4's encoder (AudioCLIP init)."""
    return [Job(sid, {**common, **setting}) for sid, (setting, _) in TABLE2.items()]


def grid_plan(jobs: Sequence[Job], seeds: Sequence[int],
              seeded: Collection[int] | None = None) -> list[tuple[Job, int]]:
    """The (job, seed) pairs of a grid: every seed for the ``seeded`` systems (None: all), ``seeds[0]``
    for the others (see :func:`run_grid`)."""
    seeds = list(seeds)
    return [(job, seed) for job in jobs for seed in (seeds if seeded is None or job.system in seeded else seeds[:1])]


def summarize(records: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """One row per system of the runs that ran: its ``keys`` settings, then mean and sd over seeds of
    every score (:func:`clipaac_lib.experiments.findings.seed_table`) and ``n_seeds``."""
    ran = records[records["status"] == "ran"]
    metrics = [m for m in SUMMARY_METRICS if m in ran.columns]
    numeric = ran[["system", "seed"]].join(ran[metrics].apply(pd.to_numeric, errors="coerce"))
    settings = ran.groupby("system")[list(keys)].first()
    return settings.join(seed_table(numeric, metrics))


def merge_summaries(*summaries: pd.DataFrame) -> pd.DataFrame:
    """Several :func:`summarize` tables (Table 1's, Table 2's) as one, each system once (system 8 is
    system 4's run, so its row repeats 4's numbers and the first one is kept)."""
    merged = pd.concat(summaries)
    return merged[~merged.index.duplicated()]


def side_by_side(summary: pd.DataFrame, paper: pd.DataFrame, keys: Sequence[str],
                 metrics: Sequence[str] = ("bleu_4", "meteor", "cider_d"),
                 yardsticks: Yardsticks | None = None) -> pd.DataFrame:
    """Ours (``mean ± sd`` over seeds, or the single value) beside the paper's, one row per system; with
    ``yardsticks``, also the share of the consensus-to-human CIDEr-D gap that our mean held-out CIDEr-D
    closes (every row on the held-out footing, :mod:`~clipaac_lib.experiments.yardsticks`)."""
    rows = []
    for system in paper.index:
        row: dict[str, Any] = {"system": system, **{k: paper.loc[system, k] for k in keys if k in paper}}
        for m in metrics:
            row[f"{m} paper"] = f"{paper.loc[system, m]:.3f}"
            row[f"{m} ours"] = _mean_sd(summary, system, m)
        row["seeds"] = int(summary.loc[system, "n_seeds"]) if system in summary.index else 0
        if yardsticks is not None and system in summary.index:
            row["CIDEr-D gap share"] = f"{yardsticks.share(float(summary.loc[system, 'cider_d_held_out_mean'])):.0%}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("system")


def _mean_sd(summary: pd.DataFrame, system: int, metric: str) -> str:
    if system not in summary.index or pd.isna(summary.loc[system, f"{metric}_mean"]):
        return "not run"
    mean, sd = summary.loc[system, f"{metric}_mean"], summary.loc[system, f"{metric}_sd"]
    return f"{mean:.3f}" if pd.isna(sd) else f"{mean:.3f} ± {sd:.3f}"


def _axis_range(values: np.ndarray) -> tuple[float, float]:
    """The range of ``values`` with room for markers (at least 0.05 wide)."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = max(hi - lo, 0.05) * 0.15
    return lo - pad, hi + pad


def plot_systems(summary: pd.DataFrame, metric: str = "cider_d", *, reference: int = REFERENCE_SYSTEM,
                 baselines: Baselines | None = None, records: pd.DataFrame | None = None,
                 title: str = "") -> plt.Figure:
    """``metric`` of each system, named by what it is: the mean over seeds (a dot, with ±1 sd) and, with
    ``records`` (:meth:`~clipaac_lib.experiments.grid.Grid.table`'s rows), each seed's score as a small grey dot.

    The axis spans the systems' values, so their differences are visible. Each baseline
    (:mod:`~clipaac_lib.experiments.baselines`) is a vertical line when it lies near that range and,
    when it lies far outside (the human score, typically), a legend entry with its value and the side it
    lies off the axis, so that it does not squash the comparison. The ``reference`` system is drawn darker."""
    systems = list(summary.index)
    means = summary[f"{metric}_mean"].to_numpy(dtype=float)
    sds = np.nan_to_num(summary[f"{metric}_sd"].to_numpy(dtype=float))
    y = np.arange(len(systems))
    seeds = None
    if records is not None:
        ran = records[records["status"] == "ran"]
        seeds = {s: pd.to_numeric(ran.loc[ran["system"] == s, metric], errors="coerce").dropna().to_numpy()
                 for s in systems}
    spread = np.concatenate([means - sds, means + sds, *(seeds or {}).values()])
    lo, hi = _axis_range(spread)
    width = hi - lo
    lines = {} if baselines is None else baselines.table[metric].drop(MODEL_ROW, errors="ignore").dropna()
    near = {n: v for n, v in lines.items() if lo - width <= v <= hi + width}
    if near:
        lo, hi = _axis_range(np.concatenate([spread, list(near.values())]))
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(systems) + 1.7))
    for yi, system in zip(y, systems, strict=True):
        colour = "tab:blue" if system == reference else "tab:cyan"
        if seeds is not None and len(seeds[system]):
            ax.scatter(seeds[system], np.full(len(seeds[system]), yi), s=12, color="gray", zorder=2)
        ax.errorbar(means[yi], yi, xerr=sds[yi], fmt="o", color=colour, ecolor="black", capsize=4, zorder=3)
    for (name, value), style in zip(lines.items(), (":", "--", "-."), strict=False):
        if name in near:
            ax.axvline(value, color="tab:red", linestyle=style, linewidth=1, label=f"{name}: {value:.2f}")
        else:  # far outside: a legend entry saying so (an annotation inside the axes could cover a dot)
            side = "← left" if value < lo else "right →"
            ax.plot([], [], " ", label=f"{name}: {value:.2f} (off the axis, {side})")
    ax.set_xlim(lo, hi)
    ax.set_yticks(y, [system_name(int(s)) + (" (reference)" if s == reference else "") for s in systems])
    ax.invert_yaxis()
    ax.set(xlabel=f"{METRIC_NAMES.get(metric, metric)} on the test clips (mean ± sd over seeds)", title=title)
    ax.grid(axis="x", alpha=0.3)
    if len(lines):
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="baselines", title_fontsize=8)
    fig.tight_layout()
    return fig


def first_run(configs: Sequence[TrainConfig], made_by: str) -> RunResult:
    """The finished run of the first of ``configs`` that has one (never trains); RunNotFoundError naming
    ``made_by`` (how to make the first) when none has."""
    for config in configs:
        found = find_run(config)
        if found is not None:
            return found
    raise RunNotFoundError(f"none of these {len(configs)} configurations has a finished run; make one with "
                           f"{made_by}, or on the command line: {configs[0].command_line()}")


def figure2_similarities(run: RunResult, n: int = 8, device: str | torch.device = "cpu") -> tuple[Tensor, Tensor]:
    """The paper's Figure 2 for ``run``: (n, n) softmax similarities of the first ``n`` test clips and
    their first captions, before training (the run's seeded starting point) and after."""
    trained, vocab = run.load_model(device=device)
    before = untrained_model(run.config, len(vocab), next(trained.parameters()).device)
    test = open_test_split(run.config.replace(progress=False), trained.config.sample_rate)
    n = min(n, len(test))
    audio = [test[i]["audio"] for i in range(n)]  # n waveforms (S_i,), each encoded alone
    captions = [test.captions(i)[0] for i in range(n)]
    return similarity_matrix(before, audio, captions), similarity_matrix(trained, audio, captions)


def plot_figure2(before: Tensor, after: Tensor) -> plt.Figure:
    """Two heat maps, (A) before and (B) after training, as in the paper's Figure 2."""
    import seaborn as sns

    n = before.shape[0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, sim, title in [(axes[0], before, "(A) before training"), (axes[1], after, "(B) after training")]:
        sns.heatmap(sim.numpy(), ax=ax, vmin=0, vmax=1, cmap="viridis", square=True, annot=n <= 8, fmt=".2f",
                    xticklabels=[f"T{i + 1}" for i in range(n)], yticklabels=[f"A{i + 1}" for i in range(n)])
        ax.set_title(title)
    fig.tight_layout()
    return fig
