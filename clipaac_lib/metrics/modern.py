"""Scores the field ranks by since 2023: SPIDEr-FL, FENSE, sentence-BERT similarity and vocabulary size.

DCASE task 6 ranked systems by SPIDEr-FL in 2023 and by FENSE in 2024 (its metric set: METEOR,
SPIDEr-FL, FENSE, vocabulary). The definitions are fense's (Zhou et al., "Can audio captions be
evaluated with image caption metrics?", ICASSP 2022) as aac-metrics 0.6.0 implements them:

- ``sbert_sim``: per clip, the mean over references of the cosine similarity between the candidate's
  and each reference's sentence-BERT embedding (``paraphrase-TinyBERT-L6-v2``); mean over clips;
- fluency penalty: a fluency-error detector (``echecker_clotho_audiocaps_base``) gives each candidate
  an error probability; a candidate with probability above :data:`ERROR_THRESHOLD` (0.9, strictly
  above, ``prob > 0.9`` as in fense and aac-metrics) has its score multiplied by
  ``1 - PENALTY = 0.1``, any other by 1;
- ``fense``: mean over clips of (per-clip ``sbert_sim``) x penalty;
- ``spider_fl``: mean over clips of (per-clip SPIDEr) x penalty;
- ``vocab``: the number of distinct words (whitespace-separated) over all candidates;
- SPIDEr-max (several candidates per clip) is in ``multi_candidates.py``.

:func:`clipaac_lib.metrics.evaluate_captions` (``modern=...``) computes them on the PTB-tokenised
captions, as aac-metrics' DCASE evaluation does; the functions here score the text they are given.
Without the models (offline, nothing in the cache), the model-based scores are None and one
:class:`ModelMetricsUnavailableWarning` says what is missing and how to get it (``modern_models.py``).

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from typing import Any

from clipaac_lib.metrics.modern_models import (
    ModelMetricsUnavailableError,
    ModelMetricsUnavailableWarning,
    ModernModels,
    load_echecker,
    load_sbert,
)

__all__ = [
    "ERROR_THRESHOLD",
    "MODERN_KEYS",
    "PENALTY",
    "fense",
    "fluency_error_probs",
    "fluency_penalties",
    "max_over_candidates",
    "modern_scores",
    "penalised_mean",
    "sbert_sim",
    "sentence_similarities",
    "spider_fl",
    "unavailable_warning",
    "vocab",
]

#: The keys :func:`~clipaac_lib.metrics.evaluate_captions` adds with ``modern=...``, after the paper's.
MODERN_KEYS: tuple[str, ...] = ("spider_fl", "fense", "sbert_sim", "vocab")

#: fense / aac-metrics ``error_threshold``: a caption is penalised when its error probability is above it.
ERROR_THRESHOLD = 0.9
#: fense / aac-metrics ``penalty``: a penalised score is multiplied by ``1 - PENALTY`` (0.1).
PENALTY = 0.9

_BATCH = 32  # aac-metrics' batch size for both models
_ECHECKER_MAX_LEN = 64  # fense's infer_preprocess


# --- combination rules (no model) ---------------------------------------------------------------


def fluency_penalties(error_probs: Sequence[float]) -> list[float]:
    """The factor of each caption: ``1 - PENALTY`` (0.1) when its error probability is above
    :data:`ERROR_THRESHOLD` (0.9), else 1."""
    return [1.0 - PENALTY if p > ERROR_THRESHOLD else 1.0 for p in error_probs]


def penalised_mean(clip_scores: Sequence[float], error_probs: Sequence[float]) -> float:
    """Mean over clips of score x fluency penalty: FENSE from per-clip ``sbert_sim``, SPIDEr-FL from
    per-clip SPIDEr. NaN if a clip's score is NaN (as aac-metrics' tensor mean)."""
    if len(clip_scores) != len(error_probs):
        raise ValueError(f"{len(clip_scores)} clip scores but {len(error_probs)} error probabilities")
    if not clip_scores:
        raise ValueError("no clips")
    factors = fluency_penalties(error_probs)
    return math.fsum(s * f for s, f in zip(clip_scores, factors, strict=True)) / len(clip_scores)


def max_over_candidates(clip_candidate_scores: Sequence[Sequence[float]]) -> float:
    """Mean over clips of the best score among that clip's candidates (``[clip][candidate]``): the
    rule of SPIDEr-max (aac-metrics' ``mult_cands_metric`` with ``selection="max"``). A clip with a
    NaN score gives NaN (torch's argmax picks NaN)."""
    if not clip_candidate_scores or any(len(c) == 0 for c in clip_candidate_scores):
        raise ValueError("every clip needs at least one candidate score")
    best = [math.nan if any(math.isnan(s) for s in c) else max(c) for c in clip_candidate_scores]
    return math.fsum(best) / len(best)


def vocab(candidates: Sequence[str]) -> int:
    """The number of distinct words of the candidates (split on whitespace, as aac-metrics'
    ``vocab.cands``; score PTB-tokenised captions to count ``dog`` and ``dog.`` once)."""
    if isinstance(candidates, str):
        raise TypeError("candidates must be a list of strings, not one string")
    return len({word for cand in candidates for word in cand.split()})


# --- model-based parts (raise ModelMetricsUnavailableError without the models) --------------------


def sentence_similarities(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    models: ModernModels | None = None,
    device: str | None = None,
    download_missing: bool = True,
) -> list[float]:
    """Per clip: the mean over its references of the cosine similarity of sentence-BERT embeddings."""
    import torch

    _check_clips(candidates, references)
    model = load_sbert((models or ModernModels()).sbert, device=device, download_missing=download_missing)
    flat = [ref for refs in references for ref in refs]
    with torch.inference_mode():
        emb = model.encode(list(candidates), batch_size=_BATCH, convert_to_tensor=True,
                           normalize_embeddings=True, show_progress_bar=False)
        ref_emb = model.encode(flat, batch_size=_BATCH, convert_to_tensor=True,
                               normalize_embeddings=True, show_progress_bar=False)
    sims, start = [], 0
    for i, refs in enumerate(references):
        sims.append(float((emb[i] @ ref_emb[start : start + len(refs)].T).mean().item()))
        start += len(refs)
    return sims


def _echecker_text(text: str) -> str:
    """fense's ``text_preprocess``: punctuation removed, lower case."""
    return re.sub(r"[^\w\s]", "", text).lower()


def fluency_error_probs(
    candidates: Sequence[str],
    *,
    models: ModernModels | None = None,
    device: str | None = None,
    download_missing: bool = True,
) -> list[float]:
    """The fluency-error detector's probability that each caption is disfluent (its last output,
    ``error``, after a sigmoid), computed as fense does (punctuation removed, lower case, 64 tokens)."""
    import torch

    if isinstance(candidates, str):
        raise TypeError("candidates must be a list of strings, not one string")
    model, tokenizer = load_echecker(
        (models or ModernModels()).echecker, device=device, download_missing=download_missing
    )
    target = next(model.parameters()).device
    probs: list[float] = []
    for start in range(0, len(candidates), _BATCH):
        texts = [_echecker_text(c) for c in candidates[start : start + _BATCH]]
        batch = tokenizer(texts, truncation=True, padding="max_length", max_length=_ECHECKER_MAX_LEN,
                          return_tensors="pt")
        inputs = {k: batch[k].to(target) for k in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.inference_mode():
            hidden = model.encoder(**inputs).last_hidden_state[:, 0, :]
            logits = model.clf(model.dropout(hidden))
        probs.extend(float(p) for p in torch.sigmoid(logits)[:, -1].cpu())
    return probs


# --- public scores: None + one warning without the models -----------------------------------------


def _check_clips(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> None:
    if isinstance(candidates, str) or isinstance(references, str):
        raise TypeError("candidates must be a list of strings and references a list of lists of strings")
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} reference lists")
    if not candidates:
        raise ValueError("no clips to evaluate")
    for i, refs in enumerate(references):
        if isinstance(refs, str) or len(refs) == 0:
            raise ValueError(f"references[{i}] must be a non-empty list of strings")


def _unavailable(metric: str, errors: Sequence[ModelMetricsUnavailableError]) -> None:
    """One warning for ``metric``, naming every missing model (pointing at the caller's caller)."""
    warnings.warn(unavailable_warning(metric, errors), stacklevel=3)


def unavailable_warning(
    metrics: str, errors: Sequence[ModelMetricsUnavailableError]
) -> ModelMetricsUnavailableWarning:
    """The one warning for ``metrics`` ("fense", "spider_fl, fense, sbert_sim"...) naming every missing model."""
    verb = "is" if "," not in metrics else "are"
    return ModelMetricsUnavailableWarning(
        f"{metrics} {verb} None: " + "; ".join(map(str, errors)), tuple(e.model for e in errors)
    )


def _both(
    candidates: Sequence[str], references: Sequence[Sequence[str]], *, models: ModernModels | None,
    device: str | None,
) -> tuple[list[float] | None, list[float] | None, list[ModelMetricsUnavailableError]]:
    """(similarities or None, error probabilities or None, errors): each model tried, even if the other
    is missing, so that one message can name everything that is missing."""
    sims = probs = None
    errors: list[ModelMetricsUnavailableError] = []
    try:
        sims = sentence_similarities(candidates, references, models=models, device=device)
    except ModelMetricsUnavailableError as err:
        errors.append(err)
    try:
        probs = fluency_error_probs(candidates, models=models, device=device)
    except ModelMetricsUnavailableError as err:
        errors.append(err)
    return sims, probs, errors


def sbert_sim(
    candidates: Sequence[str], references: Sequence[Sequence[str]], *, models: ModernModels | None = None,
    device: str | None = None,
) -> float | None:
    """Mean over clips of :func:`sentence_similarities`; None (and one warning) without the model."""
    try:
        sims = sentence_similarities(candidates, references, models=models, device=device)
    except ModelMetricsUnavailableError as err:
        _unavailable("sbert_sim", [err])
        return None
    return math.fsum(sims) / len(sims)


def fense(
    candidates: Sequence[str], references: Sequence[Sequence[str]], *, models: ModernModels | None = None,
    device: str | None = None,
) -> float | None:
    """FENSE: mean over clips of sentence-BERT similarity x fluency penalty; None (one warning) when a
    model is missing."""
    _check_clips(candidates, references)
    sims, probs, errors = _both(candidates, references, models=models, device=device)
    if sims is None or probs is None:
        _unavailable("fense", errors)
        return None
    return penalised_mean(sims, probs)


def spider_fl(
    candidates: Sequence[str], per_clip_spider: Sequence[float], *, models: ModernModels | None = None,
    device: str | None = None,
) -> float | None:
    """SPIDEr-FL: mean over clips of SPIDEr x fluency penalty of the clip's candidate.
    ``per_clip_spider``: ``evaluate_captions(candidates, references, per_clip=True)["per_clip"]["spider"]``
    (needs SPICE). None (one warning) without the fluency-error detector."""
    if len(candidates) != len(per_clip_spider):
        raise ValueError(f"{len(candidates)} candidates but {len(per_clip_spider)} SPIDEr values")
    try:
        probs = fluency_error_probs(candidates, models=models, device=device)
    except ModelMetricsUnavailableError as err:
        _unavailable("spider_fl", [err])
        return None
    return penalised_mean(per_clip_spider, probs)


def modern_scores(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    per_clip_spider: Sequence[float] | None,
    *,
    models: ModernModels | None = None,
    device: str | None = None,
) -> tuple[dict[str, Any], list[ModelMetricsUnavailableError]]:
    """``({spider_fl, fense, sbert_sim, vocab}, errors)`` for :func:`evaluate_captions`: each model is
    loaded (downloaded) once; a missing one makes the scores needing it None and is reported in
    ``errors`` (what is missing, how to get it); ``spider_fl`` is also None without per-clip SPIDEr
    (no SPICE)."""
    _check_clips(candidates, references)
    sims, probs, errors = _both(candidates, references, models=models, device=device)
    scores: dict[str, Any] = dict.fromkeys(MODERN_KEYS)
    if probs is not None and per_clip_spider is not None:
        scores["spider_fl"] = penalised_mean(per_clip_spider, probs)
    if sims is not None and probs is not None:
        scores["fense"] = penalised_mean(sims, probs)
    if sims is not None:
        scores["sbert_sim"] = math.fsum(sims) / len(sims)
    scores["vocab"] = vocab(candidates)
    return scores, errors
