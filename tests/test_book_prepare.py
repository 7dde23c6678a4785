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


def _patched_grid(monkeypatch: pytest.MonkeyPatch, answered: set[str]) -> list[list[TrainConfig]]:
    """Stand-ins below ``run_grid``: records answer the run hashes in ``answered`` (or every one when it
    holds "all"); nothing is in the cache; training is recorded, not done."""
    from clipaac_lib.experiments import grid as grid_module

    trained: list[list[TrainConfig]] = []

    monkeypatch.setattr(grid_module, "find_run", lambda config: None)
    monkeypatch.setattr(grid_module, "train_all", lambda configs, workers, desc, on_done: trained.append(configs))
    monkeypatch.setattr(grid_module, "read_records", lambda *folders: {
        h: type("R", (), {"run_hash": h})() for h in answered})
    return trained


def _notebook_6_configs() -> list[TrainConfig]:
    from clipaac_lib import experiments as ex

    p = book.notebook_defaults_run(book.REPO / "notebooks" / "06_ablations.ipynb")
    common = dict(dataset=p["dataset"], model_config=p["model_config"], device=p["device"], smoke=p["smoke"],
                  num_epochs=p["num_epochs"], limit_train_clips=p["limit_train_clips"], eval_untrained=False,
                  validate_every=1)
    jobs = ex.grid_jobs({"1", "2"}, "all", **common)
    return [job.config(seed) for job, seed in ex.grid_plan(jobs, ex.parse_seeds(p["seeds"]))]


def test_make_book_trains_none_of_the_grid_that_records_answer(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Every (system, seed) of notebook 6 answered by a record: nothing trains, nothing is estimated."""
    configs = _notebook_6_configs()
    trained = _patched_grid(monkeypatch, {c.run_hash() for c in configs})
    book.prepare_grid()
    assert trained == []
    out = capsys.readouterr().out
    assert f"{len(configs)} of {len(configs)} (system, seed) pairs answered by records" in out
    assert "training them" not in out


def test_make_book_trains_only_what_no_record_answers(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The notebook's design (systems 1-10 and 7 at equal steps, 4 = 8, 12 epochs, validating every
    epoch) with one record missing: exactly that run trains, after the expected time is printed."""
    configs = _notebook_6_configs()
    params = book.notebook_defaults_run(book.REPO / "notebooks" / "06_ablations.ipynb")
    seeds = params["seeds"]
    assert len(configs) == (10 + 1) * seeds and len({c.run_hash() for c in configs}) == (9 + 1) * seeds
    assert all(c.validate_every == 1 for c in configs) and params["num_epochs"] == 12
    missing = configs[3]
    trained = _patched_grid(monkeypatch, {c.run_hash() for c in configs} - {missing.run_hash()})
    book.prepare_grid()
    assert [[c.run_hash() for c in batch] for batch in trained] == [[missing.run_hash()]]
    assert "1 run(s) have no record: training them, about" in capsys.readouterr().out
