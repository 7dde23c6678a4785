"""The two models behind FENSE and SPIDEr-FL: where they come from, how they are cached and loaded.

- the sentence-BERT model ``paraphrase-TinyBERT-L6-v2`` (FENSE's similarity, Zhou et al., ICASSP 2022),
  loaded with ``sentence_transformers.SentenceTransformer`` from its folder;
- the fluency-error detector ``echecker_clotho_audiocaps_base`` released with the fense code
  (blmoistawinde/fense, release V0.1): a ``torch.save`` dict ``{"model_type": "bert-base-uncased",
  "num_classes": 6, "state_dict": ...}`` holding a BERT encoder (``encoder.*``) and a linear
  classifier (``clf.*``) over the [CLS] vector. Only its encoder's configuration and tokenizer come from
  ``bert-base-uncased``; every weight is in the checkpoint, so bert-base-uncased's weights are not needed.

Both are fetched on first use, file by file, with :func:`clipaac_lib.common.download.download`
(resumable, progress bar) into ``<cache>/fense/<model>/`` (``$CLIPAAC_CACHE``), never into
``~/.cache/huggingface`` or ``~/.cache/torch``. With ``HF_HUB_OFFLINE`` set nothing is downloaded
(``file://`` mirrors excepted): only files already in the cache are used. Anything missing raises
:class:`ModelMetricsUnavailableError`, whose message names the model, the folder and how to get it.

This follows aac-metrics 0.6.0 (``functional/fer.py``, ``functional/sbert_sim.py``), which cannot be
installed here: it requires msclap 1.3.x, which requires numpy < 2 (the project pins numpy 2.4).

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import urllib.error
import warnings
from pathlib import Path
from typing import Any

from clipaac_lib.common import Checksum, ChecksumError, DownloadError, download, subdir, verify

__all__ = [
    "CACHE_SUBDIR",
    "DOWNLOAD_HINT",
    "ECHECKER_BASE",
    "SBERT_TINYBERT",
    "ModelMetricsUnavailableError",
    "ModelMetricsUnavailableWarning",
    "ModelSource",
    "ModernModels",
    "RemoteFile",
    "download_modern_models",
    "ensure_model",
    "hub_offline",
    "load_echecker",
    "load_sbert",
]

CACHE_SUBDIR = "fense"
#: How to get the models (in warnings and errors).
DOWNLOAD_HINT = "clipaac_lib.metrics.download_modern_models()"
#: The checkpoint's file name inside an echecker folder, and the folder of its encoder's config/tokenizer.
ECHECKER_CHECKPOINT = "echecker.ckpt"
ECHECKER_ENCODER = "encoder"


class ModelMetricsUnavailableWarning(UserWarning):
    """FENSE, sentence-BERT similarity or SPIDEr-FL are None: a model they need is not available.
    ``missing``: the names of the missing models; the message also says where and how to get them."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


# Said once per process, not at every evaluation: a notebook scoring many corpora offline gets one note.
warnings.filterwarnings("once", category=ModelMetricsUnavailableWarning)


class ModelMetricsUnavailableError(RuntimeError):
    """A model needed by FENSE / SPIDEr-FL is not in the cache and could not be downloaded; ``model``
    is its name."""

    def __init__(self, message: str, model: str = "") -> None:
        super().__init__(message)
        self.model = model


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """One file of a model: ``path`` inside the model's folder, its ``url`` and expected ``checksum``
    (None where no checksum is published)."""

    path: str
    url: str
    checksum: Checksum | None = None


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """A model: ``name`` (its folder under ``<cache>/fense`` and its name in messages), its ``files``,
    ``about`` (what and how big) and ``origin`` (where its files are published), both for messages,
    and, for an echecker, the ``encoder_type`` its checkpoint must declare as ``model_type``."""

    name: str
    files: tuple[RemoteFile, ...]
    about: str = ""
    origin: str = ""
    encoder_type: str | None = None

    def folder(self) -> Path:
        """``<cache>/fense/<name>`` (not created)."""
        return subdir(CACHE_SUBDIR) / self.name

    def missing(self) -> list[str]:
        """The files not (or not verifiably) in :meth:`folder`."""
        return [f.path for f in self.files if not verify(self.folder() / f.path, f.checksum)]


