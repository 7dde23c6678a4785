"""``evaluate_captions``: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D, SPICE and SPIDEr of a caption corpus.

The scores are pycocoevalcap's (the implementation behind published AAC results), computed the way
the DCASE / aac-metrics evaluations do: every caption is PTB-tokenised first, then all clips are
scored together, so CIDEr-D's document frequencies come from the references of the evaluated corpus
(score the whole test set at once, never batch by batch). SPIDEr = (CIDEr-D + SPICE) / 2.

One evaluation starts one JVM per tool (PTB tokenizer, METEOR, and SPICE when installed); METEOR
and SPICE run in their own processes while Python computes BLEU, ROUGE-L and CIDEr-D.

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


def _tokenize(candidates: Sequence[str], references: Sequence[Sequence[str]], java: str) -> _Tokens:
    """PTB-tokenise all captions in one JVM; raise ValueError if every reference is empty afterwards."""
    n = len(candidates)
    flat_refs = [ref for refs in references for ref in refs]
    tokens = ptb_tokenize([*candidates, *flat_refs], java=java)
    refs_tok: list[list[str]] = []
    offset = n
    for refs in references:
        refs_tok.append(tokens[offset : offset + len(refs)])
        offset += len(refs)
    if not any(ref.strip() for refs in refs_tok for ref in refs):
        raise ValueError(
            "every reference is empty after tokenisation (only punctuation or blanks?); nothing to "
            "compare against"
        )
    return _Tokens(tokens[:n], refs_tok)


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
    """METEOR (a thread driving its JVM) and SPICE (its own JVM) running while Python scores.

    Leaving the ``with`` block, however it is left, kills SPICE unless :meth:`spice` already took its
    result (the only place SPICE is killed), then waits for the METEOR thread.
    """

    def __init__(self, tokens: _Tokens, java: str) -> None:
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
                self._tokens.cands,
                self._tokens.refs,
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
                self._meteor_out["result"] = scorer.score(self._tokens.cands, self._tokens.refs)
        except BaseException as err:  # re-raised in the main thread
            self._meteor_out["error"] = err
        self._meteor_out["seconds"] = time.perf_counter() - started

    def meteor(self) -> tuple[tuple[float, list[float]], float]:
        """Wait for METEOR: ((corpus, per clip), seconds); re-raise its error here."""
        assert self._meteor_thread is not None, "start() first"
        self._meteor_thread.join()
        if "error" in self._meteor_out:
            raise self._meteor_out["error"]
        return self._meteor_out["result"], self._meteor_out["seconds"]

    def spice(self) -> tuple[float, list[float]] | None:
        """Wait for SPICE: (corpus, per clip), None if not started; after this SPICE is never killed."""
        process, self._spice = self._spice, None
        return None if process is None else process.result()


def _run_scorers(
    tokens: _Tokens, java: str, options: ScoringOptions, run_spice: bool, timings: dict[str, float]
) -> _Results:
    """Every scorer on the tokenised corpus (METEOR and SPICE in the background); seconds into ``timings``."""
    with tempfile.TemporaryDirectory(prefix="clipaac-metrics-") as tmp, _JavaScorers(tokens, java) as jvm:
        t0 = time.perf_counter()
        table = _meteor_table(tokens.cands, tokens.refs, Path(tmp)) if options.prune_meteor else None
        timings["meteor_table"] = time.perf_counter() - t0
        jvm.start(table, options if run_spice else None)
        python_scores, python_clips, python_timings = _python_metrics(tokens)
        timings.update(python_timings)
        meteor, timings["meteor"] = jvm.meteor()
        spice = None
        if run_spice:
            t0 = time.perf_counter()
            spice = jvm.spice()
            timings["spice"] = time.perf_counter() - t0
    return _Results(python_scores, python_clips, meteor, spice)


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
    start = time.perf_counter()
    opts = options if options is not None else ScoringOptions()
    if opts.modern not in ("auto", True, False):
        raise ValueError(f"modern must be 'auto', True or False, got {opts.modern!r}")
    _check_inputs(candidates, references)
    java_path = find_java(opts.java)
    run_spice = _want_spice(opts.spice, opts.spice_cache_dir)
    tokens = _tokenize(candidates, references, java_path)
    timings: dict[str, float] = {"tokenize": time.perf_counter() - start}
    results = _run_scorers(tokens, java_path, opts, run_spice, timings)
    scores = _assemble(results, per_clip)
    if opts.modern is not False:
        t0 = time.perf_counter()
        clips = scores.pop("per_clip", None)
        scores.update(_modern(tokens, results, opts))
        if clips is not None:
            scores["per_clip"] = clips
        timings["modern"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    return scores, timings


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
