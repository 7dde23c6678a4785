"""Can the data path feed the GPU? Clips/s of 30 s audio delivered by the cached training loader.

Writes a synthetic Clotho-format set of ``--clips`` clips of ``--seconds`` s at 44.1 kHz (once; it is kept
under ``--root``), opens it with :class:`~clipaac_lib.data.ClothoDataset` (the decoded-audio int16 memmap
cache, built on first use) and iterates the training loader exactly as ``clipaac train`` builds it
(caption pairs, no-same-clip batches, ``collate_pairs`` + CLIP tokenisation, pinned memory) for each
``--workers`` count and audio dtype, copying every batch to the GPU when there is one (as float32, the
conversion of int16 samples included). Training delivers int16 samples (``--audio-dtype int16``); float32
is the dataset's default, kept for comparison. Prints a table of clips/s and MB/s moved. Target: at least
500 clips/s of 30 s audio on the 16-core GPU machine (the fast training step needs about 250).

    python benchmarks/data_loader.py --root /tmp/bench-data --workers 0,2,4,8 --audio-dtype int16,float32
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from clipaac_lib.train.setup import collate_train


def measure(pairs, vocab, batch_size: int, workers: int, batches: int, device: torch.device) -> tuple[float, float]:
    """(clips/s, MB/s of audio as delivered) over ``batches`` batches after one untimed batch."""
    from functools import partial

    from clipaac_lib.data import NoSameClipBatchSampler
    from clipaac_lib.train.step import audio_to_device

    sampler = NoSameClipBatchSampler(pairs, batch_size, shuffle=True, seed=0)
    loader = DataLoader(pairs, batch_sampler=sampler, num_workers=workers,
                        collate_fn=partial(collate_train, vocab=vocab, max_words=30),
                        pin_memory=device.type == "cuda", persistent_workers=workers > 0,
                        prefetch_factor=4 if workers else None, generator=torch.Generator().manual_seed(0))
    clips = bytes_ = 0
    start = None
    epoch = 0
    while True:
        sampler.set_epoch(epoch)
        for i, batch in enumerate(loader):
            delivered = batch.audio
            audio = audio_to_device(delivered, device)  # (B, S) float32 on the device
            if start is None:  # the first batch pays for worker start-up
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start, clips, bytes_ = time.perf_counter(), 0, 0
                continue
            clips += audio.shape[0]
            bytes_ += delivered.numel() * delivered.element_size()
            if i >= batches:
                break
        epoch += 1
        if clips >= batches * batch_size:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return clips / seconds, bytes_ / seconds / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=None, help="dataset folder (default: a temporary folder)")
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--workers", default="0,2,4,8")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--audio-dtype", default="int16,float32", help="int16 (what training uses), float32")
    args = parser.parse_args(argv)

    from clipaac_lib.common.devices import resolve_device
    from clipaac_lib.data import CaptionPairs, ClothoDataset, Vocabulary, make_synthetic_clotho

    root = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="clipaac-loader-"))
    t0 = time.perf_counter()
    make_synthetic_clotho(root, sizes={"development": args.clips, "validation": 0, "evaluation": 0},
                          clip_seconds=args.seconds, sample_rate=args.sample_rate)
    t1 = time.perf_counter()
    dtypes = [d.strip() for d in args.audio_dtype.split(",") if d.strip()]
    ds = ClothoDataset(root, "development", sample_rate=args.sample_rate, max_seconds=args.seconds, cache=True)
    t2 = time.perf_counter()
    print(f"{len(ds)} clips of {args.seconds:g} s at {args.sample_rate} Hz; generated in {t1 - t0:.1f} s, "
          f"cache opened/built in {t2 - t1:.1f} s", flush=True)
    vocab = Vocabulary.build([c for i in range(len(ds)) for c in ds.captions(i)])
    device = resolve_device(args.device)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows = []
    for dtype in dtypes:
        pairs = CaptionPairs(ClothoDataset(root, "development", sample_rate=args.sample_rate,
                                           max_seconds=args.seconds, cache=True, audio_dtype=dtype))
        for workers in [int(w) for w in args.workers.split(",")]:
            rate, mbps = measure(pairs, vocab, args.batch, workers, args.batches, device)
            rows.append((dtype, workers, rate, mbps))
            print(f"  {dtype}, workers={workers}: {rate:.0f} clips/s", flush=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU only"
    print(f"device: {name}, {cores} cores; batch {args.batch}, delivered to {device.type}")
    print("| audio dtype | workers | clips/s | MB/s moved |\n|---|---|---|---|")
    for dtype, workers, rate, mbps in rows:
        print(f"| {dtype} | {workers} | {rate:.0f} | {mbps:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
