"""The findings decided seed by seed (experiments/paired.py), on hand-made runs and a fake scorer."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

from clipaac_lib.experiments.findings import Finding
from clipaac_lib.experiments.paired import (
    PER_CLIP_FILE,
    describe_paired,
    paired_findings,
    plot_paired_findings,
    run_per_clip,
)

matplotlib.use("Agg")


def _run(tmp_path, name, captions):
    run = tmp_path / name
    (run / "eval-beam3-len30-lp1-test").mkdir(parents=True)
    (run / "eval-untrained-beam3-len30-lp1-test").mkdir()
    rows = [{"file_name": f"clip {i}", "caption": c, "references": ["ref a", "ref b"]} for i, c in enumerate(captions)]
    (run / "eval-beam3-len30-lp1-test" / "captions.json").write_text(json.dumps(rows))
    return run


class Fake:
    """cider_d of a clip = the number in its caption ("0.7" -> 0.7); counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, candidates, references):
        self.calls += 1
        return {"per_clip": {"cider_d": [float(c) for c in candidates]}}


def test_per_clip_scores_are_cached_for_the_same_captions(tmp_path):
    fake = Fake()
    run = _run(tmp_path, "r", ["0.5", "0.25"])
    assert run_per_clip(run, evaluate=fake).tolist() == [0.5, 0.25]
    assert run_per_clip(run, evaluate=fake).tolist() == [0.5, 0.25] and fake.calls == 1
    assert (run / PER_CLIP_FILE).is_file()
    rows = [{"file_name": "clip 0", "caption": "0.9", "references": ["x"]}]
    (run / "eval-beam3-len30-lp1-test" / "captions.json").write_text(json.dumps(rows))  # re-evaluated
    assert run_per_clip(run, evaluate=fake).tolist() == [0.9] and fake.calls == 2
    with pytest.raises(FileNotFoundError, match="no test captions"):
        run_per_clip(tmp_path / "empty", evaluate=fake)
    limited = tmp_path / "smoke" / "eval-beam2-len8-lp1-test-first4"  # a limited test split (smoke mode)
    limited.mkdir(parents=True)
    (limited / "captions.json").write_text(json.dumps(rows))
    assert run_per_clip(tmp_path / "smoke", evaluate=fake).tolist() == [0.9]


def test_paired_findings_by_hand(tmp_path):
    """System 4 beats system 1 by 0.3 on every clip of every seed; system 9 is not run."""
    records = []
    for seed, shift in enumerate([0.0, 0.01, 0.02]):
        for system, base in ((4, 0.6), (1, 0.3)):
            run = _run(tmp_path, f"s{system}-{seed}", [f"{base + shift + 0.1 * k}" for k in range(4)])
            records.append({"system": system, "seed": seed, "status": "ran", "run_dir": str(run)})
    records = pd.DataFrame(records)
    findings = (Finding("init", "4 beats 1", 4, 1), Finding("batch", "9 beats 8 (= 4)", 9, 8))
    table = paired_findings(records, findings=findings, evaluate=Fake())
    init = table.loc["init"]
    assert init["ours_diff"] == pytest.approx(0.3) and init["seeds"] == 3 and init["clips"] == 4
    assert init["detectable"] == pytest.approx(0.0, abs=1e-9)  # the same difference everywhere
    assert init["label"] == "reproduced" and init["paper_diff"] == pytest.approx(0.394 - 0.060)
    assert table.loc["batch", "label"] == "not run"
    assert np.isnan(table.loc["batch", ["ours_diff", "low", "high", "detectable"]].astype(float)).all()
    only_not_run = paired_findings(records, findings=findings[1:], evaluate=Fake())  # the columns stay
    assert {"ours_diff", "low", "high", "detectable", "seeds", "label"} <= set(only_not_run.columns)
    lines = describe_paired(table)
    assert lines[0].startswith("init: paper +0.334 CIDEr-D; ours +0.300") and "3 paired seeds" in lines[0]
    assert lines[1] == "batch: paper +0.013 CIDEr-D; ours not run"
    fig = plot_paired_findings(table)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["init", "batch"]
    assert np.isclose(fig.axes[0].lines[-1].get_xdata()[0], 0.407 - 0.394)  # the paper's effect marked
