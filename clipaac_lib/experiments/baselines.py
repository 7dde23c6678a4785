"""Baselines: the yardsticks every caption score is shown beside.

A CIDEr-D of 0.4 means little alone. Three reference points say what it is worth:

- **consensus caption**: the training caption with the highest CIDEr-D as a constant on the training
  clips that do not hold it (:mod:`~clipaac_lib.experiments.consensus`), given, as written, for every
  test clip. What a system earns by knowing only which sentence is typical, without listening. (The
  most frequent caption is no definition when nearly every caption is unique: its choice would be a
  tie-break.);
- **shuffled**: the model's own captions, each given to a random *other* clip (a seeded derangement).
  What the model's language alone earns, with the link to the audio cut;
- **human**: a clip's own reference caption, scored against the clip's other references.

A human caption can only meet the *other* references of its clip, so every row is scored on that same
footing (as :mod:`~clipaac_lib.metrics.held_out` does for CIDEr-D): with ``R`` references per clip
(the same for every clip, at least 2), each row is scored ``R`` times; in round ``k`` reference ``k`` is
held out of every clip's references, the model, consensus and shuffled rows are scored against the
remaining ``R - 1`` (the shuffled row with its own derangement, seed ``seed + k``), and the human row's
candidate is the held-out caption ``k``. Each row is the mean over the rounds, and the ``references``
column says ``R - 1`` for every row (4 on Clotho).

The **gap share** of a metric is ``(model - constant) / (human - constant)``: the fraction of the
way from the constant caption to people that the model covers (NaN when human == constant).

>>> refs = split_references(folder, "test")                            # doctest: +SKIP
>>> b = compute_baselines(split_references(folder, "train"), refs, captions)  # doctest: +SKIP
>>> b.table; b.gap_shares(); print(b.describe("cider_d"))              # doctest: +SKIP

Only the CSV files are read (no audio). This module imports nothing from :mod:`clipaac_lib.train`
(the training code may import it). Explained in ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clipaac_lib.data import SPLITS, dataset_folder, read_captions_csv
from clipaac_lib.experiments.consensus import ConsensusCaption, Tokenize, consensus_caption
from clipaac_lib.experiments.paper import METRIC_NAMES

__all__ = [
    "CONSTANT_ROW",
    "Evaluate",
    "HUMAN_ROW",
    "MODEL_ROW",
    "SHUFFLED_ROW",
    "Baselines",
    "compute_baselines",
    "constant_caption",
    "gap_share",
    "shuffled",
    "split_clips",
    "split_references",
]

CONSTANT_ROW = "consensus caption"
SHUFFLED_ROW = "shuffled"
MODEL_ROW = "model"
HUMAN_ROW = "human"
REFERENCES_COLUMN = "references"


Evaluate = Callable[[Sequence[str], Sequence[Sequence[str]]], Mapping[str, Any]]


# -- the three yardsticks -------------------------------------------------------------------------------
def constant_caption(train_references: Sequence[Sequence[str]], *, max_candidates: int | None = None,
                     tokenize: Tokenize | None = None) -> str:
    """The consensus caption of ``train_references`` (one list of captions per clip), as written: the
    training caption with the highest CIDEr-D when given for every training clip that does not hold it
    (:func:`~clipaac_lib.experiments.consensus.consensus_caption`, over all distinct captions or
    ``max_candidates`` of them, tokenised by ``tokenize``, default PTB)."""
    return consensus_caption(train_references, max_candidates=max_candidates, tokenize=tokenize).text


def shuffled(captions: Sequence[str], seed: int = 0) -> list[str]:
    """``captions`` moved to other clips: clip ``i`` gets ``captions[p[i]]`` with ``p[i] != i``.

    ``p`` is a uniformly drawn derangement (a permutation with no fixed point) from
    ``numpy.random.default_rng(seed)``: the same seed gives the same assignment.
    """
    n = len(captions)
    if n == 1:
        raise ValueError("shuffled needs at least 2 clips to give each caption to another clip; got 1")
    if n == 0:
        return []
    rng = np.random.default_rng(seed)
    while True:  # rejection: about e (2.72) draws on average, whatever n
        perm = rng.permutation(n)
        if not np.any(perm == np.arange(n)):
            return [captions[int(j)] for j in perm]


def gap_share(model: float, constant: float, human: float) -> float:
    """``(model - constant) / (human - constant)``: 0 at the constant caption, 1 at human level.

    NaN when ``human == constant`` (no gap to close) or when any input is NaN.
    """
    if human == constant:
        return math.nan
    return (model - constant) / (human - constant)


# -- the table ------------------------------------------------------------------------------------------
def _metric_label(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric)


def _fmt(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.2f}"


@dataclass
class Baselines:
    """Scores of the yardsticks (and of the model, when given) on one test set.

    ``table``: one row per system (``"consensus caption"``, ``"shuffled"``, ``"model"`` when scored,
    ``"human"``), one column per metric (NaN where a metric was not computed, e.g. SPICE without
    CoreNLP), and ``references``: how many reference captions each row was scored against in each of
    the ``rounds`` held-out rounds (``rounds - 1``, the same for every row; module docstring).
    ``constant``: the consensus caption's text (``consensus``: how it was chosen). ``shuffled_source``:
    whose captions the shuffled row moved (``"model"``, or ``"human (held-out caption)"`` when no model
    captions were given), one derangement per round.
    """

    table: pd.DataFrame
    constant: str
    shuffled_source: str = "model"
    consensus: ConsensusCaption | None = None
    rounds: int = 1

    @property
    def metrics(self) -> list[str]:
        """The metric columns (every column but ``references``)."""
        return [c for c in self.table.columns if c != REFERENCES_COLUMN]

    @property
    def human_row(self) -> str:
        """The name of the human row: ``"human"`` (tables from before the held-out rounds: ``"human (4 refs)"``)."""
        rows = [r for r in self.table.index if str(r).startswith("human")]
        if len(rows) != 1:
            raise ValueError(f"expected one human row in the baselines table, found {rows}")
        return rows[0]

    @property
    def has_model(self) -> bool:
        return MODEL_ROW in self.table.index

    def gap_shares(self) -> pd.Series:
        """Per metric, the share of the constant-to-human gap the model closes (see :func:`gap_share`)."""
        if not self.has_model:
            raise ValueError(
                "no model row in the baselines table: pass model_captions to compute_baselines "
                "to get gap shares"
            )
        row = self.table.loc
        shares = {
            m: gap_share(float(row[MODEL_ROW, m]), float(row[CONSTANT_ROW, m]), float(row[self.human_row, m]))
            for m in self.metrics
        }
        return pd.Series(shares, name="gap share", dtype=float)

    def describe(self, metric: str = "cider_d") -> str:
        """One line of English on ``metric``, e.g. ``"CIDEr-D: consensus caption 0.25, shuffled 0.22,
        model 1.05, human 1.80: the model closes 52% of the consensus-to-human gap"``."""
        if metric not in self.metrics:
            raise KeyError(f"no metric {metric!r} in the baselines table; it has {', '.join(self.metrics)}")
        col = self.table[metric]
        order = [CONSTANT_ROW, SHUFFLED_ROW, *([MODEL_ROW] if self.has_model else []), self.human_row]
        line = f"{_metric_label(metric)}: " + ", ".join(f"{r} {_fmt(float(col[r]))}" for r in order)
        if not self.has_model:
            return line
        constant, human = float(col[CONSTANT_ROW]), float(col[self.human_row])
        share = gap_share(float(col[MODEL_ROW]), constant, human)
        if math.isnan(share):
            return f"{line}: no gap share (human and constant caption score the same, or a score is missing)"
        if human < constant:
            return (f"{line}: the human captions score below the consensus caption here, "
                    f"so the gap share ({share:.0%}) means nothing")
        if share < 0:
            return f"{line}: the model scores below the consensus caption (gap share {share:.0%})"
        return f"{line}: the model closes {share:.0%} of the consensus-to-human gap"

    def __str__(self) -> str:
        return self.table.to_string()


