"""Where the shipped records are found (experiments/shipped.py): the checkout's results/, or the
repository's archive downloaded once, as on Colab, from a local server standing in for GitHub."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from clipaac_lib.experiments import shipped
from tests.http_server import serve


def _archive(folder: Path, ref: str, files: dict[str, str]) -> None:
    """A GitHub-style archive: every file under a ``clipaac-<ref>/`` top folder."""
    with tarfile.open(folder / ref, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"clipaac-{ref}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_a_checkout_uses_its_own_results_folder():
    assert shipped.shipped_results_dir() == Path(shipped.__file__).resolve().parents[2] / "results"


def test_without_a_checkout_the_archive_is_downloaded_once(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "REPO_RESULTS", tmp_path / "no-checkout" / "results")
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    served = tmp_path / "served"
    served.mkdir()
    record = json.dumps({"format": 1, "name": "system04-seed0"})
    _archive(served, "abc123", {"results/system04-seed0.json": record, "results/README.md": "# records",
                                "results/notes.txt": "not a record", "clipaac_lib/x.py": "code",
                                "other/results/system99-seed0.json": "{}"})
    assert shipped.shipped_results_dir(download_missing=False) is None  # offline and not on Colab: nothing
    with serve(served) as (url, server):
        monkeypatch.setenv("CLIPAAC_RESULTS_URL", url + "/{ref}")
        folder = shipped.shipped_results_dir(download_missing=True, ref="abc123")
        again = shipped.shipped_results_dir(download_missing=True, ref="abc123")
    assert folder == again and len(server.requests) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "system04-seed0.json"]
    assert json.loads((folder / "system04-seed0.json").read_text()) == json.loads(record)


def test_an_archive_without_results_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "REPO_RESULTS", tmp_path / "no-checkout" / "results")
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    served = tmp_path / "served"
    served.mkdir()
    _archive(served, "main", {"README.md": "another project"})
    with serve(served) as (url, _), pytest.raises(ValueError, match="no results/README.md"):
        monkeypatch.setenv("CLIPAAC_RESULTS_URL", url + "/{ref}")
        shipped.shipped_results_dir(download_missing=True, ref="main")


def test_the_installed_ref_comes_from_pip_direct_url(monkeypatch):
    class Dist:
        def __init__(self, text):
            self.text = text

        def read_text(self, name):
            return self.text if name == "direct_url.json" else None

    info = {"url": "https://github.com/clipaac/clipaac", "vcs_info": {"vcs": "git", "commit_id": "f00d"}}
    monkeypatch.setattr(shipped.metadata, "distribution", lambda name: Dist(json.dumps(info)))
    assert shipped.installed_ref() == "f00d"
    monkeypatch.setattr(shipped.metadata, "distribution", lambda name: Dist(None))  # an ordinary install
    assert shipped.installed_ref() == "main"


def test_on_colab_the_grid_shows_the_records_and_trains_nothing_unless_asked(tmp_path, monkeypatch):
    from clipaac_lib.experiments import grid as grid_module
    from clipaac_lib.experiments.ablations import Job

    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(grid_module, "find_run", lambda config: None)
    trained = []
    monkeypatch.setattr(grid_module, "train_all", lambda configs, workers, desc, on_done: trained.extend(configs))
    jobs = [Job(1, {"init": "random", "num_epochs": 1})]
    monkeypatch.setattr(grid_module, "on_colab", lambda: True)
    shown = grid_module.run_grid(jobs, [0], results_dir=tmp_path / "out", train_missing=None)
    assert trained == [] and list(shown.missing) == [(1, "", 0)]
    grid_module.run_grid(jobs, [0], results_dir=tmp_path / "out", train_missing=True)  # asked: trains
    assert len(trained) == 1
    monkeypatch.setattr(grid_module, "on_colab", lambda: False)
    grid_module.run_grid(jobs, [0], results_dir=tmp_path / "out", train_missing=None)  # elsewhere: trains
    assert len(trained) == 2
