"""CPU timings of the embedded default: the small model's training step and one epoch of the synthetic set.

1. ``step``: median time of the small model's training step (batch 8, the synthetic set's 4 s clips at
   16 kHz, random data, fused Adam, channels-last convolutions as in training, Eq. 7 loss) for each
   ``--threads`` count;
2. ``epoch``: one real epoch of ``clipaac train``'s default configuration (synthetic data, small model,
   batch 8) through :func:`clipaac_lib.train.train`, in a temporary run directory, timed (data
   generation and caching reported separately).

Prints a table; results go in ``benchmarks/README.md``.

    python benchmarks/cpu_small.py --threads 1,2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

import torch

from clipaac_lib.model import CLIPAAC, ModelConfig
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.step import LossWeights, compute_loss, fast_path, make_optimizer


def step_time(threads: int, batch: int, seconds: float, steps: int) -> float:
    """Median seconds per training step of the small model on the CPU with ``threads`` threads."""
    import importlib.util
    import os

    spec = importlib.util.spec_from_file_location("train_step", os.path.join(os.path.dirname(__file__),
                                                                             "train_step.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        model_config = ModelConfig.small(vocab_size=400)
        model = fast_path(CLIPAAC(model_config).train(), torch.device("cpu"))  # channels-last, as training
        config = TrainConfig()
        optimizer = make_optimizer(model, config)
        data = module.random_batch(batch, int(seconds * model_config.sample_rate), 400, 14, torch.device("cpu"))
        times = []
        for i in range(steps + 1):
            t0 = time.perf_counter()
            loss, _, _ = compute_loss(model, data, LossWeights.from_config(config), torch.device("cpu"),
                                      autocast=False)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if i:  # the first step warms up allocators and kernels
                times.append(time.perf_counter() - t0)
        return statistics.median(times)
    finally:
        torch.set_num_threads(previous)


def epoch_time(threads: int) -> dict[str, float]:
    """One epoch of the default configuration (its data generated first if absent), timed."""
    from clipaac_lib.train import train
    from clipaac_lib.train.setup import data_root, open_split

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        config = TrainConfig(num_epochs=1, validate_every=0, eval_untrained=False, caption_metrics=False,
                             run_root=tempfile.mkdtemp(prefix="clipaac-cpu-small-"), progress=True)
        t0 = time.perf_counter()
        rate = 16000
        open_split(config, config.train_split, rate, None, progress=True)
        open_split(config, config.test_split, rate, None, progress=True)
        prepared = time.perf_counter() - t0
        result = train(config)
        row = result.history[0]
        return {"data_s": prepared, "epoch_s": row["epoch_seconds"], "steps": row["steps"],
                "clips_per_s": row["clips_per_s"], "root": str(data_root(config))}
    finally:
        torch.set_num_threads(previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default=str(torch.get_num_threads()), help="comma-separated thread counts")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--no-epoch", action="store_true", help="only the step timing")
    args = parser.parse_args(argv)
    counts = [int(t) for t in args.threads.split(",")]
    print(f"torch {torch.__version__}; small model, batch {args.batch}, {args.seconds:g} s clips at 16 kHz")
    print("| threads | ms/step | clips/s |\n|---|---|---|")
    for threads in counts:
        seconds = step_time(threads, args.batch, args.seconds, args.steps)
        print(f"| {threads} | {seconds * 1000:.0f} | {args.batch / seconds:.1f} |", flush=True)
    if not args.no_epoch:
        row = epoch_time(max(counts))
        print(f"\none epoch of the default synthetic set ({row['root']}), {max(counts)} threads:")
        print("| data generation + cache (s) | steps | epoch (s) | clips/s |\n|---|---|---|---|")
        print(f"| {row['data_s']:.1f} | {row['steps']} | {row['epoch_s']:.1f} | {row['clips_per_s']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
