"""The ablation grid answered from run records: train only what no record answers, record each run as it ends.

:func:`run_grid` takes the jobs of Tables 1-2 (:mod:`~clipaac_lib.experiments.ablations`) and seeds.
For every (job, seed) it looks for a record (:mod:`~clipaac_lib.experiments.records`) whose
``run_hash`` is the configuration's: the shipped ``results/`` of the repository and the folder new
records go to. Systems 4 and 8 are one configuration, so one record answers both. What no record
answers is trained (``train_missing``), after printing how long that should take, in worker processes
(:func:`~clipaac_lib.experiments.parallel.train_all`); each run's record is written the moment it ends,
so a stopped job keeps every finished run and a restarted one trains only the rest. A run already
finished in the cache (an earlier grid) is recorded without retraining.

Notebook: ``notebooks/06_ablations.ipynb``; the regeneration command is in the README.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from clipaac_lib.common import on_colab, subdir
from clipaac_lib.experiments.ablations import (
    Job,
    grid_plan,
    init_available,
    select_systems,
    table1_jobs,
    table2_jobs,
)
from clipaac_lib.experiments.curves import equal_steps_jobs
from clipaac_lib.experiments.parallel import Trained, expected_minutes, train_all
from clipaac_lib.experiments.provenance import provenance
from clipaac_lib.experiments.records import RunRecord, build_record, read_records, write_record
from clipaac_lib.metrics import METRIC_KEYS, held_out_cider_d
from clipaac_lib.pretrain import INIT_WEIGHTS
from clipaac_lib.train import RunResult, TrainConfig, find_run

__all__ = ["Grid", "default_results_dir", "grid_jobs", "may_train", "record_run", "results_folder", "run_grid"]

def default_results_dir() -> Path:
    """Where a grid writes new records unless told: ``<cache>/results`` (``$CLIPAAC_CACHE``)."""
    return subdir("results")


def results_folder(results_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where new records go: ``results_dir``, or :func:`default_results_dir` when None."""
    return Path(results_dir) if results_dir is not None else default_results_dir()


def may_train(train_missing: bool | None) -> bool:
    """Whether a grid may train what no record answers: ``train_missing``, where None means everywhere but
    on Colab (there the shipped records are shown, never retrained unless asked)."""
    return (not on_colab()) if train_missing is None else bool(train_missing)


def grid_jobs(tables: Collection[str], systems: str | int = "all", **common: Any) -> list[Job]:
    """Every job of the chosen ``tables`` (``{"1", "2"}``) and ``systems`` with the ``common`` settings,
    plus system 7 at the optimiser steps of system 9 when both are there
    (:func:`~clipaac_lib.experiments.curves.equal_steps_jobs`)."""
    jobs1 = select_systems(table1_jobs(**common), systems) if "1" in tables else []
    jobs2 = select_systems(table2_jobs(**common), systems) if "2" in tables else []
    epochs = TrainConfig(**common).resolved().num_epochs
    return [*jobs1, *jobs2, *equal_steps_jobs(jobs2, epochs)]


@dataclass
class Grid:
    """The records of a grid's (job, seed) pairs, and the pairs left without one (``missing``: why)."""

    plan: list[tuple[Job, int]]
    records: dict[tuple[int, str, int], RunRecord] = field(default_factory=dict)  # (system, tag, seed)
    missing: dict[tuple[int, str, int], str] = field(default_factory=dict)

    def record(self, system: int, seed: int, tag: str = "") -> RunRecord | None:
        return self.records.get((system, tag, seed))

    def reference_record(self, system: int) -> RunRecord:
        """The lowest seed's record of ``system`` (untagged); while a grid is incomplete, the lowest
        seed's record of the lowest system that has one. ValueError when the grid has no record."""
        untagged = sorted((key, r) for key, r in self.records.items() if not key[1])
        mine = [r for (s, _, _), r in untagged if s == system]
        if mine or untagged:
            return mine[0] if mine else untagged[0][1]
        raise ValueError("the grid has no record yet: run it with train_missing=True, or point results_dir "
                         "at a folder of records")

    def provenances(self) -> list[dict[str, Any]]:
        """The provenance of each distinct record (systems 4 and 8 share theirs)."""
        return [r.provenance for r in {r.name: r for r in self.records.values()}.values()]

    def table(self) -> pd.DataFrame:
        """One row per (job, seed): system, tag, seed, status, the caption metrics (CIDEr-D as the mean of
        the record's per-clip scores, and held-out), audio-to-text R@1, the run's wall seconds and its
        record's name."""
        rows = []
        for job, seed in self.plan:
            key = (job.system, job.tag, seed)
            row: dict[str, Any] = {"system": job.system, "tag": job.tag, "seed": seed}
            record = self.records.get(key)
            if record is None:
                rows.append({**row, "status": self.missing.get(key, "missing")})
                continue
            caption = record.metrics.get("metrics") or {}
            recall = (record.metrics.get("retrieval") or {}).get("a2t_r1")
            rows.append({**row, "status": "ran", **{m: caption.get(m) for m in METRIC_KEYS},
                         "cider_d": record.corpus("cider_d"), "cider_d_held_out": record.corpus("cider_d_held_out"),
                         "a2t_r1": recall, "wall_seconds": record.provenance.get("wall_seconds"),
                         "record": record.name})
        return pd.DataFrame(rows)