def _reference_count(references: Sequence[Sequence[str]]) -> int:
    """``R``, the number of references of every clip; ValueError unless all clips have as many, at least 2."""
    if not references:
        raise ValueError("test_references holds no clips: the baselines need a test set")
    if any(isinstance(refs, str) for refs in references):
        raise ValueError("test_references must hold a list of captions per clip, not a str")
    counts = sorted({len(refs) for refs in references})
    if len(counts) != 1:
        raise ValueError(f"the baselines hold each reference out in turn, so every test clip needs the same "
                         f"number of references; got {counts}")
    if counts[0] < 2:
        raise ValueError(f"the baselines need at least 2 references per test clip (one held out, one to score "
                         f"against); got {counts[0]}")
    return counts[0]


def _hold_out(references: Sequence[Sequence[str]], k: int) -> tuple[list[str], list[list[str]]]:
    """Round ``k``: the ``k``-th reference of each clip, and the clip's other references."""
    return [refs[k] for refs in references], [[*refs[:k], *refs[k + 1:]] for refs in references]


def _scores_row(scores: Mapping[str, Any]) -> dict[str, float]:
    """The scalar scores of an ``evaluate`` result as floats (None -> NaN; ``per_clip`` and other
    non-scalars are left out)."""
    row: dict[str, float] = {}
    for key, value in scores.items():
        if value is None:
            row[key] = math.nan
        elif isinstance(value, Real):
            row[key] = float(value)
    return row


