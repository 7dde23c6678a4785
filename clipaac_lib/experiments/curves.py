"""The grid's training curves (did every system flatten?) and batch size compared at equal optimiser steps.

Every grid run validates after each epoch on the test split (``validate_every=1``: the teacher-forced
caption loss per token, no decoding; ``test_caption_nll`` in the run's history, ``curve`` in its record).
:func:`grid_curves` gathers those rows from :func:`~clipaac_lib.experiments.grid.run_grid`'s records,
:func:`plot_curves` draws one line per system (mean over seeds) and :func:`last_epoch_change` says how
much each system still gained in its last epoch: the evidence that the epoch count is long enough.

The paper compares batch sizes at equal *epochs* (40 each), so batch 16 takes a quarter of batch 4's
optimiser steps. :func:`equal_steps_job` is Table 2's system 7 (batch 4) trained for the optimiser steps
that system 9 (batch 16) takes, and :data:`EQUAL_STEPS_FINDING` compares the two; the paper's protocol
(:data:`~clipaac_lib.experiments.findings.FINDINGS`) still decides the label. Notebook:
``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clipaac_lib.experiments.ablations import Job
from clipaac_lib.experiments.findings import Finding
from clipaac_lib.experiments.paper import system_name
from clipaac_lib.experiments.records import RunRecord

__all__ = ["CURVE_COLUMNS", "curve_gaps", "CURVE_METRIC", "EQUAL_STEPS_FINDING", "EQUAL_STEPS_TAG", "equal_steps_epochs", "equal_steps_job", "equal_steps_jobs",
           "grid_curves", "last_epoch_change", "plot_curves"]

#: The per-epoch validation value the curves show (lower is better).
CURVE_METRIC = "test_caption_nll"
#: The record tag of the equal-steps batch-4 runs (their records are ``system07-steps-seed<s>.json``).
EQUAL_STEPS_TAG = "steps"
#: Batch 16 against batch 4 when both take the same number of optimiser steps (not the paper's protocol).
EQUAL_STEPS_FINDING = Finding(
    "larger batches help (equal steps)",
    "Batch size 16 (system 9) beats batch size 4 (system 7) trained for as many optimiser steps.", 9, 7,
    worse_tag=EQUAL_STEPS_TAG)


def equal_steps_epochs(epochs: int, batch: int = 16, other_batch: int = 4) -> int:
    """Epochs at batch ``other_batch`` that take the optimiser steps of ``epochs`` epochs at ``batch``
    (``epochs * other_batch / batch``); a clear error when that is not a whole number of epochs."""
    steps = epochs * other_batch
    if epochs < 1 or steps % batch:
        raise ValueError(f"{epochs} epoch(s) at batch {batch} are not a whole number of epochs at batch "
                         f"{other_batch}: choose num_epochs divisible by {batch // np.gcd(batch, other_batch)}")
    return steps // batch


def equal_steps_job(batch4: Job, epochs: int, batch16: int = 16) -> Job:
    """System 7 (``batch4``, Table 2's batch-4 job) trained for the optimiser steps of ``epochs`` epochs at
    batch ``batch16``. Its warm-up (``num_epochs / 8`` epochs by default) then also spans the same steps."""
    other = int(batch4.params["batch_size"])
    return Job(batch4.system, {**batch4.params, "num_epochs": equal_steps_epochs(epochs, batch16, other)},
               tag=EQUAL_STEPS_TAG)


def equal_steps_jobs(jobs: list[Job], epochs: int) -> list[Job]:
    """The equal-steps counterpart of system 7 among ``jobs`` (Table 2's), as a list: empty when system 7 or
    system 9 is not among them, or when ``epochs`` at batch 16 are no whole number of batch-4 epochs (a
    smoke run's single epoch)."""
    by_system = {job.system: job for job in jobs}
    if 7 not in by_system or 9 not in by_system:
        return []
    try:
        return [equal_steps_job(by_system[7], epochs, int(by_system[9].params["batch_size"]))]
    except ValueError:
        return []


def grid_curves(records: Mapping[tuple[int, str, int], RunRecord], metric: str = CURVE_METRIC) -> pd.DataFrame:
    """One row per (system, seed, epoch) of the untagged ``records`` (``Grid.records``: (system, tag, seed)
    -> record; the equal-steps runs stop early by design): the validation value of each epoch from the
    record's ``curve`` (NaN where a run did not validate that epoch)."""
    rows = []
    for (system, tag, seed), record in sorted(records.items()):
        if tag:
            continue
        rows += [{"system": system, "seed": seed, "epoch": int(point["epoch"]),
                  metric: np.nan if point.get("loss") is None else float(point["loss"])} for point in record.curve]
    return pd.DataFrame(rows, columns=["system", "seed", "epoch", metric])


def last_epoch_change(curves: pd.DataFrame, metric: str = CURVE_METRIC) -> pd.DataFrame:
    """Per system: the mean over seeds of ``metric`` at the last two epochs, the last epoch's change and that
    change as a share of the whole change since epoch 1 (near 0: flat; NaN with a single epoch, as in a
    smoke run, where nothing can be said)."""
    mean = curves.groupby(["system", "epoch"])[metric].mean().unstack("epoch")
    first, last = mean.iloc[:, 0], mean.iloc[:, -1]
    before = mean.iloc[:, -2] if mean.shape[1] >= 2 else last * np.nan
    return pd.DataFrame({"epochs": mean.shape[1], "before_last": before, "last": last,
                         "last_change": last - before, "share_of_total": (last - before) / (last - first)})


#: :func:`last_epoch_change`'s columns in words.
CURVE_COLUMNS = {"epochs": "epochs", "before_last": "loss before last", "last": "loss at end",
                 "last_change": "last change", "share_of_total": "share of all change"}


def curve_gaps(curves: pd.DataFrame, worse: int, better: int, epochs: tuple[int, ...],
               metric: str = CURVE_METRIC) -> pd.DataFrame:
    """The validation loss of system ``worse`` minus that of ``better`` at each of ``epochs``, paired by
    seed and averaged over the seeds both ran (index: epoch; column ``loss difference``, ``seeds``)."""
    wide = curves.pivot_table(index=["seed", "epoch"], columns="system", values=metric)
    rows = []
    for epoch in epochs:
        at = wide.xs(epoch, level="epoch") if epoch in wide.index.get_level_values("epoch") else wide.iloc[:0]
        diff = (at.get(worse) - at.get(better)).dropna() if worse in at and better in at else pd.Series(dtype=float)
        rows.append({"epoch": epoch, "loss difference": diff.mean(), "seeds": len(diff)})
    return pd.DataFrame(rows).set_index("epoch")


def plot_curves(curves: pd.DataFrame, metric: str = CURVE_METRIC) -> plt.Figure:
    """``metric`` per epoch: one line per system (mean over seeds), each seed as faint dots."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    colours = plt.get_cmap("tab10")
    for i, (system, rows) in enumerate(curves.groupby("system")):
        colour = colours(i % 10)
        mean = rows.groupby("epoch")[metric].mean()
        ax.plot(mean.index, mean.to_numpy(), marker="o", color=colour, label=system_name(int(system)))
        ax.scatter(rows["epoch"], rows[metric], s=8, color=colour, alpha=0.35)
    ax.set(xlabel="epoch", ylabel="test caption loss per token (teacher-forced)",
           title="Validation curves of the grid (mean over seeds; dots: seeds)")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig
