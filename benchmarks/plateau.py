"""How many epochs does a system of notebook 6's grid need before its curves flatten?

Trains one system of Tables 1-2 (notebook 6's settings: the synthetic set, the small model, all training
clips, per-epoch monitoring) for ``--epochs`` epochs with one seed and scores it on the test split every
``--every`` epochs: the training stops after each such epoch (:func:`clipaac_lib.train.train`'s
``stop_after_epoch``), the last checkpoint is captioned and scored (beam search, CIDEr-D), and the
training resumes from that checkpoint. The warm-up is the recipe's for ``--epochs`` epochs, so the
model at epoch ``e`` is the ``--epochs``-epoch run's, not an ``e``-epoch run's (whose warm-up is
shorter). Prints a Markdown table per epoch: the test caption loss (the curve notebook 6 draws), its
change over the epoch as a share of the change since epoch 1 (``last_epoch_change``'s measure), CIDEr-D
where scored, and the wall seconds so far.

Run two systems at once in two one-thread processes on a 2-core machine (nothing else running), each
into its own run folder (default: a folder under ``$CLIPAAC_CACHE/plateau``, kept so that a second call
reprints without training):

    python benchmarks/plateau.py --system 1 --epochs 12 --every 3 &
    python benchmarks/plateau.py --system 9 --epochs 12 --every 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings


def system_config(system: int, epochs: int, seed: int, run_root: str, smoke: bool):  # -> TrainConfig
    """Notebook 6's configuration of Table 1-2 system ``system`` at ``epochs`` epochs, into ``run_root``."""
    from clipaac_lib import experiments as ex

    common = dict(dataset="synthetic", model_config="small", num_epochs=epochs, limit_train_clips=None,
                  eval_untrained=False, validate_every=1, smoke=smoke)
    jobs = ex.select_systems([*ex.table1_jobs(**common), *ex.table2_jobs(**common)], str(system))
    return jobs[0].config(seed).replace(run_root=run_root, progress=False, cpu_threads="1")


def relative_changes(values: list[float]) -> list[float | None]:
    """Each epoch's change as a share of the change from the first value to that epoch's (None for the
    first, or where nothing changed yet)."""
    out: list[float | None] = [None]
    for i in range(1, len(values)):
        total = values[0] - values[i]
        out.append(abs(values[i - 1] - values[i]) / abs(total) if total else None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--system", type=int, default=1, help="Table 1-2 system (1-10)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--every", type=int, default=3, help="score CIDEr-D every N epochs (and at the end)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-root", default=None, help="default: $CLIPAAC_CACHE/plateau")
    parser.add_argument("--smoke", action="store_true", help="the training smoke size (seconds; for tests)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.every < 1:
        raise SystemExit("--epochs and --every must be positive")
    from clipaac_lib.common.paths import cache_dir
    from clipaac_lib.experiments.parallel import prepare_shared
    from clipaac_lib.metrics.modern_models import ModelMetricsUnavailableWarning
    from clipaac_lib.metrics.scoring import SpiceUnavailableWarning
    from clipaac_lib.train import evaluate_run, train

    for missing in (SpiceUnavailableWarning, ModelMetricsUnavailableWarning):  # offline: not per evaluation
        warnings.simplefilter("ignore", missing)
    root = args.run_root or str(cache_dir() / "plateau")
    config = system_config(args.system, args.epochs, args.seed, root, args.smoke)
    prepare_shared([config])  # data and encoder: made before the clock starts
    resolved = config.resolved()
    epochs = resolved.num_epochs  # a smoke run trains fewer
    load = os.getloadavg()[0]
    start, cider, seconds = time.perf_counter(), {}, {}
    result = None
    for stop in sorted({*range(args.every, epochs + 1, args.every), epochs}):
        result = train(config, stop_after_epoch=stop)
        if not result.finished:  # a finished run was scored by train itself
            result = evaluate_run(result.run_dir, device="cpu", force=True, eval_untrained=False,
                                  progress=False)
        cider[stop], seconds[stop] = result.scores.metric("cider_d"), time.perf_counter() - start
    history = result.history
    nll = [row["test_caption_nll"] for row in history]
    print(f"system {args.system}, seed {args.seed}, {epochs} epochs (warm-up {resolved.warmup_epochs:g}), "
          f"one thread; load average {load:.2f} at the start; run folder {result.run_dir}")
    print("| epoch | test caption loss | change vs since epoch 1 | CIDEr-D | wall s |\n|---|---|---|---|---|")
    for row, change in zip(history, relative_changes(nll), strict=True):
        e = row["epoch"]
        shown = f"{100 * change:.0f} %" if change is not None else "-"
        score = f"{cider[e]:.3f}" if e in cider else ""
        wall = f"{seconds[e]:.0f}" if e in seconds else ""
        print(f"| {e} | {row['test_caption_nll']:.4f} | {shown} | {score} | {wall} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