def _score_all(evaluate: Evaluate | None,
               corpora: list[tuple[list[str], list[list[str]]]]) -> list[Mapping[str, Any]]:
    """The scores of each (candidates, references) corpus: ``evaluate`` on each in turn, or (None)
    :func:`~clipaac_lib.metrics.evaluate_corpora` on all of them at once (one JVM per tool, the same
    numbers) without the model-based metrics (FENSE, sentence-BERT, SPIDEr-FL), which the table does not
    show: ``modern=False`` never loads or downloads their models."""
    if evaluate is not None:
        return [evaluate(candidates, references) for candidates, references in corpora]
    from clipaac_lib.metrics import evaluate_corpora  # Java tools; imported only when scoring for real

    return evaluate_corpora(corpora, modern=False)


def _round_candidates(constant: str, model: Sequence[str] | None, held_out: list[str],
                      seed: int) -> dict[str, list[str]]:
    """The candidates of each row in one round: the shuffled row moves the ``model`` captions (None: the
    held-out captions) with ``seed``; the human row's candidates are the ``held_out`` captions."""
    rows = {CONSTANT_ROW: [constant] * len(held_out),
            SHUFFLED_ROW: shuffled(held_out if model is None else model, seed)}
    if model is not None:
        rows[MODEL_ROW] = list(model)
    rows[HUMAN_ROW] = held_out
    return rows


def _table(rows: Mapping[str, Sequence[Mapping[str, Any]]], count: int) -> pd.DataFrame:
    """One row per system: the mean over rounds of each scalar score (NaN stays NaN), then ``references``."""
    means = {name: {**pd.DataFrame([_scores_row(s) for s in scores]).mean(skipna=False).to_dict(),
                    REFERENCES_COLUMN: count}
             for name, scores in rows.items()}
    table = pd.DataFrame.from_dict(means, orient="index")
    metrics = [c for c in table.columns if c != REFERENCES_COLUMN]
    table = table[[*metrics, REFERENCES_COLUMN]].astype({m: float for m in metrics})
    table.index.name = "captions"
    return table


