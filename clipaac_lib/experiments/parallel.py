"""Independent training runs in parallel worker processes, one CPU thread each.

On a 2-core CPU, two one-thread processes each training a run keep both cores busy without the
spin-waiting of torch's two-thread pool, and overlap one run's evaluation (Java tokenizer and METEOR,
one core) with another's training. Measured on this project's 2-core machine (``benchmarks/README.md``):
the training steps themselves are about as fast either way (two one-thread workers: 290 ms per step
each; one two-thread process: 133-163 ms per step alone). Each worker trains with ``cpu_threads="1"``
(not hashed: the run is the same configuration, found later by :func:`~clipaac_lib.train.find_run`).
Notebook: ``notebooks/06_ablations.ipynb`` (its grid), ``make book`` (which runs that grid first).
"""

from __future__ import annotations

import multiprocessing
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import torch

from clipaac_lib.common import tqdm
from clipaac_lib.train import TrainConfig, find_run, run_dir_of, train

__all__ = ["SECONDS_PER_COST", "Trained", "default_workers", "expected_cost", "expected_minutes", "prepare_shared",
           "train_all"]

#: Per-step overhead of a training step, in clips of batch: a step of ``b`` clips costs about ``b + 4``
#: clips' worth, so an epoch at batch ``b`` costs ``1 + 4 / b`` per clip. Fitted to the 4-epoch grid of
#: 2026-12-03 (``benchmarks/README.md``): a batch-4 run took 1.33x a batch-8 run (312 s against 235 s).
STEP_OVERHEAD_CLIPS = 4.0
#: A frozen-encoder run trains only the decoder on cached embeddings: 78 s against 235 s in that grid.
FROZEN_SHARE = 1 / 3
#: Seconds of one worker per unit of :func:`expected_cost` on a 2-core CPU with two one-thread workers:
#: the 12-epoch grid of 2026-12-06 took 582-686 s per batch-8 run (cost 18), so about 35 s.
SECONDS_PER_COST = 35.0


@dataclass(frozen=True)
class Trained:
    """A run :func:`train_all` trained: its ``run_dir``, the ``wall_seconds`` of the whole ``train`` call
    (training and evaluation), torch's intra-op ``threads`` during it, and ``resumed_after_epoch``: the
    epochs an interrupted earlier call had finished (0: trained from the start), which the wall time
    does not cover."""

    run_dir: str
    wall_seconds: float
    threads: int
    resumed_after_epoch: int = 0


OnDone = Callable[[TrainConfig, Trained], None]


def _inherit_warnings(filters: list[tuple[object, ...]]) -> None:
    """Worker start: the parent's warning filters (a notebook that noted the missing metric tools once
    silenced their warnings; its workers must not print them again)."""
    warnings.filters[:] = filters


def _train_one(config: TrainConfig) -> Trained:
    """Worker: train ``config`` with one CPU thread (a finished run is reused)."""
    return _timed_train(config.replace(cpu_threads="1", progress=False))


def _timed_train(config: TrainConfig) -> Trained:
    before = run_dir_of(config.validate().resolved())
    done = len(before.read_history()) if before.has_checkpoint() and not before.is_finished() else 0
    start = time.perf_counter()
    run_dir = str(train(config).run_dir)
    return Trained(run_dir, time.perf_counter() - start, torch.get_num_threads(), resumed_after_epoch=done)


def prepare_shared(configs: Sequence[TrainConfig]) -> None:
    """Make, once and here, what the runs of ``configs`` share before workers start: the dataset (the
    synthetic set generated, Clotho downloaded), its decoded-audio caches and the book's pretrained encoder
    files. Two workers that found them missing would both make them, and one could read a folder the
    other is replacing."""
    from clipaac_lib.train import build_model_config, init_weights, model_sample_rate, open_split

    seen: set[str] = set()
    for config in (c.resolved() for c in configs):
        key = repr((config.dataset, config.data_root, config.model_config, config.model_overrides, config.init,
                    config.pretrain_overrides, config.smoke, config.max_seconds))
        if key in seen:
            continue
        seen.add(key)
        rate = model_sample_rate(config)
        for split in (config.train_split, config.test_split):
            open_split(config, split, rate, None, progress=config.progress)
        # the encoder's files do not depend on the caption vocabulary: any size builds the same encoder
        init_weights(config, build_model_config(config, vocab_size=5000))


