"""The grid's validation curves, the equal-steps batch comparison and the parallel training of runs
(``clipaac_lib.experiments.curves`` and ``.parallel``), checked against hand computations and against
training the same configurations in this process."""

from __future__ import annotations

import json
import os
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest
import torch

from clipaac_lib.experiments import parallel
from clipaac_lib.experiments.ablations import Job, table2_jobs
from clipaac_lib.experiments.curves import (
    EQUAL_STEPS_TAG,
    curve_gaps,
    equal_steps_epochs,
    equal_steps_job,
    equal_steps_jobs,
    grid_curves,
    last_epoch_change,
    plot_curves,
)
from clipaac_lib.experiments.records import RunRecord
from clipaac_lib.train import TrainConfig, find_run
from tests.conftest import TINY_MODEL


def test_equal_steps_epochs_match_the_optimiser_steps():
    # 1 500 pairs: 4 epochs at batch 16 = 4 * 1500 / 16 = 375 steps = 1 epoch at batch 4 (1500 / 4)
    assert equal_steps_epochs(4) == 1 and equal_steps_epochs(8, 16, 8) == 4 and equal_steps_epochs(12) == 3
    with pytest.raises(ValueError, match="divisible by 4"):
        equal_steps_epochs(6)


def test_equal_steps_job_is_system_7_with_fewer_epochs_and_its_own_record():
    jobs = table2_jobs(num_epochs=8)
    (job,) = equal_steps_jobs(jobs, 8)
    seven = next(j for j in jobs if j.system == 7)
    assert job.system == 7 and job.params == {**seven.params, "num_epochs": 2} and job.tag == EQUAL_STEPS_TAG
    assert job.name(0) == "system07-steps-seed0" and seven.name(0) == "system07-seed0"
    assert job.config(0).run_hash() != seven.config(0).run_hash()
    assert equal_steps_job(seven, 8) == job
    assert equal_steps_jobs([j for j in jobs if j.system != 9], 8) == []  # no batch 16 to match
    assert equal_steps_jobs(jobs, 1) == []  # a smoke run's one epoch: no whole batch-4 epoch


def _records(curves: dict[tuple[int, int], list[float]]) -> dict[tuple[int, str, int], RunRecord]:
    """``Grid.records`` of runs with these validation curves, plus an equal-steps run that must be left out."""
    records = {}
    for (system, seed), values in curves.items():
        curve = [{"epoch": e + 1, "loss": v, "train_loss": 9.0} for e, v in enumerate(values)]
        records[(system, "", seed)] = RunRecord(f"system{system:02d}-seed{seed}", system, "", seed, "h", {}, [], {},
                                                curve, {})
    steps = [{"epoch": 1, "loss": 5.0, "train_loss": 9.0}]
    records[(7, "steps", 0)] = RunRecord("system07-steps-seed0", 7, "steps", 0, "h", {}, [], {}, steps, {})
    return records


def test_curves_and_the_last_epochs_share_of_the_change(tmp_path):
    records = _records({(1, 0): [2.0, 1.5, 1.2, 1.1], (1, 1): [2.2, 1.7, 1.4, 1.3],
                        (4, 0): [1.6, 1.3, 1.2, 1.2], (4, 1): [1.8, 1.5, 1.2, 1.2]})
    curves = grid_curves(records)
    assert len(curves) == 16 and set(curves["system"]) == {1, 4}  # the equal-steps run is left out
    flat = last_epoch_change(curves)
    # system 1: mean over seeds 2.1, 1.6, 1.3, 1.2: last change -0.1 of a total -0.9
    assert flat.loc[1, "last_change"] == pytest.approx(-0.1)
    assert flat.loc[1, "share_of_total"] == pytest.approx(0.1 / 0.9)
    assert flat.loc[4, "share_of_total"] == pytest.approx(0.0) and flat.loc[4, "epochs"] == 4
    fig = plot_curves(curves)
    assert len(fig.axes[0].lines) == 2
    one = last_epoch_change(curves[curves["epoch"] == 1])  # a smoke run: nothing to say, not an error
    assert one["share_of_total"].isna().all() and (one["epochs"] == 1).all()
    # system 1 minus system 4, paired by seed: epoch 2 (1.5 - 1.3, 1.7 - 1.5) -> 0.2; epoch 4 (-0.1, 0.1) -> 0
    gaps = curve_gaps(curves, worse=1, better=4, epochs=(2, 4))
    assert gaps.loc[2, "loss difference"] == pytest.approx(0.2) and gaps.loc[4, "loss difference"] == pytest.approx(0.0)
    assert (gaps["seeds"] == 2).all()


def test_default_workers_follow_the_device(monkeypatch):
    import clipaac_lib.common as common  # default_workers imports usable_cores from the face

    monkeypatch.setattr(common, "usable_cores", lambda: 2)
    assert parallel.default_workers("cpu") == 2
    monkeypatch.setattr(common, "usable_cores", lambda: 1)
    assert parallel.default_workers("cpu") == 1
    with pytest.raises(ValueError, match="workers"):
        parallel.train_all([], workers=0)


