"""``evaluate_captions``: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D, SPICE and SPIDEr of a caption corpus.

The scores are pycocoevalcap's (the implementation behind published AAC results), computed the way
the DCASE / aac-metrics evaluations do: every caption is PTB-tokenised first, then all clips are
scored together, so CIDEr-D's document frequencies come from the references of the evaluated corpus
(score the whole test set at once, never batch by batch). SPIDEr = (CIDEr-D + SPICE) / 2.

One evaluation starts one JVM per tool (PTB tokenizer, METEOR, and SPICE when installed); METEOR
and SPICE run in their own processes while Python computes BLEU, ROUGE-L and CIDEr-D.
:func:`evaluate_corpora` scores several corpora (say, each reference held out in turn) with those same
three JVMs: each corpus is still scored on its own (its CIDEr-D document frequencies, its corpus METEOR),
and the per-caption tools (the tokenizer, SPICE) see all captions at once, which gives the same numbers.

:func:`evaluate_captions_timed` runs these steps: check the inputs and :class:`ScoringOptions`,
PTB-tokenise (``_tokenize``), start SPICE (a process) and METEOR (a thread) under ``_JavaScorers``,
which kills SPICE, in one place, if anything fails before its result is collected, score BLEU,
ROUGE-L and CIDEr-D here (``_python_metrics``), collect METEOR and SPICE, and build the returned
dicts (``_assemble``), and, with ``modern``, add SPIDEr-FL, FENSE, sentence-BERT similarity and
vocabulary size (``modern.py``; ``_modern``). Warnings point at the first caller outside this module.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple

import numpy as np

from clipaac_lib.metrics.java import find_java
from clipaac_lib.metrics.meteor import MeteorScorer
from clipaac_lib.metrics.modern_models import (
    ModelMetricsUnavailableError,
    ModelMetricsUnavailableWarning,
    ModernModels,
)
from clipaac_lib.metrics.paraphrase import load_index, meteor_words, prune_table
from clipaac_lib.metrics.ptb import ptb_tokenize
from clipaac_lib.metrics.spice import SpiceConfig, SpiceProcess, spice_available
from clipaac_lib.metrics.spice_install import SPICE_INSTALL_COMMAND, spice_dir

__all__ = [
    "METRIC_KEYS",
    "ScoringOptions",
    "SpiceUnavailableWarning",
    "evaluate_captions",
    "evaluate_captions_timed",
    "evaluate_corpora",
]

log = logging.getLogger(__name__)

#: The caption metrics, in the order of the paper's tables (Chen et al. 2022, Tables 1-2).
METRIC_KEYS: tuple[str, ...] = (
    "bleu_1",
    "bleu_2",
    "bleu_3",
    "bleu_4",
    "rouge_l",
    "meteor",
    "cider_d",
    "spice",
    "spider",
)


class SpiceUnavailableWarning(UserWarning):
    """SPICE (and so SPIDEr) was skipped because Stanford CoreNLP 3.6.0 is not installed."""


@dataclasses.dataclass(frozen=True)
class ScoringOptions:
    """How :func:`evaluate_captions_timed` runs: ``spice`` ("auto", True, False), the ``java``
    executable (None: found), ``prune_meteor`` (False: METEOR's full paraphrase table, same scores,
    slower), SPICE's ``spice_cache_dir`` (None: the default cache) and ``spice_config``; ``modern``
    (False, "auto", True: add :data:`~clipaac_lib.metrics.modern.MODERN_KEYS`), the ``modern_models``
    (None: the published ones) and their torch ``modern_device`` (None: a GPU when there is one)."""

    spice: bool | Literal["auto"] = "auto"
    java: str | os.PathLike[str] | None = None
    prune_meteor: bool = True
    spice_cache_dir: str | os.PathLike[str] | None = None
    spice_config: SpiceConfig | None = None
    modern: bool | Literal["auto"] = False
    modern_models: ModernModels | None = None
    modern_device: str | None = None


class _Tokens(NamedTuple):
    """The PTB-tokenised corpus: one candidate per clip and the references of each clip."""

    cands: list[str]
    refs: list[list[str]]


@dataclasses.dataclass
class _Results:
    """Raw scorer outputs: Python's (corpus, per clip) dicts, METEOR's and SPICE's (corpus, per clip)."""

    python_scores: dict[str, float]
    python_clips: dict[str, list[float]]
    meteor: tuple[float, list[float]]
    spice: tuple[float, list[float]] | None


