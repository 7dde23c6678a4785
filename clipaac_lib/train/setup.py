"""Building what a run needs from its :class:`TrainConfig`: seeds, data, vocabulary, model.

``dataset="clotho"`` with no ``data_root`` downloads Clotho v2.1 into ``$CLIPAAC_CACHE/data`` the first
time a run needs it (:func:`ensure_clotho`: md5-checked, resumable, extracted once; a mirror through
``$CLIPAAC_CLOTHO_URL`` and ``$CLIPAAC_CLOTHO_CHECKSUMS``), so notebook 5 on Colab needs no separate
download step. Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from clipaac_lib.common import ChecksumError, DownloadError, resolve_device
from clipaac_lib.data import (
    ENV_BASE_URL,
    ENV_CHECKSUMS,
    SPLITS,
    CaptionPairs,
    ClothoDataset,
    ExtractionError,
    NoSameClipBatchSampler,
    PairBatch,
    PairItem,
    Vocabulary,
    collate_pairs,
    dataset_folder,
    download_clotho,
    make_synthetic_clotho,
)
from clipaac_lib.model import CLIPAAC, ModelConfig, tokenize
from clipaac_lib.pretrain import (
    INIT_WEIGHTS,
    LoadReport,
    apply_init,
    download_weights,
    ensure_pretrained,
    freeze_encoder,
    weights_sha256,
)
from clipaac_lib.train import distributed as D
from clipaac_lib.train.config import ConfigError, TrainConfig
from clipaac_lib.train.dataroot import data_root
from clipaac_lib.train.rundir import RunDir

__all__ = ["BuiltModel", "InitWeights", "LimitedDataset", "TrainData", "build_model", "build_model_config",
           "clotho_splits", "collate_train", "data_root", "default_num_workers", "ensure_clotho", "init_weights",
           "load_data", "model_sample_rate", "open_split", "open_test_split", "seed_everything",
           "untrained_model"]

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (model initialisation, batch order, dropout)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_num_workers(device: str) -> int:
    """Loader workers when ``num_workers`` is not set: 0 on a CPU (the cores train; measured in
    ``benchmarks/README.md``, workers only add overhead there), on CUDA one per core left over from the
    training process, at most 8 (and at most the cores divided among the processes under torchrun)."""
    if resolve_device(device).type != "cuda":
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_process = cores // max(int(os.environ.get("LOCAL_WORLD_SIZE", "1")), 1)
    return max(0, min(8, per_process - 1))


def clotho_splits(config: TrainConfig) -> list[str]:
    """The Clotho source splits a run reads: its ``train_split`` and ``test_split`` (and ``val_split`` with
    ``select_checkpoint="best"``), e.g. ``train`` + ``test`` = development, validation, evaluation."""
    names = [config.train_split, config.test_split]
    if config.select_checkpoint == "best":
        names.append(config.val_split)
    return list(dict.fromkeys(source for name in names for source in SPLITS.get(name, (name,))))


def _clotho_present(folder: Path, splits: list[str]) -> bool:
    """Each split's captions CSV and its clips are there (extracted by download_clotho, or by hand)."""
    for split in splits:
        clips = folder / split
        if not (folder / f"clotho_captions_{split}.csv").is_file():
            return False
        if not (clips / ".extracted.json").is_file() and not any(clips.glob("*.wav")):
            return False
    return True


