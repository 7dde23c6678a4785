"""The book's pretrained encoders on disk: made once, cached, verified, found again.

``ensure_pretrained(init, model_config)`` returns the checkpoint that initialisation strategy ``init``
loads for a model of ``model_config``'s encoder architecture, making it first if the cache
(``$CLIPAAC_CACHE/weights``, :func:`clipaac_lib.common.paths.subdir`) does not hold it:

- ``"audio"``: ``ESRNXFBSP-book-<hash>.pt``, stage ``audio`` (:mod:`clipaac_lib.pretrain.tagging`), in
  the key layout of the published ``ESRNXFBSP.pt``;
- ``"audio_text"``: ``AudioCLIP-book-<hash>.pt``, stage ``audio_text``
  (:mod:`clipaac_lib.pretrain.audio_text`), made from stage ``audio``'s file, in the layout of
  ``AudioCLIP-Full-Training.pt`` (without ``visual.*``: the book has no image head).

Beside each file a ``.json`` records the recipe, the architecture, the training curves, the seconds it
took and the file's sha256; a file whose sha256 differs from its record is made again (with a warning
naming it). The check is :func:`clipaac_lib.common.download.verify`'s, as for downloads: the file is hashed once
and the result remembered in ``<file>.ok`` while its size and time stamp stay the same. Files are written atomically, so an interrupted run leaves no half file. The same recipe
and seed give the same bytes. ``<hash>`` covers the recipe and the architecture
(:meth:`PretrainConfig.stage_hash`).

Notebook: ``notebooks/06_ablations.ipynb`` (section "Pretraining").
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from clipaac_lib.common import Checksum, atomic_write_bytes, atomic_write_json, subdir, verify
from clipaac_lib.model import ModelConfig
from clipaac_lib.pretrain.audio_text import train_audio_text
from clipaac_lib.pretrain.corpus import LabelledCorpus, make_corpus
from clipaac_lib.pretrain.recipe import PretrainConfig
from clipaac_lib.pretrain.tagging import train_tagger

__all__ = ["STAGES", "PretrainedFile", "architecture", "pretrained_path", "find_pretrained", "ensure_pretrained"]

log = logging.getLogger(__name__)

#: Initialisation strategy -> file name prefix (the published file each one stands in for).
STAGES: dict[str, str] = {"audio": "ESRNXFBSP-book", "audio_text": "AudioCLIP-book"}


@dataclass(frozen=True)
class PretrainedFile:
    """A made checkpoint: its strategy, path, sha256 and record (recipe, curves, seconds)."""

    init: str
    path: Path
    sha256: str
    record: dict[str, Any]

    @property
    def history(self) -> list[dict[str, Any]]:
        """The training curves of this file's own stage (epoch 0 = before training)."""
        return list(self.record["history"])


def architecture(init: str, model_config: ModelConfig) -> dict[str, Any]:
    """What a stage's file depends on in ``model_config``: the audio head (stage ``audio``), plus the
    text head and embedding size (stage ``audio_text``)."""
    _check_init(init)
    data = model_config.to_dict()
    if init == "audio":
        return {"audio": data["audio"]}
    return {"audio": data["audio"], "text": data["text"], "embed_dim": data["embed_dim"]}


def pretrained_path(init: str, model_config: ModelConfig, config: PretrainConfig | None = None,
                    cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where ``ensure_pretrained`` keeps the file of ``init`` for ``model_config`` (it may not exist)."""
    config = config or PretrainConfig()
    folder = Path(cache_dir) if cache_dir is not None else subdir("weights")
    return folder / f"{STAGES[init]}-{config.stage_hash(init, architecture(init, model_config))}.pt"


def _record_path(path: Path) -> Path:
    return path.with_suffix(".json")


def find_pretrained(init: str, model_config: ModelConfig, config: PretrainConfig | None = None,
                    cache_dir: str | os.PathLike[str] | None = None) -> PretrainedFile | None:
    """The cached file of ``init`` when it exists and matches its recorded sha256; else None (never
    trains). A file that does not match its record is reported in the log."""
    path = pretrained_path(init, model_config, config, cache_dir)
    try:
        record = json.loads(_record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not path.is_file() or not isinstance(record.get("sha256"), str):
        return None
    if not verify(path, Checksum("sha256", record["sha256"])):  # hashed once, then remembered in <file>.ok
        log.warning("%s does not match the sha256 recorded beside it (%s); making it again", path,
                    record["sha256"])
        return None
    return PretrainedFile(init, path, record["sha256"], record)


def _check_init(init: str) -> None:
    if init not in STAGES:
        raise ValueError(f"pretraining makes init 'audio' or 'audio_text', got {init!r} ('random' needs none)")


def _save(path: Path, state: dict[str, torch.Tensor], record: dict[str, Any]) -> PretrainedFile:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()  # of the bytes just written
    atomic_write_json(_record_path(path), {**record, "sha256": digest, "file": path.name})
    return PretrainedFile(record["init"], path, digest, {**record, "sha256": digest, "file": path.name})


def ensure_pretrained(init: str, model_config: ModelConfig, config: PretrainConfig | None = None, *,
                      cache_dir: str | os.PathLike[str] | None = None, progress: bool = True,
                      _corpus: dict[str, LabelledCorpus] | None = None) -> PretrainedFile:
    """The cached checkpoint of ``init`` (``"audio"`` or ``"audio_text"``) for ``model_config``'s
    encoder, pretrained first when absent (``"audio_text"`` makes ``"audio"`` first if needed).

    Deterministic for ``config`` (its ``seed`` and corpus). Seconds to minutes on a CPU: see
    ``benchmarks/README.md``.
    """
    _check_init(init)
    config = config or PretrainConfig()
    found = find_pretrained(init, model_config, config, cache_dir)
    if found is not None:
        return found
    corpus = _corpus if _corpus is not None else {}
    if not corpus:
        corpus["train"], corpus["val"] = make_corpus(config.corpus, progress=progress).split(config.held_out)
    path = pretrained_path(init, model_config, config, cache_dir)
    record: dict[str, Any] = {"init": init, "recipe": config.to_dict(), "architecture": architecture(init, model_config)}
    start = time.perf_counter()
    if init == "audio":
        log.info("pretraining the audio head (the book's ESResNeXt on AudioSet) into %s", path)
        state, history = train_tagger(model_config.audio, corpus["train"], corpus["val"], config, progress=progress)
        return _save(path, state, {**record, "history": history, "seconds": time.perf_counter() - start})
    audio = ensure_pretrained("audio", model_config, config, cache_dir=cache_dir, progress=progress, _corpus=corpus)
    audio_state = torch.load(audio.path, map_location="cpu", weights_only=True)
    start = time.perf_counter()
    log.info("pretraining audio and text heads (the book's AudioCLIP) into %s", path)
    state, history = train_audio_text(model_config, audio_state, corpus["train"], corpus["val"], config,
                                      progress=progress)
    record.update(history=history, seconds=time.perf_counter() - start, audio_sha256=audio.sha256)
    return _save(path, state, record)
