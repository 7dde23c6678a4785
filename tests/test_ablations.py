"""The ablation grids reproduce the paper's tables' settings over seeds; unavailable published weights are
reported, not faked; the seed summary and the side-by-side table are computed from the runs."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from clipaac_lib.experiments.ablations import (
    Job,
    parse_seeds,
    side_by_side,
    summarize,
    table1_jobs,
    table2_jobs,
)
from clipaac_lib.experiments.baselines import Baselines
from clipaac_lib.experiments.grid import run_grid
from clipaac_lib.experiments.paper import TABLE1, paper_table
from clipaac_lib.experiments.yardsticks import Yardsticks


def test_table1_jobs_are_the_papers_systems():
    jobs = table1_jobs(dataset="synthetic", smoke=True)
    settings = {j.system: (j.params["init"], j.params["freeze_encoder"], j.params["batch_size"], j.params["alpha"])
                for j in jobs}
    # paper Table 1 (section 4.1): random and audio-only encoders "only utilize the audio-head" (no text head,
    # no contrastive loss); audio-text frozen and fine-tuned use both heads (alpha 0.2); all at batch size 8
    assert settings == {1: ("random", False, 8, 0.0), 2: ("audio", False, 8, 0.0), 3: ("audio_text", True, 8, 0.2),
                        4: ("audio_text", False, 8, 0.2)}
    assert all(j.params["smoke"] is True and j.params["dataset"] == "synthetic" for j in jobs)


def test_table2_jobs_are_the_papers_systems_with_system_4s_encoder():
    jobs = table2_jobs()
    settings = {j.system: (j.params["alpha"], j.params["batch_size"]) for j in jobs}
    # paper Table 2: alpha 0 / 0.1 / 0.2 / 0.3 at batch 8, batch 4 / 16 at alpha 0.2
    assert settings == {5: (0.0, 8), 6: (0.1, 8), 7: (0.2, 4), 8: (0.2, 8), 9: (0.2, 16), 10: (0.3, 8)}
    assert {j.params["init"] for j in jobs} == {"audio_text"}
    # system 8 is system 4: one configuration, so one run (the same hash)
    four = next(j for j in table1_jobs() if j.system == 4)
    eight = next(j for j in jobs if j.system == 8)
    assert four.config(0).run_hash() == eight.config(0).run_hash()
    assert four.config(0).run_hash() != four.config(1).run_hash()


def test_parse_seeds():
    assert parse_seeds(3) == [0, 1, 2] and parse_seeds("0, 5") == [0, 5] and parse_seeds([2]) == [2]
    for bad in (0, "a,b", "1,1", "-1"):
        with pytest.raises(ValueError, match="seeds"):
            parse_seeds(bad)


def test_paper_systems_without_published_weights_are_reported_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    jobs = [j for j in table1_jobs(model_config="paper") if j.params["init"] != "random"]
    table = run_grid(jobs, [0, 1], results_dir=tmp_path / "out", seeded={4}).table()
    assert list(zip(table["system"], table["seed"], strict=True)) == [(2, 0), (3, 0), (4, 0), (4, 1)]
    assert set(table.loc[table["system"] == 2, "status"]) == {"not run: ESRNXFBSP.pt not available offline"}
    assert set(table.loc[table["system"] == 4, "status"]) == {"not run: AudioCLIP-Full-Training.pt not available offline"}
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_summary_and_side_by_side_by_hand():
    records = pd.DataFrame([
        {"system": 1, "seed": 0, "init": "random", "status": "ran", "cider_d": 0.2, "bleu_4": 0.1, "meteor": 0.1,
         "cider_d_held_out": 0.15},
        {"system": 4, "seed": 0, "init": "audio_text", "status": "ran", "cider_d": 0.5, "bleu_4": 0.2, "meteor": 0.2,
         "cider_d_held_out": 0.45},
        {"system": 4, "seed": 1, "init": "audio_text", "status": "ran", "cider_d": 0.7, "bleu_4": 0.2, "meteor": 0.2,
         "cider_d_held_out": 0.65},
        {"system": 2, "seed": 0, "init": "audio", "status": "not run: no weights"},
    ])
    summary = summarize(records, ["init"])
    assert list(summary.index) == [1, 4]
    assert summary.loc[4, "cider_d_mean"] == pytest.approx(0.6)
    assert summary.loc[4, "cider_d_sd"] == pytest.approx(math.sqrt(0.02))  # sample sd of 0.5, 0.7
    assert math.isnan(summary.loc[1, "cider_d_sd"]) and summary.loc[4, "n_seeds"] == 2
    yard = Yardsticks(consensus=0.05, shuffled=0.2, human=0.85, consensus_text="a caption", derangements=5,
                      clips=2, references=5)
    both = side_by_side(summary, paper_table(TABLE1), ["init"], metrics=("cider_d",), yardsticks=yard)
    assert both.loc[4, "cider_d ours"] == "0.600 ± 0.141" and both.loc[1, "cider_d ours"] == "0.200"
    assert both.loc[2, "cider_d ours"] == "not run" and both.loc[4, "cider_d paper"] == "0.394"
    assert both.loc[4, "CIDEr-D gap share"] == "62%"  # held-out mean 0.55: (0.55 - 0.05) / (0.85 - 0.05)


def test_job_names_carry_the_seed():
    assert Job(4).name(2) == "system04-seed2"


def test_table1_systems_build_the_encoders_the_paper_describes():
    """Systems 1-2 train the audio head and decoder only (no text head built); 3-4 keep the text head."""
    import torch

    from clipaac_lib.train.setup import build_model

    for job in table1_jobs(model_overrides={"decoder": {"layers": 1}}):
        config = job.config().replace(init="random")  # the weights are not needed to check the structure
        model = build_model(config, vocab_size=12, device=torch.device("cpu"), init=False).model
        assert (model.text is None) == (job.system in (1, 2)), job.system


def test_seeded_systems_and_merged_summaries():
    from clipaac_lib.experiments.ablations import merge_summaries, seeded_systems

    assert seeded_systems("reference") == {4, 8} and seeded_systems("all") is None
    with pytest.raises(ValueError, match="seeded"):
        seeded_systems("some")
    one = pd.DataFrame({"cider_d_mean": [0.2, 0.5]}, index=pd.Index([1, 4], name="system"))
    two = pd.DataFrame({"cider_d_mean": [0.5, 0.3]}, index=pd.Index([4, 5], name="system"))
    merged = merge_summaries(one, two)
    assert list(merged.index) == [1, 4, 5] and merged.loc[4, "cider_d_mean"] == 0.5


def test_select_systems_keeps_the_named_ones_in_order() -> None:
    from clipaac_lib.experiments import select_systems, table1_jobs, table2_jobs

    jobs = table1_jobs() + table2_jobs()
    assert [j.system for j in select_systems(jobs, "4,9")] == [4, 9]
    assert [j.system for j in select_systems(jobs, 2)] == [2]
    assert [j.system for j in select_systems(jobs, "all")] == list(range(1, 11))
    assert select_systems(table1_jobs(), "9") == []
    with pytest.raises(ValueError, match="systems must be"):
        select_systems(jobs, "four")


def test_plot_systems_scales_to_the_systems_and_names_them():
    import matplotlib

    matplotlib.use("Agg")
    from clipaac_lib.experiments import plot_systems

    records = pd.DataFrame([
        {"system": 1, "seed": 0, "status": "ran", "cider_d": 0.35},
        {"system": 4, "seed": 0, "status": "ran", "cider_d": 0.55},
        {"system": 4, "seed": 1, "status": "ran", "cider_d": 0.58},
    ])
    summary = summarize(records, [])
    table = pd.DataFrame({"cider_d": [0.30, 0.40, 1.75], "references": [5, 5, 4]},
                         index=["consensus caption", "shuffled", "human (4 refs)"])
    fig = plot_systems(summary, baselines=Baselines(table, "c"), records=records)
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert lo < 0.30 and 0.58 < hi < 1.0  # the near baselines fit; the human score does not squash the axis
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["1: random init", "4: fine-tuned AudioCLIP (reference)"]
    assert not ax.texts  # nothing written over the data
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["consensus caption: 0.30", "shuffled: 0.40", "human (4 refs): 1.75 (off the axis, right →)"]
    from matplotlib.collections import PathCollection

    seed_dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(x for c in seed_dots for x in c.get_offsets()[:, 0]) == [0.35, 0.55, 0.58]


def test_first_run_takes_the_first_configuration_with_a_run(monkeypatch):
    from clipaac_lib.experiments import ablations
    from clipaac_lib.train import RunNotFoundError, TrainConfig

    a, b, c = TrainConfig(seed=1), TrainConfig(seed=2), TrainConfig(seed=3)
    runs = {b.run_hash(): "run of b", c.run_hash(): "run of c"}
    monkeypatch.setattr(ablations, "find_run", lambda config: runs.get(config.run_hash()))
    assert ablations.first_run([a, b, c], made_by="notebook 5") == "run of b"
    with pytest.raises(RunNotFoundError, match="notebook 5"):
        ablations.first_run([a], made_by="notebook 5")
