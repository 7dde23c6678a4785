"""Which runs ``clipaac_lib.experiments.parallel.train_all`` hands to training: only a finished run with
scores for today's test split counts as done; a finished run whose ``scores`` are None (never evaluated
with these settings, or its test split changed since) is trained/evaluated again. ``find_run`` and the
training are replaced by stand-ins, so nothing trains."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from clipaac_lib.experiments import parallel
from clipaac_lib.train import SplitScores, TrainConfig

SCORED, STALE, ABSENT = 0, 1, 2  # seeds: a finished run with scores, one with scores None, no run at all


def _found(config: TrainConfig) -> Any:
    """What ``find_run`` answers for each seed: a finished run with or without scores, or None."""
    run_dir = Path(f"/runs/found-{config.seed}")
    if config.seed == SCORED:
        return SimpleNamespace(run_dir=run_dir, scores=SplitScores(num_clips=4, retrieval_chance={}))
    if config.seed == STALE:
        return SimpleNamespace(run_dir=run_dir, scores=None)
    return None


class _RecordingPool:
    """A stand-in for the process pool: records the seeds submitted, answers each at once."""

    submitted: list[int] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> _RecordingPool:
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False

    def submit(self, fn: Any, config: TrainConfig) -> Future:
        _RecordingPool.submitted.append(config.seed)
        future: Future = Future()
        future.set_result(parallel.Trained(f"/runs/trained-{config.seed}", 1.0, 1))
        return future


@pytest.mark.parametrize("workers", [1, 2])
def test_a_finished_run_without_scores_is_trained_again(monkeypatch: pytest.MonkeyPatch,
                                                         workers: int) -> None:
    """Seed 1's run is finished but its scores are None: it must be handed to training (which evaluates
    it) like the missing seed 2, and its returned directory is the one training gave; seed 0's scored
    run is reused untouched. With 1 worker the runs go to ``_timed_train`` here, with 2 to the pool."""
    trained_here: list[int] = []

    def timed_train(config: TrainConfig) -> parallel.Trained:
        trained_here.append(config.seed)
        return parallel.Trained(f"/runs/trained-{config.seed}", 1.0, 1)

    monkeypatch.setattr(parallel, "find_run", _found)
    monkeypatch.setattr(parallel, "_timed_train", timed_train)
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _RecordingPool)
    monkeypatch.setattr(parallel, "prepare_shared", lambda configs: None)
    _RecordingPool.submitted = []
    configs = [TrainConfig(num_epochs=1, seed=s) for s in (SCORED, STALE, ABSENT)]
    reported: list[int] = []
    dirs = parallel.train_all(configs, workers=workers,
                              on_done=lambda config, trained: reported.append(config.seed))
    handed = trained_here if workers == 1 else _RecordingPool.submitted
    assert sorted(handed) == [STALE, ABSENT]
    assert (trained_here if workers == 2 else _RecordingPool.submitted) == []
    assert sorted(reported) == [STALE, ABSENT]
    assert dirs == ["/runs/found-0", "/runs/trained-1", "/runs/trained-2"]
