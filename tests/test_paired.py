"""The findings decided seed by seed from run records (experiments/paired.py), on hand-made records."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from clipaac_lib.experiments.findings import Finding
from clipaac_lib.experiments.grid import Grid
from clipaac_lib.experiments.paired import (
    alpha_dose_response,
    describe_paired,
    findings_tables,
    paired_findings,
    plot_paired_findings,
    system_scores,
)
from clipaac_lib.experiments.records import RunRecord

matplotlib.use("Agg")

#: Clotho's consensus-to-human gap on the held-out footing (facts.md: humans 0.906, consensus 0.065).
CLOTHO_GAP = 0.906 - 0.065


def _record(system: int, seed: int, scores: list[float], tag: str = "", order: list[int] | None = None) -> RunRecord:
    order = order or list(range(len(scores)))
    clips = [{"file_name": f"clip {i}.wav", "caption": "a", "cider_d": scores[i], "cider_d_held_out": scores[i]}
             for i in order]
    return RunRecord(name=f"system{system:02d}-seed{seed}", system=system, tag=tag, seed=seed, run_hash="h",
                     config={}, clips=clips, metrics={}, curve=[], provenance={})


def _grid(records: list[RunRecord]) -> Grid:
    return Grid(plan=[], records={(r.system, r.tag, r.seed): r for r in records})


def test_paired_findings_by_hand():
    """System 4 beats system 1 by 0.3 on every clip of every seed (its clips stored in another order);
    system 9 has no run."""
    records = []
    for seed, shift in enumerate([0.0, 0.01, 0.02]):
        records.append(_record(4, seed, [0.6 + shift + 0.1 * k for k in range(4)], order=[3, 1, 0, 2]))
        records.append(_record(1, seed, [0.3 + shift + 0.1 * k for k in range(4)]))
    findings = (Finding("init", "4 beats 1", 4, 1), Finding("batch", "9 beats 8", 9, 8))
    gap = 1.5
    table = paired_findings(_grid(records), gap, findings=findings)
    init = table.loc["init"]
    assert init["ours_diff"] == pytest.approx(0.3) and init["seeds"] == 3 and init["clips"] == 4
    assert init["detectable"] == pytest.approx(0.0, abs=1e-9)  # the same difference everywhere
    assert init["label"] == "reproduced" and init["paper_diff"] == pytest.approx(0.394 - 0.060)
    assert init["ours_share"] == pytest.approx(0.3 / 1.5)
    assert init["paper_share"] == pytest.approx(0.334 / CLOTHO_GAP)
    assert init["paper_at_our_scale"] == pytest.approx(0.334 / CLOTHO_GAP * 1.5)  # 0.596: outside [0.3, 0.3]
    assert init["holds_paper"] is False or init["holds_paper"] == np.False_
    assert table.loc["batch", "label"] == "not run"
    assert np.isnan(table.loc["batch", ["ours_diff", "low", "high", "detectable"]].astype(float)).all()
    lines = describe_paired(table)
    assert lines[0].startswith("init: paper +0.334 CIDEr-D (+40% of Clotho's gap); ours +0.300 (+20% of our gap)")
    assert "3 paired seeds" in lines[0] and "excludes the paper's effect" in lines[0]
    assert lines[1] == "batch: paper +0.013 CIDEr-D (+2% of Clotho's gap); ours not run"
    fig = plot_paired_findings(table)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["init", "batch"]
    assert np.isclose(fig.axes[0].lines[-1].get_xdata()[0], 0.013 / CLOTHO_GAP)  # the paper's share marked


def test_a_tagged_worse_system_and_noise():
    """The equal-steps finding compares system 9 with system 7's tagged runs; with noise the interval has
    width, and a tiny paper effect at our scale sits inside it."""
    rng = np.random.default_rng(0)
    records = [_record(9, s, list(0.5 + rng.normal(0, 0.2, 30))) for s in range(3)]
    records += [_record(7, s, list(0.5 + rng.normal(0, 0.2, 30)), tag="steps") for s in range(3)]
    records += [_record(7, s, [9.0] * 30) for s in range(3)]  # the untagged runs must not be used
    finding = Finding("steps", "9 beats 7 at equal steps", 9, 7, worse_tag="steps")
    row = paired_findings(_grid(records), 1.0, findings=[finding]).iloc[0]
    assert abs(row["ours_diff"]) < 0.2 and row["low"] < row["ours_diff"] < row["high"]
    assert row["label"] == "undecided" and bool(row["holds_paper"])  # 0.035 / 0.841 of 1.0 is inside
    assert row["detectable"] > row["high"] - row["ours_diff"]  # 80 % power asks more than the half-width


def test_system_scores_and_alpha_dose_response_by_hand():
    records = [_record(5, s, [0.5, 0.7]) for s in range(2)]
    records += [_record(6, s, [0.6, 0.8]) for s in range(2)]  # +0.1 everywhere
    records += [_record(8, 0, [0.4, 0.6]), _record(8, 1, [0.4, 0.8])]  # -0.1, then 0.0
    grid = _grid(records)
    assert system_scores(grid, 6) == {0: {"clip 0.wav": 0.6, "clip 1.wav": 0.8}, 1: {"clip 0.wav": 0.6,
                                                                                      "clip 1.wav": 0.8}}
    dose = alpha_dose_response(grid)
    assert dose.loc[6, "ours"] == pytest.approx(0.1) and dose.loc[6, "alpha"] == 0.1
    assert dose.loc[8, "ours"] == pytest.approx(-0.05)
    assert dose.loc[6, "paper"] == pytest.approx(0.379 - 0.368) and np.isnan(dose.loc[10, "ours"])


def test_the_reference_record_is_the_lowest_seed_of_the_system_or_of_any_system():
    grid = _grid([_record(4, 2, [0.1]), _record(4, 1, [0.2]), _record(1, 0, [0.3]),
                  _record(7, 0, [0.4], tag="steps")])
    assert grid.reference_record(4).seed == 1
    assert grid.reference_record(9).system == 1  # incomplete grid: the lowest system with a record
    with pytest.raises(ValueError, match="no record yet"):
        _grid([]).reference_record(4)


def test_the_findings_tables_are_text_in_two_narrow_parts():
    records = [_record(4, s, [0.6 + 0.01 * s, 0.9]) for s in range(3)]
    records += [_record(1, s, [0.3, 0.6 - 0.01 * s]) for s in range(3)]
    findings = (Finding("init", "4 beats 1", 4, 1), Finding("batch", "9 beats 8", 9, 8))
    verdicts, scale = findings_tables(paired_findings(_grid(records), 1.0, findings=findings))
    assert list(verdicts.columns) == ["paper", "ours [95 % interval]", "detectable", "label"]
    assert verdicts.loc["init", "paper"] == "+0.334" and verdicts.loc["init", "label"] == "reproduced"
    assert verdicts.loc["init", "ours [95 % interval]"].startswith("+0.310 [+0.")  # 0.3 + 0.01 s, s = 0..2
    assert verdicts.loc["batch", "ours [95 % interval]"] == "– [–, –]" and verdicts.loc["batch", "label"] == "not run"
    assert scale.loc["init", "paper, % of gap"] == "+40" and scale.loc["init", "ours, % of gap"] == "+31"
    assert scale.loc["batch", "inside ours"] == "–" and scale.loc["batch", "seeds to detect"] == "–"