def test_expected_cost_by_hand():
    # epochs x (1 + 4 / batch), a third of that for a frozen encoder
    assert parallel.expected_cost(TrainConfig(num_epochs=12, batch_size=4)) == pytest.approx(12 * 2.0)
    assert parallel.expected_cost(TrainConfig(num_epochs=12, batch_size=8)) == pytest.approx(12 * 1.5)
    assert parallel.expected_cost(TrainConfig(num_epochs=3, batch_size=16)) == pytest.approx(3 * 1.25)
    frozen = TrainConfig(num_epochs=12, batch_size=8, init="audio_text", freeze_encoder=True)
    assert parallel.expected_cost(frozen) == pytest.approx(12 * 1.5 / 3)


class _InlinePool:
    """A stand-in for the process pool: records the order of submission and answers each job at once
    with a made-up run directory (nothing trains); the run of seed 3 fails."""

    submitted: list[int] = []

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, config):
        _InlinePool.submitted.append((config.seed, config.num_epochs))
        future: Future = Future()
        if config.seed == 3:
            future.set_exception(RuntimeError("run of seed 3 failed"))
        else:
            future.set_result(parallel.Trained(f"run-{config.num_epochs}-{config.seed}", 1.0, 1))
        return future


def test_workers_take_the_runs_seed_by_seed_longest_first(monkeypatch):
    """A grid stopped half-way holds whole seeds; within a seed the longest run starts first; each
    finished run is reported to ``on_done`` here, as it ends."""
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _InlinePool)
    monkeypatch.setattr(parallel, "prepare_shared", lambda configs: None)
    monkeypatch.setattr(parallel, "find_run", lambda config: None)
    _InlinePool.submitted = []
    configs = [TrainConfig(num_epochs=e, batch_size=8, seed=s) for s, e in ((1, 9), (0, 2), (0, 5), (1, 3))]
    done = []
    dirs = parallel.train_all(configs, workers=2, on_done=lambda config, trained: done.append(trained.run_dir))
    assert _InlinePool.submitted == [(0, 5), (0, 2), (1, 9), (1, 3)]
    assert dirs == ["run-9-1", "run-2-0", "run-5-0", "run-3-1"]  # returned in the order asked for
    assert sorted(done) == sorted(dirs)


def test_workers_report_each_run_here_and_a_failure_after_the_others(monkeypatch):
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _InlinePool)
    monkeypatch.setattr(parallel, "prepare_shared", lambda configs: None)
    monkeypatch.setattr(parallel, "find_run", lambda config: None)
    configs = [TrainConfig(num_epochs=1, seed=s) for s in (2, 0, 1)]
    calls = []
    dirs = parallel.train_all(configs, workers=2, on_done=lambda c, t: calls.append((c.seed, t, os.getpid())))
    assert dirs == ["run-1-2", "run-1-0", "run-1-1"]
    assert sorted(seed for seed, *_ in calls) == [0, 1, 2]
    assert all(t == parallel.Trained(f"run-1-{s}", 1.0, 1) and pid == os.getpid() for s, t, pid in calls)
    calls.clear()
    with pytest.raises(RuntimeError, match="seed 3 failed"):
        parallel.train_all([*configs, TrainConfig(num_epochs=1, seed=3)], workers=2,
                           on_done=lambda c, t: calls.append(c.seed))
    assert sorted(calls) == [0, 1, 2]  # the others were still reported


def _tiny(data: Path, run_root: Path, seed: int) -> TrainConfig:
    return TrainConfig(init="random", data_root=str(data), run_root=str(run_root), train_split="development",
                       test_split="evaluation", model_overrides=TINY_MODEL, num_epochs=1, batch_size=4,
                       warmup_epochs=0.0, limit_train_clips=4, limit_test_clips=2, beam_size=1, max_caption_len=4,
                       eval_batch_size=4, caption_metrics=False, eval_untrained=False, validate_every=1,
                       progress=False, seed=seed)


@pytest.mark.slow
def test_two_workers_train_what_this_process_would(tiny_clotho, tmp_path, one_thread_private_cache):
    """Runs trained by two worker processes are found by their configuration, and equal a run trained
    here with one thread (same weights: one thread in both places)."""
    configs = [_tiny(tiny_clotho, tmp_path / "runs", s) for s in (0, 1)]
    dirs = parallel.train_all([*configs, configs[0]], workers=2)  # a repeated configuration trains once
    assert dirs[0] == dirs[2] and dirs[0] != dirs[1]
    assert [str(find_run(c).run_dir) for c in configs] == dirs[:2]
    here = parallel.train_all([_tiny(tiny_clotho, tmp_path / "here", 0)], workers=1)[0]
    a = torch.load(Path(dirs[0]) / "model.pt", weights_only=True)
    b = torch.load(Path(here) / "model.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    history = json.loads((Path(dirs[0]) / "history.json").read_text())
    assert np.isfinite(history[0]["test_caption_nll"])  # validated each epoch: the curves' point


def test_a_job_tag_names_the_record():
    assert Job(7, {}, tag="steps").name(3) == "system07-steps-seed3" and Job(12).name(0) == "system12-seed0"