_HUB = "https://huggingface.co"
_SBERT_REPO = f"{_HUB}/sentence-transformers/paraphrase-TinyBERT-L6-v2/resolve/main"
_BERT_REPO = f"{_HUB}/google-bert/bert-base-uncased/resolve/main"
_FENSE_RELEASE = "https://github.com/blmoistawinde/fense/releases/download/V0.1"

#: FENSE's sentence-BERT. Neither aac-metrics nor fense publishes a checksum of its files (both let
#: sentence-transformers fetch it from the Hugging Face hub by name), so none is checked here. Sizes
#: could not be checked from this machine: the weights (pytorch_model.bin, a 6-layer, 768-wide
#: TinyBERT, about 67 M float32 parameters) are about 270 MB, every other file is a few kB, except
#: vocab.txt (about 230 kB).
SBERT_TINYBERT = ModelSource(
    name="paraphrase-TinyBERT-L6-v2",
    files=tuple(
        RemoteFile(path, f"{_SBERT_REPO}/{path}")
        for path in (
            "modules.json",
            "sentence_bert_config.json",
            "config.json",
            "pytorch_model.bin",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "vocab.txt",
            "1_Pooling/config.json",
        )
    ),
    about="sentence-BERT, about 270 MB",
    origin="https://huggingface.co/sentence-transformers/paraphrase-TinyBERT-L6-v2",
)

#: FENSE's fluency-error detector. The checkpoint's sha256 is the one fense and aac-metrics 0.6.0
#: check (``_PRETRAIN_ECHECKERS_DICT``); its size (a bert-base encoder plus a 6-way classifier,
#: about 110 M float32 parameters) is about 440 MB. bert-base-uncased's config.json (about 570 bytes),
#: vocab.txt (about 231 kB) and tokenizer_config.json (a few bytes) have no published sha256/md5 (the
#: hub lists git blob ids only; sizes not re-checked from this machine) and are not checked.
ECHECKER_BASE = ModelSource(
    name="echecker_clotho_audiocaps_base",
    files=(
        RemoteFile(
            ECHECKER_CHECKPOINT,
            f"{_FENSE_RELEASE}/echecker_clotho_audiocaps_base.ckpt",
            Checksum("sha256", "1a719f090af70614bbdb9f9437530b7e133c48cfa4a58d964de0d47fc974a2fa"),
        ),
        *(
            RemoteFile(f"{ECHECKER_ENCODER}/{name}", f"{_BERT_REPO}/{name}")
            for name in ("config.json", "vocab.txt", "tokenizer_config.json")
        ),
    ),
    about="fluency-error detector, about 440 MB",
    origin=f"{_FENSE_RELEASE}/echecker_clotho_audiocaps_base.ckpt and {_HUB}/google-bert/bert-base-uncased",
    encoder_type="bert-base-uncased",
)


@dataclasses.dataclass(frozen=True)
class ModernModels:
    """The models FENSE / SPIDEr-FL use: ``sbert`` and ``echecker`` (default: the published ones)."""

    sbert: ModelSource = SBERT_TINYBERT
    echecker: ModelSource = ECHECKER_BASE


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value (the Makefile sets it): then only ``file://``
    URLs are fetched."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


def _how_to_get(source: ModelSource) -> str:
    origin = f" (from {source.origin})" if source.origin else ""
    return (
        f"get it with `{DOWNLOAD_HINT}` (network needed; {source.about}) or copy its files into "
        f"{source.folder()}{origin}"
    )


def ensure_model(source: ModelSource, *, download_missing: bool = True) -> Path:
    """The folder of ``source`` with every file present and verified, downloading what is missing
    (unless ``download_missing`` is False or ``HF_HUB_OFFLINE`` is set); raises
    :class:`ModelMetricsUnavailableError` otherwise."""
    folder = source.folder()
    missing = source.missing()
    if not missing:
        return folder
    by_path = {f.path: f for f in source.files}
    offline = hub_offline() and any(not by_path[p].url.startswith("file:") for p in missing)
    if not download_missing or offline:
        why = "HF_HUB_OFFLINE is set, so nothing was downloaded" if download_missing else "not downloaded"
        raise ModelMetricsUnavailableError(
            f"{source.name} is missing ({len(missing)} of {len(source.files)} files not in {folder}; "
            f"{why}): {_how_to_get(source)}",
            source.name,
        )
    for path in missing:
        remote = by_path[path]
        try:
            download(remote.url, folder / path, remote.checksum, desc=f"{source.name}: {path}")
        except (DownloadError, ChecksumError, urllib.error.URLError, OSError) as err:
            raise ModelMetricsUnavailableError(
                f"{source.name} is missing and could not be downloaded ({err}): {_how_to_get(source)}",
                source.name,
            ) from err
    return folder


