"""Runs as results: :class:`RunResult`, finding the finished run of a configuration, loading its model.

:class:`RunResult` is what training, evaluation and :func:`find_run` return about a run;
:func:`load_run_model` reads its model back; :func:`require_run` says how to make a missing run.
Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from clipaac_lib.common import resolve_device, subdir
from clipaac_lib.data import Vocabulary
from clipaac_lib.model import CLIPAAC, ModelConfig, model_from_state
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.dataroot import digest_of_test_split
from clipaac_lib.train.evalstore import evaluation_tag, read_evaluation
from clipaac_lib.train.rundir import RunDir
from clipaac_lib.train.scores import SplitScores

__all__ = ["RunNotFoundError", "RunResult", "default_run_root", "find_run", "load_run_model", "require_run",
           "run_dir_of", "run_result"]


def load_run_model(run_dir: str | Path | RunDir,
                   device: str | torch.device = "cpu") -> tuple[CLIPAAC, Vocabulary]:
    """``(model, vocab)`` of a run in eval mode: the final weights, or the last checkpoint's of an
    unfinished run."""
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    rd.require()
    if not rd.model_config_file.is_file() or not rd.vocab_file.is_file():
        raise FileNotFoundError(f"{rd.path} has no model_config.json/vocab.json: the run never got to training")
    model_config = ModelConfig.from_dict(json.loads(rd.model_config_file.read_text(encoding="utf-8")))
    if rd.model_file.is_file():
        state = rd.load_model_state()
    elif rd.has_checkpoint():
        state = rd.load_checkpoint()["model"]
    else:
        raise FileNotFoundError(f"{rd.path} holds neither model.pt nor checkpoint.pt: no epoch has finished")
    model = model_from_state(model_config, state)
    return model.to(resolve_device(device)).eval(), Vocabulary.load(rd.vocab_file)


@dataclass
class RunResult:
    """One run: where it lives, its per-epoch history and its test scores.

    ``scores``/``untrained_scores`` are :class:`~clipaac_lib.train.scores.SplitScores` (caption metrics,
    retrieval recall and its chance level, caption loss), None when not evaluated; ``captions`` one
    row per test clip (file_name, caption, references). ``finished`` is False after ``stop_after_epoch``.
    Notebook: ``notebooks/05_train.ipynb``.
    """

    run_dir: Path
    config: TrainConfig
    run_hash: str
    history: list[dict[str, Any]] = field(default_factory=list)
    scores: SplitScores | None = None
    untrained_scores: SplitScores | None = None
    captions: list[dict[str, Any]] | None = None
    epochs_completed: int = 0
    finished: bool = False
    reused: bool = False
    train_seconds: float = 0.0

    def load_model(self, device: str | torch.device = "cpu") -> tuple[CLIPAAC, Vocabulary]:
        """The trained model (eval mode) and its vocabulary, read from the run directory."""
        return load_run_model(self.run_dir, device=device)


class RunNotFoundError(FileNotFoundError):
    """No finished run of a configuration exists; the message names the command that makes it."""


def default_run_root() -> Path:
    """``<cache>/runs`` (``$CLIPAAC_CACHE/runs`` when set)."""
    return subdir("runs")


def run_dir_of(config: TrainConfig) -> RunDir:
    """The run directory of ``config``: ``<run_root>/<config.run_name()>``."""
    run_root = Path(config.run_root) if config.run_root else default_run_root()
    return RunDir(run_root / config.run_name())


def find_run(config: TrainConfig) -> RunResult | None:
    """The finished run of ``config`` with its saved test evaluation, or None; never trains or writes.

    ``scores`` (and ``captions``) are None when this decoding setting was never evaluated (then
    ``clipaac evaluate RUN_DIR`` with the decoding options computes them). Notebook:
    ``notebooks/06_ablations.ipynb``.
    """
    config = config.validate().resolved()
    rd = run_dir_of(config)
    if not rd.is_finished():
        return None
    tag, digest = evaluation_tag(config), digest_of_test_split(config)
    saved = read_evaluation(rd, tag, digest)
    untrained = read_evaluation(rd, f"untrained-{tag}", digest) if config.eval_untrained else None
    return run_result(rd, config, reused=True, scores=saved[0] if saved else None,
                     captions=saved[1] if saved else None,
                     untrained_scores=untrained[0] if untrained else None)


def require_run(config: TrainConfig, made_by: str = "notebook 05_train with the same parameters") -> RunResult:
    """:func:`find_run`, raising :class:`RunNotFoundError` that says how to make the run when it is missing."""
    found = find_run(config)
    if found is None:
        raise RunNotFoundError(
            f"no finished run of this configuration in {run_dir_of(config.resolved()).path}; make it with "
            f"{made_by}, or on the command line: {config.command_line()}"
        )
    return found


def run_result(run_dir: RunDir, config: TrainConfig, *, reused: bool, scores: SplitScores | None = None,
           untrained_scores: SplitScores | None = None,
           captions: list[dict[str, Any]] | None = None) -> RunResult:
    """A :class:`RunResult` of ``run_dir``'s saved state (history, finish record) and ``scores``."""
    finished = run_dir.read_finished() if run_dir.finished_file.is_file() else {}
    history = run_dir.read_history()
    return RunResult(run_dir.path, config, config.run_hash(), history, scores=scores,
                     untrained_scores=untrained_scores, captions=captions,
                     epochs_completed=int(finished.get("epochs", len(history))),
                     finished=run_dir.is_finished(), reused=reused,
                     train_seconds=float(finished.get("train_seconds", 0.0)))
