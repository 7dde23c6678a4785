"""The paper's ablation grids as training jobs, each one :func:`clipaac_lib.train.train` call.

- Table 1: encoder initialisation (random, audio-only, audio-text frozen, audio-text), batch 8;
- Table 2: contrastive weight alpha (0, 0.1, 0.2, 0.3 at batch 8) and batch size (4, 8, 16 at alpha 0.2),
  with the encoder of system 4 (AudioCLIP init), or ``random`` where the weights are not available.

:func:`run_grid` trains each system (or finds it already finished with
:func:`~clipaac_lib.train.find_run`), keeps a JSON record per system (its configuration, run directory
and scores) and returns one row per system. It needs only the installed package (no notebook, no
repository). Systems whose pre-trained weights are not available (offline, not downloaded) are reported
as such, never run with other weights. Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch
from torch import Tensor
from tqdm.auto import tqdm

from clipaac_lib.analysis import similarity_matrix
from clipaac_lib.fileio import atomic_write_json
from clipaac_lib.paper import METRIC_COLUMNS, TABLE1, TABLE2, paper_table
from clipaac_lib.paths import subdir
from clipaac_lib.pretrained import INIT_WEIGHTS, weights_present
from clipaac_lib.train import RunResult, TrainConfig, find_run, train
from clipaac_lib.train.setup import open_test_split, untrained_model

__all__ = ["Job", "parse_tables", "available_init", "table1_jobs", "table2_jobs", "run_job", "run_grid",
           "side_by_side", "plot_table2", "figure2_similarities", "plot_figure2"]


@dataclass
class Job:
    """One system of a paper table: its id and the :class:`TrainConfig` fields that reproduce it."""

    system: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"system{self.system:02d}"

    def config(self) -> TrainConfig:
        """The validated training configuration of this system (bad parameters fail here, by name)."""
        return TrainConfig(**self.params).validate()


def parse_tables(text: str) -> set[str]:
    """``"1,2"`` -> ``{"1", "2"}``: which of the paper's tables to run (a clear error for anything else)."""
    tables = {t.strip() for t in str(text).split(",") if t.strip()}
    if not tables or not tables <= {"1", "2"}:
        raise ValueError(f"run_tables must list 1 and/or 2, such as '1,2'; got {text!r}")
    return tables


def available_init(init: str) -> str:
    """``init`` when its weights are present, else ``"random"`` (saying so): the Table 2 encoder."""
    if weights_present(init):
        return init
    print(f"{init} weights ({INIT_WEIGHTS[init]}) not available: Table 2 runs with a random encoder")
    return "random"


def table1_jobs(**common: Any) -> list[Job]:
    """Paper Table 1: systems 1-4 (initialisation and freezing), plus ``common`` parameters."""
    return [Job(sid, {**common, **setting, "batch_size": 8}) for sid, (setting, _) in TABLE1.items()]


def table2_jobs(init: str = "audio_text", **common: Any) -> list[Job]:
    """Paper Table 2: systems 5-10 (alpha and batch size) with encoder initialisation ``init``."""
    return [Job(sid, {**common, **setting, "init": init}) for sid, (setting, _) in TABLE2.items()]


def run_job(job: Job, record_dir: str | os.PathLike[str], *, progress: bool = False) -> RunResult:
    """Train ``job`` (a finished run of the same configuration is found, not retrained) and write its
    record ``<record_dir>/<job.name>.json``: parameters, run directory, hash and test scores."""
    config = job.config().replace(progress=progress)
    result = find_run(config)
    if result is None or result.scores is None:
        result = train(config)
    record = {"system": job.system, "params": job.params, "run_dir": str(result.run_dir),
              "run_hash": result.run_hash, "epochs": result.epochs_completed,
              "train_seconds": result.train_seconds, "scores": result.scores}
    atomic_write_json(Path(record_dir) / f"{job.name}.json", record)
    return result


def _score_row(result: RunResult) -> dict[str, Any]:
    metrics = (result.scores or {}).get("metrics") or {}
    return {**{m: metrics.get(m) for m in METRIC_COLUMNS},
            "a2t_r1": ((result.scores or {}).get("retrieval") or {}).get("a2t_r1"), "run_dir": str(result.run_dir)}


def run_grid(jobs: list[Job], out_dir: str | os.PathLike[str] | None = None, *,
             progress: bool = False) -> pd.DataFrame:
    """Run every job whose weights are available; return a DataFrame indexed by system: its parameters,
    ``status`` ("ran" or why not), the test metrics and audio-to-text recall@1.

    The per-system JSON records go to ``out_dir`` (default ``<cache>/ablations``); ``progress`` shows each
    run's own progress bars (the grid always shows one bar over its systems).
    """
    out_dir = Path(subdir("ablations") if out_dir is None else out_dir)
    rows = []
    for job in tqdm(jobs, desc="ablation systems"):
        init = job.params.get("init", "random")
        row: dict[str, Any] = {"system": job.system, **job.params}
        if not weights_present(init):
            row["status"] = f"not run: {INIT_WEIGHTS[init]} not available offline"
        else:
            row.update(status="ran", **_score_row(run_job(job, out_dir, progress=progress)))
        rows.append(row)
    return pd.DataFrame(rows).set_index("system")


def side_by_side(ours: pd.DataFrame, paper: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Our scores and the paper's for each system that ran, one row per (system, source)."""
    ran = ours[ours["status"] == "ran"]
    mine = ran[keys + METRIC_COLUMNS].assign(source="ours")
    theirs = paper.loc[:, keys + METRIC_COLUMNS].assign(source="paper")
    return pd.concat([theirs, mine]).reset_index().set_index(["system", "source"]).sort_index()


def plot_table2(ours: pd.DataFrame, metrics: tuple[str, ...] = ("cider_d", "bleu_4", "meteor")) -> plt.Figure:
    """Metrics against alpha (batch 8) and against batch size (alpha 0.2): ours solid, the paper's dashed."""
    ran = ours[ours["status"] == "ran"].assign(source="ours")
    both = pd.concat([ran, paper_table(TABLE2).assign(source="paper")], ignore_index=True)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for ax, (x, fixed, value) in zip(axes, [("alpha", "batch_size", 8), ("batch_size", "alpha", 0.2)], strict=True):
        long = both[both[fixed] == value].melt(id_vars=[x, "source"], value_vars=list(metrics),
                                                var_name="metric", value_name="score")
        sns.lineplot(long, x=x, y="score", hue="metric", style="source", markers=True, ax=ax,
                     legend=ax is axes[1])
        ax.set(title=f"{fixed} = {value}")
    axes[1].set_xscale("log", base=2)
    sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    fig.tight_layout()
    return fig


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
    n = before.shape[0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, sim, title in [(axes[0], before, "(A) before training"), (axes[1], after, "(B) after training")]:
        sns.heatmap(sim.numpy(), ax=ax, vmin=0, vmax=1, cmap="viridis", square=True, annot=n <= 8, fmt=".2f",
                    xticklabels=[f"T{i + 1}" for i in range(n)], yticklabels=[f"A{i + 1}" for i in range(n)])
        ax.set_title(title)
    fig.tight_layout()
    return fig
