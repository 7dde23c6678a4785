"""The small model's CPU training step beside a busy neighbour: which thread setting survives load.

Each cell runs in a fresh subprocess (so ``OMP_WAIT_POLICY`` takes effect): the median of ``--steps``
training steps of the small model (batch 8, 4.5 s clips at 16 kHz, random data; the step of
``benchmarks/cpu_small.py``) with 1 or 2 intra-op threads, the OpenMP wait policy default or
``PASSIVE``, and 0 or 1 neighbour processes spinning on a core. Prints a Markdown table for
``benchmarks/README.md``.

    python benchmarks/cpu_threads.py --threads 1,2 --neighbours 0,1 --steps 8

``--train`` instead times the first epoch of a real training run (random init, ``--clips`` training
clips, stopped after it: no evaluation) for each thread policy in ``--modes`` beside each neighbour in ``--beside``:

    python benchmarks/cpu_threads.py --train --clips 120

Policies: ``cpu_threads`` "torch" (its two threads), "1", "auto" (the governor,
:class:`clipaac_lib.common.threads.ThreadGovernor`), each optionally with ``+passive``
(``OMP_WAIT_POLICY=PASSIVE``: OpenMP threads sleep instead of spinning while they wait) or ``+spin=N``
(``GOMP_SPINCOUNT=N``: torch's libgomp threads spin ``N`` times before they sleep; libgomp's default is
300 000, ``PASSIVE`` is 0).
Neighbours: ``none``; ``nice`` (a ``nice -n 19`` busy loop started by this benchmark, in its session);
``busy`` (a normal-priority busy loop); ``nice-session`` (a ``nice -n 19`` busy loop in a session of its
own, as a program started from another terminal or by ``make`` is); ``tests-nice-session`` (a ``nice -n
19`` pytest of the training-step tests in a session of its own, restarted until the cell ends: what ran
beside the book build). Linux puts each session in its own scheduling group (``autogroup``) where
``/proc/sys/kernel/sched_autogroup_enabled`` is 1, and ``nice`` only ranks processes inside one group:
the two ``-session`` neighbours show what that does.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

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
    config = TrainConfig(init="random", num_epochs=2, limit_train_clips={clips}, caption_metrics=False,
                         eval_untrained=False, validate_every=0, progress=False, run_root=tmp,
                         cpu_threads={mode!r})
    result = train(config, stop_after_epoch=1)  # the first epoch only: no evaluation after it
    print(result.train_seconds)
"""

#: The neighbours of ``--train`` (module docstring): the command and whether it gets a session of its own.
NEIGHBOURS = {
    "none": None,
    "nice": (["nice", "-n", "19", sys.executable, "-c", "while True: pass"], False),
    "busy": ([sys.executable, "-c", "while True: pass"], False),
    "nice-session": (["nice", "-n", "19", sys.executable, "-c", "while True: pass"], True),
    "tests-nice-session": (["nice", "-n", "19", "bash", "-c",
                            f"while true; do {sys.executable} -m pytest -q -p no:cacheprovider "
                            "tests/test_train_step.py >/dev/null 2>&1; done"], True),
}


def wait_env(parts: list[str]) -> dict[str, str]:
    """The OpenMP wait settings of a mode's ``+`` parts: ``passive`` and ``spin=N`` (module docstring)."""
    env: dict[str, str] = {}
    for part in parts:
        if part == "passive":
            env["OMP_WAIT_POLICY"] = "PASSIVE"
        elif part.startswith("spin=") and part[5:].isdigit():
            env["GOMP_SPINCOUNT"] = part[5:]
        else:
            raise SystemExit(f"unknown policy part {part!r}: use passive or spin=N")
    return env


def train_cell(mode: str, beside: str, clips: int, limit: float | None = None) -> float | None:
    """Training seconds of one epoch on ``clips`` clips with policy ``mode`` beside neighbour ``beside``;
    None when the run is still going after ``limit`` seconds (it is stopped there)."""
    here = os.path.dirname(os.path.abspath(__file__))
    threads, *waits = mode.split("+")
    code = TRAIN.format(repo=os.path.dirname(here), clips=clips, mode=threads)
    env = {**os.environ, **wait_env(waits)}
    neighbour = NEIGHBOURS[beside]
    proc = None
    if neighbour is not None:
        command, own_session = neighbour
        proc = subprocess.Popen(command, cwd=os.path.dirname(here), start_new_session=own_session,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3.0)  # let it get going (the test run imports torch first)
    try:
        try:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                 env=env, timeout=limit)
        except subprocess.TimeoutExpired:
            return None
        return float(out.stdout.strip().splitlines()[-1])
    finally:
        if proc is not None:
            if neighbour[1]:  # a session of its own: its whole process group (the test run's children)
                os.killpg(proc.pid, 9)
            else:
                proc.kill()
            proc.wait()


def train_table(modes: list[str], besides: list[str], clips: int, max_ratio: float) -> None:
    """Print the ``--train`` table: seconds per cell and the ratio to the same policy alone. A cell still
    running after ``max_ratio`` times its policy's time alone is stopped and shown as a lower bound."""
    print("| cpu_threads | " + " | ".join(besides) + " |")
    print("|---|" + "---|" * len(besides))
    for mode in modes:
        cells, alone = [], None
        for beside in besides:
            limit = max_ratio * alone + 15 if alone else None  # + 15 s: the process's start and imports
            seconds = train_cell(mode, beside, clips, limit)
            if seconds is None:
                cells.append(f"stopped at {limit:.0f} s (about > {max_ratio:g}x)")
                continue
            alone = seconds if beside == "none" else alone
            cells.append(f"{seconds:.1f} s" + (f" ({seconds / alone:.2f}x)" if alone and beside != "none" else ""))
        print(f"| {mode} | " + " | ".join(cells) + " |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--policies", default="default,PASSIVE")
    parser.add_argument("--neighbours", default="0,1")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--train", action="store_true", help="time whole training runs instead of steps")
    parser.add_argument("--clips", type=int, default=120, help="--train: training clips of the run")
    parser.add_argument("--modes", default="torch,torch+passive,1,auto,auto+passive",
                        help="--train: thread policies (cpu_threads, optionally +passive)")
    parser.add_argument("--beside", default=",".join(NEIGHBOURS), help="--train: neighbours, " + ", ".join(NEIGHBOURS))
    parser.add_argument("--max-ratio", type=float, default=6.0,
                        help="--train: stop a cell after this many times its policy's time alone (put 'none' first)")
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f}; cores: {os.cpu_count()}")
    if args.train:
        autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
        print(f"autogroup scheduling: {autogroup.read_text().strip() if autogroup.exists() else 'n/a'}")
        train_table(args.modes.split(","), args.beside.split(","), args.clips, args.max_ratio)
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
