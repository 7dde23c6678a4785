"""Saved evaluations of a run: ``eval-<tag>/`` folders, found again by their decoding settings and split.

``eval-<tag>/`` holds ``scores.json`` (corpus scores, retrieval recall, decoding settings, the test
split's digest) and ``captions.csv`` / ``captions.json`` (a caption per clip with its references);
``scores.json`` is written last, so its presence means the evaluation is complete. The tag
(:func:`evaluation_tag`) names the decoding settings, the split and the clip limit; a saved evaluation
is reused only while the split on disk has the digest it was scored on. Notebook:
``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from clipaac_lib.common import atomic_write_json, atomic_write_text
from clipaac_lib.model import DecodeConfig
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.rundir import RunDir, rows_to_csv
from clipaac_lib.train.scores import SplitScores

__all__ = ["decode_config", "discard_trained_evaluations", "evaluation_tag", "read_evaluation",
           "write_evaluation"]

log = logging.getLogger(__name__)


def decode_config(config: TrainConfig) -> DecodeConfig:
    """The decoding settings of a training configuration."""
    return DecodeConfig(beam_size=config.beam_size, max_len=config.max_caption_len,
                        length_penalty=config.length_penalty)


def evaluation_tag(config: TrainConfig) -> str:
    """Folder tag of an evaluation: decoding settings, split and clip limit, e.g. ``beam3-len30-lp1-test``."""
    tag = f"{decode_config(config).tag()}-{config.test_split}"
    return tag + (f"-first{config.limit_test_clips}" if config.limit_test_clips else "")


def write_evaluation(run_dir: RunDir, tag: str, scores: SplitScores, captions: list[dict[str, Any]]) -> Path:
    """Write ``scores.json`` and ``captions.csv``/``.json`` under ``eval-<tag>/``; return the folder."""
    folder = run_dir.eval_dir(tag)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "captions.json", captions)
    flat = [{**{k: v for k, v in row.items() if k != "references"},
             **{f"reference_{i + 1}": ref for i, ref in enumerate(row.get("references", []))}}
            for row in captions]
    atomic_write_text(folder / "captions.csv", rows_to_csv(flat))
    atomic_write_json(folder / "scores.json", scores.to_dict())  # written last: its presence means complete
    return folder


def read_evaluation(run_dir: RunDir, tag: str, split_digest: str = "") -> tuple[SplitScores, list[dict[str, Any]]] | None:
    """The saved scores and caption rows of evaluation ``tag``, or None when it never finished, or when
    ``split_digest`` (the test split on disk now; ``""``: unknown, not checked) differs from the one
    the scores were computed on (the split was regenerated or replaced since)."""
    folder = run_dir.eval_dir(tag)
    if not (folder / "scores.json").is_file():
        return None
    scores = SplitScores.from_dict(json.loads((folder / "scores.json").read_text(encoding="utf-8")))
    if split_digest and scores.split_digest != split_digest:
        log.warning("%s was scored on another version of the %s split (its files changed since): "
                    "it is not reused", folder, scores.split)
        return None
    captions = json.loads((folder / "captions.json").read_text(encoding="utf-8"))
    return scores, captions


def discard_trained_evaluations(run_dir: RunDir) -> list[Path]:
    """Remove every ``eval-<tag>/`` of the trained model (not ``eval-untrained-*``) and return them.

    Called when the run finishes: an evaluation made before then (``clipaac evaluate`` on the
    interrupted run) scored an earlier checkpoint, and reusing it would report that checkpoint's
    scores as the final model's. ``scores.json`` goes first, so a half-removed folder reads as absent."""
    removed = []
    for folder in sorted(run_dir.path.glob("eval-*")):
        if folder.name.startswith("eval-untrained-") or not folder.is_dir():
            continue
        (folder / "scores.json").unlink(missing_ok=True)
        shutil.rmtree(folder)
        removed.append(folder)
    return removed