def _warn(message: str | Warning, category: type[Warning]) -> None:
    """``warnings.warn`` pointing at the first caller outside this module (the caller of evaluate_captions)."""
    frame = sys._getframe(1)
    stacklevel = 2  # the function calling _warn
    while frame.f_back is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
        stacklevel += 1
    warnings.warn(message, category, stacklevel=stacklevel)


def _check_inputs(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> None:
    """Raise TypeError / ValueError naming the first malformed clip, or mismatched list lengths."""
    if isinstance(candidates, str) or not isinstance(candidates, Sequence):
        raise TypeError(
            f"candidates must be a list of strings (one per clip), got {type(candidates).__name__}"
        )
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise TypeError(
            "references must be a list of lists of strings (the reference captions of each clip), "
            f"got {type(references).__name__}"
        )
    if len(candidates) != len(references):
        raise ValueError(
            f"{len(candidates)} candidates but {len(references)} reference lists: give exactly one candidate "
            "and one list of references per clip, in the same order"
        )
    if not candidates:
        raise ValueError("no clips to evaluate: candidates and references are empty")
    for i, cand in enumerate(candidates):
        if not isinstance(cand, str):
            raise TypeError(
                f"candidates[{i}] is {type(cand).__name__} {cand!r}; every candidate must be a str"
            )
    for i, refs in enumerate(references):
        if isinstance(refs, str) or not isinstance(refs, Sequence):
            raise TypeError(
                f"references[{i}] is {type(refs).__name__} {refs!r}; it must be a list of strings "
                "(wrap a single reference as [reference])"
            )
        if len(refs) == 0:
            raise ValueError(f"references[{i}] is empty; every clip needs at least one reference caption")
        for j, ref in enumerate(refs):
            if not isinstance(ref, str):
                raise TypeError(
                    f"references[{i}][{j}] is {type(ref).__name__} {ref!r}; references must be str"
                )


def _want_spice(spice: bool | Literal["auto"], cache_dir: str | os.PathLike[str] | None) -> bool:
    """Whether to run SPICE; raises for spice=True without CoreNLP, warns for "auto" without it."""
    if spice not in ("auto", True, False):
        raise ValueError(f"spice must be 'auto', True or False, got {spice!r}")
    if spice is False:
        return False
    if spice_available(cache_dir):
        return True
    if spice is True:
        from clipaac_lib.metrics.spice import SpiceNotInstalledError

        raise SpiceNotInstalledError(
            f"spice=True but Stanford CoreNLP 3.6.0 is not in {spice_dir(cache_dir) / 'lib'}; "
            "install it with "
            f"`{SPICE_INSTALL_COMMAND}` (or pass spice='auto' to skip SPICE when it is missing)"
        )
    _warn(
        "SPICE and SPIDEr are None: SPICE needs Stanford CoreNLP 3.6.0, which is not installed. "
        "Install it with "
        f"`{SPICE_INSTALL_COMMAND}` (about 400 MB, once).",
        SpiceUnavailableWarning,
    )
    return False


def _meteor_table(
    candidates: Sequence[str], references: Sequence[Sequence[str]], folder: Path
) -> Path | None:
    """A paraphrase table cut to what can match here, in ``folder``; None (full table) if that fails."""
    try:
        index = load_index()
        assert index is not None
        table = folder / "paraphrase-pruned.gz"
        kept = prune_table(
            index, meteor_words(candidates), meteor_words(r for refs in references for r in refs), table
        )
        log.debug("METEOR paraphrase table: %d of %d entries kept", kept, len(index))
        return table
    except Exception as err:  # the full table gives the same scores, only slower
        _warn(
            f"could not prepare METEOR's reduced paraphrase table ({err!r}); using the full one "
            "(same scores, about 8 s slower)",
            RuntimeWarning,
        )
        return None


Corpus = tuple[Sequence[str], Sequence[Sequence[str]]]  # (one candidate per clip, references of each clip)


def _tokenize(corpora: Sequence[Corpus], java: str) -> list[_Tokens]:
    """PTB-tokenise the captions of every corpus in one JVM (the tokenizer works caption by caption);
    raise ValueError if every reference of a corpus is empty afterwards."""
    flat = [text for cands, refs in corpora for text in (*cands, *(r for clip in refs for r in clip))]
    tokens = iter(ptb_tokenize(flat, java=java))
    out: list[_Tokens] = []
    for number, (cands, refs) in enumerate(corpora):
        cands_tok = [next(tokens) for _ in cands]
        refs_tok = [[next(tokens) for _ in clip] for clip in refs]
        if not any(ref.strip() for clip in refs_tok for ref in clip):
            where = f" (corpus {number})" if len(corpora) > 1 else ""
            raise ValueError(
                f"every reference{where} is empty after tokenisation (only punctuation or blanks?); nothing "
                "to compare against"
            )
        out.append(_Tokens(cands_tok, refs_tok))
    return out


def _python_metrics(
    tokens: _Tokens,
) -> tuple[dict[str, float], dict[str, list[float]], dict[str, float]]:
    """BLEU-1..4, ROUGE-L and CIDEr-D (pycocoevalcap, here): corpus scores, per-clip scores, seconds."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    gts = {i: refs for i, refs in enumerate(tokens.refs)}
    res = {i: [cand] for i, cand in enumerate(tokens.cands)}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    bleu, bleu_clip = Bleu(4).compute_score(gts, res, verbose=0)
    timings["bleu"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rouge, rouge_clip = Rouge().compute_score(gts, res)
    timings["rouge_l"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if len(tokens.cands) == 1:
        _warn(
            "CIDEr-D of a single clip is 0: its document frequencies come from the evaluated "
            "references, so score the whole test set at once",
            RuntimeWarning,
        )
    cider, cider_clip = Cider().compute_score(gts, res)
    timings["cider_d"] = time.perf_counter() - t0
    scores = {f"bleu_{k + 1}": float(bleu[k]) for k in range(4)}
    scores.update(rouge_l=float(rouge), cider_d=float(cider))
    clips = {f"bleu_{k + 1}": [float(v) for v in bleu_clip[k]] for k in range(4)}
    clips.update(rouge_l=[float(v) for v in rouge_clip], cider_d=[float(v) for v in cider_clip])
    return scores, clips, timings


class _JavaScorers:
    """METEOR (a thread driving its JVM) and SPICE (its own JVM) running while Python scores, for every
    tokenised corpus: METEOR scores them in turn in one JVM, SPICE all their clips in one run.

    Leaving the ``with`` block, however it is left, kills SPICE unless :meth:`spice` already took its
    result (the only place SPICE is killed), then waits for the METEOR thread.
    """

    def __init__(self, tokens: list[_Tokens], java: str) -> None:
        """Nothing runs until :meth:`start`."""
        self._tokens = tokens
        self._java = java
        self._spice: SpiceProcess | None = None
        self._meteor_thread: threading.Thread | None = None
        self._meteor_out: dict[str, Any] = {}

    def __enter__(self) -> _JavaScorers:
        """The scorers, not started yet."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Kill SPICE if its result was not collected (an error happened), then join METEOR."""
        try:
            if self._spice is not None:
                self._spice.kill()
                self._spice = None
        finally:
            if self._meteor_thread is not None:
                self._meteor_thread.join()

    def start(self, table: Path | None, spice: ScoringOptions | None) -> None:
        """Start SPICE (with these options; None: no SPICE), then METEOR with paraphrase ``table``."""
        if spice is not None:
            self._spice = SpiceProcess(
                [c for corpus in self._tokens for c in corpus.cands],
                [r for corpus in self._tokens for r in corpus.refs],
                java=self._java,
                cache_dir=spice.spice_cache_dir,
                config=spice.spice_config,
            )
        args = (table, time.perf_counter())
        self._meteor_thread = threading.Thread(
            target=self._meteor_job, args=args, name="clipaac-meteor", daemon=True
        )
        self._meteor_thread.start()

    def _meteor_job(self, table: Path | None, started: float) -> None:
        """The METEOR thread: score, keeping the result or the error (re-raised by :meth:`meteor`) and seconds."""
        try:
            with MeteorScorer(self._java, paraphrase_table=table) as scorer:
                self._meteor_out["result"] = [scorer.score(t.cands, t.refs) for t in self._tokens]
        except BaseException as err:  # re-raised in the main thread
            self._meteor_out["error"] = err
        self._meteor_out["seconds"] = time.perf_counter() - started

    def meteor(self) -> tuple[list[tuple[float, list[float]]], float]:
        """Wait for METEOR: ([(corpus, per clip) of each corpus], seconds); re-raise its error here."""
        assert self._meteor_thread is not None, "start() first"
        self._meteor_thread.join()
        if "error" in self._meteor_out:
            raise self._meteor_out["error"]
        return self._meteor_out["result"], self._meteor_out["seconds"]

    def spice(self) -> list[tuple[float, list[float]]] | None:
        """Wait for SPICE: [(corpus, per clip) of each corpus], None if not started; after this SPICE is
        never killed. A corpus's SPICE is the mean of its clips' (pycocoevalcap's numpy mean: NaN if one
        clip is NaN), so splitting one run's per-clip scores gives each corpus's own."""
        process, self._spice = self._spice, None
        if process is None:
            return None
        _, per_clip = process.result()
        out: list[tuple[float, list[float]]] = []
        start = 0
        for corpus in self._tokens:
            clips = per_clip[start : start + len(corpus.cands)]
            start += len(clips)
            out.append((float(np.mean(np.array(clips))), clips))
        return out


def _run_scorers(
    tokens: list[_Tokens], java: str, options: ScoringOptions, run_spice: bool, timings: dict[str, float]
) -> list[_Results]:
    """Every scorer on each tokenised corpus (METEOR and SPICE in the background); seconds (summed over
    the corpora) into ``timings``."""
    with tempfile.TemporaryDirectory(prefix="clipaac-metrics-") as tmp, _JavaScorers(tokens, java) as jvm:
        t0 = time.perf_counter()
        cands = [c for corpus in tokens for c in corpus.cands]
        refs = [r for corpus in tokens for r in corpus.refs]
        table = _meteor_table(cands, refs, Path(tmp)) if options.prune_meteor else None  # all corpora's words
        timings["meteor_table"] = time.perf_counter() - t0
        jvm.start(table, options if run_spice else None)
        python = [_python_metrics(corpus) for corpus in tokens]
        for key in python[0][2]:
            timings[key] = sum(timed[key] for _, _, timed in python)
        meteor, timings["meteor"] = jvm.meteor()
        spice: list[Any] = [None] * len(tokens)
        if run_spice:
            t0 = time.perf_counter()
            spice = jvm.spice() or spice
            timings["spice"] = time.perf_counter() - t0
    return [_Results(scores, clips, m, sp) for (scores, clips, _), m, sp in zip(python, meteor, spice, strict=True)]


def _modern(tokens: _Tokens, results: _Results, options: ScoringOptions) -> dict[str, Any]:
    """SPIDEr-FL, FENSE, sentence-BERT similarity and vocabulary of the tokenised corpus (as aac-metrics'
    DCASE evaluation), from our per-clip SPIDEr. Missing models: ``modern=True`` raises
    :class:`ModelMetricsUnavailableError`, "auto" makes their scores None with one warning."""
    from clipaac_lib.metrics.modern import modern_scores, unavailable_warning

    spider = _assemble_per_clip(results).get("spider")
    scores, errors = modern_scores(tokens.cands, tokens.refs, spider, models=options.modern_models,
                                   device=options.modern_device)
    if errors and options.modern is True:
        raise ModelMetricsUnavailableError(
            "modern=True but " + "; ".join(map(str, errors)) + " (or pass modern='auto' to get None instead)"
        )
    if errors:
        missing = [key for key in ("spider_fl", "fense", "sbert_sim") if scores[key] is None]
        _warn(unavailable_warning(", ".join(missing), errors), ModelMetricsUnavailableWarning)
    return scores


def _assemble(results: _Results, per_clip: bool) -> dict[str, Any]:
    """The returned score dict (METRIC_KEYS order; spice/spider None without SPICE), plus ``per_clip``."""
    corpus = {**results.python_scores, "meteor": float(results.meteor[0])}
    scores: dict[str, Any] = {key: corpus[key] for key in METRIC_KEYS if key in corpus}
    spice_score = None if results.spice is None else results.spice[0]
    scores["spice"] = spice_score
    scores["spider"] = None if spice_score is None else (scores["cider_d"] + spice_score) / 2
    if per_clip:
        scores["per_clip"] = _assemble_per_clip(results)
    return scores


def _assemble_per_clip(results: _Results) -> dict[str, list[float]]:
    """``scores["per_clip"]``: one float per clip for each metric; SPICE and SPIDEr only when computed."""
    merged = {**results.python_clips, "meteor": [float(v) for v in results.meteor[1]]}
    clips = {key: merged[key] for key in METRIC_KEYS if key in merged}
    if results.spice is not None:
        spice_clip = results.spice[1]
        clips["spice"] = spice_clip
        clips["spider"] = [
            (c + s) / 2 if not math.isnan(s) else math.nan
            for c, s in zip(clips["cider_d"], spice_clip, strict=True)
        ]
    return clips


def evaluate_captions_timed(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    per_clip: bool = False,
    options: ScoringOptions | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """:func:`evaluate_captions` plus the seconds spent in each step (``tokenize``, ``meteor_table``,
    ``bleu``, ``rouge_l``, ``cider_d``, ``meteor``, ``spice``, ``modern``, ``total``).

    ``options``: a :class:`ScoringOptions` (default: ``ScoringOptions()``).
    """
    (scores,), timings = evaluate_corpora_timed([(candidates, references)], per_clip=per_clip, options=options)
    return scores, timings


def evaluate_corpora_timed(
    corpora: Sequence[Corpus], *, per_clip: bool = False, options: ScoringOptions | None = None
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """:func:`evaluate_corpora` with :class:`ScoringOptions`, plus the seconds of each step summed over
    the corpora (the keys of :func:`evaluate_captions_timed`)."""
    start = time.perf_counter()
    opts = options if options is not None else ScoringOptions()
    if opts.modern not in ("auto", True, False):
        raise ValueError(f"modern must be 'auto', True or False, got {opts.modern!r}")
    if not corpora:
        raise ValueError("no corpora to evaluate: give at least one (candidates, references) pair")
    for number, (candidates, references) in enumerate(corpora):
        try:
            _check_inputs(candidates, references)
        except (TypeError, ValueError) as err:
            if len(corpora) == 1:
                raise
            raise type(err)(f"corpus {number}: {err}") from None
    java_path = find_java(opts.java)
    run_spice = _want_spice(opts.spice, opts.spice_cache_dir)
    tokens = _tokenize(corpora, java_path)
    timings: dict[str, float] = {"tokenize": time.perf_counter() - start}
    results = _run_scorers(tokens, java_path, opts, run_spice, timings)
    t0 = time.perf_counter()
    out = []
    for corpus, result in zip(tokens, results, strict=True):
        scores = _assemble(result, per_clip)
        if opts.modern is not False:
            clips = scores.pop("per_clip", None)
            scores.update(_modern(corpus, result, opts))
            if clips is not None:
                scores["per_clip"] = clips
        out.append(scores)
    if opts.modern is not False:
        timings["modern"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    return out, timings


def evaluate_captions(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    per_clip: bool = False,
    spice: bool | Literal["auto"] = "auto",
    java: str | os.PathLike[str] | None = None,
    modern: bool | Literal["auto"] = "auto",
) -> dict[str, Any]:
    """Caption metrics of a whole corpus (pycocoevalcap, after PTB tokenisation).

    ``candidates``: one caption per clip; ``references``: the reference captions of each clip (Clotho:
    five). Returns ``{bleu_1, bleu_2, bleu_3, bleu_4, meteor, rouge_l, cider_d, spice, spider}`` as
    floats; ``spice`` and ``spider`` are ``None`` when SPICE is skipped. ``spice="auto"`` runs SPICE
    when Stanford CoreNLP 3.6.0 is installed (``python -m clipaac_lib.metrics install-spice``) and
    otherwise warns once; ``True`` requires it, ``False`` skips it. ``per_clip=True`` adds
    ``scores["per_clip"] = {metric: [one float per clip]}`` (BLEU: pycocoevalcap's per-sentence
    values; SPICE/SPIDEr only when computed). ``java``: path of the Java executable (default: found
    on the ``PATH``). Needs Java 8+; raises :class:`~clipaac_lib.metrics.java.JavaNotFoundError`
    with install instructions without it.

    ``modern`` adds, after those keys, the scores DCASE ranks by since 2023
    (:data:`~clipaac_lib.metrics.modern.MODERN_KEYS`): ``spider_fl``, ``fense``, ``sbert_sim`` and
    ``vocab``, computed on the PTB-tokenised captions (``modern.py``). Their two models are downloaded
    on first use into ``<cache>/fense`` (about 700 MB, :func:`~clipaac_lib.metrics.download_modern_models`;
    nothing is fetched with ``HF_HUB_OFFLINE`` set). ``"auto"``: a missing model makes the scores
    needing it None with one :class:`ModelMetricsUnavailableWarning` (``vocab`` needs none;
    ``spider_fl`` is None without SPICE too); ``"auto"`` is the
    default; ``True`` raises :class:`ModelMetricsUnavailableError` instead; ``False`` leaves them out,
    so the dict holds exactly the paper's keys.

    Notebook: ``notebooks/04_metrics.ipynb``.
    """
    options = ScoringOptions(spice=spice, java=java, modern=modern)
    scores, _ = evaluate_captions_timed(candidates, references, per_clip=per_clip, options=options)
    return scores


def evaluate_corpora(
    corpora: Sequence[Corpus],
    *,
    per_clip: bool = False,
    spice: bool | Literal["auto"] = "auto",
    java: str | os.PathLike[str] | None = None,
    modern: bool | Literal["auto"] = "auto",
) -> list[dict[str, Any]]:
    """:func:`evaluate_captions` of each ``(candidates, references)`` corpus, in order, with one JVM per
    tool for all of them: the same scores as one call per corpus, without a JVM start (about a second,
    several for SPICE) per corpus. Each corpus is scored on its own: its CIDEr-D document frequencies
    come from its own references. A malformed corpus raises before anything runs, naming its index.

    Used where one test set is scored many times, e.g. each reference held out in turn
    (:func:`clipaac_lib.experiments.compute_baselines`). Notebook: ``notebooks/04_metrics.ipynb``.
    """
    options = ScoringOptions(spice=spice, java=java, modern=modern)
    return evaluate_corpora_timed(corpora, per_clip=per_clip, options=options)[0]
