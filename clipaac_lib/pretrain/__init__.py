"""Encoder weights before captioning (layer 2): the published checkpoints and the book's own pretraining.

The paper initialises its encoder from published checkpoints trained on AudioSet (Table 1):
:mod:`~clipaac_lib.pretrain.published` downloads and verifies AudioCLIP and ESResNeXt-fbsp, loads them
with key accounting and applies the initialisation strategies. They fit only the paper-size model and
cannot be downloaded offline, so for the small model the book makes its own by the same recipe in
miniature: :mod:`~clipaac_lib.pretrain.corpus` (a labelled corpus, no captions, disjoint from the
captioning set), :mod:`~clipaac_lib.pretrain.tagging` (stage ``audio``), :mod:`~clipaac_lib.pretrain.audio_text`
(stage ``audio_text``), :mod:`~clipaac_lib.pretrain.fit` (their shared loop), :mod:`~clipaac_lib.pretrain.store`
(cache). These files have the published files' key layouts and go through the same loaders.
:mod:`~clipaac_lib.pretrain.plots` draws the pretraining curves.

Notebook: ``notebooks/06_ablations.ipynb`` (section "Pretraining"); command: ``clipaac pretrain``.
"""

from clipaac_lib.pretrain.corpus import LABELS, CorpusConfig, LabelledCorpus, make_corpus
from clipaac_lib.pretrain.plots import plot_pretraining, pretraining_history
from clipaac_lib.pretrain.published import (
    INIT_STRATEGIES,
    INIT_WEIGHTS,
    WEIGHTS,
    CheckpointMismatchError,
    LoadReport,
    WeightFile,
    apply_init,
    download_weights,
    freeze_encoder,
    load_audioclip,
    load_esresnext_audioset,
    read_state_dict,
    weights_present,
    weights_sha256,
)
from clipaac_lib.pretrain.recipe import PretrainConfig
from clipaac_lib.pretrain.store import PretrainedFile, ensure_pretrained, find_pretrained, pretrained_path

__all__ = [
    "weights_sha256",
    "INIT_STRATEGIES",
    "INIT_WEIGHTS",
    "LABELS",
    "WEIGHTS",
    "CheckpointMismatchError",
    "CorpusConfig",
    "LabelledCorpus",
    "LoadReport",
    "PretrainConfig",
    "PretrainedFile",
    "WeightFile",
    "apply_init",
    "download_weights",
    "ensure_pretrained",
    "find_pretrained",
    "freeze_encoder",
    "load_audioclip",
    "load_esresnext_audioset",
    "make_corpus",
    "plot_pretraining",
    "pretrained_path",
    "pretraining_history",
    "read_state_dict",
    "weights_present",
]
