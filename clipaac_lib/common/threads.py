"""CPU threads that follow the cores other processes leave free, so a busy neighbour costs its share only.

On a 2-core machine, torch's two intra-op threads spin-wait for each other: with one CPU-bound
neighbour the small model's training step went from 133 ms to 831 ms (6x), while one thread was
unaffected (237 ms; ``benchmarks/cpu_threads.py``, table in ``benchmarks/README.md``). A
:class:`ThreadGovernor` samples, every ``every_s`` seconds, how much CPU the *other* processes used
(``/proc/stat``'s busy time minus this process's own CPU time) and sets ``torch.set_num_threads`` to
the cores they left free (at least 1, at most the threads torch had when it started, and never more than
the cores this process may use: it only gives back what neighbours take). Where ``/proc/stat`` is
missing (not Linux) it leaves the threads alone.

Changing the thread count can change floating-point summation order, so a run trained while
neighbours came and went is reproducible to rounding, not bit for bit (on a quiet machine it keeps
torch's count throughout). ``TrainConfig(cpu_threads="auto")`` is the default since 2026-12-07: beside a
busy program it cost 1.6-1.8 times the time alone where torch's own two spinning threads cost 3.3 times
and over 5 times (``benchmarks/README.md``, "Thread policies beside other programs"); a fixed count
(``"1"``, what the ablation grid's workers use) is bit-reproducible. Notebook:
``notebooks/05_train.ipynb`` (the recipe), developer notes in ``DEVELOPING.md``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import torch

__all__ = ["ThreadGovernor", "busy_cpu_seconds", "usable_cores"]

_PROC_STAT = Path("/proc/stat")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it, else ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def busy_cpu_seconds(stat: Path = _PROC_STAT) -> float | None:
    """CPU seconds all processes spent busy since boot (``/proc/stat``: every state but idle and
    iowait); None where the file does not exist."""
    try:
        fields = stat.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    ticks = [int(x) for x in fields[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class ThreadGovernor:
    """Call :meth:`update` often (every training step); it resizes torch's thread pool at most every
    ``every_s`` seconds to the cores free of other processes' work. ``clock``, ``own_cpu``, ``busy``
    and ``set_threads`` are injectable for tests."""

    def __init__(self, *, cores: int | None = None, every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, own_cpu: Callable[[], float] = time.process_time,
                 busy: Callable[[], float | None] = busy_cpu_seconds,
                 set_threads: Callable[[int], None] = torch.set_num_threads) -> None:
        self.cores = cores or min(usable_cores(), torch.get_num_threads())  # the ceiling
        self.every_s = every_s
        self._clock, self._own, self._busy, self._set = clock, own_cpu, busy, set_threads
        self.threads = min(torch.get_num_threads(), self.cores)
        self._last = self._sample()
        self.history: list[tuple[float, int]] = []  # (others' cores in use, threads chosen)

    def _sample(self) -> tuple[float, float, float | None]:
        return self._clock(), self._own(), self._busy()

    def update(self) -> int:
        """The thread count now in force (changed when the others' load changed enough)."""
        now = self._clock()
        if now - self._last[0] < self.every_s:
            return self.threads
        sample = self._sample()
        (t0, own0, busy0), (t1, own1, busy1) = self._last, sample
        self._last = sample
        if busy0 is None or busy1 is None or t1 <= t0:
            return self.threads
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / (t1 - t0)  # cores the others kept busy
        target = max(1, min(self.cores, round(self.cores - others)))
        self.history.append((others, target))
        if target != self.threads:
            self._set(target)
            self.threads = target
        return self.threads
