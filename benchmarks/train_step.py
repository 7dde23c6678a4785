"""One CLIP-AAC training step of the paper configuration: plain fp32 eager vs our fast path.

Default: the paper model (ESResNeXt-fbsp audio head, 12-layer CLIP text head, 2-block decoder), batch 16,
30 s clips at 44.1 kHz, random data (audio in [-1, 1], CLIP BPE ids, caption word ids), Adam with the
paper's two parameter groups, loss of Eq. 7. Each variant builds the same model from the same seed and
times ``--steps`` steps after ``--warmup`` untimed ones (synchronising the GPU), then prints a table of
clips/s, ms/step and peak memory, so the ratio between variants holds on any card.

Variants (``--variants``, comma-separated):

- ``fp32``: plain float32 eager step (the baseline (a));
- ``bf16``: bf16 autocast;
- ``fast``: our training fast path (b) = bf16 autocast + channels-last + cuDNN autotuning + TF32 + fused Adam
  (:func:`clipaac_lib.train.step.fast_path`), what ``clipaac train`` runs on CUDA;
- ``fast-compile``: ``fast`` with ``torch.compile`` of the ResNeXt stages (``--compile`` in training);
- ``fast-compile-full``: ``fast`` with the whole audio head compiled (mode ``max-autotune-no-cudagraphs``);
- ``fast-syncs``: ``fast`` fed float audio already on the GPU, so that the model's own value checks run
  (4-5 host synchronisations per step): what the CPU-side batch checks save.

Every variant but ``fast-syncs`` gets its batch as the training loader delivers it: on the CPU (pinned on
CUDA), audio as int16 samples, moved to the device inside the timed step.

On a CPU use ``--tiny`` (small model, batch 2, 2 s) for a smoke check. Reference (facts.md): on an H100
AudioCLIP's own code does 22.8 clips/s in fp32 (batch 8) and 83 clips/s with bf16 + channels-last; the
step costs 769 GFLOP per 30 s clip. Results go in ``benchmarks/README.md``.

    python benchmarks/train_step.py                       # GPU, paper configuration
    python benchmarks/train_step.py --tiny --device cpu   # smoke check
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import resource
import statistics
import sys
import time
from typing import Any

import torch

from clipaac_lib.common.devices import resolve_device
from clipaac_lib.data import PairBatch
from clipaac_lib.model import CLIPAAC, ModelConfig
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.step import LossWeights, compute_loss, fast_path, make_optimizer

VARIANTS = ("fp32", "bf16", "fast", "fast-compile", "fast-compile-full", "fast-syncs")


def random_batch(batch: int, samples: int, vocab: int, caption_len: int, device: torch.device,
                 seed: int = 0) -> PairBatch:
    """A batch as the training loader gives it, on the CPU (pinned when ``device`` is CUDA): a
    :class:`~clipaac_lib.data.PairBatch` of int16 audio (B, S), CLIP BPE ids (B, 77) with start/end
    tokens, captions (B, M) (its caption strings and file names are empty: the step does not read them)."""
    g = torch.Generator().manual_seed(seed)
    text = torch.zeros(batch, 77, dtype=torch.long)
    for i in range(batch):
        n = 12 + i % 8
        text[i, :n] = torch.cat([torch.tensor([49406]), torch.randint(300, 40000, (n - 2,), generator=g),
                                 torch.tensor([49407])])
    words = torch.randint(4, vocab, (batch, caption_len), generator=g)
    caption_in = torch.cat([torch.ones(batch, 1, dtype=torch.long), words], dim=1)
    caption_out = torch.cat([words, torch.full((batch, 1), 2, dtype=torch.long)], dim=1)
    audio = torch.randint(-26000, 26000, (batch, samples), generator=g, dtype=torch.int16)  # ~[-0.8, 0.8]
    out = PairBatch(audio=audio, audio_lengths=torch.full((batch,), samples, dtype=torch.long),
                    caption_in=caption_in, caption_out=caption_out, captions=[""] * batch,
                    clip_index=torch.arange(batch), file_names=[""] * batch, text_tokens=text)
    if device.type == "cuda":
        out = out.pin_memory()
    return out


def on_device_float(batch: PairBatch, device: torch.device) -> PairBatch:
    """The batch moved to ``device`` beforehand with float audio: the model then checks values itself."""
    from clipaac_lib.train.step import audio_to_device

    moved = {f.name: value.to(device) for f in dataclasses.fields(batch)
             if f.name != "audio" and isinstance(value := getattr(batch, f.name), torch.Tensor)}
    return dataclasses.replace(batch, audio=audio_to_device(batch.audio, device), **moved)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_variant(name: str, model_config: ModelConfig, batch: PairBatch, device: torch.device,
                steps: int, warmup: int) -> dict[str, Any]:
    """Time ``steps`` training steps of one variant; returns its row of the table."""
    torch.manual_seed(0)
    model = CLIPAAC(model_config).to(device).train()
    config = TrainConfig(dropout=model_config.decoder.dropout)
    weights = LossWeights.from_config(config)
    autocast = name != "fp32" and device.type == "cuda"  # as in training: bf16 only on CUDA
    if name.startswith("fast"):
        model = fast_path(model, device, compile=name == "fast-compile")
        if name == "fast-compile-full":
            # CLIPAAC calls audio.forward_features (not audio.forward): compile that method
            model.audio.forward_features = torch.compile(model.audio.forward_features,
                                                         mode="max-autotune-no-cudagraphs", dynamic=False)
        optimizer = make_optimizer(model, config)
    else:
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        optimizer = torch.optim.Adam([{"params": list(model.encoder_parameters()), "lr": 1e-5},
                                      {"params": list(model.new_parameters()), "lr": 1e-3}])
    if name == "fast-syncs":
        batch = on_device_float(batch, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> None:
        loss, _, _ = compute_loss(model, batch, weights, device, autocast=autocast)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    start = time.perf_counter()
    for _ in range(warmup):
        step()
    _sync(device)
    warm_seconds = time.perf_counter() - start
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1000
    clips = batch.audio.shape[0]
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # process peak RSS, GiB
    row = {"variant": name, "clips_per_s": clips / (ms / 1000), "ms_per_step": ms, "peak_gib": peak,
           "warmup_s": warm_seconds, "batch": clips}
    return row


def table(rows: list[dict[str, Any]], device_name: str) -> str:
    base = rows[0]["clips_per_s"] if rows else 1.0
    lines = [f"device: {device_name}",
             "| variant | batch | clips/s | ms/step | peak memory (GiB) | vs first | warm-up (s) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['batch']} | {r['clips_per_s']:.1f} | {r['ms_per_step']:.1f} | "
                     f"{r['peak_gib']:.2f} | {r['clips_per_s'] / base:.2f}x | {r['warmup_s']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", choices=("paper", "small"), default="paper")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--vocab", type=int, default=5000, help="caption vocabulary (Clotho: about 4-5k words)")
    parser.add_argument("--caption-len", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--variants", default="fp32,fast")
    parser.add_argument("--tiny", action="store_true", help="small model, batch 2, 2 s: a CPU smoke check")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.tiny:
        args.model, args.batch, args.seconds, args.steps, args.warmup = "small", 2, 2.0, 2, 1
    device = resolve_device(args.device)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    preset = ModelConfig.paper if args.model == "paper" else ModelConfig.small
    model_config = preset(vocab_size=args.vocab)
    samples = int(args.seconds * model_config.sample_rate)
    batch = random_batch(args.batch, samples, args.vocab, args.caption_len, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{args.model} model, batch {args.batch}, {args.seconds:g} s at {model_config.sample_rate} Hz, "
          f"torch {torch.__version__}", flush=True)
    rows = []
    for variant in variants:
        rows.append(run_variant(variant, model_config, batch, device, args.steps, args.warmup))
        print(f"  {variant}: {rows[-1]['clips_per_s']:.1f} clips/s", flush=True)
        gc.collect()  # free this variant's model before the next one
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print(table(rows, name))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"device": name, "args": vars(args), "rows": rows}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
