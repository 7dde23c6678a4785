"""The caption-scarcity sweep (issue 31): Table 1's systems on fewer training clips, at equal optimiser steps.

The design was fixed in ``results/README.md`` before any of its runs. This module builds its jobs and
its pilot rule:

- :func:`scarcity_jobs`: systems 1-4 with their Table 1 settings at each size of :data:`SIZES`, for the
  epochs of :func:`epochs_for` (the optimiser steps of the full set's 12 epochs). The full-set cell is
  the grid's own job (same configuration, same ``run_hash``, so the grid's records answer it) unless the
  pilot rule doubled its epochs; the others carry the tag ``clipsK`` (:func:`cell_tag`).
- :func:`tenfold_jobs`: systems 2 and 4 with encoders pretrained on a corpus ten times the default
  (:data:`TENFOLD_CORPUS`, through ``pretrain_overrides``), at :data:`TENFOLD_SIZES`; tag
  ``clipsK-corpus10x``.
- :func:`pilot_moves`: the pilot rule. A pilot (seed 0 of systems 1 and 4 at a size) whose last quarter of
  epochs moves its test caption loss by more than :data:`PILOT_SHARE` of its change since epoch 1 doubles
  that size's epochs, once.
- :func:`cell_tag`, :func:`tenfold_tag`: the record tags of the two kinds of cell.

Notebook: ``notebooks/06_ablations.ipynb`` (the grid whose records the full-set cells reuse).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from clipaac_lib.experiments.ablations import GRID_RECIPE, Job, select_systems, table1_jobs
from clipaac_lib.experiments.records import RunRecord

__all__ = ["PILOT_SHARE", "PILOT_SYSTEMS", "SIZES", "TENFOLD_CORPUS", "TENFOLD_SIZES", "cell_tag", "epochs_for",
           "parse_sizes", "pilot_decisions", "pilot_moves", "scarcity_design", "scarcity_jobs", "tenfold_in",
           "tenfold_jobs", "tenfold_tag"]

#: Training-set sizes of the sweep (``limit_train_clips``): 1/8, 1/4, 1/2 and all of the 300 clips.
SIZES: tuple[int, ...] = (38, 75, 150, 300)
#: The full training split of the synthetic set (the grid's ``limit_train_clips=None``).
FULL_SET = 300
#: The sizes that also get the tenfold pretraining corpus.
TENFOLD_SIZES: tuple[int, ...] = (38, 300)
#: ``pretrain_overrides`` of the tenfold corpus (the default corpus has 800 clips).
TENFOLD_CORPUS: dict[str, Any] = {"corpus": {"clips": 8000}}
#: The pilot rule's threshold: the last quarter's move as a share of the change since epoch 1.
PILOT_SHARE = 0.03
#: The pilots: seed 0 of these systems at each size.
PILOT_SYSTEMS: tuple[int, ...] = (1, 4)


def epochs_for(clips: int, *, doubled: bool = False) -> int:
    """The epochs of a ``clips``-clip cell: the optimiser steps of the full set's 12 epochs
    (12 x 300 / clips, rounded: 95, 48, 24, 12), twice that when the pilot rule ``doubled`` it."""
    if clips < 1 or clips > FULL_SET:
        raise ValueError(f"clips must be between 1 and {FULL_SET}, got {clips}")
    epochs = round(GRID_RECIPE["num_epochs"] * FULL_SET / clips)
    return 2 * epochs if doubled else epochs


def parse_sizes(sizes: str | Sequence[int]) -> list[int]:
    """``"38,300"`` or ``[38, 300]`` -> ``[38, 300]``: distinct training-set sizes, each between 1 and the
    full set's 300 clips; a bad value raises ``ValueError`` naming it."""
    parts = str(sizes).split(",") if isinstance(sizes, str | int) else list(sizes)
    try:
        values = [int(str(p).strip()) for p in parts if str(p).strip()]
    except ValueError:
        raise ValueError(f"sizes must be whole numbers of training clips such as '38,300', got {sizes!r}") from None
    if not values or len(set(values)) != len(values):
        raise ValueError(f"sizes must be distinct numbers of training clips, got {sizes!r}")
    for clips in values:
        epochs_for(clips)  # raises naming a size out of range
    return values


def tenfold_in(sizes: Sequence[int]) -> list[int]:
    """The sizes among ``sizes`` that also get the tenfold pretraining corpus (:data:`TENFOLD_SIZES`)."""
    return [c for c in TENFOLD_SIZES if c in sizes]


def scarcity_design(sizes: Sequence[int] = SIZES) -> pd.DataFrame:
    """The design as fixed before the runs, one row per size: its epochs before the pilot rule, the
    systems trained there and those that also get the tenfold corpus."""
    tenfold = tenfold_in(sizes)
    return pd.DataFrame([{"clips": c, "epochs, before the rule": epochs_for(c), "systems": "1-4",
                          "tenfold corpus": "2, 4" if c in tenfold else ""} for c in sizes])


