"""The caption-scarcity sweep's jobs and pilot rule (clipaac_lib/experiments/scarcity.py), against the
design fixed in results/README.md and the grid's own job builder."""

from __future__ import annotations

import pytest

from clipaac_lib.experiments import (
    epochs_for,
    grid_jobs,
    parse_tables,
    pilot_moves,
    scarcity_jobs,
    tenfold_jobs,
)

#: notebook 6's grid settings (its parameters cell and GRID_RECIPE)
COMMON = dict(dataset="synthetic", model_config="small", device="auto", smoke=False, num_epochs=12,
              limit_train_clips=None, eval_untrained=False, validate_every=1)


def test_epochs_keep_the_full_set_s_optimiser_steps() -> None:
    # 12 epochs x 300 clips = 3600 clip-epochs: 3600 / 38 = 94.7, / 75 = 48, / 150 = 24 (results/README.md)
    assert [epochs_for(c) for c in (38, 75, 150, 300)] == [95, 48, 24, 12]
    assert epochs_for(38, doubled=True) == 190
    with pytest.raises(ValueError, match="between 1 and 300"):
        epochs_for(301)


def test_the_full_set_cells_are_the_grid_s_own_runs() -> None:
    jobs = scarcity_jobs(**COMMON)
    assert len(jobs) == 16 and [j.system for j in jobs[:4]] == [1, 2, 3, 4]
    grid = {j.system: j.config(0).run_hash() for j in grid_jobs(parse_tables("1"), "1,2,3,4", **COMMON)}
    full = [j for j in jobs if j.params["limit_train_clips"] is None]
    assert [j.tag for j in full] == [""] * 4  # named and answered as the grid's records
    assert {j.system: j.config(0).run_hash() for j in full} == grid
    small = [j for j in jobs if j.params["limit_train_clips"] == 38]
    assert {j.tag for j in small} == {"clips38"} and {j.params["num_epochs"] for j in small} == {95}
    assert small[0].name(2) == "system01-clips38-seed2"
    assert {j.config(0).run_hash() for j in small}.isdisjoint(grid.values())
    doubled = scarcity_jobs([300], "4", doubled=[300], **COMMON)[0]  # the pilot rule doubled the full set
    assert doubled.tag == "clips300" and doubled.params["num_epochs"] == 24


def test_tenfold_cells_pretrain_on_8000_clips() -> None:
    jobs = tenfold_jobs(**COMMON)
    assert [(j.system, j.tag) for j in jobs] == [(2, "clips38-corpus10x"), (4, "clips38-corpus10x"),
                                                 (2, "clips300-corpus10x"), (4, "clips300-corpus10x")]
    for job in jobs:
        assert job.config(0).pretrain_config().corpus.clips == 8000
    default = scarcity_jobs([300], "2,4", **COMMON)
    assert {j.config(0).run_hash() for j in jobs[2:]}.isdisjoint({j.config(0).run_hash() for j in default})


def test_pilot_rule_by_hand() -> None:
    flat = [4.0, 3.0, 2.5, 2.4, 2.4, 2.4, 2.4, 2.4]  # last quarter (2 epochs) moves 0 of 1.6
    assert not pilot_moves(flat)
    falling = [4.0, 3.0, 2.5, 2.3, 2.2, 2.1, 2.0, 1.9]  # last quarter: 2.1 -> 1.9, 0.2 of 2.1 (9.5 %)
    assert pilot_moves(falling)
    # 5 epochs: the last quarter is the last epoch; 3 % of the change 3.0 is 0.09
    assert not pilot_moves([4.0, 3.0, 2.0, 1.08, 1.0])  # moves 0.08
    assert pilot_moves([4.0, 3.0, 2.0, 1.10, 1.0])  # moves 0.10
    with pytest.raises(ValueError, match="at least 4 finite epochs"):
        pilot_moves([3.0, 2.0, float("nan"), 1.0])


