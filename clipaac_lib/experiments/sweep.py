"""The caption-scarcity sweep run as its design says (issue 31, ``results/README.md``): the pilots first,
then every cell with the epochs the pilot rule chose.

:func:`run_sweep` answers the pilots (seed 0 of systems 1 and 4 at each size) from records or trains them
(:func:`~clipaac_lib.experiments.grid.run_grid`), applies the rule
(:func:`~clipaac_lib.experiments.scarcity.pilot_decisions`), then runs every cell of item 1 and the tenfold
cells of item 2 over the seeds, the doubled sizes with twice the epochs (their pilots rerun with them, as
part of that phase). While a pilot has no record, nothing else runs. Notebook:
``notebooks/06_ablations.ipynb`` (the grid whose records the full-set cells reuse).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from clipaac_lib.experiments.ablations import Job
from clipaac_lib.experiments.grid import Grid, may_train, results_folder, run_grid
from clipaac_lib.experiments.parallel import prepare_shared
from clipaac_lib.experiments.scarcity import (
    PILOT_SYSTEMS,
    SIZES,
    pilot_decisions,
    scarcity_jobs,
    tenfold_in,
    tenfold_jobs,
)
from clipaac_lib.experiments.scarcity_encoders import write_encoder_records

__all__ = ["Sweep", "run_sweep"]

Folder = str | os.PathLike[str] | None


@dataclass
class Sweep:
    """The pilots' decisions, the sizes they doubled (so far, while ``decided`` is False: a size doubles
    when any of its pilots does), and the records of every cell run (``grid``: the pilots' grid alone
    while a pilot is undecided)."""

    pilots: pd.DataFrame
    doubled: list[int]
    grid: Grid
    decided: bool


def run_sweep(sizes: Sequence[int] = SIZES, seeds: Sequence[int] = (0, 1, 2), *, results_dir: Folder = None,
              read_also: Sequence[Folder] = (), workers: int = 1, train_missing: bool | None = True,
              command: str = "", **common: Any) -> Sweep:
    """Run (or answer from records) the sweep: pilots, the rule, then every cell. ``common``: notebook 6's
    grid settings (``dataset``, ``model_config``, ``eval_untrained=False``, ``validate_every=1``...); a
    smoke run's single epoch cannot be judged, so smoke sweeps double nothing."""
    shared = dict(results_dir=results_dir, read_also=read_also, workers=workers, train_missing=train_missing,
                  command=command)
    systems = ",".join(str(s) for s in PILOT_SYSTEMS)
    pilots = run_grid(scarcity_jobs(sizes, systems, **common), [0], **shared)
    table = pilot_decisions(pilots.records, sizes)
    doubled = sorted({int(c) for c, d in zip(table["clips"], table["doubles"], strict=True) if d is True})
    if not common.get("smoke") and table["doubles"].isna().any():
        return Sweep(table, doubled, pilots, decided=False)
    tenfold = tenfold_jobs(tenfold_in(sizes), doubled=doubled, **common)
    _keep_encoders(tenfold, list(seeds), shared)
    jobs = [*scarcity_jobs(sizes, doubled=doubled, **common), *tenfold]
    return Sweep(table, doubled, run_grid(jobs, list(seeds), **shared), decided=True)


def _keep_encoders(tenfold: list[Job], seeds: list[int], shared: dict[str, Any]) -> None:
    """Before training a tenfold cell: make the tenfold corpus's encoders here, then keep both corpora's
    numbers as records beside the runs' (:func:`~clipaac_lib.experiments.scarcity_encoders.write_encoder_records`),
    so that a fresh clone's page shows them. Nothing happens when every tenfold cell has a record, or
    when nothing may be trained."""
    if not tenfold or not may_train(shared["train_missing"]) or not run_grid(tenfold, seeds, **{**shared, "train_missing": False}).missing:
        return
    config = tenfold[0].config(seeds[0])
    prepare_shared([config])  # the data caches and both stages' files of the tenfold corpus
    write_encoder_records(results_folder(shared["results_dir"]), config.model_config, smoke=config.smoke, command=shared["command"])
