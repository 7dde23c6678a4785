"""Independent grid runs: one process with every thread, or worker processes with one thread each?

Trains the same ``--runs`` configurations (notebook 6's system 4 with seeds 0..runs-1, ``--epochs``
epochs on all training clips, evaluation included) twice, each time into a fresh temporary run folder
so that nothing is reused:

- ``sequential``: one after another in this process with ``--threads`` intra-op threads
  (:func:`clipaac_lib.train.train`);
- ``workers``: :func:`clipaac_lib.experiments.parallel.train_all` with ``--workers`` one-thread
  processes, as notebook 6 and ``make book`` train the grid.

Prints a Markdown table of wall seconds for ``benchmarks/README.md``. The dataset and the book's
pretrained encoder come from the cache (made first, outside the timing). Run it with nothing else on
the machine: on 2 cores any neighbour changes both rows.

    python benchmarks/grid_workers.py --runs 4 --epochs 1
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings


def configs(runs: int, epochs: int, run_root: str, smoke: bool) -> list:
    """The reference system (Table 1's, :data:`~clipaac_lib.experiments.ablations.REFERENCE_SYSTEM`) for
    seeds 0..runs-1 at notebook 6's settings with ``epochs`` epochs, into ``run_root``."""
    from clipaac_lib import experiments as ex

    jobs = ex.table1_jobs(dataset="synthetic", model_config="small", num_epochs=epochs, limit_train_clips=None,
                          eval_untrained=False, validate_every=1, smoke=smoke)
    (job,) = ex.select_systems(jobs, ex.REFERENCE_SYSTEM)
    return [job.config(seed).replace(run_root=run_root, progress=False) for seed in range(runs)]


def timed(mode: str, runs: int, epochs: int, threads: int, workers: int, smoke: bool) -> float:
    """Wall seconds to train the runs in ``mode`` (``sequential`` or ``workers``) in a fresh run folder."""
    from clipaac_lib.experiments.parallel import train_all
    from clipaac_lib.train import train

    with tempfile.TemporaryDirectory() as root:
        todo = configs(runs, epochs, root, smoke)
        start = time.perf_counter()
        if mode == "sequential":
            for config in todo:
                train(config.replace(cpu_threads=str(threads)))
        else:
            train_all(todo, workers, desc="grid_workers")
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads of the sequential row")
    parser.add_argument("--workers", type=int, default=2, help="one-thread processes of the workers row")
    parser.add_argument("--smoke", action="store_true", help="the training smoke size (seconds; for tests)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.epochs < 1 or args.threads < 1 or args.workers < 1:
        raise SystemExit("--runs, --epochs, --threads and --workers must be positive")
    from clipaac_lib.experiments.parallel import prepare_shared
    from clipaac_lib.metrics.modern_models import ModelMetricsUnavailableWarning
    from clipaac_lib.metrics.scoring import SpiceUnavailableWarning

    for missing in (SpiceUnavailableWarning, ModelMetricsUnavailableWarning):  # offline: said once, not per run
        warnings.simplefilter("ignore", missing)
    with tempfile.TemporaryDirectory() as root:
        prepare_shared(configs(1, args.epochs, root, args.smoke))  # data and encoder: not timed
    print(f"{args.runs} runs of system 4 (seeds 0-{args.runs - 1}), {args.epochs} epoch(s) each, evaluation "
          f"included; load average {os.getloadavg()[0]:.2f} at the start")
    print("| mode | processes x threads | wall s | s per run |\n|---|---|---|---|")
    rows = [("sequential", f"1 x {args.threads}"), ("workers", f"{args.workers} x 1")]
    for mode, shape in rows:
        seconds = timed(mode, args.runs, args.epochs, args.threads, args.workers, args.smoke)
        print(f"| {mode} | {shape} | {seconds:.0f} | {seconds / args.runs:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
