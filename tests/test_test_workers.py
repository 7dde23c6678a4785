"""``make test``'s two workers (tests/conftest.py): each test file runs on one worker, the files that share
the session's wheel and executed notebooks on one together and in order, and torch in a worker runs on
one thread. Checked end to end: pytest-xdist runs a folder of stand-in test files under this project's
hooks, and each test writes down its worker and its place. (pytest-xdist's own ``loadgroup`` once split
such a group silently under pytest 9.2; a wrong split costs minutes, not a failure, so only this test
notices it.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import WHEEL_GROUP

REPO = Path(__file__).resolve().parents[1]
STAND_IN = """
import json, os, time
from pathlib import Path

import torch


def _note(name):
    out = Path(os.environ["WORKER_LOG"])
    line = {{"test": name, "worker": os.environ.get("PYTEST_XDIST_WORKER"), "t": time.monotonic(),
            "threads": torch.get_num_threads(), "omp": os.environ.get("OMP_NUM_THREADS")}}
    with out.open("a") as handle:
        handle.write(json.dumps(line) + "\\n")


{tests}
"""


def _stand_ins(folder: Path, files: dict[str, int]) -> None:
    """Test files named as the project's, each with ``n`` tests that note their worker and time."""
    for name, n in files.items():
        tests = "\n\n".join(f"def test_{i}():\n    _note('{name}::{i}')\n    time.sleep(0.05)" for i in range(n))
        (folder / name).write_text(STAND_IN.format(tests=tests), encoding="utf-8")
    (folder / "conftest.py").write_text(
        "from tests.conftest import (pytest_collection_modifyitems, pytest_configure,  # noqa: F401\n"
        "                            pytest_xdist_make_scheduler)\n", encoding="utf-8")


def test_each_file_stays_on_one_worker_and_the_wheel_group_on_one_in_order(tmp_path: Path) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (the dev extra)")
    files = {name: 3 for name in sorted(WHEEL_GROUP)} | {f"test_other_{i}.py": 2 for i in range(4)}
    _stand_ins(tmp_path, files)
    log = tmp_path / "log.jsonl"
    env = {**os.environ, "WORKER_LOG": str(log), "PYTHONPATH": str(REPO)}
    env.pop("PYTEST_XDIST_WORKER", None)  # this test may itself run in a worker
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "--no-loadscope-reorder",
                          "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == sum(files.values())
    workers = {}
    for row in rows:
        workers.setdefault(row["test"].split("::")[0], set()).add(row["worker"])
    assert all(len(w) == 1 for w in workers.values()), workers  # each file on one worker
    assert len({next(iter(workers[name])) for name in WHEEL_GROUP}) == 1, workers  # the group together
    wheel = sorted((r for r in rows if r["test"].split("::")[0] in WHEEL_GROUP), key=lambda r: r["t"])
    assert [r["test"].split("::")[0] for r in wheel] == sorted(r["test"].split("::")[0] for r in wheel)
    assert len({r["worker"] for r in rows}) == 2  # both workers used
    assert {(r["threads"], r["omp"]) for r in rows} == {(1, "1")}  # one torch thread in each worker