def ensure_clotho(config: TrainConfig, splits: Iterable[str] | None = None) -> Path | None:
    """For ``dataset="clotho"``: the dataset folder, downloaded first when the source ``splits`` (default
    :func:`clotho_splits`: those the run reads) are missing; None for any other dataset.

    Only the cache's copy (``data_root`` unset: ``$CLIPAAC_CACHE/data/clotho_v2.1``) is downloaded, through
    :func:`~clipaac_lib.data.download_clotho` (md5-checked against the release's table or the mirror's
    ``$CLIPAAC_CLOTHO_CHECKSUMS``, resumed after an interruption, each archive extracted once), from
    Zenodo or ``$CLIPAAC_CLOTHO_URL``. A ``data_root`` without the files, or a missing copy under
    ``torchrun`` (the processes would wait on one download), raises :class:`ConfigError` saying how to get
    it; a failed download raises its own error (``DownloadError``, ``ChecksumError``, ``ExtractionError``)
    on one line naming the URL and what to do. Notebook: ``notebooks/05_train.ipynb``.
    """
    if config.dataset != "clotho":
        return None
    root = data_root(config)
    folder = dataset_folder(root)
    splits = clotho_splits(config) if splits is None else list(splits)
    if _clotho_present(folder, splits):
        return folder
    if config.data_root is not None:
        raise ConfigError(
            f"dataset='clotho' but {folder} holds no Clotho captions and clips for {', '.join(splits)}; download "
            f"it first with `clipaac data clotho --root {config.data_root}`, leave data_root unset (the cache's "
            "copy is downloaded on first use) or use dataset='synthetic'")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError(f"dataset='clotho' but {folder} holds no Clotho yet; under torchrun download it first "
                          "with `clipaac data clotho` (one process), then start the run")
    source = os.environ.get(ENV_BASE_URL) or "Zenodo"
    log.warning("Clotho is not in %s yet: downloading %s from %s (once; the whole release is about 7 GB)",
                folder, ", ".join(splits), source)
    try:
        return download_clotho(root, splits=splits)
    except (DownloadError, ChecksumError, ExtractionError) as err:
        advice = (f"Check the network and run again (a partial download resumes), set ${ENV_BASE_URL} to a "
                  f"mirror (and ${ENV_CHECKSUMS} to its md5 table if its files differ), fetch it with "
                  "`clipaac data clotho`, or use dataset='synthetic'.")
        raise type(err)(" ".join(f"dataset='clotho': downloading Clotho into {folder} failed: {err} "
                                 f"{advice}".split())) from err


class LimitedDataset(Dataset):
    """The first ``limit`` clips of a :class:`~clipaac_lib.data.ClothoDataset` (same item format)."""

    def __init__(self, base: ClothoDataset, limit: int | None) -> None:
        self.base = base
        self.size = len(base) if limit is None else min(limit, len(base))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < self.size:
            raise IndexError(f"clip {index} outside [0, {self.size})")
        return self.base[index]

    def captions(self, index: int) -> list[str]:
        return self.base.captions(index)

    @property
    def file_names(self) -> list[str]:
        return self.base.file_names[: self.size]

    def __getattr__(self, name: str) -> Any:  # sample_rate, split, folder, ...
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)


def open_split(config: TrainConfig, split: str, sample_rate: int, limit: int | None,
               progress: bool = False, audio_dtype: str = "float32") -> LimitedDataset:
    """A split of the configured dataset at the model's rate, cut to ``max_seconds``, decoded-audio cached.

    The default synthetic set is generated on first use (offline, deterministic), Clotho downloaded into
    the cache (:func:`ensure_clotho`); a folder that already holds a Clotho-format dataset is used as it is.
    """
    root = data_root(config)
    folder = dataset_folder(root)
    if config.dataset == "synthetic" and not any(folder.glob("clotho_captions_*.csv")):
        make_synthetic_clotho(root, progress=progress)  # the embedded default: generated offline, once
    ensure_clotho(config, SPLITS.get(split, (split,)))  # dataset="clotho": downloaded into the cache once
    ds = ClothoDataset(root, split, sample_rate=sample_rate, max_seconds=config.max_seconds, cache=True,
                       progress=progress, audio_dtype=audio_dtype)
    return LimitedDataset(ds, limit)


def open_test_split(config: TrainConfig, sample_rate: int | None = None) -> LimitedDataset:
    """The run's evaluation split (``test_split``, ``limit_test_clips``) at the model's rate."""
    rate = sample_rate or model_sample_rate(config)
    return open_split(config, config.test_split, rate, config.limit_test_clips, progress=config.progress)


def collate_train(items: list[PairItem], vocab: Vocabulary, max_words: int,
                  pad_to: int | None = None) -> PairBatch:
    """:func:`clipaac_lib.data.collate_pairs` plus ``text_tokens`` (B, 77), the CLIP BPE ids of the
    captions: a :class:`~clipaac_lib.data.PairBatch`; with ``pad_to`` the audio is zero-padded to that
    many samples (``audio_lengths`` keep the true ones)."""
    batch = collate_pairs(items, vocab, max_words=max_words)
    batch = dataclasses.replace(batch, text_tokens=tokenize(list(batch.captions)))  # (B, 77)
    audio = batch.audio  # (B, S)
    if pad_to is not None and audio.shape[1] < pad_to:
        batch = dataclasses.replace(batch, audio=torch.nn.functional.pad(audio, (0, pad_to - audio.shape[1])))
    return batch  # audio (B, S) or (B, pad_to)


