"""Evaluation of CLIP-AAC on a split, and of a run directory.

One pass over the clips (:func:`run_split`) encodes each clip once and yields

- a caption per clip (greedy or beam search, :mod:`clipaac_lib.model.decode`), scored against the clip's
  references with :func:`clipaac_lib.metrics.evaluate_captions` over the whole split at once (CIDEr-D's
  document frequencies come from the evaluated corpus);
- the audio embedding A of each clip and the text embedding T of each reference caption, from which
  :func:`clipaac_lib.metrics.retrieval_recall` computes audio-to-text and text-to-audio recall@1/5/10 and
  :func:`clipaac_lib.metrics.retrieval_map` the text-to-audio mAP@10 (``t2a_map10``);
- optionally the teacher-forced caption negative log-likelihood per token (no label smoothing).

:func:`evaluate_and_save` scores a run's model (and the untrained one, rebuilt from the seed so it equals
the run's starting point) with the run's decoding settings and writes ``eval-<tag>/`` in the run
directory; saved evaluations are read back instead of recomputed. :func:`evaluate_run` is
``clipaac evaluate RUN_DIR``.

Notebook: ``notebooks/04_metrics.ipynb`` (metrics) and ``notebooks/05_train.ipynb`` (evaluation of a run).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from clipaac_lib.common import PAD_ID, resolve_device, tqdm
from clipaac_lib.data import ClipBatch, Vocabulary, collate_clips, teacher_forcing_tokens
from clipaac_lib.metrics import (
    chance_map,
    chance_recall,
    evaluate_captions,
    retrieval_map,
    retrieval_recall,
)
from clipaac_lib.model import CLIPAAC, DecodeConfig, search, tokenize
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.dataroot import digest_of_test_split
from clipaac_lib.train.evalstore import decode_config, evaluation_tag, read_evaluation, write_evaluation
from clipaac_lib.train.rundir import RunDir
from clipaac_lib.train.runs import RunResult, load_run_model, run_result
from clipaac_lib.train.scores import SplitScores
from clipaac_lib.train.setup import LimitedDataset, TrainData, open_test_split, untrained_model
from clipaac_lib.train.step import autocast_context, autocast_dtype

__all__ = ["SplitOutputs", "SplitPass", "equal_length_groups", "run_split", "score_split", "evaluate_and_save", "evaluate_run"]


@dataclass
class SplitOutputs:
    """What one pass over a split produced (``captions`` is None when decoding was off)."""

    file_names: list[str]
    references: list[list[str]]
    audio_emb: Tensor  # (N, L) float32, CPU
    text_emb: Tensor | None  # (sum of references, L) float32, CPU; None without a text head (alpha = 0)
    text_clip: Tensor  # (sum of references,) long: the clip of each reference
    captions: list[str] | None
    caption_nll: float | None  # mean per token, no label smoothing


def equal_length_groups(lengths: Sequence[int]) -> list[list[int]]:
    """Positions of a batch grouped by clip length (first-seen order): the clips that can be encoded
    together without padding."""
    groups: dict[int, list[int]] = {}
    for position, length in enumerate(lengths):
        groups.setdefault(int(length), []).append(position)
    return list(groups.values())


@dataclass(frozen=True)
class SplitPass:
    """How :func:`run_split` goes over a split: loader ``batch_size`` and ``num_workers``; ``decode`` the
    decoding settings (None: no captions); ``nll`` also the teacher-forced caption loss, on references
    cut to ``max_words``; ``autocast`` the mixed-precision dtype; a progress bar labelled ``desc``."""

    batch_size: int = 32
    decode: DecodeConfig | None = None
    nll: bool = False
    max_words: int = 30
    num_workers: int = 0
    autocast: torch.dtype | bool | None = None
    progress: bool = False
    desc: str = "evaluating"


@dataclass
class _Accumulator:
    """What the batches of one pass add up to (see :class:`SplitOutputs`)."""

    file_names: list[str] = field(default_factory=list)
    references: list[list[str]] = field(default_factory=list)
    audio_embs: list[Tensor] = field(default_factory=list)  # (B, L) per batch
    text_embs: list[Tensor] = field(default_factory=list)  # (R, L) per batch
    text_clip: list[int] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    nll_sum: float = 0.0
    nll_tokens: int = 0


def _group_nll(model: CLIPAAC, memory: Tensor, refs: list[list[str]], vocab: Vocabulary,
               max_words: int) -> tuple[float, int]:
    """Summed teacher-forced caption loss of every reference of a group of clips (memory (G, T, D)), and
    its number of tokens (no label smoothing)."""
    counts = torch.tensor([len(r) for r in refs], device=memory.device)
    memory = memory.repeat_interleave(counts, dim=0)  # (R_g, T, D)
    caption_in, caption_out = teacher_forcing_tokens([c for r in refs for c in r], vocab, max_words)
    logits = model.decode(memory, caption_in.to(memory.device))  # (R_g, M, V)
    target = caption_out.to(memory.device)  # (R_g, M)
    total = F.cross_entropy(logits.float().transpose(1, 2), target, ignore_index=PAD_ID, reduction="sum")
    return float(total), int((target != PAD_ID).sum())


def _add_batch(acc: _Accumulator, model: CLIPAAC, batch: ClipBatch, vocab: Vocabulary, how: SplitPass,
               device: torch.device) -> None:
    """Encode one batch's clips in groups of equal length (no padding), decode and score as asked."""
    refs = batch.captions
    embs: list[Tensor | None] = [None] * len(refs)
    captions: list[str] = [""] * len(refs)
    if model.text is not None:
        flat = [c for clip in refs for c in clip]
        acc.text_embs.append(model.encode_text(tokenize(flat).to(device)).float().cpu())  # (R, L)
    for group in equal_length_groups(batch.audio_lengths.tolist()):
        length = int(batch.audio_lengths[group[0]])
        enc = model.encode_audio(batch.audio[group, :length].to(device))  # audio_emb (G, L), memory (G, T, D)
        for position, emb in zip(group, enc.audio_emb.float().cpu(), strict=True):
            embs[position] = emb
        if how.decode is not None:
            rows = search(model, enc.memory, enc.memory_mask, how.decode).tokens
            for position, row in zip(group, rows, strict=True):
                captions[position] = vocab.decode(row)
        if how.nll:
            total, tokens = _group_nll(model, enc.memory, [refs[i] for i in group], vocab, how.max_words)
            acc.nll_sum, acc.nll_tokens = acc.nll_sum + total, acc.nll_tokens + tokens
    acc.text_clip.extend(len(acc.references) + i for i, clip in enumerate(refs) for _ in clip)
    acc.audio_embs.append(torch.stack(embs))  # (B, L)
    acc.captions.extend(captions)
    acc.file_names.extend(batch.file_names)
    acc.references.extend(refs)


