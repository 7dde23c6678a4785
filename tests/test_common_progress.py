"""Progress bars honour TQDM_DISABLE in Jupyter too (common/progress.py): no frozen widget in the book."""

from __future__ import annotations

import tqdm.notebook

from clipaac_lib.common import progress


def test_notebook_bars_honour_tqdm_disable(monkeypatch):
    monkeypatch.setattr(progress, "_auto_tqdm", tqdm.notebook.tqdm)  # as in a Jupyter kernel
    monkeypatch.setenv("TQDM_DISABLE", "1")
    bar = progress.tqdm(range(3), disable=False)
    assert bar.disable and not hasattr(bar, "container")  # no widget was built
    assert list(bar) == [0, 1, 2]


def test_bars_show_without_the_variable(monkeypatch, capsys):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert not progress.progress_disabled()
    bar = progress.tqdm(range(2), desc="work")
    assert not bar.disable
    list(bar)
    bar.close()
    assert "work" in capsys.readouterr().err
    monkeypatch.setenv("TQDM_DISABLE", "yes")
    assert progress.progress_disabled()
