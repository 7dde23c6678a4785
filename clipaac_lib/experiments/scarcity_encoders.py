"""The caption-scarcity sweep's two pretraining corpora side by side (issue 31, item 2): what the book's
pretrained encoders cost to make from the default corpus and from the tenfold one, and how well each
does on its own held-out checks (tagging mAP after stage ``audio``, zero-shot accuracy after stage
``audio_text``).

The encoder files live in the cache of the machine that made them; a fresh clone has none of the tenfold
ones. So the sweep keeps each corpus's numbers as a small record beside its run records
(:func:`write_encoder_records`: ``encoders-<audio_text file>.json`` in ``results/``, with the files'
sha256 and the provenance of the process that wrote it), and :func:`corpus_encoders` reads a corpus from
such a record, else from this machine's cache. Nothing is pretrained here: the sweep's first tenfold run
makes the tenfold files (:func:`~clipaac_lib.experiments.sweep.run_sweep`).

Notebook: ``notebooks/08_scarcity.ipynb``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from clipaac_lib.common import atomic_write_json
from clipaac_lib.experiments.provenance import provenance
from clipaac_lib.experiments.scarcity import TENFOLD_CORPUS
from clipaac_lib.model import ModelConfig
from clipaac_lib.pretrain import PretrainConfig, PretrainedFile, find_pretrained, pretrained_path
from clipaac_lib.train import TrainConfig

__all__ = ["CORPORA", "ENCODER_COLUMNS", "corpus_encoders", "encoder_record_name", "write_encoder_records"]

Folder = str | os.PathLike[str] | None

CORPORA: dict[str, dict[str, Any]] = {"default": {}, "tenfold": TENFOLD_CORPUS}
#: Words for the columns of :func:`corpus_encoders` on a page.
ENCODER_COLUMNS = {"clips": "corpus clips", "made": "made", "minutes": "minutes to make",
                   "map": "held-out tagging mAP", "zero_shot": "held-out zero-shot accuracy",
                   "chance": "zero-shot chance", "source": "numbers from"}
#: The numbers a corpus row holds (and its record keeps).
_NUMBERS = ("minutes", "map", "zero_shot", "chance")


def _recipe(corpus: str, smoke: bool) -> PretrainConfig:
    return TrainConfig(smoke=smoke, pretrain_overrides=CORPORA[corpus]).pretrain_config()


def encoder_record_name(corpus: str, model_config: str = "small", *, smoke: bool = False) -> str:
    """The record's file name: ``encoders-<stem of the audio_text file>.json``. The stem holds the hash of
    the recipe and the architecture, so a record answers only the files it describes."""
    stem = pretrained_path("audio_text", ModelConfig.preset(model_config), _recipe(corpus, smoke)).stem
    return f"encoders-{stem}.json"


def _last(made: PretrainedFile, column: str) -> float:
    """``column`` at the last epoch of ``made``'s own stage (NaN when that epoch lacks it)."""
    value = made.history[-1].get(column)
    return math.nan if value is None else float(value)


def _from_cache(corpus: str, model_config: str, smoke: bool) -> dict[str, Any] | None:
    """The corpus's numbers from this machine's cache (both stages' files), or None when not made."""
    encoder, recipe = ModelConfig.preset(model_config), _recipe(corpus, smoke)
    audio = find_pretrained("audio", encoder, recipe)
    text = find_pretrained("audio_text", encoder, recipe)
    if audio is None or text is None:
        return None
    seconds = float(audio.record.get("seconds", math.nan)) + float(text.record.get("seconds", math.nan))
    return {"minutes": seconds / 60, "map": _last(audio, "val_map"), "zero_shot": _last(text, "val_zero_shot"),
            "chance": _last(text, "val_chance"), "sha256": {"audio": audio.sha256, "audio_text": text.sha256}}


def _from_records(name: str, folders: Sequence[Folder]) -> dict[str, Any] | None:
    """The first readable record called ``name`` in ``folders``."""
    for folder in folders:
        if folder is None:
            continue
        path = Path(folder) / name
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as error:
            raise ValueError(f"{path} is not a readable encoder record ({error}); delete it and run the sweep "
                             "again to rewrite it") from error
    return None


def write_encoder_records(folder: str | os.PathLike[str], model_config: str = "small", *, smoke: bool = False,
                          command: str = "") -> list[Path]:
    """Write the record of every corpus whose two files are in this machine's cache and that ``folder``
    has no record of yet; return the paths written. The provenance (date, CPU, threads) is this process's:
    the sweep calls this right after making the files, in the process that made them."""
    written = []
    for corpus in CORPORA:
        path = Path(folder) / encoder_record_name(corpus, model_config, smoke=smoke)
        numbers = None if path.exists() else _from_cache(corpus, model_config, smoke)
        if numbers is None:
            continue
        record = {"corpus": corpus, "clips": _recipe(corpus, smoke).corpus.clips, "model_config": model_config,
                  **numbers, "provenance": provenance(wall_seconds=numbers["minutes"] * 60,
                                                      threads=torch.get_num_threads(), command=command)}
        atomic_write_json(path, record)
        written.append(path)
    return written


def corpus_encoders(model_config: str = "small", *, smoke: bool = False,
                    folders: Sequence[Folder] = ()) -> pd.DataFrame:
    """One row per pretraining corpus of the sweep (``default``, ``tenfold``): its ``clips``, whether its
    numbers exist (``made``), the ``minutes`` its two stages took to make (on the machine that made them),
    the held-out tagging ``map`` after stage ``audio``, the held-out ``zero_shot`` accuracy after stage
    ``audio_text``, its ``chance`` level, and the ``source`` of the numbers: a record in ``folders`` (the
    sweep's, with the date and CPU it was made on) before this machine's cache. Each corpus holds out its
    own clips (``PretrainConfig.held_out``), so the checks are each corpus's own."""
    rows = []
    for corpus in CORPORA:
        record = _from_records(encoder_record_name(corpus, model_config, smoke=smoke), folders)
        numbers = record if record is not None else _from_cache(corpus, model_config, smoke)
        if record is not None:
            origin = record.get("provenance", {})
            source = f"record of {str(origin.get('date', '?'))[:10]} ({origin.get('cpu', 'unknown CPU')})"
        else:
            source = "this machine's cache" if numbers is not None else "not made yet"
        values = {k: float(numbers[k]) if numbers is not None else math.nan for k in _NUMBERS}
        rows.append({"corpus": corpus, "clips": _recipe(corpus, smoke).corpus.clips, "made": numbers is not None,
                     **values, "source": source})
    return pd.DataFrame(rows).set_index("corpus")