def expected_cost(config: TrainConfig) -> float:
    """The relative machine time of training ``config`` (a batch-8 epoch with a trained encoder is 1.5):
    epochs x (1 + :data:`STEP_OVERHEAD_CLIPS` / batch size), times :data:`FROZEN_SHARE` for a frozen
    encoder. Only an ordering: :func:`train_all` hands the longest runs to its workers first, so that the
    pool does not end with one worker idle beside a long run started last."""
    resolved = config.resolved()
    per_epoch = 1.0 + STEP_OVERHEAD_CLIPS / resolved.batch_size
    return resolved.num_epochs * per_epoch * (FROZEN_SHARE if resolved.freeze_encoder else 1.0)


def expected_minutes(configs: Sequence[TrainConfig], workers: int) -> float:
    """Minutes that training ``configs`` in ``workers`` processes should take on a 2-core CPU
    (:data:`SECONDS_PER_COST` per unit of :func:`expected_cost`, shared among the workers)."""
    return sum(expected_cost(c) for c in configs) * SECONDS_PER_COST / max(1, workers) / 60


def _order(todo: dict[str, TrainConfig]) -> list[tuple[str, TrainConfig]]:
    """Seed by seed (a grid stopped half-way holds whole seeds, every system paired), and within a seed
    the longest runs first."""
    return sorted(todo.items(), key=lambda item: (item[1].seed, -expected_cost(item[1])))


def train_all(configs: Sequence[TrainConfig], workers: int = 1, desc: str = "training runs",
              on_done: OnDone | None = None) -> list[str]:
    """Train every configuration of ``configs`` that has no finished, evaluated run, in ``workers``
    processes (1: here, in this process); repeated configurations train once. Returns the run
    directories in the order of ``configs``. Workers take the runs seed by seed, longest first within a
    seed (:func:`expected_cost`).
    ``on_done(config, trained)`` is called here, in this process, as each run finishes (a grid writes
    its record then, so a stopped job keeps what finished). A failing run raises here after the others
    finished."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    unique = {c.run_hash(): c for c in configs}
    found = {h: find_run(c) for h, c in unique.items()}
    done = {h: str(f.run_dir) for h, f in found.items() if f is not None and f.scores is not None}
    todo = {h: c for h, c in unique.items() if h not in done}
    if workers == 1 or len(todo) <= 1:
        for h, config in tqdm(_order(todo), desc=desc):
            trained = _timed_train(config)
            done[h] = trained.run_dir
            if on_done is not None:
                on_done(config, trained)
    else:
        prepare_shared(list(todo.values()))
        context = multiprocessing.get_context("spawn")  # no forked torch thread pools
        errors: list[BaseException] = []
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_inherit_warnings,
                                 initargs=(list(warnings.filters),)) as pool:
            futures = {pool.submit(_train_one, c): h for h, c in _order(todo)}
            for future in tqdm(as_completed(futures), total=len(futures), desc=f"{desc} ({workers} workers)"):
                try:
                    trained = future.result()
                    done[futures[future]] = trained.run_dir
                    if on_done is not None:
                        on_done(todo[futures[future]], trained)
                except Exception as error:  # noqa: BLE001 (re-raised below, after the other runs)
                    errors.append(error)
        if errors:
            raise errors[0]
    return [done[c.run_hash()] for c in configs]


def default_workers(device: str = "auto") -> int:
    """Worker processes for a grid on ``device``: 2 on a CPU with at least 2 usable cores (one thread
    each), else 1 (one GPU is best fed by one process)."""
    from clipaac_lib.common import resolve_device, usable_cores

    return 2 if resolve_device(device).type == "cpu" and usable_cores() >= 2 else 1