def test_pilot_decisions_read_the_pilots_curves() -> None:
    from clipaac_lib.experiments import RunRecord, pilot_decisions

    def record(system: int, tag: str, losses: list[float]) -> RunRecord:
        curve = [{"epoch": e, "loss": v} for e, v in reversed(list(enumerate(losses, start=1)))]  # any order
        return RunRecord(name=f"system{system:02d}", system=system, tag=tag, seed=0, run_hash="x", config={},
                         clips=[], metrics={}, curve=curve, provenance={})

    falling = [4.0, 3.0, 2.5, 2.3, 2.2, 2.1, 2.0, 1.9]  # moves 9.5 % in its last quarter
    flat = [4.0, 3.0, 2.5, 2.4, 2.4, 2.4, 2.4, 2.4]
    records = {(1, "clips38", 0): record(1, "clips38", flat), (4, "clips38", 0): record(4, "clips38", falling),
               (1, "", 0): record(1, "", flat), (4, "", 1): record(4, "", falling)}  # seed 1 is no pilot
    table = pilot_decisions(records, sizes=[38, 300])
    doubles = {(row["clips"], row["system"]): row["doubles"] for _, row in table.iterrows()}
    # 300 clips: the grid's untagged records; system 4's seed-0 pilot there has no record yet
    assert doubles == {(38, 1): False, (38, 4): True, (300, 1): False, (300, 4): None}
    row = table[(table["clips"] == 38) & (table["system"] == 4)].iloc[0]
    assert row["share"] == pytest.approx(0.2 / 2.1) and row["epochs"] == 8


def test_run_sweep_runs_the_pilots_then_every_cell_with_the_doubled_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_grid stood in for by a fake that records what it was asked and answers every pair with a record
    whose curve is flat, except the 38-clip system-4 pilot's, which still falls (so 38 clips double)."""
    from clipaac_lib.experiments import Grid, RunRecord, run_sweep, sweep

    calls: list[list[tuple[int, str, int, int]]] = []
    falling, flat = [4.0, 3.0, 2.5, 2.3, 2.2, 2.1, 2.0, 1.9], [4.0, 3.0, 2.5, 2.4, 2.4, 2.4, 2.4, 2.4]

    def fake_run_grid(jobs, seeds, **kwargs):
        plan = [(job, seed) for job in jobs for seed in seeds]
        calls.append([(j.system, j.tag, s, j.params["num_epochs"]) for j, s in plan])
        grid = Grid(plan=plan)
        for job, seed in plan:
            losses = falling if (job.system, job.tag) == (4, "clips38") else flat
            curve = [{"epoch": e, "loss": v} for e, v in enumerate(losses, start=1)]
            grid.records[(job.system, job.tag, seed)] = RunRecord(
                name=job.name(seed), system=job.system, tag=job.tag, seed=seed, run_hash="x", config={},
                clips=[], metrics={}, curve=curve, provenance={})
        return grid

    monkeypatch.setattr(sweep, "run_grid", fake_run_grid)
    result = run_sweep(seeds=[0, 1, 2], **COMMON)
    pilots, lookup, cells = calls  # the lookup: do the tenfold cells need the tenfold encoders made?
    assert {(s, t) for s, t, _, _ in lookup} == {(s, f"clips{c}-corpus10x") for s in (2, 4) for c in (38, 300)}
    assert sorted({(s, t, seed) for s, t, seed, _ in pilots}) == sorted(
        (s, t, 0) for s in (1, 4) for t in ("clips38", "clips75", "clips150", ""))
    assert result.decided and result.doubled == [38]
    epochs = {(s, t): e for s, t, _, e in cells}
    assert epochs[(1, "clips38")] == epochs[(4, "clips38")] == 190  # doubled, pilots rerun with them
    assert epochs[(2, "clips75")] == 48 and epochs[(3, "")] == 12  # the others as designed
    assert epochs[(2, "clips38-corpus10x")] == 190 and epochs[(4, "clips300-corpus10x")] == 12
    assert len(cells) == (16 + 4) * 3  # items 1 and 2, three seeds each

    # a pilot without a record: nothing else runs
    monkeypatch.setattr(sweep, "run_grid", lambda jobs, seeds, **k: Grid(plan=[]))
    undecided = run_sweep(**COMMON)
    assert not undecided.decided and undecided.doubled == [] and undecided.pilots["doubles"].isna().all()

    # only the full set's pilots recorded, system 4's still falling: undecided, the full set already doubled
    def full_set_only(jobs, seeds, **kwargs):
        grid = fake_run_grid([j for j in jobs if j.tag == ""], seeds)
        grid.records[(4, "", 0)].curve[:] = [{"epoch": e, "loss": v} for e, v in enumerate(falling, start=1)]
        return grid

    monkeypatch.setattr(sweep, "run_grid", full_set_only)
    partial = run_sweep(**COMMON)
    assert not partial.decided and partial.doubled == [300]


