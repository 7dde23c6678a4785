"""The run-directory lock against real separate processes: refusal, waiting, release on kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from clipaac_lib.train import lock as lock_module
from clipaac_lib.train.lock import LOCK_NAME, RunLockedError, run_lock

pytestmark = pytest.mark.skipif(lock_module.fcntl is None, reason="no fcntl: the lock is a no-op here")

ROOT = Path(__file__).resolve().parents[1]

# Takes the lock, says "locked", holds it until a line arrives on stdin (at most 20 s, so that a broken
# test cannot leave it hanging), then prints "releasing <time>" as the last thing while still holding it.
HOLDER = """
import select, sys, time
from clipaac_lib.train.lock import run_lock
with run_lock(sys.argv[1]):
    print("locked", flush=True)
    select.select([sys.stdin], [], [], float(sys.argv[2]))
    print("releasing", repr(time.time()), flush=True)
"""


def _start_holder(run_dir: Path, hold_seconds: float = 20.0) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir), str(hold_seconds)], cwd=ROOT,
                             env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()  # returns at "locked" or at the child's exit
    if line.strip() != "locked":
        child.kill()
        pytest.fail(f"the lock-holding child did not start: {line!r}, rc={child.wait(10)}")
    return child


def _stop(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait(10)


def test_a_held_run_is_refused_naming_the_holder(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    child = _start_holder(run_dir)
    try:
        holder = json.loads((run_dir / LOCK_NAME).read_text())
        assert holder["pid"] == child.pid and holder["host"]
        with pytest.raises(RunLockedError) as info, run_lock(run_dir, wait=False):
            pytest.fail("took a lock that another process holds")
        message = str(info.value)
        assert info.value.pid == child.pid and f"pid {child.pid}" in message and str(run_dir) in message
        assert "--wait-for-lock" in message and "wait_for_lock" in message
    finally:
        _stop(child)


def test_waiting_takes_the_lock_only_after_the_holder_releases_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    child = _start_holder(run_dir)
    waited_for: list[int | None] = []

    def release_child(pid: int | None) -> None:  # called once, while the child still holds the lock
        waited_for.append(pid)
        assert child.stdin is not None
        time.sleep(0.3)  # the parent must keep waiting through this
        child.stdin.write("go\n")
        child.stdin.flush()

    try:
        with run_lock(run_dir, wait=True, poll_seconds=0.02, on_wait=release_child):
            acquired = time.time()
            assert json.loads((run_dir / LOCK_NAME).read_text())["pid"] == os.getpid()
        assert child.stdout is not None
        words = child.stdout.readline().split()
        assert child.wait(10) == 0
    finally:
        _stop(child)
    assert waited_for == [child.pid]
    assert words[0] == "releasing" and acquired >= float(words[1])


def test_a_killed_holder_leaves_the_lock_free(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    child = _start_holder(run_dir)
    try:
        with pytest.raises(RunLockedError), run_lock(run_dir, wait=False):
            pass
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        _stop(child)
    assert json.loads((run_dir / LOCK_NAME).read_text())["pid"] == child.pid  # the dead holder's record
    with run_lock(run_dir, wait=False):  # ... does not block anyone
        assert json.loads((run_dir / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_sequential_use_in_one_process_and_no_self_deadlock(tmp_path: Path) -> None:
    run_dir = tmp_path / "new" / "run"  # created on demand
    for wait in (True, False, True):
        with run_lock(run_dir, wait=wait):
            assert (run_dir / LOCK_NAME).is_file()
        assert (run_dir / LOCK_NAME).read_text() == ""  # released: no holder recorded
    with run_lock(run_dir):
        with pytest.raises(RunLockedError, match="not re-entrant"), run_lock(run_dir, wait=True):
            pass  # nested in one thread: an error at once, not a wait for ourselves
    with run_lock(run_dir, wait=False):  # the failed nested attempt did not break the lock
        pass


def test_the_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(KeyError), run_lock(tmp_path):
        raise KeyError("boom")
    with run_lock(tmp_path, wait=False):
        pass


def test_without_fcntl_it_is_a_no_op_that_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lock_module, "fcntl", None)
    monkeypatch.setattr(lock_module, "_warned", False)
    with pytest.warns(RuntimeWarning, match="not prevented"), run_lock(tmp_path / "a"):
        assert (tmp_path / "a").is_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with run_lock(tmp_path / "a"), run_lock(tmp_path / "a"):  # nothing is locked, nothing warns again
            pass
