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
