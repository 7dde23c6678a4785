"""The shipped records still describe the code: one of them, retrained from an empty cache, lands among them.

``results/`` holds the plateau grid's records (``clipaac_lib.experiments.records``). Retraining the
reference system's first seed with its recorded configuration, from an empty cache (the synthetic set,
the book's pretrained encoders and the run all made again), must give a CIDEr-D inside the spread of
the shipped seeds of that system, widened by one seed standard deviation on each side.

Why not equality: runs are not bit-identical across CPUs (vectorised float sums differ between AVX2 and
AVX-512 kernels, and the difference grows over 12 epochs of training), so the retrained run is one more
draw of the same training noise, not a copy. A draw of the same noise lands outside
``[min - sd, max + sd]`` of five seeds rarely (about 2 % for normal noise); a code change that moves the
system by more than its seed noise does not land inside. Cost: one 12-epoch training run of the small
model on 300 clips, with data generation and pretraining (measured in the closing note of issue 30).
"""

from __future__ import annotations

import statistics

import pytest

from clipaac_lib.experiments import REFERENCE_SYSTEM, read_records
from clipaac_lib.train import TrainConfig, train
from devtools import REPO_ROOT

#: Seeds the reference system needs in ``results/`` before its spread means anything.
MIN_SEEDS = 3


@pytest.mark.slow
def test_the_reference_run_retrained_from_an_empty_cache_lands_among_the_shipped_seeds(tmp_path, monkeypatch):
    shipped = [r for r in read_records(REPO_ROOT / "results").values()
               if r.system == REFERENCE_SYSTEM and not r.tag]
    if len(shipped) < MIN_SEEDS:
        pytest.skip(f"results/ holds {len(shipped)} seed(s) of system {REFERENCE_SYSTEM}, fewer than "
                    f"{MIN_SEEDS}: the grid is still being regenerated (results/README.md)")
    record = min(shipped, key=lambda r: r.seed)
    config = TrainConfig.from_dict(record.config)
    assert config.run_hash() == record.run_hash, "the record's configuration no longer hashes the same"
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))  # nothing reused: data, encoders, run
    result = train(config.replace(progress=False))
    ours = result.scores.metric("cider_d")
    scores = [r.corpus("cider_d") for r in shipped]
    sd = statistics.stdev(scores)
    low, high = min(scores) - sd, max(scores) + sd
    assert low <= ours <= high, (f"retrained seed {record.seed}: CIDEr-D {ours:.3f}, outside [{low:.3f}, "
                                 f"{high:.3f}] (the shipped seeds {sorted(round(s, 3) for s in scores)} +/- one sd)")
    assert [c["file_name"] for c in record.clips] == [c["file_name"] for c in result.captions]
