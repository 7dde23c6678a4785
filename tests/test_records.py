"""Run records, provenance and the grid answered from records (``clipaac_lib.experiments.records``,
``.provenance``, ``.grid`` and ``.parallel``'s ``on_done``), checked against hand computations, hand-made
digests, git itself, the run directories the records describe and ``evaluate_captions``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import clipaac_lib.experiments.grid as grid_module
from clipaac_lib.experiments import parallel
from clipaac_lib.experiments.ablations import Job
from clipaac_lib.experiments.grid import run_grid
from clipaac_lib.experiments.provenance import FINGERPRINTED, PACKAGE_DIR, code_fingerprint, git_commit
from clipaac_lib.experiments.records import RECORD_FORMAT, RunRecord, build_record, read_records, write_record
from clipaac_lib.metrics import CiderScores
from clipaac_lib.train import TrainConfig, find_run
from tests.conftest import TINY_MODEL
from tests.test_held_out import cider, held_out_by_rounds

REPO = Path(__file__).resolve().parents[1]
RECORD_KEYS = {"format", "name", "system", "tag", "seed", "run_hash", "config", "clips", "metrics", "curve",
               "provenance"}
CLIP_KEYS = {"file_name", "caption", "cider_d", "cider_d_held_out"}
PROVENANCE_KEYS = {"commit", "date", "cpu", "torch", "threads", "wall_seconds", "code_fingerprint"}


def _json(obj):
    """``obj`` as it reads back from a JSON file."""
    return json.loads(json.dumps(obj))


# --------------------------------------------------------------------------- records


def _record(name: str = "system04-seed1", **changes) -> RunRecord:
    captions = [{"file_name": "a.wav", "caption": "a dog barks", "references": ["x", "y"]},
                {"file_name": "b.wav", "caption": "rain falls", "references": ["z", "w"]},
                {"file_name": "c.wav", "caption": "a man talks", "references": ["u", "v"]}]
    cider_scores = CiderScores(np.array([0.5, 1.25, 0.0]), np.array([0.25, 1.0, 0.25]))
    history = [{"epoch": 1, "train_loss": 4.0, "test_caption_nll": 3.0, "lr": 1e-3},
               {"epoch": 2, "train_loss": 3.5, "test_caption_nll": 2.5}]
    fields = {"name": name, "system": 4, "tag": "", "seed": 1, "config": {"num_epochs": 2, "alpha": 0.2},
              "run_hash": "abc123def456", "captions": captions, "cider": cider_scores,
              "metrics": {"caption_nll": 2.5, "retrieval": {"a2t_r1": 0.5}},
              "history": history, "provenance": {"commit": None, "wall_seconds": 12.5}}
    return build_record(**{**fields, **changes})


def test_build_record_by_hand():
    record = _record()
    assert record.format == RECORD_FORMAT == 1
    assert record.clips == [
        {"file_name": "a.wav", "caption": "a dog barks", "cider_d": 0.5, "cider_d_held_out": 0.25},
        {"file_name": "b.wav", "caption": "rain falls", "cider_d": 1.25, "cider_d_held_out": 1.0},
        {"file_name": "c.wav", "caption": "a man talks", "cider_d": 0.0, "cider_d_held_out": 0.25}]
    assert record.curve == [{"epoch": 1, "loss": 3.0, "train_loss": 4.0},
                            {"epoch": 2, "loss": 2.5, "train_loss": 3.5}]
    assert record.per_clip() == {"a.wav": 0.5, "b.wav": 1.25, "c.wav": 0.0}
    assert record.per_clip("cider_d_held_out") == {"a.wav": 0.25, "b.wav": 1.0, "c.wav": 0.25}
    assert record.corpus() == pytest.approx(1.75 / 3)
    assert record.corpus("cider_d_held_out") == pytest.approx(0.5)
    assert math.isnan(RunRecord(**{**record.to_dict(), "clips": []}).corpus())
    with pytest.raises(ValueError, match="system04-seed1: 2 captions but 3 per-clip scores"):
        _record(captions=record.clips[:2])


def test_a_record_round_trips_through_its_file(tmp_path):
    record = _record()
    path = write_record(tmp_path / "out", record)
    assert path == tmp_path / "out" / "system04-seed1.json"
    assert os.listdir(tmp_path / "out") == ["system04-seed1.json"]  # no temporary file left beside it
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == RECORD_KEYS and data["format"] == 1 and data["clips"] == record.clips
    assert read_records(tmp_path / "out") == {"system04-seed1": record}
    # missing folders and None are skipped; a later folder's record of the same name replaces an earlier one
    newer = _record(run_hash="0123456789ab")
    write_record(tmp_path / "later", newer)
    write_record(tmp_path / "later", _record("system08-seed0"))
    found = read_records(None, tmp_path / "nowhere", tmp_path / "out", tmp_path / "later")
    assert set(found) == {"system04-seed1", "system08-seed0"} and found["system04-seed1"] == newer
    assert read_records(tmp_path / "later", tmp_path / "out")["system04-seed1"] == record


def test_bad_record_files_raise_naming_the_file(tmp_path):
    data = _record().to_dict()
    path = tmp_path / "system04-seed1.json"
    named = re.escape(str(path))
    for bad in ({**data, "format": 2}, {k: v for k, v in data.items() if k != "format"}):
        path.write_text(json.dumps(bad), encoding="utf-8")
        with pytest.raises(ValueError, match=f"{named} has format .*this clipaac reads format 1"):
            read_records(tmp_path)
    path.write_text(json.dumps({**data, "colour": "blue"}), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"unknown RunRecord field\(s\) \['colour'\].*\(in {named}\)"):
        read_records(tmp_path)
    path.write_text(json.dumps({k: v for k, v in data.items() if k not in ("clips", "curve")}),
                    encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{named} lacks the RunRecord field\(s\) \['clips', 'curve'\]"):
        read_records(tmp_path)
    path.write_text(json.dumps([data]), encoding="utf-8")  # valid JSON, but no record
    with pytest.raises(ValueError, match=f"{named} holds a JSON list, not a run record"):
        read_records(tmp_path)
    path.write_text('{"format": 1, "name": "system04-', encoding="utf-8")  # a half-written file
    with pytest.raises(ValueError, match=f"{named} is not valid JSON"):
        read_records(tmp_path)


# --------------------------------------------------------------------------- provenance


def test_code_fingerprint_by_hand(tmp_path):
    (tmp_path / "a" / "sub").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.py").write_bytes(b"x = 1\n")
    (tmp_path / "a" / "sub" / "y.py").write_bytes(b"y = 2\n")
    (tmp_path / "a" / "notes.txt").write_bytes(b"not source")
    (tmp_path / "b" / "z.py").write_bytes(b"z = 3\n")
    expected = hashlib.sha256(b"a/sub/y.py\0y = 2\n\0a/x.py\0x = 1\n\0").hexdigest()[:16]
    assert code_fingerprint(tmp_path, ("a",)) == expected
    # a byte moved from one file to the next is another code, though the bytes run together the same
    (tmp_path / "a" / "sub" / "y.py").write_bytes(b"y = 2\nx")
    (tmp_path / "a" / "x.py").write_bytes(b" = 1\n")
    assert code_fingerprint(tmp_path, ("a",)) != expected


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory) -> Path:
    """A copy of the package tree (sources only), to change files in."""
    copy = tmp_path_factory.mktemp("package") / "clipaac_lib"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return copy


def test_code_fingerprint_follows_the_fingerprinted_sources_only(package_copy):
    original = code_fingerprint()
    assert len(original) == 16 and int(original, 16) >= 0
    assert code_fingerprint(package_copy) == original  # the same files, the same fingerprint
    target = package_copy / "metrics" / "held_out.py"
    source = target.read_bytes()
    try:
        target.write_bytes(source[:-2] + bytes([source[-2] ^ 1]) + source[-1:])  # one byte changed
        assert code_fingerprint(package_copy) != original
    finally:
        target.write_bytes(source)
    assert code_fingerprint(package_copy) == original
    added = package_copy / "train" / "extra.py"
    added.write_text("", encoding="utf-8")  # even an empty module is a change
    try:
        assert code_fingerprint(package_copy) != original
    finally:
        added.unlink()
    assert "experiments" not in FINGERPRINTED and "cli" not in FINGERPRINTED
    outside = [package_copy / "experiments" / "records.py", package_copy / "cli" / "new.py",
               package_copy / "new_module.py", package_copy / "data" / "README.txt"]
    for path in outside:
        path.write_text("# not part of a run's numbers\n", encoding="utf-8")
    assert code_fingerprint(package_copy) == original
    assert code_fingerprint(package_copy, ("data",)) != code_fingerprint(package_copy, ("model",))


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_git_commit_outside_and_inside_a_checkout(tmp_path, monkeypatch):
    outside = tmp_path / "plain" / "pkg"
    outside.mkdir(parents=True)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # never find a repository above tmp_path
    assert git_commit(outside) == (None, False)
    assert git_commit(tmp_path / "no such folder") == (None, False)

    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "a.py").write_text("a = 1\n", encoding="utf-8")
    (repo / "README").write_text("outside the package\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "log", "-1", "--format=%H")
    assert len(head) == 40 and git_commit(repo / "pkg") == (head, False)
    (repo / "README").write_text("changed, but not the package\n", encoding="utf-8")
    assert git_commit(repo / "pkg") == (head, False)
    (repo / "pkg" / "a.py").write_text("a = 2\n", encoding="utf-8")
    assert git_commit(repo / "pkg") == (head, True)


# --------------------------------------------------------------------------- train_all's on_done and order


def test_train_all_calls_on_done_here_seed_by_seed_longest_first(tmp_path, monkeypatch):
    trained: list[TrainConfig] = []

    def fake_train(config):
        trained.append(config)
        return SimpleNamespace(run_dir=tmp_path / f"run-{config.run_hash()}")

    finished = TrainConfig(num_epochs=7, batch_size=8, seed=0)
    monkeypatch.setattr(parallel, "train", fake_train)
    monkeypatch.setattr(parallel, "find_run", lambda c: SimpleNamespace(run_dir=tmp_path / "old", scores={})
                        if c.run_hash() == finished.run_hash() else None)
    # expected_cost by hand, epochs x (1 + 4 / batch): a 2x8 = 3, b 1x4 = 2, c 3x8 = 4.5, d 4x16 = 5,
    # e 2x2 = 6
    a = TrainConfig(num_epochs=2, batch_size=8, seed=1)
    b = TrainConfig(num_epochs=1, batch_size=4, seed=0)
    c = TrainConfig(num_epochs=3, batch_size=8, seed=0)
    d = TrainConfig(num_epochs=4, batch_size=16, seed=1)
    e = TrainConfig(num_epochs=2, batch_size=2, seed=2)
    assert [parallel.expected_cost(x) for x in (a, b, c, d, e)] == pytest.approx([3, 2, 4.5, 5, 6])
    calls = []

    def on_done(config, done):
        calls.append((config, done, os.getpid(), threading.current_thread() is threading.main_thread()))

    dirs = parallel.train_all([a, b, finished, c, d, b, e], workers=1, on_done=on_done)
    order = [c, b, d, a, e]  # seed 0: 4.5, 2; seed 1: 5, 3; seed 2: 6 (the finished run is not retrained)
    assert [x.run_hash() for x in trained] == [x.run_hash() for x in order]
    assert [x.run_hash() for x, *_ in calls] == [x.run_hash() for x in order]  # once per trained run
    assert all(pid == os.getpid() and main for _, _, pid, main in calls)
    assert all(isinstance(done, parallel.Trained) and done.wall_seconds >= 0 and done.threads >= 1
               for _, done, *_ in calls)
    by_hash = {config.run_hash(): done.run_dir for config, done, *_ in calls}
    assert dirs == [by_hash.get(x.run_hash(), str(tmp_path / "old")) for x in (a, b, finished, c, d, b, e)]
    assert dirs[2] == str(tmp_path / "old") and dirs[1] == dirs[5] == str(tmp_path / f"run-{b.run_hash()}")


# --------------------------------------------------------------------------- run_grid end to end


def _params(data: Path, run_root: Path, **changes) -> dict:
    """A run of seconds (tests/test_grid_curves.py's tiny recipe), 2 epochs for a curve of two points."""
    return {"init": "random", "data_root": str(data), "run_root": str(run_root), "train_split": "development",
            "test_split": "evaluation", "model_overrides": TINY_MODEL, "num_epochs": 2, "batch_size": 4,
            "warmup_epochs": 0.0, "limit_train_clips": 4, "limit_test_clips": 2, "beam_size": 1,
            "max_caption_len": 4, "eval_batch_size": 4, "caption_metrics": False, "eval_untrained": False,
            "validate_every": 1, "progress": False, **changes}


def _jobs(data: Path, run_root: Path, **changes) -> list[Job]:
    """Systems 4 and 8 (one configuration), then system 1 at batch 2 (the longer run)."""
    shared = _params(data, run_root, **changes)
    return [Job(4, shared), Job(8, dict(shared)), Job(1, {**shared, "batch_size": 2})]


SEEDS, SEEDED = [0, 1], {4, 8}
NAMES = {"system04-seed0", "system04-seed1", "system01-seed0"}


def _no_training(configs, *args, **kwargs):
    if configs:
        raise AssertionError(f"trained {len(configs)} run(s) that records should have answered")
    return []


@pytest.fixture(scope="module")
def first_grid(tiny_clotho, tmp_path_factory):
    """The grid's first call (it trains the three runs), with what each ``on_done`` saw as it came."""
    root = tmp_path_factory.mktemp("grid")
    jobs = _jobs(tiny_clotho, root / "runs")
    seen = []
    real_train_all = grid_module.train_all

    def spy(configs, workers=1, desc="", on_done=None):
        def noting(config, trained):
            on_done(config, trained)
            # the run's record is on disk when its on_done returns, before the next run starts
            seen.append((config, trained, sorted(p.name for p in (root / "results").glob("*.json"))))
        return real_train_all(configs, workers, desc=desc, on_done=noting)

    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLIPAAC_CACHE", str(root / "cache"))
        patch.setattr(grid_module, "train_all", spy)
        torch.set_num_threads(1)
        try:
            grid = run_grid(jobs, SEEDS, results_dir=root / "results", seeded=SEEDED, command="pytest grid")
        finally:
            torch.set_num_threads(threads)
    return SimpleNamespace(root=root, jobs=jobs, grid=grid, seen=seen)


def test_the_first_grid_trains_each_run_once_and_records_it_as_it_ends(first_grid):
    root, (four, _, one), grid = first_grid.root, first_grid.jobs, first_grid.grid
    assert sorted(p.name for p in (root / "results").iterdir()) == sorted(f"{n}.json" for n in NAMES)
    assert not grid.missing and len(grid.plan) == 5
    assert {key: r.name for key, r in grid.records.items()} == {
        (4, "", 0): "system04-seed0", (8, "", 0): "system04-seed0", (4, "", 1): "system04-seed1",
        (8, "", 1): "system04-seed1", (1, "", 0): "system01-seed0"}
    assert grid.record(8, 1) is grid.record(4, 1)  # systems 4 and 8: one run, one record
    # seed by seed, the longer run (system 1 at batch 2) first; each record written when its run ended
    order = [(one, 0), (four, 0), (four, 1)]
    assert [c.run_hash() for c, *_ in first_grid.seen] == [j.config(s).run_hash() for j, s in order]
    assert [files for *_, files in first_grid.seen] == [
        ["system01-seed0.json"], ["system01-seed0.json", "system04-seed0.json"],
        sorted(f"{n}.json" for n in NAMES)]
    for config, trained, _ in first_grid.seen:
        assert trained.run_dir == str(find_run(config).run_dir)
    table = grid.table()
    assert list(table["status"]) == ["ran"] * 5
    assert list(table["record"])[:2] == ["system04-seed0", "system04-seed1"]


def test_each_record_holds_what_its_run_directory_holds(first_grid):
    records = read_records(first_grid.root / "results")
    head = _git(REPO, "log", "-1", "--format=%H")
    for (job, seed) in [(j, s) for j, s in first_grid.grid.plan if j.system != 8]:
        record = records[job.name(seed)]
        data = json.loads((first_grid.root / "results" / f"{record.name}.json").read_text(encoding="utf-8"))
        assert set(data) == RECORD_KEYS and PROVENANCE_KEYS <= set(data["provenance"])
        assert (record.system, record.tag, record.seed) == (job.system, "", seed)
        config = job.config(seed)
        found = find_run(config)
        assert record.run_hash == config.run_hash() == found.run_hash
        assert record.config == _json(config.to_dict())
        assert record.metrics == _json(found.scores.to_dict())
        # the curve: the validation loss and training loss of every epoch, from the run's history.json
        history = json.loads((Path(found.run_dir) / "history.json").read_text(encoding="utf-8"))
        assert record.curve == [{"epoch": h["epoch"], "loss": h["test_caption_nll"],
                                 "train_loss": h["train_loss"]} for h in history]
        assert [p["epoch"] for p in record.curve] == [1, 2]
        assert all(np.isfinite(p["loss"]) for p in record.curve)
        # the clips: the run's test captions, scored by evaluate_captions against all references
        assert all(set(clip) == CLIP_KEYS for clip in record.clips)
        rows = found.captions
        assert [(c["file_name"], c["caption"]) for c in record.clips] == [
            (r["file_name"], r["caption"]) for r in rows]
        references = [list(r["references"]) for r in rows]
        np.testing.assert_allclose([c["cider_d"] for c in record.clips], cider([r["caption"] for r in rows],
                                   references), rtol=1e-9, atol=1e-12)
        if record.name == "system04-seed0":  # the held-out footing, round by round (five calls: one record)
            np.testing.assert_allclose([c["cider_d_held_out"] for c in record.clips],
                                       held_out_by_rounds([r["caption"] for r in rows], references),
                                       rtol=1e-9, atol=1e-12)
        prov = record.provenance
        assert prov["commit"] == head and prov["code_fingerprint"] == code_fingerprint()
        assert prov["torch"] == torch.__version__ and prov["threads"] == 1 and isinstance(prov["cpu"], str)
        assert prov["cpu"] and prov["command"] == "pytest grid" and prov["wall_seconds"] > 0
        when = dt.datetime.fromisoformat(prov["date"])
        assert when.utcoffset() == dt.timedelta(0)
        assert abs(dt.datetime.now(dt.timezone.utc) - when) < dt.timedelta(hours=1)


def test_a_second_grid_is_answered_by_the_records(first_grid, monkeypatch):
    root = first_grid.root
    monkeypatch.setenv("CLIPAAC_CACHE", str(root / "cache"))
    monkeypatch.setattr(grid_module, "train_all", _no_training)
    before = {p.name: p.read_bytes() for p in (root / "results").iterdir()}
    again = run_grid(first_grid.jobs, SEEDS, results_dir=root / "results", seeded=SEEDED)
    assert not again.missing
    assert {k: _json(r.to_dict()) for k, r in again.records.items()} == {
        k: _json(r.to_dict()) for k, r in first_grid.grid.records.items()}
    assert {p.name: p.read_bytes() for p in (root / "results").iterdir()} == before  # nothing rewritten
    # the records alone answer: with no run directory left, still nothing to train
    elsewhere = _jobs(Path(first_grid.jobs[0].params["data_root"]), root / "no-runs")
    assert run_grid(elsewhere, SEEDS, results_dir=root / "results", seeded=SEEDED).records.keys() == \
        first_grid.grid.records.keys()


def test_a_lost_record_is_remade_from_its_run_or_listed_missing(first_grid, tmp_path, monkeypatch):
    root, data = first_grid.root, Path(first_grid.jobs[0].params["data_root"])
    monkeypatch.setenv("CLIPAAC_CACHE", str(root / "cache"))
    monkeypatch.setattr(grid_module, "train_all", _no_training)
    results, runs = tmp_path / "results", tmp_path / "runs"  # copies: the other tests keep the originals
    shutil.copytree(root / "results", results)
    shutil.copytree(root / "runs", runs)
    jobs = _jobs(data, runs)
    (results / "system01-seed0.json").unlink()
    # its run directory is still there: recorded again, not retrained
    remade = run_grid(jobs, SEEDS, results_dir=results, seeded=SEEDED)
    assert not remade.missing and (results / "system01-seed0.json").is_file()
    old = first_grid.grid.record(1, 0)
    assert remade.record(1, 0).clips == old.clips and remade.record(1, 0).run_hash == old.run_hash
    # record and run directories gone: train_missing=False lists exactly that pair and trains nothing
    (results / "system01-seed0.json").unlink()
    shutil.rmtree(runs)
    grid = run_grid(jobs, SEEDS, results_dir=results, seeded=SEEDED, train_missing=False)
    assert grid.missing == {(1, "", 0): "no record (train_missing=False)"}
    assert set(grid.records) == {(4, "", 0), (8, "", 0), (4, "", 1), (8, "", 1)}
    assert not (results / "system01-seed0.json").exists()
    assert grid.table().set_index("system").loc[1, "status"] == "no record (train_missing=False)"


def test_a_changed_configuration_is_not_answered_by_old_records(first_grid, monkeypatch):
    root, data = first_grid.root, Path(first_grid.jobs[0].params["data_root"])
    monkeypatch.setenv("CLIPAAC_CACHE", str(root / "cache"))
    monkeypatch.setattr(grid_module, "train_all", _no_training)
    longer = _jobs(data, root / "runs", num_epochs=3)
    grid = run_grid(longer, SEEDS, results_dir=root / "results", seeded=SEEDED, train_missing=False)
    assert not grid.records and set(grid.missing) == {(j.system, "", s) for j, s in grid.plan}
    assert len(grid.missing) == 5
    with pytest.raises(AssertionError, match="trained 3 run"):  # and it would train all three runs
        run_grid(longer, SEEDS, results_dir=root / "results", seeded=SEEDED)


def test_the_provenance_summary_adds_the_worker_hours_and_names_resumed_runs() -> None:
    """Two runs of 1800 s and 900 s are 0.75 worker hours; one resumed run is named, none when none was."""
    from clipaac_lib.experiments.provenance import describe_provenance

    base = {"cpu": "X", "cores": 2, "torch": "2", "date": "2026-12-07T10:00:00", "commit": "abcdef0123",
            "dirty": False, "command": "c", "code_fingerprint": "f", "load": 1.0}
    plain = [{**base, "wall_seconds": 1800.0}, {**base, "wall_seconds": 900.0, "resumed_after_epoch": 0}]
    summary = describe_provenance(plain, current_fingerprint="f")
    assert summary["cost"].startswith("0.8 hours of worker time in all (2 runs)") and "resumed" not in summary["cost"]
    resumed = [plain[0], {**plain[1], "resumed_after_epoch": 7}]
    assert "1 run(s) resumed after an interruption" in describe_provenance(resumed, current_fingerprint="f")["cost"]
