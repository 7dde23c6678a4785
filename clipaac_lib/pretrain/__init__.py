"""The book's own pretraining: stand-ins for ESResNeXt on AudioSet and for AudioCLIP (paper Table 1).

The paper initialises its encoder from published checkpoints trained on AudioSet. They fit only the
paper-size model and cannot be downloaded offline, so for the small model the book makes its own, by
the same recipe in miniature: :mod:`~clipaac_lib.pretrain.corpus` (a labelled corpus, no captions),
:mod:`~clipaac_lib.pretrain.tagging` (stage ``audio``), :mod:`~clipaac_lib.pretrain.audio_text` (stage
``audio_text``), :mod:`~clipaac_lib.pretrain.store` (cache). The files have the published files' key
layouts and are loaded by the same loaders as the published files (:mod:`~clipaac_lib.pretrain.published`:
the AudioCLIP and ESResNeXt-fbsp checkpoints, their download, key accounting and the initialisation
strategies of Table 1). :mod:`~clipaac_lib.pretrain.plots` draws the pretraining curves.

Notebook: ``notebooks/06_ablations.ipynb`` (section "Pretraining"); command: ``clipaac pretrain``.
"""

from clipaac_lib.pretrain.corpus import LABELS, CorpusConfig, LabelledCorpus, make_corpus
from clipaac_lib.pretrain.recipe import PretrainConfig
from clipaac_lib.pretrain.store import PretrainedFile, ensure_pretrained, find_pretrained, pretrained_path

__all__ = ["PretrainConfig", "CorpusConfig", "LabelledCorpus", "LABELS", "make_corpus", "PretrainedFile",
           "ensure_pretrained", "find_pretrained", "pretrained_path"]
