"""Which changes make the small model's one-thread CPU training step cheaper, and by how much.

Each variant runs in a fresh subprocess with one intra-op thread (the ablation grid's workers use one
thread each, ``clipaac_lib.experiments.parallel``): the median of ``--steps`` training steps (batch 8,
random data, fused Adam, channels-last convolutions, the Eq. 7 loss; the step of
``benchmarks/cpu_small.py``) of the small preset with some sizes overridden. Variants, by name:

- ``base``: the small preset, ``--seconds`` clips;
- ``hop=N``: frames every ``N`` samples instead of 240 (the window stays 480 samples);
- ``seconds=S``: clips of ``S`` seconds;
- ``stem=N``: a stem of ``N`` channels instead of 16 (every stage's width scales with it);
- ``compile``: each ResNeXt stage wrapped in ``torch.compile`` (inductor, fixed shapes:
  :func:`clipaac_lib.train.step.fast_path`'s ``compile=True``); the seconds the first step spent
  compiling are printed below the table;
- ``text-embedding-frozen``: the text head's 49 408 x 128 token embedding gets no gradient. Not a
  training option: it measures what that table's gradient and Adam update cost per step.

Beside each median the table gives the step's arithmetic (``torch.utils.flop_counter``: matrix
products and convolutions, forward and backward, counted on one extra step) and the rate it ran at, so
a variant that only does less arithmetic is told apart from one that runs the same arithmetic faster.

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
model = fast_path(CLIPAAC(mc).train(), torch.device("cpu"), compile={compile!r})
if {freeze_text_embedding!r}:
    model.text.token_embedding.weight.requires_grad_(False)
config = TrainConfig(); opt = make_optimizer(model, config); w = LossWeights.from_config(config)
data = m.random_batch(8, int({seconds} * mc.sample_rate), 135, 14, torch.device("cpu"))
first = time.perf_counter()
loss, _, _ = compute_loss(model, data, w, torch.device("cpu"), autocast=False)
opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
first = time.perf_counter() - first
"""
#: Appended after the timed loop: the arithmetic of one more step and the first step's seconds.
COUNTED = r"""
from torch.utils.flop_counter import FlopCounterMode
with FlopCounterMode(display=False) as counter:
    loss, _, _ = compute_loss(model, data, w, torch.device("cpu"), autocast=False)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
print(counter.get_total_flops(), first)
"""


def parse_variant(name: str, seconds: float) -> dict[str, object]:
    """A variant name -> the subprocess's settings: audio overrides, clip seconds, embedding frozen."""
    settings: dict[str, object] = {"audio": {}, "seconds": seconds, "freeze_text_embedding": False,
                                   "compile": False}
    for part in name.split("+"):
        if part == "base":
            continue
        if part == "text-embedding-frozen":
            settings["freeze_text_embedding"] = True
        elif part == "compile":
            settings["compile"] = True
        elif part.startswith("stem="):
            settings["audio"] = {**settings["audio"], "stem_width": int(part[5:])}  # type: ignore[dict-item]
        elif part.startswith("hop="):
            settings["audio"] = {**settings["audio"], "hop_length": int(part[4:])}  # type: ignore[dict-item]
        elif part.startswith("seconds="):
            settings["seconds"] = float(part[8:])
        else:
            raise SystemExit(f"unknown variant part {part!r}: use base, hop=N, seconds=S, stem=N, "
                             "compile or text-embedding-frozen, joined with +")
    return settings


def _timed_steps() -> str:
    """``cpu_threads.py``'s timed loop (loaded from the file beside this one)."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("cpu_threads", os.path.join(here, "cpu_threads.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.TIMED_STEPS


def step_seconds(template: str, name: str, seconds: float, steps: int) -> tuple[float, float, float]:
    """Variant ``name`` in a fresh one-thread process running ``template`` (:data:`STEP`, the timed loop,
    :data:`COUNTED`): the median seconds per step, the step's floating-point operations and the seconds
    of the first step (which includes any compilation)."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = template.format(bench=os.path.join(here, "train_step.py"), steps=steps, **parse_variant(name, seconds))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"variant {name!r} failed:\n{out.stderr[-2000:]}")
    *_, median, counted = out.stdout.strip().splitlines()
    flops, first = counted.split()
    return float(median), float(flops), float(first)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default="base,hop=360,hop=480,text-embedding-frozen")
    parser.add_argument("--seconds", type=float, default=4.5, help="clip length of every variant but seconds=S")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args(argv)
    names = args.variants.split(",")
    print(f"small model, batch 8, one thread, median of {args.steps} steps; load average "
          f"{os.getloadavg()[0]:.2f} at the start")
    print("| variant | ms/step | vs first | GFLOP/step | GFLOP/s |\n|---|---|---|---|---|")
    template, first, warmups = STEP + _timed_steps() + COUNTED, None, []
    for name in names:
        seconds, flops, first_step = step_seconds(template, name, args.seconds, args.steps)
        first = first or seconds
        warmups.append(f"{name} {first_step:.1f} s")
        print(f"| {name} | {seconds * 1000:.0f} | {first / seconds:.2f}x | {flops / 1e9:.2f} | "
              f"{flops / 1e9 / seconds:.0f} |", flush=True)
    print(f"\nfirst step (compilation included): {', '.join(warmups)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