@torch.no_grad()
def run_split(model: CLIPAAC, dataset: Dataset, vocab: Vocabulary, how: SplitPass | None = None, *,
              device: torch.device | str = "cpu") -> SplitOutputs:
    """Encode every clip of ``dataset`` once; decode captions when ``how.decode`` is given; embed every
    reference caption; with ``how.nll`` also the teacher-forced caption loss. The model is put in eval
    mode (and back to its previous mode afterwards).

    A clip's embedding and caption do not depend on the other clips loaded with it: the clips of a batch
    are encoded in groups of equal length (:func:`equal_length_groups`), so no clip is ever padded
    (training pads to the longest clip of its batch; see ``book/paper_to_code.md``).
    """
    how, device = how or SplitPass(), torch.device(device)
    was_training = model.training
    model.eval()
    loader = DataLoader(dataset, batch_size=how.batch_size, shuffle=False, num_workers=how.num_workers,
                        collate_fn=collate_clips, generator=torch.Generator())
    acc = _Accumulator()
    try:
        for batch in tqdm(loader, desc=how.desc, disable=not how.progress, leave=False):
            with autocast_context(device, how.autocast):
                _add_batch(acc, model, batch, vocab, how, device)
    finally:
        model.train(was_training)
    return SplitOutputs(
        file_names=acc.file_names,
        references=acc.references,
        audio_emb=torch.cat(acc.audio_embs),
        text_emb=torch.cat(acc.text_embs) if acc.text_embs else None,
        text_clip=torch.tensor(acc.text_clip, dtype=torch.long),
        captions=acc.captions if how.decode is not None else None,
        caption_nll=acc.nll_sum / max(acc.nll_tokens, 1) if how.nll else None,
    )


