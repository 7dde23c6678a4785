"""One trainer per run directory: an exclusive lock on ``<run_dir>/.lock``.

Two processes training the same run (a notebook and a terminal, or a job started twice) would write
the same checkpoints and history and leave a run that neither of them produced. ``with run_lock(run_dir):``
around the training makes the second one wait (or fail at once with :class:`RunLockedError`, naming
the process that holds the run).

What it guarantees:

- at most one holder at a time among processes on this machine (an exclusive ``fcntl.flock``);
- the lock goes away with its holder: on leaving the ``with`` block, and, because the operating system
  drops ``flock`` locks when their file is closed, also when the process crashes or is killed (even
  ``kill -9``); there is no stale lock file to delete by hand;
- while held, ``.lock`` holds the holder's pid, host name and start time (JSON), so a waiting or
  refused process can say who holds the run.

What it does not guarantee:

- across machines on a network file system (NFS, SMB, Lustre, some FUSE mounts) ``flock`` may be
  local to one client or not supported at all; where the file system refuses it, a warning is issued
  and training goes on unlocked;
- on Windows (no ``fcntl``) the lock is a no-op, with a one-time warning;
- processes forked while the lock is held (e.g. DataLoader workers) share it until they exit;
- the lock is not re-entrant: taking it again in the same thread raises :class:`RunLockedError` at once
  (rather than waiting for itself forever); taking it again after the ``with`` block is fine.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["LOCK_NAME", "RunLockedError", "run_lock"]

LOCK_NAME = ".lock"
_UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL}
_held: dict[str, int] = {}  # lock path -> ident of the thread of this process that holds it
_held_guard = threading.Lock()
_warned = False


class RunLockedError(RuntimeError):
    """The run directory is locked by another trainer (or by this very thread, nested).

    ``run_dir``, ``pid`` and ``host`` name the holder (``pid``/``host`` are ``None`` when unknown).
    Notebook: ``notebooks/05_train.ipynb``.
    """

    def __init__(self, run_dir: Path, pid: int | None = None, host: str | None = None,
                 since: str | None = None, message: str | None = None) -> None:
        self.run_dir, self.pid, self.host = run_dir, pid, host
        if message is None:
            who = f"pid {pid}" if pid is not None else "a process of unknown pid"
            if host is not None:
                who += f" on host {host}"
            if since is not None:
                who += f", since {since}"
            stop = f"stop that process (e.g. `kill {pid}`)" if pid is not None else "stop that process"
            message = (f"run directory {run_dir} is being trained by another process ({who}); two trainers "
                       f"would overwrite each other's checkpoints. Wait for it to finish, {stop}, or pass "
                       "wait_for_lock=True (`--wait-for-lock` on the command line) to wait for it.")
        super().__init__(message)


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(message, RuntimeWarning, stacklevel=4)


def _holder(path: Path) -> dict[str, Any]:
    """What the holder wrote into the lock file (``{}`` when empty, unreadable or half written)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _holder_pid(info: dict[str, Any]) -> int | None:
    pid = info.get("pid")
    return pid if isinstance(pid, int) else None


class _Unsupported(Exception):
    """The file system refuses ``flock``."""


def _try_lock(fd: int) -> bool:
    """One non-blocking attempt: True when taken, False when another open file holds it."""
    assert fcntl is not None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as err:
        if err.errno in _UNSUPPORTED:
            raise _Unsupported(str(err)) from err
        raise
    return True


def _write_holder(fd: int) -> None:
    record = {"pid": os.getpid(), "host": socket.gethostname(),
              "since": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)
    os.fsync(fd)


@contextlib.contextmanager
def _locked(run_dir: Path, wait: bool, poll_seconds: float,
            on_wait: Callable[[int | None], None] | None) -> Iterator[None]:
    run_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        _warn_once("clipaac: run-directory locks need fcntl, which this platform lacks; two processes "
                   f"training the same run (here {run_dir}) are not prevented")
        yield
        return
    path = run_dir / LOCK_NAME
    key = os.path.abspath(path)
    with _held_guard:
        if _held.get(key) == threading.get_ident():
            raise RunLockedError(run_dir, os.getpid(), socket.gethostname(), message=(
                f"run directory {run_dir} is already locked by this thread (pid {os.getpid()}): "
                "run_lock is not re-entrant; leave the outer `with run_lock(...)` block first."))
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    locked = False
    try:
        try:
            locked = _try_lock(fd)
            if not locked:
                info = _holder(path)
                if not wait:
                    raise RunLockedError(run_dir, _holder_pid(info), info.get("host"), info.get("since"))
                if on_wait is not None:
                    on_wait(_holder_pid(info))
                while not (locked := _try_lock(fd)):
                    time.sleep(poll_seconds)
        except _Unsupported as err:
            _warn_once(f"clipaac: the file system of {run_dir} does not support flock ({err}); two "
                       "processes training the same run are not prevented there")
        if locked:
            _write_holder(fd)
            with _held_guard:
                _held[key] = threading.get_ident()
        try:
            yield
        finally:
            if locked:
                with _held_guard:
                    _held.pop(key, None)
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)  # nobody holds it now (still ours until the unlock below)
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def run_lock(run_dir: str | os.PathLike[str], *, wait: bool = True, poll_seconds: float = 0.5,
             on_wait: Callable[[int | None], None] | None = None) -> contextlib.AbstractContextManager[None]:
    """Hold the exclusive lock of ``run_dir`` (created if missing) for the duration of a ``with`` block.

    When another process holds it: with ``wait=True`` call ``on_wait(holder_pid)`` once (the pid is
    ``None`` when unknown; use it to log "waiting for pid N"), then wait, trying again every
    ``poll_seconds``, until it is free; with ``wait=False`` raise :class:`RunLockedError` naming the
    holder. See the module docstring for what is and is not guaranteed.
    Notebook: ``notebooks/05_train.ipynb``.
    """
    if poll_seconds <= 0:
        raise ValueError(f"poll_seconds must be > 0, got {poll_seconds}")
    return _locked(Path(run_dir), wait, poll_seconds, on_wait)