def test_sweep_differences_pair_each_size_s_seeds_by_clip() -> None:
    """Records made with known truth: at 38 clips system 4 beats system 1 by exactly 0.1 on every clip of
    every seed (plus a seed offset shared by both), so the paired mean is 0.1 and its interval is that
    point; the paper's difference is Table 1's CIDEr-D 0.394 - 0.060."""
    from clipaac_lib.experiments import Grid, RunRecord, sweep_differences
    from clipaac_lib.experiments.findings import paper_score

    grid = Grid(plan=[])
    for seed in (0, 1, 2):
        for system, bonus in ((1, 0.0), (4, 0.1)):
            clips = [{"file_name": f"c{i}.wav", "cider_d": 0.2 + 0.01 * i + 0.05 * seed + bonus} for i in range(6)]
            grid.records[(system, "clips38", seed)] = RunRecord(
                name="x", system=system, tag="clips38", seed=seed, run_hash="x", config={}, clips=clips,
                metrics={}, curve=[], provenance={})
    table = sweep_differences(grid, sizes=[38, 300], pairs=[(4, 1), (2, 1)])
    row = table[(table["clips"] == 38) & (table["comparison"] == "4 - 1")].iloc[0]
    assert row["seeds"] == 3 and row["mean"] == pytest.approx(0.1)
    assert row["low"] == pytest.approx(0.1, abs=1e-9) and row["high"] == pytest.approx(0.1, abs=1e-9)
    assert row["paper"] == pytest.approx(paper_score(4) - paper_score(1)) and row["label"] == "reproduced"
    assert set(table[table["clips"] == 300]["label"]) == {"no records"}  # the full set: the grid's records
    assert table[(table["clips"] == 38) & (table["comparison"] == "2 - 1")].iloc[0]["seeds"] == 0


def _record(system: int, tag: str, seed: int, scores: list[float]):
    from clipaac_lib.experiments import RunRecord

    clips = [{"file_name": f"c{i}.wav", "cider_d": v} for i, v in enumerate(scores)]
    return RunRecord(name="x", system=system, tag=tag, seed=seed, run_hash="x", config={}, clips=clips,
                     metrics={}, curve=[], provenance={})


