"""The caption-scarcity sweep's two pretraining corpora side by side (issue 31, item 2): what the book's
pretrained encoders cost to make from the default corpus and from the tenfold one, and how well each
does on its own held-out checks (tagging mAP after stage ``audio``, zero-shot accuracy after stage
``audio_text``), read from the files' records in the cache. Nothing is pretrained here: the tenfold files
are made by the sweep's first tenfold run.

Notebook: ``notebooks/08_scarcity.ipynb``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from clipaac_lib.experiments.scarcity import TENFOLD_CORPUS
from clipaac_lib.model import ModelConfig
from clipaac_lib.pretrain import PretrainedFile, find_pretrained
from clipaac_lib.train import TrainConfig

__all__ = ["ENCODER_COLUMNS", "corpus_encoders"]

CORPORA: dict[str, dict[str, Any]] = {"default": {}, "tenfold": TENFOLD_CORPUS}
#: Words for the columns of :func:`corpus_encoders` on a page.
ENCODER_COLUMNS = {"clips": "corpus clips", "made": "made", "minutes": "minutes to make",
                   "map": "held-out tagging mAP", "zero_shot": "held-out zero-shot accuracy",
                   "chance": "zero-shot chance"}


def _last(made: PretrainedFile | None, column: str) -> float:
    """``column`` at the last epoch of ``made``'s own stage (NaN when the file is not made)."""
    if made is None:
        return math.nan
    value = made.history[-1].get(column)
    return math.nan if value is None else float(value)


def corpus_encoders(model_config: str = "small", *, smoke: bool = False) -> pd.DataFrame:
    """One row per pretraining corpus of the sweep (``default``, ``tenfold``): its ``clips``, whether both
    stages' files are in the cache (``made``), the ``minutes`` the two stages took to make (as each file
    recorded, on whatever machine made it), the held-out tagging ``map`` after stage ``audio``, the
    held-out ``zero_shot`` accuracy after stage ``audio_text`` and its ``chance`` level. Each corpus holds
    out its own clips (``PretrainConfig.held_out``), so the checks are each corpus's own."""
    encoder = ModelConfig.preset(model_config)
    rows = []
    for corpus, overrides in CORPORA.items():
        recipe = TrainConfig(smoke=smoke, pretrain_overrides=overrides).pretrain_config()
        audio = find_pretrained("audio", encoder, recipe)
        text = find_pretrained("audio_text", encoder, recipe)
        made = audio is not None and text is not None
        seconds = (audio.record.get("seconds", math.nan) + text.record.get("seconds", math.nan)) if made else math.nan
        rows.append({"corpus": corpus, "clips": recipe.corpus.clips, "made": made, "minutes": seconds / 60,
                     "map": _last(audio, "val_map"), "zero_shot": _last(text, "val_zero_shot"),
                     "chance": _last(text, "val_chance")})
    return pd.DataFrame(rows).set_index("corpus")
