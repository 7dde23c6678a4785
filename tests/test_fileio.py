"""Atomic writes and the user cache folder."""

from __future__ import annotations

import json

import pytest

from clipaac_lib.common import paths
from clipaac_lib.common.fileio import atomic_open, atomic_write_json


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "state.json"
    atomic_write_json(target, {"epoch": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write('{"epoch": 2')  # half-written
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary left behind


def test_atomic_open_refuses_read_mode(tmp_path):
    with pytest.raises(ValueError, match="writing"):
        with atomic_open(tmp_path / "x", "rb"):
            pass


def test_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    assert paths.cache_dir() == tmp_path / "cache"
    assert paths.subdir("weights") == tmp_path / "cache" / "weights"
    assert (tmp_path / "cache" / "weights").is_dir()


def test_cache_dir_default_is_in_home(tmp_path, monkeypatch):
    monkeypatch.delenv("CLIPAAC_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.cache_dir() == tmp_path / ".cache" / "clipaac"