def test_cell_levels_is_the_t_interval_of_the_seed_means_when_only_the_seed_moves_the_score() -> None:
    """With every clip of a seed scoring the same, the clips add no noise and the level's interval is the
    textbook one-sample t interval of the seed means (n - 1 degrees of freedom), computed here by hand."""
    import math

    from scipy import stats

    from clipaac_lib.experiments import Grid, cell_levels

    grid = Grid(plan=[])
    means = [0.30, 0.36, 0.27]
    for seed, mean in enumerate(means):
        grid.records[(4, "clips38", seed)] = _record(4, "clips38", seed, [mean] * 5)
    grid.records[(4, "clips38-corpus10x", 0)] = _record(4, "clips38-corpus10x", 0, [0.5, 0.7])  # one seed
    table = cell_levels(grid, sizes=[38, 75])
    row = table[(table["system"] == 4) & (table["clips"] == 38) & (table["corpus"] == "default")].iloc[0]
    m, sd = sum(means) / 3, math.sqrt(sum((v - sum(means) / 3) ** 2 for v in means) / 2)
    half = stats.t.ppf(0.975, 2) * sd / math.sqrt(3)
    assert row["seeds"] == 3 and row["mean"] == pytest.approx(m)
    assert (row["low"], row["high"]) == pytest.approx((m - half, m + half))
    one = table[(table["system"] == 4) & (table["clips"] == 38) & (table["corpus"] == "tenfold")].iloc[0]
    assert one["seeds"] == 1 and one["mean"] == pytest.approx(0.6) and math.isnan(one["low"])
    # systems 1-4 at both sizes, the tenfold corpus for systems 2 and 4 at 38 clips only (75 is no tenfold size)
    assert len(table) == 4 * 2 + 2 and set(table[table["corpus"] == "tenfold"]["system"]) == {2, 4}
    assert table[table["clips"] == 75]["seeds"].eq(0).all() and table[table["clips"] == 75]["mean"].isna().all()


def test_tenfold_differences_pair_each_system_with_its_default_corpus_cell() -> None:
    from clipaac_lib.experiments import Grid, tenfold_differences

    grid = Grid(plan=[])
    for seed in (0, 1, 2):
        base = [0.2 + 0.03 * i + 0.04 * seed for i in range(6)]
        grid.records[(4, "clips38", seed)] = _record(4, "clips38", seed, base)
        grid.records[(4, "clips38-corpus10x", seed)] = _record(4, "clips38-corpus10x", seed, [v + 0.05 for v in base])
        grid.records[(2, "clips38", seed)] = _record(2, "clips38", seed, base)
        grid.records[(2, "clips38-corpus10x", seed)] = _record(2, "clips38-corpus10x", seed, [v - 0.02 for v in base])
    grid.records[(4, "clips300-corpus10x", 0)] = _record(4, "clips300-corpus10x", 0, [0.1])
    table = tenfold_differences(grid, sizes=[38, 300], doubled=[300]).set_index(["clips", "system"])
    assert table.loc[(38, 4), "mean"] == pytest.approx(0.05) and table.loc[(38, 4), "label"] == "helps"
    assert table.loc[(38, 4), "low"] == pytest.approx(0.05) and table.loc[(38, 4), "high"] == pytest.approx(0.05)
    assert table.loc[(38, 2), "mean"] == pytest.approx(-0.02) and table.loc[(38, 2), "label"] == "hurts"
    assert table.loc[(300, 4), "label"] == "no records" and table.loc[(300, 4), "seeds"] == 0


def test_describe_sweep_says_where_each_comparison_holds() -> None:
    import pandas as pd

    from clipaac_lib.experiments import describe_sweep

    diffs = pd.DataFrame({"clips": [38, 75, 150, 38, 75, 150], "comparison": ["2 - 1"] * 3 + ["4 - 3"] * 3,
                          "label": ["reproduced", "reproduced", "undecided", "contradicted", "no records",
                                    "no records"], "paper": [0.2] * 3 + [0.061] * 3})
    tenfold = pd.DataFrame({"clips": [38, 300], "system": [4, 4], "label": ["helps", "undecided"]})
    assert describe_sweep(diffs, tenfold) == [
        "2 - 1: reproduced at 38 and 75 clips; undecided at 150 clips (the paper, on Clotho: +0.200 CIDEr-D).",
        "4 - 3: contradicted at 38 clips; no records at 75 and 150 clips (the paper, on Clotho: +0.061 CIDEr-D).",
        "system 4 with the tenfold pretraining corpus instead of the default: helps at 38 clips; undecided at "
        "300 clips."]