@dataclass
class TrainData:
    """Training loader (its batch sampler shards global batches under torchrun), test split, vocabulary."""

    train: LimitedDataset
    test: LimitedDataset
    vocab: Vocabulary
    loader: DataLoader
    batch_sampler: NoSameClipBatchSampler | D.ShardedBatchSampler
    val: LimitedDataset | None = None  # the held-out split of select_checkpoint="best"


def load_data(config: TrainConfig, run_dir: RunDir | None, info: D.DistInfo | None = None,
              sample_rate: int | None = None) -> TrainData:
    """Open the splits, build (or read back) the vocabulary and the training loader.

    The training split yields int16 audio (half the bytes to the GPU; :mod:`clipaac_lib.train.step`
    turns it into float there), the test split float32.

    The vocabulary comes from the training captions; it is written to the run directory, and read
    from there when present (a resumed run keeps its ids).
    """
    info = info or D.DistInfo()
    rate = sample_rate or model_sample_rate(config)
    show = config.progress and info.is_main
    if info.is_main:  # rank 0 generates and caches the data first; the others then just read it
        train_ds = open_split(config, config.train_split, rate, config.limit_train_clips, show, "int16")
        test_ds = open_split(config, config.test_split, rate, config.limit_test_clips, show)
    D.barrier()
    if not info.is_main:
        train_ds = open_split(config, config.train_split, rate, config.limit_train_clips, audio_dtype="int16")
        test_ds = open_split(config, config.test_split, rate, config.limit_test_clips)
    if run_dir is not None and run_dir.vocab_file.is_file():
        vocab = Vocabulary.load(run_dir.vocab_file)
    else:
        captions = [c for i in range(len(train_ds)) for c in train_ds.captions(i)]
        vocab = Vocabulary.build(captions, min_count=config.min_word_count)
        if run_dir is not None and info.is_main:
            run_dir.path.mkdir(parents=True, exist_ok=True)
            vocab.save(run_dir.vocab_file)
    pairs = CaptionPairs(train_ds)
    sampler: NoSameClipBatchSampler | D.ShardedBatchSampler = NoSameClipBatchSampler(
        pairs, config.batch_size, shuffle=True, seed=config.seed, drop_last=False,
        captions_per_clip=1 if config.epoch_captions == "one" else None)
    if info.is_distributed:
        sampler = D.ShardedBatchSampler(sampler, info.rank, info.world_size)
    workers = config.num_workers if config.num_workers is not None else default_num_workers(config.device)
    loader = DataLoader(
        pairs, batch_sampler=sampler, num_workers=workers,
        collate_fn=partial(collate_train, vocab=vocab, max_words=config.max_words,
                           pad_to=round(config.max_seconds * rate) if config.fixed_length else None),
        pin_memory=torch.cuda.is_available() and config.device != "cpu",
        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(config.seed),
    )
    val_ds = (open_split(config, config.val_split, rate, None, show and info.is_main)
              if config.select_checkpoint == "best" else None)
    return TrainData(train_ds, test_ds, vocab, loader, sampler, val_ds)


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def model_sample_rate(config: TrainConfig) -> int:
    """The audio rate of the run's model (its preset's, unless ``model_overrides`` sets one)."""
    override = config.model_overrides.get("audio", {}).get("sample_rate")
    return int(override) if override is not None else ModelConfig.preset(config.model_config).sample_rate


def build_model_config(config: TrainConfig, vocab_size: int) -> ModelConfig:
    """The ``ModelConfig`` of a run: the ``small``/``paper`` preset, ``model_overrides`` (nested dict),
    then ``audio_memory`` and the decoder's ``dropout`` from the training configuration."""
    data = _merge(ModelConfig.preset(config.model_config, vocab_size=vocab_size).to_dict(),
                  config.model_overrides)
    data["vocab_size"] = vocab_size
    if config.audio_memory is not None:
        data["audio_memory"] = config.audio_memory
    data.setdefault("decoder", {})["dropout"] = config.dropout
    data["logit_scale_init"] = 1.0 / config.temperature_init
    try:
        return ModelConfig.from_dict(data)
    except (TypeError, ValueError) as err:
        raise ValueError(f"model_overrides {config.model_overrides!r} give an invalid ModelConfig: {err}") from err


