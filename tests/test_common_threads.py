"""The thread governor gives torch the cores other processes leave free (common/threads.py)."""

from __future__ import annotations

from clipaac_lib.common.threads import ThreadGovernor, busy_cpu_seconds


class Clock:
    def __init__(self):
        self.t, self.own, self.busy = 0.0, 0.0, 0.0

    def advance(self, seconds: float, own_cores: float, other_cores: float) -> None:
        self.t += seconds
        self.own += seconds * own_cores
        self.busy += seconds * (own_cores + other_cores)


def test_threads_follow_the_free_cores():
    clock, chosen = Clock(), []
    gov = ThreadGovernor(cores=2, every_s=5, clock=lambda: clock.t, own_cpu=lambda: clock.own,
                         busy=lambda: clock.busy, set_threads=chosen.append)
    gov.threads = 2
    clock.advance(6, own_cores=2, other_cores=0)  # alone: keep 2
    assert gov.update() == 2 and chosen == []
    clock.advance(6, own_cores=1, other_cores=1)  # a neighbour spins on one core: drop to 1
    assert gov.update() == 1 and chosen == [1]
    clock.advance(2, own_cores=1, other_cores=0)  # too soon to sample again
    assert gov.update() == 1
    clock.advance(6, own_cores=1, other_cores=0.1)  # the neighbour left: back to 2
    assert gov.update() == 2 and chosen == [1, 2]
    clock.advance(6, own_cores=1, other_cores=3)  # more load than cores: never below 1
    assert gov.update() == 1
    assert [t for _, t in gov.history] == [2, 1, 2, 1]


def test_the_ceiling_is_torch_s_count_when_the_governor_starts(monkeypatch):
    """A process that chose one thread (the grid's workers, the tests) keeps one: the governor gives back
    only what neighbours take, never more than torch had."""
    import torch

    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    clock, chosen = Clock(), []
    gov = ThreadGovernor(every_s=5, clock=lambda: clock.t, own_cpu=lambda: clock.own, busy=lambda: clock.busy,
                         set_threads=chosen.append)
    assert gov.cores == 1 and gov.threads == 1
    clock.advance(6, own_cores=1, other_cores=0)  # alone on a machine of several cores: still one
    assert gov.update() == 1 and chosen == []


def test_without_proc_stat_nothing_changes(tmp_path):
    assert busy_cpu_seconds(tmp_path / "missing") is None
    clock, chosen = Clock(), []
    gov = ThreadGovernor(cores=2, every_s=1, clock=lambda: clock.t, own_cpu=lambda: clock.own,
                         busy=lambda: None, set_threads=chosen.append)
    clock.advance(5, 1, 1)
    gov.update()
    assert chosen == [] and gov.history == []


def test_proc_stat_is_read(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n")
    import os

    assert busy_cpu_seconds(stat) == (100 + 50) / os.sysconf("SC_CLK_TCK")


def test_train_config_cpu_threads():
    import pytest
    import torch

    from clipaac_lib.train import ConfigError, TrainConfig
    from clipaac_lib.train.runstate import _cpu_threads

    for ok in ("torch", "auto", "1", "2"):
        TrainConfig(cpu_threads=ok).validate()
    for bad in ("0", "two", "", "-1"):
        with pytest.raises(ConfigError, match="cpu_threads"):
            TrainConfig(cpu_threads=bad).validate()
    assert TrainConfig().cpu_threads == "auto"  # the default (benchmarks/README.md, thread policies)
    assert TrainConfig(cpu_threads="torch").run_hash() == TrainConfig().run_hash()  # not part of the run
    before = torch.get_num_threads()
    try:
        assert isinstance(_cpu_threads(TrainConfig(cpu_threads="auto"), torch.device("cpu")), ThreadGovernor)
        assert _cpu_threads(TrainConfig(cpu_threads="auto"), torch.device("cuda")) is None
        assert _cpu_threads(TrainConfig(cpu_threads="1"), torch.device("cpu")) is None
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