def test_plot_scarcity_draws_every_cell_with_records_and_none_without(recwarn) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from clipaac_lib.experiments import Grid, cell_levels, plot_scarcity, sweep_differences

    grid = Grid(plan=[])
    for seed in (0, 1):
        for system in (1, 4):
            grid.records[(system, "clips38", seed)] = _record(system, "clips38", seed,
                                                              [0.1 * system + 0.01 * i + 0.02 * seed for i in range(4)])
    levels, diffs = cell_levels(grid, [38, 300]), sweep_differences(grid, [38, 300])
    fig = plot_scarcity(levels, diffs)
    left, right = fig.axes
    assert len(left.containers) == 2 and len(right.containers) == 1  # systems 1 and 4; the pair 4 - 1
    assert [t.get_text() for t in left.get_xticklabels()] == ["38", "300"]
    plt.close(fig)
    empty = plot_scarcity(cell_levels(Grid(plan=[]), [38]), sweep_differences(Grid(plan=[]), [38]))
    assert not empty.axes[0].containers  # nothing drawn, nothing raised
    plt.close(empty)
    assert not [w for w in recwarn if "legend" in str(w.message).lower() or "tight" in str(w.message).lower()]


def _fake_cache(files: dict[int, tuple[float, float]], asked: list[tuple[str, int]] | None = None):
    """find_pretrained stood in for: a cache holding, per corpus size, the two stages' seconds (last mAP
    0.8 or 0.9, zero-shot 0.7 or 0.75 for the default and tenfold corpus); ``asked`` collects the
    (stage, corpus clips) looked up."""
    from pathlib import Path

    from clipaac_lib.pretrain import PretrainedFile

    def fake_find(init, encoder, recipe):
        clips = recipe.corpus.clips
        if asked is not None:
            asked.append((init, clips))
        if clips not in files:
            return None
        big = clips > 800
        history = ([{"epoch": 1, "val_map": 0.9 if big else 0.8}] if init == "audio" else
                   [{"epoch": 1, "val_zero_shot": 0.75 if big else 0.7, "val_chance": 0.05}])
        seconds = files[clips][0 if init == "audio" else 1]
        return PretrainedFile(init, Path("x.pt"), init[0] * 64, {"seconds": seconds, "history": history})

    return fake_find


def test_corpus_encoders_reads_both_stages_records_and_never_pretrains(monkeypatch: pytest.MonkeyPatch) -> None:
    """find_pretrained stood in for: the default corpus's files exist with known records (78 s and 42 s,
    last mAP 0.8, last zero-shot 0.7), the tenfold corpus's do not; the recipes asked for are the sweep's."""
    import math

    from clipaac_lib.experiments import scarcity_encoders

    asked: list[tuple[str, int]] = []
    monkeypatch.setattr(scarcity_encoders, "find_pretrained", _fake_cache({800: (78.0, 42.0)}, asked))
    table = scarcity_encoders.corpus_encoders()
    assert sorted(set(asked)) == [("audio", 800), ("audio", 8000), ("audio_text", 800), ("audio_text", 8000)]
    default, tenfold = table.loc["default"], table.loc["tenfold"]
    assert bool(default["made"]) and default["minutes"] == pytest.approx(2.0)
    assert (default["map"], default["zero_shot"], default["chance"]) == pytest.approx((0.8, 0.7, 0.05))
    assert not tenfold["made"] and tenfold["clips"] == 8000 and math.isnan(tenfold["minutes"])


def test_parse_sizes_and_the_design_table() -> None:
    from clipaac_lib.experiments import parse_sizes, scarcity_design

    assert parse_sizes("38, 300") == parse_sizes([38, 300]) == [38, 300] and parse_sizes("150") == [150]
    for bad, words in (("38,abc", "whole numbers"), ("38,38", "distinct"), ("", "distinct"), ("301", "between 1")):
        with pytest.raises(ValueError, match=words):
            parse_sizes(bad)
    design = scarcity_design([38, 75, 300])  # results/README.md: 95, 48 and 12 epochs; tenfold at 38 and 300
    assert design["epochs, before the rule"].tolist() == [95, 48, 12]
    assert design["tenfold corpus"].tolist() == ["2, 4", "", "2, 4"]



