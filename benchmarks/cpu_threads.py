"""The small model's CPU training step beside a busy neighbour: which thread setting survives load.

Each cell runs in a fresh subprocess (so ``OMP_WAIT_POLICY`` takes effect): the median of ``--steps``
training steps of the small model (batch 8, 4.5 s clips at 16 kHz, random data; the step of
``benchmarks/cpu_small.py``) with 1 or 2 intra-op threads, the OpenMP wait policy default or
``PASSIVE``, and 0 or 1 neighbour processes spinning on a core. Prints a Markdown table for
``benchmarks/README.md``.

    python benchmarks/cpu_threads.py --threads 1,2 --neighbours 0,1 --steps 8

``--train`` instead times a real one-epoch training run (random init, ``--clips`` training clips, no
caption metrics) with ``cpu_threads`` "torch" and "auto" (:class:`clipaac_lib.common.threads.ThreadGovernor`),
alone and beside the neighbours: the governor's effect on a whole run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time

STEP = r"""
import importlib.util, statistics, sys, time, torch
sys.path.insert(0, {repo!r})
from clipaac_lib.model import CLIPAAC, ModelConfig
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.step import LossWeights, compute_loss, fast_path, make_optimizer
spec = importlib.util.spec_from_file_location("train_step", {bench!r})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
torch.set_num_threads({threads}); torch.manual_seed(0)
mc = ModelConfig.small(vocab_size=135)
model = fast_path(CLIPAAC(mc).train(), torch.device("cpu"))
config = TrainConfig(); opt = make_optimizer(model, config); w = LossWeights.from_config(config)
data = m.random_batch(8, int(4.5 * mc.sample_rate), 135, 14, torch.device("cpu"))
""" + r"""
times = []
for i in range({steps} + 2):
    t0 = time.perf_counter()
    loss, _, _ = compute_loss(model, data, w, torch.device("cpu"), autocast=False)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    if i >= 2:
        times.append(time.perf_counter() - t0)
print(statistics.median(times))
"""
#: The timed loop of the template above (``model``, ``opt``, ``w``, ``data`` defined before it), shared
#: with ``step_levers.py``: two warm-up steps, then the median of ``steps``.
TIMED_STEPS = STEP[STEP.index("\ntimes = []"):]


def cell(threads: int, policy: str, neighbours: int, steps: int) -> float:
    """Median seconds per step of one configuration, measured in a fresh process."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = STEP.format(repo=os.path.dirname(here), bench=os.path.join(here, "train_step.py"), threads=threads,
                       steps=steps)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(neighbours)]
    try:
        time.sleep(0.5 if neighbours else 0)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])
    finally:
        for p in spinners:
            p.kill()


TRAIN = r"""
import sys, tempfile, time
sys.path.insert(0, {repo!r})
from clipaac_lib.train import TrainConfig, train
with tempfile.TemporaryDirectory() as tmp:
    config = TrainConfig(init="random", num_epochs=1, limit_train_clips={clips}, caption_metrics=False,
                         eval_untrained=False, validate_every=0, progress=False, run_root=tmp,
                         cpu_threads={mode!r})
    result = train(config)
    print(result.train_seconds)
"""


def train_cell(mode: str, neighbours: int, clips: int) -> float:
    """Training seconds of one epoch on ``clips`` clips with ``cpu_threads=mode`` beside ``neighbours``."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = TRAIN.format(repo=os.path.dirname(here), clips=clips, mode=mode)
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(neighbours)]
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])
    finally:
        for p in spinners:
            p.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--policies", default="default,PASSIVE")
    parser.add_argument("--neighbours", default="0,1")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--train", action="store_true", help="time whole training runs instead of steps")
    parser.add_argument("--clips", type=int, default=120, help="--train: training clips of the run")
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f}; cores: {os.cpu_count()}")
    if args.train:
        print("| cpu_threads | busy neighbours | training seconds |")
        print("|---|---|---|")
        for mode, neighbours in itertools.product(["torch", "auto"], [int(n) for n in args.neighbours.split(",")]):
            print(f"| {mode} | {neighbours} | {train_cell(mode, neighbours, args.clips):.1f} |", flush=True)
        return 0
    print("| threads | wait policy | busy neighbours | ms/step |")
    print("|---|---|---|---|")
    for threads, policy, neighbours in itertools.product(
        [int(t) for t in args.threads.split(",")], args.policies.split(","),
        [int(n) for n in args.neighbours.split(",")],
    ):
        seconds = cell(threads, policy, neighbours, args.steps)
        print(f"| {threads} | {policy} | {neighbours} | {seconds * 1000:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
