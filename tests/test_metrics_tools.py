"""One note per page about missing metric tools, instead of a warning per evaluation (metrics/tools.py)."""

from __future__ import annotations

import warnings

from clipaac_lib.metrics import (
    ModelMetricsUnavailableWarning,
    SpiceUnavailableWarning,
    missing_tools,
    missing_tools_note,
)
from clipaac_lib.metrics.modern_models import ModelSource, ModernModels, RemoteFile


def _models(tmp_path, monkeypatch, present: bool) -> ModernModels:
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path))
    source = ModelSource("tiny", (RemoteFile("weights.bin", "file:///nowhere"),))
    if present:
        source.folder().mkdir(parents=True)
        (source.folder() / "weights.bin").write_bytes(b"w")
    return ModernModels(sbert=source, echecker=source)


def test_everything_installed_is_one_line(tmp_path, monkeypatch):
    models = _models(tmp_path, monkeypatch, present=True)
    note = missing_tools_note(silence=False, spice_found=lambda: True, models=models, offline=lambda: True)
    assert note.missing == ()
    assert note.markdown().startswith(":::{note}") and "all scores" in note.markdown()


def test_models_missing_count_only_offline(tmp_path, monkeypatch):
    models = _models(tmp_path, monkeypatch, present=False)
    online = missing_tools(spice_found=lambda: True, models=models, offline=lambda: False)
    offline = missing_tools(spice_found=lambda: True, models=models, offline=lambda: True)
    assert online == ()  # they would download on first use
    assert [t.warning for t in offline] == [ModelMetricsUnavailableWarning]
    assert "FENSE" in offline[0].scores and "tiny" in offline[0].name


def test_note_names_each_tool_once_and_silences_only_those_warnings(tmp_path, monkeypatch):
    models = _models(tmp_path, monkeypatch, present=True)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        note = missing_tools_note(spice_found=lambda: False, models=models, offline=lambda: True)
        warnings.warn("spice missing", SpiceUnavailableWarning, stacklevel=1)
        warnings.warn("models missing", ModelMetricsUnavailableWarning, stacklevel=1)  # not in the note: still shown
        warnings.warn("something else", RuntimeWarning, stacklevel=1)
    text = note.markdown()
    assert text.count(":::") == 2 and text.count("CoreNLP") == 1 and "install-spice" in text
    assert note._repr_markdown_() == text
    assert [w.category for w in seen] == [ModelMetricsUnavailableWarning, RuntimeWarning]