def cell_tag(clips: int, doubled: Sequence[int] = ()) -> str:
    """The tag of item 1's cell at ``clips``: none for the full set at the grid's epochs (the grid's own
    records), ``clipsK`` otherwise (``doubled``: the sizes whose epochs the pilot rule doubled)."""
    return "" if clips == FULL_SET and clips not in doubled else f"clips{clips}"


def tenfold_tag(clips: int) -> str:
    """The tag of item 2's cell at ``clips``: ``clipsK-corpus10x``."""
    return f"clips{clips}-corpus10x"


def _cell(job: Job, clips: int, epochs: int, tag: str, extra: dict[str, Any] | None = None) -> Job:
    """``job`` on ``clips`` training clips (all of them: ``None``, as the grid) for ``epochs`` epochs."""
    params = {**job.params, **(extra or {}), "num_epochs": epochs,
              "limit_train_clips": None if clips == FULL_SET else clips}
    return Job(job.system, params, tag=tag)


def scarcity_jobs(sizes: Sequence[int] = SIZES, systems: str | int = "1,2,3,4", *,
                  doubled: Sequence[int] = (), **common: Any) -> list[Job]:
    """Item 1 of the sweep: Table 1's ``systems`` at each of ``sizes`` (the sizes in ``doubled`` with
    twice the epochs, by the pilot rule), with the ``common`` settings of notebook 6's grid."""
    base = select_systems(table1_jobs(**common), systems)
    return [_cell(job, clips, epochs_for(clips, doubled=clips in doubled), cell_tag(clips, doubled))
            for clips in sizes for job in base]


def tenfold_jobs(sizes: Sequence[int] = TENFOLD_SIZES, *, doubled: Sequence[int] = (), **common: Any) -> list[Job]:
    """Item 2: systems 2 and 4 with the tenfold pretraining corpus (:data:`TENFOLD_CORPUS`) at ``sizes``."""
    base = select_systems(table1_jobs(**common), "2,4")
    return [_cell(job, clips, epochs_for(clips, doubled=clips in doubled), tenfold_tag(clips),
                  {"pretrain_overrides": TENFOLD_CORPUS})
            for clips in sizes for job in base]


def _last_quarter(losses: Sequence[float]) -> tuple[float, float]:
    """(the last quarter's move, the change since epoch 1) of a loss curve (epoch 1 first): the move is
    from the epoch before the last quarter to the last epoch."""
    values = [float(v) for v in losses]
    if len(values) < 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"the pilot rule needs at least 4 finite epochs, got {values}")
    quarter = max(1, len(values) // 4)
    return values[-1] - values[-1 - quarter], values[-1] - values[0]


def _doubles(move: float, total: float) -> bool:
    """The rule itself: the last quarter's ``move`` is more than :data:`PILOT_SHARE` of the ``total``."""
    return abs(move) > PILOT_SHARE * abs(total)


def pilot_moves(losses: Sequence[float]) -> bool:
    """The pilot rule on a pilot's test caption loss per epoch (epoch 1 first): True when its last quarter
    of epochs moves it by more than :data:`PILOT_SHARE` of its change since epoch 1 (then the size's
    epochs double)."""
    return _doubles(*_last_quarter(losses))


def pilot_decisions(records: Mapping[tuple[int, str, int], RunRecord], sizes: Sequence[int] = SIZES) -> pd.DataFrame:
    """The pilot rule on the pilots among ``records`` (``Grid.records``: (system, tag, seed) -> record; the
    full set's pilots are the grid's untagged records): one row per (size, pilot system) with its epochs,
    the last quarter's move, the change since epoch 1, their ratio and whether it doubles the size's
    epochs (``doubles``; None while the pilot has no record or fewer than 4 epochs). A size doubles when any
    of its pilots does."""
    rows = []
    for clips in sizes:
        tag = cell_tag(clips)  # the pilots as first run: the full set's are the grid's records
        for system in PILOT_SYSTEMS:
            record = records.get((system, tag, 0))
            row: dict[str, Any] = {"clips": clips, "system": system, "epochs": None, "last quarter move": None,
                                   "change since epoch 1": None, "share": None, "doubles": None}
            losses = [] if record is None else [
                float(point["loss"]) for point in sorted(record.curve, key=lambda p: int(p["epoch"]))]
            if len(losses) >= 4:  # shorter (a smoke run's one epoch): nothing to judge, doubles stays None
                move, total = _last_quarter(losses)
                row.update({"epochs": len(losses), "last quarter move": move, "change since epoch 1": total,
                            "share": abs(move) / abs(total) if total else math.inf,
                            "doubles": _doubles(move, total)})
            rows.append(row)
    return pd.DataFrame(rows)