@dataclass(frozen=True)
class InitWeights:
    """The file an initialisation strategy loads: ``source`` is ``"published"`` (AudioCLIP's release,
    for ``model_config="paper"``) or ``"book"`` (the book's own pretraining, :mod:`clipaac_lib.pretrain`,
    for every other architecture); ``sha256`` goes into the run's ``config.json``, with ``tensors``, the
    key accounting of the load into this run's model (``loaded``, ``skipped`` and ``kept`` counts, the
    skip reasons) once :func:`build_model` has loaded it."""

    init: str
    path: Path
    sha256: str
    source: str
    tensors: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"init": self.init, "file": self.path.name, "sha256": self.sha256,
                               "source": self.source}
        if self.tensors is not None:
            out["tensors"] = self.tensors
        return out


def _accounting(report: LoadReport) -> dict[str, Any]:
    reasons: dict[str, int] = {}
    for reason in report.skipped.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    return {"loaded": len(report.loaded), "skipped": len(report.skipped), "kept": len(report.kept),
            "skipped_reasons": reasons}


def init_weights(config: TrainConfig, model_config: ModelConfig) -> InitWeights | None:
    """The checkpoint ``config.init`` loads (None for ``"random"``): the published file for the paper's
    preset (downloaded when absent, from ``$CLIPAAC_WEIGHTS_URL`` when set; its sha256 the one it was
    verified against), the book's own pretraining otherwise (made when absent: about two minutes on 2 CPU
    cores for the small model, once per cache)."""
    if config.init == "random":
        return None
    if config.model_config == "paper":
        name = INIT_WEIGHTS[config.init]
        path = download_weights(name)  # verified against the registry's (or the mirror's) sha256
        weights = InitWeights(config.init, path, weights_sha256(name), "published")
    else:
        made = ensure_pretrained(config.init, model_config, config.pretrain_config(), progress=config.progress)
        weights = InitWeights(config.init, made.path, made.sha256, "book")
    return weights


@dataclass(frozen=True)
class BuiltModel:
    """What :func:`build_model` made: the ``model``, its ``model_config`` and the ``weights`` that
    initialised its encoder (None for ``init="random"`` or ``init=False``), with the key accounting of
    that load in ``weights.tensors``."""

    model: CLIPAAC
    model_config: ModelConfig
    weights: InitWeights | None = None


def build_model(config: TrainConfig, vocab_size: int, device: torch.device, init: bool = True) -> BuiltModel:
    """A fresh model on ``device`` (seed it first for reproducible weights), initialised with
    ``config.init`` (:func:`init_weights`) and frozen with ``config.freeze_encoder``. With ``alpha == 0``
    the model has no text head: nothing would train it, and the paper's systems without contrastive
    learning "only utilize the audio-head in encoders" (section 4.1). Notebook: ``notebooks/05_train.ipynb``."""
    model_config = build_model_config(config, vocab_size)
    model = CLIPAAC(model_config)
    weights = None
    if init and config.init != "random":
        state = torch.random.get_rng_state()  # making the pretrained file must not move the run's seed
        weights = init_weights(config, model_config)
        torch.random.set_rng_state(state)
        assert weights is not None
        report = apply_init(model, config.init, checkpoint=weights.path)
        if report is not None:
            log.info("%s", report.summary())
            weights = dataclasses.replace(weights, tensors=_accounting(report))
    if config.freeze_encoder:
        freeze_encoder(model)
    if config.alpha == 0:  # no contrastive loss: audio head and decoder only (paper Table 1, systems 1-2)
        model.drop_text_head()
    return BuiltModel(model.to(device), model_config, weights)


def untrained_model(config: TrainConfig, vocab_size: int, device: torch.device) -> CLIPAAC:
    """The run's starting point: the model :func:`build_model` gives after seeding with ``config.seed``
    (what training starts from, so "untrained" comparisons use the very same weights)."""
    seed_everything(config.seed)
    return build_model(config, vocab_size, device).model.eval()
