"""``make book``'s preparation (devtools/book.py) trains the default run that notebook 5 then finds."""

from __future__ import annotations

from dataclasses import fields

import pytest

from clipaac_lib.train import TrainConfig
from devtools import book


def test_notebook_5_parameters_are_train_configs_defaults() -> None:
    """So the run prepared before Jupyter Book (TrainConfig()) has the hash notebook 5's config has."""
    values = book.notebook_defaults_run(book.REPO / "notebooks" / "05_train.ipynb")
    names = {f.name for f in fields(TrainConfig)}
    assert set(values) <= names, set(values) - names
    notebook_config = TrainConfig(**values)
    assert notebook_config.run_hash() == TrainConfig().run_hash()


def test_a_notebook_that_differs_is_left_to_train_itself(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(book, "notebook_defaults_run", lambda path: {"alpha": 0.3})
    import clipaac_lib.train as train_package

    monkeypatch.setattr(train_package, "train", lambda config: pytest.fail("must not train"))
    book.prepare_default_run()
    assert "differ" in capsys.readouterr().out


def test_the_prepared_grid_is_notebook_6s(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """What ``make book`` trains before rendering: every system of Tables 1-2 for each of notebook 6's
    seeds (systems 4 and 8 one run) and the equal-steps batch-4 run, validating every epoch; the
    expected time is printed first."""
    import clipaac_lib.train as train_package
    from clipaac_lib import experiments as ex

    captured: list[list[TrainConfig]] = []
    monkeypatch.setattr(train_package, "find_run", lambda config: None)
    monkeypatch.setattr(ex, "train_all", lambda configs, workers, desc: captured.append(list(configs)))
    book.prepare_grid()
    (configs,) = captured
    params = book.notebook_defaults_run(book.REPO / "notebooks" / "06_ablations.ipynb")
    seeds = ex.parse_seeds(params["seeds"])
    assert len(configs) == (10 + 1) * len(seeds)  # systems 1-10, and 7 at equal steps
    assert len({c.run_hash() for c in configs}) == (9 + 1) * len(seeds)  # 4 = 8
    assert all(c.validate_every == 1 and c.num_epochs == params["num_epochs"] for c in configs
               if not (c.batch_size == 4 and c.num_epochs != params["num_epochs"]))
    steps = [c for c in configs if c.batch_size == 4 and c.num_epochs == params["num_epochs"] // 4]
    assert len(steps) == len(seeds)
    assert "expected about" in capsys.readouterr().out


def test_the_grid_expectation_scales_with_the_default_runs_epoch(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys) -> None:
    """A machine twice as slow at the default run's epoch is expected to take twice as long for the
    grid: run-epochs (frozen runs a quarter) x the calibrated seconds, two workers sharing two cores."""
    import re

    import clipaac_lib.train as train_package
    from clipaac_lib import experiments as ex

    captured: list[list[TrainConfig]] = []
    monkeypatch.setattr(train_package, "find_run", lambda config: None)
    monkeypatch.setattr(ex, "train_all", lambda configs, workers, desc: captured.append(list(configs)))
    monkeypatch.setattr(ex, "default_workers", lambda device: 2)
    minutes = []
    for epoch_seconds in (60.0, 120.0):
        book.prepare_grid(default_epoch_seconds=epoch_seconds)
        minutes.append(int(re.search(r"expected about (\d+) min", capsys.readouterr().out).group(1)))
    unique = {c.run_hash(): c for c in captured[0]}.values()
    run_epochs = sum(c.num_epochs * (0.25 if c.freeze_encoder else 1) for c in unique)
    assert minutes[0] == round(run_epochs * book.GRID_RUN_EPOCH_PER_DEFAULT_EPOCH * 60.0 / 60)
    assert abs(minutes[1] - 2 * minutes[0]) <= 1