def score_split(outputs: SplitOutputs, *, caption_metrics: bool = True) -> SplitScores:
    """Corpus caption metrics (when captions were decoded and ``caption_metrics``), retrieval recall
    and text-to-audio mAP@10 (``t2a_map10``) with their chance levels, as a
    :class:`~clipaac_lib.train.scores.SplitScores`."""
    n_clips = len(outputs.file_names)
    per_clip = max((len(r) for r in outputs.references), default=5)
    scored = outputs.captions is not None and caption_metrics
    retrieval = None
    if outputs.text_emb is not None:
        retrieval = retrieval_recall(outputs.audio_emb, outputs.text_emb, outputs.text_clip)
        retrieval["t2a_map10"] = retrieval_map(outputs.audio_emb, outputs.text_emb, outputs.text_clip, k=10)
    return SplitScores(
        num_clips=n_clips,
        retrieval=retrieval,
        retrieval_chance={**chance_recall(n_clips, per_clip), "t2a_map10": chance_map(n_clips, k=10)},
        metrics=evaluate_captions(outputs.captions, outputs.references) if scored else None,
        caption_nll=outputs.caption_nll,
    )


def _evaluate(model: CLIPAAC, test: LimitedDataset, vocab: Vocabulary, config: TrainConfig,
              device: torch.device, label: str, split_digest: str) -> tuple[SplitScores, list[dict[str, Any]]]:
    dcfg = decode_config(config)
    how = SplitPass(batch_size=config.eval_batch_size, decode=dcfg, nll=True, max_words=config.max_words,
                    autocast=autocast_dtype(device, config.precision), progress=config.progress,
                    desc=f"captioning the {config.test_split} split ({label})")
    out = run_split(model, test, vocab, how, device=device)
    scores = dataclasses.replace(score_split(out, caption_metrics=config.caption_metrics), model=label,
                                 split=config.test_split, decode=dcfg.__dict__, config=config.to_dict(),
                                 run_hash=config.run_hash(), split_digest=split_digest)
    captions = [{"file_name": f, "caption": c, "references": r}
                for f, c, r in zip(out.file_names, out.captions or [], out.references, strict=True)]
    return scores, captions


def evaluate_and_save(run_dir: RunDir, config: TrainConfig, device: torch.device, *, reused: bool,
                      model: CLIPAAC | None = None, data: TrainData | None = None,
                      force: bool = False) -> RunResult:
    """Score the run's model (and the untrained one when ``config.eval_untrained``) on the test split,
    write the results into the run directory and return the :class:`~clipaac_lib.train.runs.RunResult`."""
    tag, digest = evaluation_tag(config), digest_of_test_split(config)
    saved = None if force else read_evaluation(run_dir, tag, digest)
    test = vocab = None
    if saved is None:
        if model is None:
            model, vocab = load_run_model(run_dir, device)
        vocab = data.vocab if data is not None else vocab
        test = data.test if data is not None else open_test_split(config, model.config.sample_rate)
        scores, captions = _evaluate(model, test, vocab, config, device, "trained", digest)
        write_evaluation(run_dir, tag, scores, captions)
    else:
        scores, captions = saved
    untrained = None
    if config.eval_untrained:
        utag = f"untrained-{tag}"
        saved_untrained = None if force else read_evaluation(run_dir, utag, digest)
        if saved_untrained is None:
            if vocab is None:
                vocab = Vocabulary.load(run_dir.vocab_file)
            fresh = untrained_model(config, len(vocab), device)
            test = test if test is not None else open_test_split(config, fresh.config.sample_rate)
            untrained, untrained_captions = _evaluate(fresh, test, vocab, config, device, "untrained", digest)
            write_evaluation(run_dir, utag, untrained, untrained_captions)
        else:
            untrained = saved_untrained[0]
    return run_result(run_dir, config, reused=reused, scores=scores, untrained_scores=untrained, captions=captions)


def evaluate_run(run_dir: str | Path, *, device: str = "auto", force: bool = False,
                 **changes: Any) -> RunResult:
    """``clipaac evaluate RUN_DIR``: evaluate a (finished or interrupted) run with its saved configuration,
    optionally changing evaluation fields (``beam_size``, ``max_caption_len``, ``length_penalty``,
    ``caption_metrics``, ``eval_untrained``, ...). Returns the ``RunResult``."""
    rd = RunDir(run_dir).require()
    config = TrainConfig.from_dict(rd.read_config_dict())
    config = config.replace(device=device, **changes).validate()
    return evaluate_and_save(rd, config, resolve_device(config.device), reused=True, force=force)
