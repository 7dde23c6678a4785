"""Data for clipaac: Clotho v2.1 and the offline synthetic Clotho-format default, text and batching.

Public API (other packages build on these names)::

    ds = ClothoDataset(root, split, sample_rate=16000, max_seconds=30.0, cache=True, on_error="raise")
    download_clotho(root)                 # Zenodo (or a mirror) -> <root>/clotho_v2.1
    make_synthetic_clotho(root, seed=0)   # the embedded default, same layout and loader
    scene = sample_scene(rng, duration); render_scene(scene, rng, sample_rate)  # its scenes (EVENTS)
    split_digest(root, split)             # a split's fingerprint: tells a changed split
    vocab = Vocabulary.build(captions, min_count=1); normalize_caption(text)
    pairs = CaptionPairs(ds); NoSameClipBatchSampler(pairs, batch_size)
    collate_pairs(items, vocab) -> PairBatch; collate_clips(items) -> ClipBatch  # typed batches
    teacher_forcing_tokens(captions, vocab)  # the decoder's input and target tokens
    folder = prepare_dataset("synthetic" or "clotho", seed=0, download=False)  # a notebook's data
    log_mel_spectrogram(audio, sample_rate); plot_spectrograms(specs, titles, xlabel=..., ylabel=...)

torchaudio, py7zr, pandas and seaborn are imported only when used. Notebook: ``notebooks/01_data.ipynb``.
"""

from clipaac_lib.data.audio import AudioError, load_audio, pad_batch, resample
from clipaac_lib.data.batching import (
    CaptionPairs,
    ClipBatch,
    NoSameClipBatchSampler,
    PairBatch,
    PairItem,
    collate_clips,
    collate_pairs,
    teacher_forcing_tokens,
)
from clipaac_lib.data.cache import INT16_SCALE
from clipaac_lib.data.clotho import SOURCE_SPLITS, SPLITS, ClothoDataset, dataset_folder, default_data_root
from clipaac_lib.data.clotho_csv import ClothoFormatError, DataIssue, read_captions_csv
from clipaac_lib.data.clotho_download import (
    CLOTHO_V21_FILES,
    ENV_BASE_URL,
    ENV_CHECKSUMS,
    ClothoFile,
    ExtractionError,
    download_clotho,
)
from clipaac_lib.data.mentions import events_named, scene_events
from clipaac_lib.data.prepare import DATASETS, prepare_dataset
from clipaac_lib.data.spectrogram import log_mel_spectrogram, plot_spectrograms
from clipaac_lib.data.split_digest import split_digest
from clipaac_lib.data.summary import DatasetSummary, dataset_summary, plot_summary
from clipaac_lib.data.synth_scenes import Scene, render_scene, sample_scene
from clipaac_lib.data.synth_sounds import EVENTS
from clipaac_lib.data.synthetic import (
    DEFAULT_CLIP_SECONDS,
    DEFAULT_SIZES,
    SyntheticConfig,
    default_synthetic_root,
    make_synthetic_clotho,
)
from clipaac_lib.data.text import Vocabulary, normalize_caption, split_words

__all__ = [
    "ENV_BASE_URL",
    "ENV_CHECKSUMS",
    "ExtractionError",
    "PairItem",
    "INT16_SCALE",
    "AudioError",
    "CLOTHO_V21_FILES",
    "CaptionPairs",
    "DEFAULT_CLIP_SECONDS",
    "DEFAULT_SIZES",
    "EVENTS",
    "ClipBatch",
    "ClothoDataset",
    "ClothoFile",
    "ClothoFormatError",
    "DATASETS",
    "DataIssue",
    "DatasetSummary",
    "NoSameClipBatchSampler",
    "PairBatch",
    "SOURCE_SPLITS",
    "SPLITS",
    "Scene",
    "SyntheticConfig",
    "Vocabulary",
    "collate_clips",
    "collate_pairs",
    "dataset_folder",
    "dataset_summary",
    "default_data_root",
    "default_synthetic_root",
    "download_clotho",
    "events_named",
    "load_audio",
    "log_mel_spectrogram",
    "make_synthetic_clotho",
    "normalize_caption",
    "pad_batch",
    "plot_spectrograms",
    "plot_summary",
    "prepare_dataset",
    "scene_events",
    "read_captions_csv",
    "render_scene",
    "resample",
    "sample_scene",
    "split_digest",
    "split_words",
    "teacher_forcing_tokens",
]