def download_modern_models(models: ModernModels | None = None) -> dict[str, Path]:
    """Download (once) the sentence-BERT and fluency-error models into ``<cache>/fense``; returns
    ``{model name: folder}``. Raises :class:`ModelMetricsUnavailableError` if one cannot be fetched."""
    models = models or ModernModels()
    return {source.name: ensure_model(source) for source in (models.sbert, models.echecker)}


def default_device() -> str:
    """``"cuda"`` when a GPU is visible, else ``"cpu"`` (aac-metrics' ``cuda_if_available``)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _QuietLoading:
    """Inside: transformers' weight-loading progress bars off, the global torch RNG left untouched."""

    def __enter__(self) -> None:
        import torch
        from transformers.utils import logging as hf_logging

        self._bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        self._rng = torch.random.fork_rng(devices=[])  # random init must not shift training's RNG
        self._rng.__enter__()

    def __exit__(self, *exc: Any) -> None:
        from transformers.utils import logging as hf_logging

        self._rng.__exit__(*exc)
        if self._bars:
            hf_logging.enable_progress_bar()


@functools.lru_cache(maxsize=4)
def _sbert(folder: str, device: str) -> Any:
    from sentence_transformers import SentenceTransformer

    with _QuietLoading():
        model = SentenceTransformer(folder, device=device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_sbert(source: ModelSource, *, device: str | None = None, download_missing: bool = True) -> Any:
    """The ``SentenceTransformer`` of ``source`` (fetched first if needed), in eval mode, loaded once
    per process and device."""
    folder = ensure_model(source, download_missing=download_missing)
    return _sbert(str(folder), device or default_device())


def _read_checkpoint(path: Path, verified: bool) -> dict[str, Any]:
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if not verified:
            raise
        # a checksum-pinned file (the published one): its full pickle may be read
        return torch.load(path, map_location="cpu", weights_only=False)


@functools.lru_cache(maxsize=4)
def _echecker(folder: str, encoder_type: str | None, verified: bool, device: str) -> tuple[Any, Any]:
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    states = _read_checkpoint(Path(folder) / ECHECKER_CHECKPOINT, verified)
    if encoder_type is not None and states["model_type"] != encoder_type:
        raise ModelMetricsUnavailableError(
            f"{folder}/{ECHECKER_CHECKPOINT} declares model_type {states['model_type']!r}, expected "
            f"{encoder_type!r}: the folder holds another checkpoint; delete it and download again",
            Path(folder).name,
        )
    encoder_dir = str(Path(folder) / ECHECKER_ENCODER)
    with _QuietLoading():
        config = AutoConfig.from_pretrained(encoder_dir)
        model = torch.nn.Module()  # same parameter names as fense's BERTFlatClassifier
        model.encoder = AutoModel.from_config(config)
        model.dropout = torch.nn.Dropout(config.hidden_dropout_prob)
        model.clf = torch.nn.Linear(config.hidden_size, int(states["num_classes"]))
    state = dict(states["state_dict"])
    expected = set(model.state_dict())
    for key in [k for k in state if k not in expected and k.endswith("embeddings.position_ids")]:
        del state[key]  # a buffer older transformers saved (aac-metrics drops it the same way)
    model.load_state_dict(state)
    model.eval().to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    return model, tokenizer


def load_echecker(
    source: ModelSource, *, device: str | None = None, download_missing: bool = True
) -> tuple[Any, Any]:
    """(classifier, tokenizer) of the fluency-error detector ``source`` (fetched first if needed),
    in eval mode, loaded once per process and device. The classifier is a ``torch.nn.Module`` with
    ``encoder`` (BERT), ``dropout`` and ``clf`` (linear), as fense's ``BERTFlatClassifier``."""
    folder = ensure_model(source, download_missing=download_missing)
    checkpoint = next(f for f in source.files if f.path == ECHECKER_CHECKPOINT)
    return _echecker(str(folder), source.encoder_type, checkpoint.checksum is not None, device or default_device())