def test_encoder_records_are_written_once_and_read_before_the_cache(tmp_path, monkeypatch) -> None:
    """The sweep keeps each corpus's numbers as a record: written from the cache (minutes = the two stages'
    seconds / 60), never overwritten, and read on a machine whose cache has none of the files."""
    import json
    import math

    from clipaac_lib.experiments import scarcity_encoders as se

    monkeypatch.setattr(se, "find_pretrained", _fake_cache({800: (60.0, 30.0), 8000: (600.0, 300.0)}))
    written = se.write_encoder_records(tmp_path, command="the sweep")
    assert sorted(p.name for p in written) == sorted(se.encoder_record_name(c) for c in ("default", "tenfold"))
    tenfold = json.loads((tmp_path / se.encoder_record_name("tenfold")).read_text())
    assert tenfold["clips"] == 8000 and tenfold["minutes"] == pytest.approx(15.0)
    assert (tenfold["map"], tenfold["zero_shot"]) == pytest.approx((0.9, 0.75))
    assert tenfold["sha256"] == {"audio": "a" * 64, "audio_text": "a" * 64}
    assert tenfold["provenance"]["command"] == "the sweep" and tenfold["provenance"]["threads"] >= 1
    assert se.write_encoder_records(tmp_path) == []  # already there: kept as written

    monkeypatch.setattr(se, "find_pretrained", _fake_cache({}))  # a fresh clone: nothing in its cache
    table = se.corpus_encoders(folders=[None, tmp_path])
    assert table["made"].all() and table.loc["tenfold", "minutes"] == pytest.approx(15.0)
    assert table.loc["default", "minutes"] == pytest.approx(1.5)
    assert table.loc["tenfold", "source"].startswith("record of 20")
    bare = se.corpus_encoders(folders=[])
    assert not bare["made"].any() and math.isnan(bare.loc["tenfold", "map"])
    assert set(bare["source"]) == {"not made yet"}

    (tmp_path / se.encoder_record_name("tenfold")).write_text("{not json")
    with pytest.raises(ValueError, match="encoders-AudioCLIP-book-.*delete it"):
        se.corpus_encoders(folders=[tmp_path])


def test_the_sweep_makes_the_tenfold_encoders_only_for_a_cell_without_a_record(tmp_path, monkeypatch) -> None:
    """Before the cells: the tenfold files are made (and their records written) when a tenfold cell lacks a
    record and training is allowed; not when every cell has one, nor when nothing may be trained."""
    from types import SimpleNamespace

    from clipaac_lib.experiments import TENFOLD_CORPUS, sweep, tenfold_jobs

    calls: list[str] = []
    missing: dict = {}

    def fake_grid(jobs, seeds, **shared):
        assert shared["train_missing"] is False  # only a lookup
        calls.append("lookup")
        return SimpleNamespace(missing=missing)

    monkeypatch.setattr(sweep, "run_grid", fake_grid)
    monkeypatch.setattr(sweep, "prepare_shared",
                        lambda configs: calls.append(f"make {configs[0].pretrain_overrides == TENFOLD_CORPUS}"))
    monkeypatch.setattr(sweep, "write_encoder_records", lambda out, *a, **k: calls.append(f"write {out}"))
    jobs = tenfold_jobs([38], dataset="synthetic", model_config="small")
    shared = {"results_dir": tmp_path, "train_missing": True, "command": "c"}
    sweep._keep_encoders(jobs, [0, 1], shared)
    assert calls == ["lookup"]  # every cell has a record
    missing[(2, "clips38-corpus10x", 1)] = "no record"
    sweep._keep_encoders(jobs, [0, 1], shared)
    assert calls == ["lookup", "lookup", "make True", f"write {tmp_path}"]
    calls.clear()
    sweep._keep_encoders(jobs, [0, 1], {**shared, "train_missing": False})
    sweep._keep_encoders([], [0, 1], shared)
    assert calls == []
