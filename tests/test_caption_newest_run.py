"""``clipaac caption`` without ``--run`` takes the run that finished last
(``clipaac_lib.caption.newest_run``): the one whose ``finished.json`` was written last, whatever the
folders are named and whenever the folders themselves were last changed (a copied, touched or
re-evaluated run folder gets a new modification time without finishing again). No training: a run
folder only needs ``finished.json`` and ``model.pt`` to count as finished."""

from __future__ import annotations

import os
from pathlib import Path

from clipaac_lib.caption import newest_run
from clipaac_lib.train.rundir import RunDir

T0 = 1_700_000_000.0  # seconds since the epoch; every time below is set explicitly


def _finished_run(root: Path, name: str, finished_at: float, folder_at: float) -> Path:
    """A finished run folder ``name``: its ``finished.json`` last written at ``finished_at``, every other
    file and the folder itself at ``folder_at``."""
    run = RunDir(root / name)
    run.path.mkdir(parents=True)
    run.model_file.write_bytes(b"weights")
    run.mark_finished({"run_hash": name, "epochs": 1})
    assert run.is_finished()
    os.utime(run.model_file, (folder_at, folder_at))
    os.utime(run.finished_file, (finished_at, finished_at))
    os.utime(run.path, (folder_at, folder_at))  # last: writing the files above changed it
    return run.path


def test_newest_run_follows_finished_json_not_names_nor_folder_times(tmp_path: Path) -> None:
    """Three runs, by ``finished.json`` time: ``c_first`` (T0), ``b_second`` (T0 + 100), ``a_last``
    (T0 + 200). By name the newest would be ``c_first``; by folder time ``b_second`` (touched at
    T0 + 300, after every finish); only the finish times give ``a_last``."""
    root = tmp_path / "runs"
    last = _finished_run(root, "a_last", finished_at=T0 + 200, folder_at=T0 - 50)
    second = _finished_run(root, "b_second", finished_at=T0 + 100, folder_at=T0 + 300)
    first = _finished_run(root, "c_first", finished_at=T0, folder_at=T0 + 150)
    unfinished = root / "d_unfinished"
    unfinished.mkdir()
    os.utime(unfinished, (T0 + 400, T0 + 400))  # the newest folder of all, but never finished
    by_name = max(p.name for p in (last, second, first))
    by_folder_time = max((last, second, first), key=lambda p: p.stat().st_mtime)
    by_finish = max((last, second, first), key=lambda p: RunDir(p).finished_file.stat().st_mtime)
    # the three orders disagree
    assert (by_name, by_folder_time.name, by_finish.name) == ("c_first", "b_second", "a_last")
    assert newest_run(root) == last
    os.utime(RunDir(first).finished_file, (T0 + 250, T0 + 250))  # c_first finishes again, last of all
    assert newest_run(root) == first