def record_run(job: Job, seed: int, result: RunResult, folder: str | os.PathLike[str], *,
               wall_seconds: float, threads: int | None, command: str = "", resumed_after_epoch: int = 0) -> RunRecord:
    """Score ``result``'s test captions (all references and held-out CIDEr-D), build its record and
    write it to ``folder`` (``resumed_after_epoch``: see :func:`~clipaac_lib.experiments.provenance.provenance`)."""
    if result.captions is None or result.scores is None:
        raise ValueError(f"{result.run_dir} has no test evaluation: evaluate it with `clipaac evaluate`")
    captions = result.captions
    cider = held_out_cider_d({"model": [r["caption"] for r in captions]},
                             [list(r["references"]) for r in captions])["model"]
    record = build_record(name=job.name(seed), system=job.system, tag=job.tag, seed=seed,
                          config=job.config(seed).to_dict(), run_hash=result.run_hash, captions=captions,
                          cider=cider, metrics=result.scores.to_dict(), history=result.history,
                          provenance=provenance(wall_seconds=wall_seconds, threads=threads, command=command,
                                                resumed_after_epoch=resumed_after_epoch))
    write_record(folder, record)
    return record


def run_grid(jobs: Sequence[Job], seeds: Sequence[int], *, results_dir: str | os.PathLike[str] | None = None,
             read_also: Sequence[str | os.PathLike[str] | None] = (), seeded: Collection[int] | None = None,
             workers: int = 1, train_missing: bool | None = True, command: str = "") -> Grid:
    """The records of every (job, seed) of the plan (:func:`~clipaac_lib.experiments.ablations.grid_plan`).

    Records are looked up in ``read_also`` (e.g. the shipped ``results/``) and ``results_dir`` (default
    :func:`default_results_dir`), where new ones are written. ``train_missing=False`` trains nothing and
    lists the unanswered pairs in ``Grid.missing``; None: False on Colab (the shipped records are shown,
    never retrained there unless asked), True elsewhere. ``command``: the command that ran the grid, kept in
    each new record's provenance.
    """
    out = results_folder(results_dir)
    train_missing = may_train(train_missing)
    by_hash = {r.run_hash: r for r in read_records(*read_also, out).values()}
    grid = Grid(plan=grid_plan(list(jobs), seeds, seeded))
    todo: dict[str, list[tuple[Job, int]]] = {}
    configs: dict[str, TrainConfig] = {}
    for job, seed in grid.plan:
        key, config = (job.system, job.tag, seed), job.config(seed)
        run_hash = config.run_hash()
        if run_hash in by_hash:
            grid.records[key] = by_hash[run_hash]
        elif not init_available(config):
            grid.missing[key] = f"not run: {INIT_WEIGHTS[config.init]} not available offline"
        else:
            todo.setdefault(run_hash, []).append((job, seed))
            configs[run_hash] = config
    for run_hash in list(todo):  # finished in the cache: recorded, not retrained
        found = find_run(configs[run_hash])
        if found is not None and found.scores is not None:
            _record_all(grid, todo.pop(run_hash), found, out, found.train_seconds, None, command)
    if not todo:
        return grid
    if not train_missing:
        grid.missing.update({(j.system, j.tag, s): "no record (train_missing=False)"
                             for pairs in todo.values() for j, s in pairs})
        return grid
    pending = [configs[h] for h in todo]
    print(f"{len(pending)} run(s) have no record: training them, about {expected_minutes(pending, workers):.0f} "
          f"min with {workers} worker(s) on 2 CPU cores (minutes on a GPU); records go to {out}")

    def on_done(config: TrainConfig, trained: Trained) -> None:
        found = find_run(config)
        if found is None or found.scores is None:
            raise RuntimeError(f"{trained.run_dir} finished without a test evaluation")
        _record_all(grid, todo[config.run_hash()], found, out, trained.wall_seconds, trained.threads, command,
                    resumed_after_epoch=trained.resumed_after_epoch)

    train_all(pending, workers, desc="grid runs", on_done=on_done)
    return grid


def _record_all(grid: Grid, pairs: list[tuple[Job, int]], result: RunResult, out: Path, wall_seconds: float,
                threads: int | None, command: str, *, resumed_after_epoch: int = 0) -> None:
    """One record for the run of ``pairs`` (systems 4 and 8 share it), filed under every pair."""
    job, seed = pairs[0]
    record = record_run(job, seed, result, out, wall_seconds=wall_seconds, threads=threads, command=command,
                        resumed_after_epoch=resumed_after_epoch)
    for j, s in pairs:
        grid.records[(j.system, j.tag, s)] = record
