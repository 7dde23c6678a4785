"""Where a shipped result came from: the commit, the machine, the code that trained it, how long it took.

A run record (:mod:`~clipaac_lib.experiments.records`) carries a ``provenance`` dict made here:
``commit`` (``git rev-parse HEAD`` of the checkout the package runs from, None outside one) and
``dirty`` (uncommitted changes under ``clipaac_lib/``), ``date`` (UTC), ``cpu`` and ``cores``, the
``torch`` and ``python`` versions, ``threads`` (torch's intra-op threads of the run), ``wall_seconds``,
``load`` (the 1-minute load average when the run finished: other work on the machine slows a run),
``command`` and ``code_fingerprint``. The fingerprint is the sha256 of the source of the packages whose
code decides a run's numbers (:data:`FINGERPRINTED`); when today's differs from a record's, the code
changed after the record was made, and the book says so. Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

import clipaac_lib

__all__ = ["FINGERPRINTED", "code_fingerprint", "cpu_model", "describe_provenance", "git_commit", "provenance"]

#: The packages whose source decides a training run's numbers (data, model, losses, training, metrics).
FINGERPRINTED = ("common", "data", "model", "metrics", "pretrain", "train")
PACKAGE_DIR = Path(clipaac_lib.__file__).resolve().parent


def code_fingerprint(package_dir: Path = PACKAGE_DIR, packages: tuple[str, ...] = FINGERPRINTED) -> str:
    """sha256 (16 hex digits) over the relative path and bytes of every ``.py`` file of ``packages``."""
    digest = hashlib.sha256()
    for name in packages:
        for path in sorted((package_dir / name).rglob("*.py")):
            digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def git_commit(package_dir: Path = PACKAGE_DIR) -> tuple[str | None, bool]:
    """``(commit, dirty)`` of the git checkout holding ``package_dir`` (None, False outside one, e.g. a
    pip-installed package); ``dirty``: uncommitted changes to the package's files."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=package_dir, capture_output=True, text=True, check=True,
                              timeout=30).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--", "."))
    except (OSError, subprocess.SubprocessError):
        return None, False
    return commit, dirty


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(*, wall_seconds: float, threads: int | None, command: str = "",
               resumed_after_epoch: int = 0) -> dict[str, Any]:
    """The ``provenance`` of a run that finished just now (see the module docstring);
    ``resumed_after_epoch``: the epochs an interrupted earlier call had trained, which ``wall_seconds``
    does not cover."""
    commit, dirty = git_commit()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"commit": commit, "dirty": dirty,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            "python": platform.python_version(), "threads": threads, "wall_seconds": round(wall_seconds, 1),
            "load": load, "command": command, "code_fingerprint": code_fingerprint(),
            "resumed_after_epoch": resumed_after_epoch}


def describe_provenance(provenances: list[dict[str, Any]], current_fingerprint: str | None = None) -> dict[str, str]:
    """Sentences on where a set of records came from, for the book: ``machine``, ``dates``, ``commits``,
    ``command``, ``cost`` (the runs' summed wall hours and the highest load seen) and ``code`` (whether
    the training code changed since: ``current_fingerprint``, default today's)."""
    if not provenances:
        return {"machine": "no records", "dates": "", "commits": "", "command": "", "cost": "", "code": ""}
    current = current_fingerprint or code_fingerprint()
    machines = sorted({f"{p.get('cpu')} ({p.get('cores')} cores), torch {p.get('torch')}" for p in provenances})
    dates = sorted(str(p.get("date", ""))[:10] for p in provenances)
    commits = sorted({str(p.get("commit"))[:7] + (" with local changes" if p.get("dirty") else "")
                      for p in provenances})
    hours = sum(float(p.get("wall_seconds") or 0.0) for p in provenances) / 3600
    loads = [float(p["load"]) for p in provenances if p.get("load") is not None]
    resumed = sum(1 for p in provenances if p.get("resumed_after_epoch"))
    stale = sorted({p.get("code_fingerprint") for p in provenances} - {current})
    code = ("the training code is the one these records were made with (fingerprint " + current + ")"
            if not stale else f"the training code changed after {len(stale)} fingerprint(s) of these records "
            f"were taken ({', '.join(map(str, stale))}; today {current}): rerun the reproduction test "
            "(tests/test_results_reproduce.py) or regenerate the records")
    return {"machine": "; ".join(machines), "dates": dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}",
            "commits": ", ".join(commits), "command": sorted({str(p.get("command", "")) for p in provenances})[0],
            "cost": f"{hours:.1f} hours of worker time in all ({len(provenances)} runs)"
                    + (f"; the load average reached {max(loads):.1f}" if loads else "")
                    + (f"; {resumed} run(s) resumed after an interruption, whose wall time covers only the "
                       "epochs after it" if resumed else ""),
            "code": code}
