"""``evaluate_captions``: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D, SPICE and SPIDEr of a caption corpus.

The scores are pycocoevalcap's (the implementation behind published AAC results), computed the way
the DCASE / aac-metrics evaluations do: every caption is PTB-tokenised first, then all clips are
scored together, so CIDEr-D's document frequencies come from the references of the evaluated corpus
(score the whole test set at once, never batch by batch). SPIDEr = (CIDEr-D + SPICE) / 2.

One evaluation starts one JVM per tool (PTB tokenizer, METEOR, and SPICE when installed); METEOR
and SPICE run in their own processes while Python computes BLEU, ROUGE-L and CIDEr-D.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from clipaac_lib.metrics.java import find_java
from clipaac_lib.metrics.meteor import MeteorScorer
from clipaac_lib.metrics.paraphrase import load_index, meteor_words, prune_table
from clipaac_lib.metrics.ptb import ptb_tokenize
from clipaac_lib.metrics.spice import SpiceConfig, SpiceProcess, spice_available
from clipaac_lib.metrics.spice_install import SPICE_INSTALL_COMMAND, spice_dir

__all__ = ["METRIC_KEYS", "SpiceUnavailableWarning", "evaluate_captions", "evaluate_captions_timed"]

log = logging.getLogger(__name__)

METRIC_KEYS: tuple[str, ...] = (
    "bleu_1",
    "bleu_2",
    "bleu_3",
    "bleu_4",
    "meteor",
    "rouge_l",
    "cider_d",
    "spice",
    "spider",
)


class SpiceUnavailableWarning(UserWarning):
    """SPICE (and so SPIDEr) was skipped because Stanford CoreNLP 3.6.0 is not installed."""


def _check_inputs(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> None:
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
    warnings.warn(
        "SPICE and SPIDEr are None: SPICE needs Stanford CoreNLP 3.6.0, which is not installed. "
        "Install it with "
        f"`{SPICE_INSTALL_COMMAND}` (about 400 MB, once).",
        SpiceUnavailableWarning,
        stacklevel=4,  # the caller of evaluate_captions
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
        warnings.warn(
            f"could not prepare METEOR's reduced paraphrase table ({err!r}); using the full one "
            "(same scores, about 8 s slower)",
            RuntimeWarning,
            stacklevel=4,
        )
        return None


def evaluate_captions_timed(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    per_clip: bool = False,
    spice: bool | Literal["auto"] = "auto",
    java: str | os.PathLike[str] | None = None,
    prune_meteor: bool = True,
    spice_cache_dir: str | os.PathLike[str] | None = None,
    spice_config: SpiceConfig | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """:func:`evaluate_captions` plus the seconds spent in each step (``tokenize``, ``meteor_table``,
    ``bleu``, ``rouge_l``, ``cider_d``, ``meteor``, ``spice``, ``total``). ``prune_meteor=False``
    gives METEOR its full paraphrase table (same scores, slower)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    start = time.perf_counter()
    _check_inputs(candidates, references)
    java_path = find_java(java)
    run_spice = _want_spice(spice, spice_cache_dir)
    timings: dict[str, float] = {}

    n = len(candidates)
    flat_refs = [ref for refs in references for ref in refs]
    tokens = ptb_tokenize([*candidates, *flat_refs], java=java_path)
    cands_tok = tokens[:n]
    refs_tok: list[list[str]] = []
    offset = n
    for refs in references:
        refs_tok.append(tokens[offset : offset + len(refs)])
        offset += len(refs)
    timings["tokenize"] = time.perf_counter() - start
    if not any(ref.strip() for refs in refs_tok for ref in refs):
        raise ValueError(
            "every reference is empty after tokenisation (only punctuation or blanks?); nothing to "
            "compare against"
        )

    with tempfile.TemporaryDirectory(prefix="clipaac-metrics-") as tmp:
        t0 = time.perf_counter()
        table = _meteor_table(cands_tok, refs_tok, Path(tmp)) if prune_meteor else None
        timings["meteor_table"] = time.perf_counter() - t0
        spice_process = (
            SpiceProcess(cands_tok, refs_tok, java=java_path, cache_dir=spice_cache_dir, config=spice_config)
            if run_spice
            else None
        )
        t_meteor = time.perf_counter()
        meteor_out: dict[str, Any] = {}

        def meteor_job() -> None:
            try:
                with MeteorScorer(java_path, paraphrase_table=table) as scorer:
                    meteor_out["result"] = scorer.score(cands_tok, refs_tok)
            except BaseException as err:  # re-raised in the main thread
                meteor_out["error"] = err
            meteor_out["seconds"] = time.perf_counter() - t_meteor

        meteor_thread = threading.Thread(target=meteor_job, name="clipaac-meteor", daemon=True)
        meteor_thread.start()
        try:
            gts = {i: refs for i, refs in enumerate(refs_tok)}
            res = {i: [cand] for i, cand in enumerate(cands_tok)}
            t0 = time.perf_counter()
            bleu, bleu_clip = Bleu(4).compute_score(gts, res, verbose=0)
            timings["bleu"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            rouge, rouge_clip = Rouge().compute_score(gts, res)
            timings["rouge_l"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            if n == 1:
                warnings.warn(
                    "CIDEr-D of a single clip is 0: its document frequencies come from the evaluated "
                    "references, so score the whole test set at once",
                    RuntimeWarning,
                    stacklevel=3,
                )
            cider, cider_clip = Cider().compute_score(gts, res)
            timings["cider_d"] = time.perf_counter() - t0
        except BaseException:
            if spice_process is not None:
                spice_process.kill()
            raise
        finally:
            meteor_thread.join()
        timings["meteor"] = meteor_out["seconds"]
        if "error" in meteor_out:
            if spice_process is not None:
                spice_process.kill()
            raise meteor_out["error"]
        meteor, meteor_clip = meteor_out["result"]

    spice_score: float | None = None
    spice_clip: list[float] | None = None
    if spice_process is not None:
        t0 = time.perf_counter()
        spice_score, spice_clip = spice_process.result()
        timings["spice"] = time.perf_counter() - t0

    cider = float(cider)
    scores: dict[str, Any] = {f"bleu_{k + 1}": float(bleu[k]) for k in range(4)}
    scores.update(
        meteor=float(meteor),
        rouge_l=float(rouge),
        cider_d=cider,
        spice=spice_score,
        spider=None if spice_score is None else (cider + spice_score) / 2,
    )
    if per_clip:
        clips: dict[str, list[float]] = {f"bleu_{k + 1}": [float(v) for v in bleu_clip[k]] for k in range(4)}
        clips["meteor"] = [float(v) for v in meteor_clip]
        clips["rouge_l"] = [float(v) for v in rouge_clip]
        clips["cider_d"] = [float(v) for v in cider_clip]
        if spice_clip is not None:
            clips["spice"] = spice_clip
            clips["spider"] = [
                (c + s) / 2 if not math.isnan(s) else math.nan
                for c, s in zip(clips["cider_d"], spice_clip, strict=True)
            ]
        scores["per_clip"] = clips
    timings["total"] = time.perf_counter() - start
    return scores, timings


def evaluate_captions(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    per_clip: bool = False,
    spice: bool | Literal["auto"] = "auto",
    java: str | os.PathLike[str] | None = None,
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

    Notebook: ``notebooks/04_metrics.ipynb``.
    """
    scores, _ = evaluate_captions_timed(candidates, references, per_clip=per_clip, spice=spice, java=java)
    return scores
