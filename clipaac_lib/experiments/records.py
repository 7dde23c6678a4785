"""One JSON record per finished grid run: the experiment's results kept as data beside the code.

The plateau grid costs hours on a CPU, so its runs are not retrained by a book build: each (system,
seed) leaves ``<results>/<job.name(seed)>.json`` (``system04-seed0.json``) holding what the book needs
to render the findings, and the repository commits them under ``results/``:

- ``system``, ``tag``, ``seed``, ``name`` and ``run_hash`` (the configuration's hash: a record answers
  a job only when the hashes agree, so a changed configuration is retrained and nothing else);
- ``config``: the run's :class:`~clipaac_lib.train.TrainConfig` as a dict;
- ``clips``: for every test clip ``file_name``, ``caption``, ``cider_d`` (against all references, the
  paper's metric) and ``cider_d_held_out`` (the yardsticks' footing, :mod:`clipaac_lib.metrics.held_out`);
- ``metrics``: the run's test scores (:class:`~clipaac_lib.train.SplitScores` as a dict);
- ``curve``: per epoch, the teacher-forced test caption loss (``loss``) and the training loss;
- ``provenance``: :func:`~clipaac_lib.experiments.provenance.provenance` (commit, date, machine, threads,
  wall seconds, load, command, code fingerprint).

Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

from clipaac_lib.common import atomic_write_json, from_known_fields

__all__ = ["RECORD_FORMAT", "RunRecord", "build_record", "read_records", "write_record"]

#: The record layout's version (a reader refuses others by name).
RECORD_FORMAT = 1
#: The per-epoch value of ``curve`` (the run history's key).
CURVE_KEY = "test_caption_nll"


@dataclass(frozen=True)
class RunRecord:
    """One finished run of the grid (see the module docstring for the fields)."""

    name: str
    system: int
    tag: str
    seed: int
    run_hash: str
    config: dict[str, Any]
    clips: list[dict[str, Any]]
    metrics: dict[str, Any]
    curve: list[dict[str, Any]]
    provenance: dict[str, Any]
    format: int = RECORD_FORMAT

    def per_clip(self, metric: str = "cider_d") -> dict[str, float]:
        """``{file_name: score}`` of ``metric`` (``cider_d`` or ``cider_d_held_out``)."""
        return {clip["file_name"]: float(clip[metric]) for clip in self.clips}

    def corpus(self, metric: str = "cider_d") -> float:
        """The corpus score of ``metric``: the mean of its per-clip scores."""
        values = [float(clip[metric]) for clip in self.clips]
        return math.fsum(values) / len(values) if values else math.nan

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "") -> RunRecord:
        """Read :meth:`to_dict`'s output; another ``format``, unknown or missing keys (or no JSON object)
        raise, naming ``source``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{source or 'record'} holds a JSON {type(data).__name__}, not a run record: "
                             "delete it and rerun its job")
        if data.get("format") != RECORD_FORMAT:
            raise ValueError(f"{source or 'record'} has format {data.get('format')!r}; this clipaac reads "
                             f"format {RECORD_FORMAT}: regenerate it (README, 'Regenerating the results')")
        missing = [f.name for f in fields(cls) if f.name not in data and f.default is MISSING]
        if missing:
            raise ValueError(f"{source or 'record'} lacks the RunRecord field(s) {missing}: delete it and "
                             "rerun its job")
        return from_known_fields(cls, dict(data), hint=f" (in {source})" if source else "")


def _curve(history: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"epoch": int(row["epoch"]), "loss": row.get(CURVE_KEY), "train_loss": row.get("train_loss")}
            for row in history]


def build_record(*, name: str, system: int, tag: str, seed: int, config: Mapping[str, Any], run_hash: str,
                 captions: list[Mapping[str, Any]], cider: Mapping[str, Any], metrics: Mapping[str, Any],
                 history: Iterable[Mapping[str, Any]], provenance: Mapping[str, Any]) -> RunRecord:
    """The record of one run. ``captions``: the run's test rows (``file_name``, ``caption``, ...);
    ``cider``: :func:`~clipaac_lib.metrics.held_out.held_out_cider_d`'s :class:`CiderScores` of those
    captions (``all_refs`` and ``held_out``, one value per row)."""
    if len(cider.all_refs) != len(captions) or len(cider.held_out) != len(captions):
        raise ValueError(f"{name}: {len(captions)} captions but {len(cider.all_refs)} per-clip scores")
    clips = [{"file_name": row["file_name"], "caption": row["caption"], "cider_d": float(a),
              "cider_d_held_out": float(h)}
             for row, a, h in zip(captions, cider.all_refs, cider.held_out, strict=True)]
    return RunRecord(name=name, system=system, tag=tag, seed=seed, run_hash=run_hash, config=dict(config),
                     clips=clips, metrics=dict(metrics), curve=_curve(history), provenance=dict(provenance))


def write_record(folder: str | os.PathLike[str], record: RunRecord) -> Path:
    """Write ``<folder>/<record.name>.json`` atomically (a stopped job never leaves half a record)."""
    path = Path(folder) / f"{record.name}.json"
    atomic_write_json(path, record.to_dict())
    return path


def read_records(*folders: str | os.PathLike[str] | None) -> dict[str, RunRecord]:
    """Every record in ``folders`` (missing folders and None are skipped), by name; a later folder's
    record replaces an earlier one of the same name. A file that is no record raises, naming it."""
    found: dict[str, RunRecord] = {}
    for folder in folders:
        if folder is None or not Path(folder).is_dir():
            continue
        for path in sorted(Path(folder).glob("system*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} is not valid JSON ({error}): delete it and rerun its job") from None
            record = RunRecord.from_dict(data, source=str(path))
            found[record.name] = record
    return found