def compute_baselines(
    train_references: Sequence[Sequence[str]],
    test_references: Sequence[Sequence[str]],
    model_captions: Sequence[str] | None = None,
    *,
    seed: int = 0,
    max_candidates: int | None = None,
    evaluate: Evaluate | None = None,
    tokenize: Tokenize | None = None,
) -> Baselines:
    """Score the consensus caption, the shuffled captions, the human captions (and the model) on a test set,
    each reference held out in turn (module docstring).

    ``train_references`` / ``test_references``: the captions of each training / test clip (see
    :func:`split_references`; every test clip with the same number ``R >= 2`` of them);
    ``model_captions``: the model's caption of each test clip, in the same order. ``evaluate(candidates,
    references) -> {metric: score}`` defaults to :func:`clipaac_lib.metrics.evaluate_captions` without
    model-based metrics (needs Java); each row is scored on the whole test set (CIDEr-D needs the corpus)
    once per held-out reference, and is their mean: ``4 R`` corpora, ``3 R`` without model captions (by
    default all in one :func:`clipaac_lib.metrics.evaluate_corpora` call, one JVM per tool). In round
    ``k`` the shuffled row moves the model's captions with seed ``seed + k``;
    without model captions it moves the held-out human captions instead. The consensus caption is
    chosen among all distinct training captions, or ``max_candidates`` of them, tokenised by
    ``tokenize`` (default: PTB, as the metrics).
    """
    count = _reference_count(test_references)
    test_references = [list(refs) for refs in test_references]
    if model_captions is not None and len(model_captions) != len(test_references):
        raise ValueError(
            f"model_captions has {len(model_captions)} captions but test_references has "
            f"{len(test_references)} clips: give one caption per test clip, in the same order"
        )
    consensus = consensus_caption(train_references, max_candidates=max_candidates, tokenize=tokenize)
    rounds = [_hold_out(test_references, k) for k in range(count)]
    candidates = [_round_candidates(consensus.text, model_captions, held_out, seed + k)
                  for k, (held_out, _) in enumerate(rounds)]
    names = list(candidates[0])
    corpora = [(cands[name], refs) for name in names for cands, (_, refs) in zip(candidates, rounds, strict=True)]
    scores = _score_all(evaluate, corpora)
    rows = {name: scores[i * count:(i + 1) * count] for i, name in enumerate(names)}
    return Baselines(table=_table(rows, count - 1), constant=consensus.text,
                     shuffled_source="model" if model_captions is not None else "human (held-out caption)",
                     consensus=consensus, rounds=count)


# -- reading a split's captions -------------------------------------------------------------------------
def split_clips(root: str | os.PathLike[str], split: str) -> dict[str, list[str]]:
    """``{file_name: captions}`` of each clip of ``split``, as written in the Clotho CSV files (no audio
    is read), in the order of the CSV files, the order of :class:`~clipaac_lib.data.ClothoDataset`.

    ``root``: the folder holding ``clotho_captions_*.csv`` (or the dataset root above its
    ``clotho_v2.1`` folder); for a training run's data use ``clipaac_lib.train.setup.data_root(config)``.
    ``split``: ``train`` (development then validation), ``test`` (evaluation), or a Clotho split name
    (``development``, ``validation``, ``evaluation``). A bad row raises (as the dataset does).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    folder = dataset_folder(root)
    clips: dict[str, list[str]] = {}
    for source in SPLITS[split]:
        path = Path(folder) / f"clotho_captions_{source}.csv"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: the '{split}' split needs clotho_captions_{source}.csv in {folder}"
            )
        rows, _ = read_captions_csv(path, on_error="raise")
        clips.update((row.file_name, list(row.captions)) for row in rows)
    return clips


def split_references(root: str | os.PathLike[str], split: str) -> list[list[str]]:
    """The captions of each clip of ``split`` (:func:`split_clips` without the file names)."""
    return list(split_clips(root, split).values())
