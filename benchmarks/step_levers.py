"""Which changes make the small model's one-thread CPU training step cheaper, and by how much.

Each variant runs in a fresh subprocess with one intra-op thread (the ablation grid's workers use one
thread each, ``clipaac_lib.experiments.parallel``): the median of ``--steps`` training steps (batch 8,
random data, fused Adam, channels-last convolutions, the Eq. 7 loss; the step of
``benchmarks/cpu_small.py``) of the small preset with some sizes overridden. Variants, by name:

- ``base``: the small preset, ``--seconds`` clips;
- ``hop=N``: frames every ``N`` samples instead of 240 (the window stays 480 samples);
- ``seconds=S``: clips of ``S`` seconds;
- ``text-embedding-frozen``: the text head's 49 408 x 128 token embedding gets no gradient. Not a
  training option: it measures what that table's gradient and Adam update cost per step.

Variants combine with ``+`` (``hop=360+seconds=3``). Prints a Markdown table for ``benchmarks/README.md``.

    python benchmarks/step_levers.py --variants base,hop=360,hop=480,text-embedding-frozen
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys

STEP = r"""
import importlib.util, statistics, sys, time, torch
from clipaac_lib.model import CLIPAAC, ModelConfig
from clipaac_lib.model.config import AudioConfig
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.step import LossWeights, compute_loss, fast_path, make_optimizer
spec = importlib.util.spec_from_file_location("train_step", {bench!r})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
torch.set_num_threads(1); torch.manual_seed(0)
base = ModelConfig.small(vocab_size=135)
audio = {{**base.audio.__dict__, **{audio!r}}}
mc = ModelConfig.small(vocab_size=135, audio=AudioConfig(**audio))
model = fast_path(CLIPAAC(mc).train(), torch.device("cpu"))
if {freeze_text_embedding!r}:
    model.text.token_embedding.weight.requires_grad_(False)
config = TrainConfig(); opt = make_optimizer(model, config); w = LossWeights.from_config(config)
data = m.random_batch(8, int({seconds} * mc.sample_rate), 135, 14, torch.device("cpu"))
"""


def parse_variant(name: str, seconds: float) -> dict[str, object]:
    """A variant name -> the subprocess's settings: audio overrides, clip seconds, embedding frozen."""
    settings: dict[str, object] = {"audio": {}, "seconds": seconds, "freeze_text_embedding": False}
    for part in name.split("+"):
        if part == "base":
            continue
        if part == "text-embedding-frozen":
            settings["freeze_text_embedding"] = True
        elif part.startswith("hop="):
            settings["audio"] = {**settings["audio"], "hop_length": int(part[4:])}  # type: ignore[dict-item]
        elif part.startswith("seconds="):
            settings["seconds"] = float(part[8:])
        else:
            raise SystemExit(f"unknown variant part {part!r}: use base, hop=N, seconds=S or "
                             "text-embedding-frozen, joined with +")
    return settings


def _timed_steps() -> str:
    """``cpu_threads.py``'s timed loop (loaded from the file beside this one)."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("cpu_threads", os.path.join(here, "cpu_threads.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.TIMED_STEPS


def step_seconds(template: str, name: str, seconds: float, steps: int) -> float:
    """Median seconds per one-thread step of variant ``name``, measured in a fresh process running
    ``template`` (:data:`STEP` and the timed loop)."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = template.format(bench=os.path.join(here, "train_step.py"), steps=steps, **parse_variant(name, seconds))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"variant {name!r} failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default="base,hop=360,hop=480,text-embedding-frozen")
    parser.add_argument("--seconds", type=float, default=4.5, help="clip length of every variant but seconds=S")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args(argv)
    names = args.variants.split(",")
    print(f"small model, batch 8, one thread, median of {args.steps} steps; load average "
          f"{os.getloadavg()[0]:.2f} at the start")
    print("| variant | ms/step | vs first |\n|---|---|---|")
    template, first = STEP + _timed_steps(), None
    for name in names:
        seconds = step_seconds(template, name, args.seconds, args.steps)
        first = first or seconds
        print(f"| {name} | {seconds * 1000:.0f} | {first / seconds:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
