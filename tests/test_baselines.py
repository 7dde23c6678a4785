"""Baselines (``clipaac_lib.experiments.baselines``): consensus caption, shuffled, human, gap share, against hand numbers."""

from __future__ import annotations

import math
import shutil
import time
from functools import partial
from pathlib import Path

import pytest

from clipaac_lib.experiments.baselines import (
    Baselines,
    compute_baselines,
    constant_caption,
    gap_share,
    human_split,
    shuffled,
    split_references,
)

# -- consensus caption (the constant caption) ---------------------------------------------------------


def test_constant_caption_is_the_consensus_not_the_most_frequent():
    # "birds sing" is the most frequent caption (3 times, normalised), all in one clip; "a dog barks"
    # is in three clips: as a constant for every clip it earns the higher CIDEr-D (1.47 against 1.25,
    # which test_consensus.py checks against pycocoevalcap)
    train = [
        ["Birds sing.", "birds sing", "Birds sing!"],
        ["a dog barks", "wind blows", "a car passes"],
        ["A dog barks.", "an engine idles", "a bell rings"],
        ["a dog barks loudly", "a train horn", "water drips"],
    ]
    assert constant_caption(train) == "a dog barks"


def test_constant_caption_needs_captions():
    with pytest.raises(ValueError, match="training captions"):
        constant_caption([])


# -- shuffled -----------------------------------------------------------------------------------------


def test_shuffled_is_a_derangement_and_seeded():
    captions = [f"caption {i}" for i in range(20)]
    out = shuffled(captions, seed=0)
    assert sorted(out) == sorted(captions)  # a permutation
    assert all(a != b for a, b in zip(out, captions, strict=True))  # no caption stays on its clip
    assert shuffled(captions, seed=0) == out  # deterministic
    assert shuffled(captions, seed=1) != out  # another seed, another assignment
    assert captions == [f"caption {i}" for i in range(20)]  # input untouched


def test_shuffled_small_cases():
    assert shuffled(["a", "b"], seed=3) == ["b", "a"]  # the only derangement of 2
    for seed in range(20):
        out = shuffled(["a", "b", "c"], seed=seed)
        assert out in (["b", "c", "a"], ["c", "a", "b"])  # the two derangements of 3
    assert shuffled([]) == []
    with pytest.raises(ValueError, match="2 clips"):
        shuffled(["only one"])


# -- human ----------------------------------------------------------------------------------------------


def test_human_split_first_caption_against_the_other_four():
    refs = [["c1", "c2", "c3", "c4", "c5"], ["d1", "d2", "d3", "d4", "d5"]]
    hyps, rest = human_split(refs)
    assert hyps == ["c1", "d1"]
    assert rest == [["c2", "c3", "c4", "c5"], ["d2", "d3", "d4", "d5"]]


def test_human_split_names_the_clip_with_too_few_captions():
    with pytest.raises(ValueError, match="clip 2 has 1 caption"):
        human_split([["a", "b"], ["c", "d"], ["e"]])


# -- gap share ------------------------------------------------------------------------------------------


def test_gap_share_hand_numbers():
    assert gap_share(1.05, 0.25, 1.85) == pytest.approx(0.5)
    assert gap_share(0.25, 0.25, 1.0) == 0.0
    assert gap_share(1.0, 0.25, 1.0) == 1.0
    assert gap_share(0.0, 0.5, 1.5) == pytest.approx(-0.5)
    assert math.isnan(gap_share(0.7, 0.4, 0.4))


# -- compute_baselines with a fake metric -----------------------------------------------------------

TRAIN = [["A dog barks.", "x"], ["a dog barks", "y"], ["Birds sing", "z"]]
TEST = [
    ["a dog barks", "a dog barks", "dog barking", "a dog is barking loudly", "barking dog"],
    ["rain falls", "rain falls", "rain on a roof", "heavy rain", "it rains"],
    ["a car passes", "a car passes", "traffic noise", "cars drive by", "a vehicle goes past"],
    ["birds sing", "birds chirp", "birdsong", "many birds", "birds in a forest"],
]
MODEL = ["dog barking", "heavy rain", "a train", "a plane"]


class FakeEvaluate:
    """cider_d = the fraction of clips whose candidate is one of its references (exactly);
    rouge_l = 1 always; spice = None (not computed); plus a per_clip dict, which the table drops."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[list[str]]]] = []

    def __call__(self, candidates, references):
        self.calls.append((list(candidates), [list(r) for r in references]))
        hits = [c in refs for c, refs in zip(candidates, references, strict=True)]
        return {"cider_d": sum(hits) / len(hits), "rouge_l": 1.0, "spice": None,
                "per_clip": {"cider_d": [float(h) for h in hits]}}


def test_compute_baselines_table_by_hand():
    fake = FakeEvaluate()
    b = compute_baselines(TRAIN, TEST, MODEL, seed=0, evaluate=fake)
    assert isinstance(b, Baselines)
    assert b.constant == "a dog barks" and b.derangements == 5
    assert list(b.table.index) == ["consensus caption", "shuffled", "model", "human (4 refs)"]
    assert list(b.table.columns) == ["cider_d", "rouge_l", "spice", "references"]
    # constant: only clip 0 has "a dog barks"; shuffled: a model caption matches only its own clip;
    # model: clips 0, 1; human: caption_1 is repeated among captions 2-5 in clips 0, 1, 2
    assert b.table["cider_d"].to_dict() == {
        "consensus caption": 0.25, "shuffled": 0.0, "model": 0.5, "human (4 refs)": 0.75,
    }
    assert b.table["references"].to_dict() == {
        "consensus caption": 5, "shuffled": 5, "model": 5, "human (4 refs)": 4,
    }
    assert b.table["spice"].isna().all()
    assert (b.table["rouge_l"] == 1.0).all()

    # what each row was scored on
    constant_call, *shuffled_calls, model_call, human_call = fake.calls
    assert constant_call == (["a dog barks"] * 4, TEST)
    assert [c[0] for c in shuffled_calls] == [shuffled(MODEL, seed=k) for k in range(5)]
    for shuffled_call in shuffled_calls:  # each a derangement of the model's captions, on the test refs
        assert sorted(shuffled_call[0]) == sorted(MODEL) and shuffled_call[1] == TEST
        assert all(a != b for a, b in zip(shuffled_call[0], MODEL, strict=True))
    assert model_call == (MODEL, TEST)
    assert human_call == ([r[0] for r in TEST], [r[1:] for r in TEST])

    shares = b.gap_shares()
    assert shares["cider_d"] == pytest.approx((0.5 - 0.25) / (0.75 - 0.25))
    assert math.isnan(shares["rouge_l"])  # human == constant
    assert math.isnan(shares["spice"])  # not computed
    assert b.describe() == (
        "CIDEr-D: consensus caption 0.25, shuffled 0.00, model 0.50, human (4 refs) 0.75: "
        "the model closes 50% of the consensus-to-human gap"
    )
    assert "no gap share" in b.describe("rouge_l")
    with pytest.raises(KeyError, match="bleu_4"):
        b.describe("bleu_4")


def test_compute_baselines_shuffled_is_seeded():
    first, again = FakeEvaluate(), FakeEvaluate()
    captions = [f"model caption {i}" for i in range(4)]
    compute_baselines(TRAIN, TEST, captions, seed=5, evaluate=first)
    compute_baselines(TRAIN, TEST, captions, seed=5, evaluate=again)
    assert first.calls[1][0] == again.calls[1][0] == shuffled(captions, seed=5)


def test_compute_baselines_without_model():
    fake = FakeEvaluate()
    b = compute_baselines(TRAIN, TEST, evaluate=fake)
    assert list(b.table.index) == ["consensus caption", "shuffled", "human (4 refs)"]
    assert b.shuffled_source == "human caption_1"
    assert fake.calls[1][0] == shuffled([r[0] for r in TEST], seed=0)  # human caption_1s, moved
    with pytest.raises(ValueError, match="no model row"):
        b.gap_shares()
    assert b.describe() == "CIDEr-D: consensus caption 0.25, shuffled 0.00, human (4 refs) 0.75"


def test_shuffled_row_is_the_mean_over_derangements():
    """A scorer that gives each call a different score: the shuffled row is their mean."""
    calls: list[list[str]] = []

    def counting(candidates, references):
        calls.append(list(candidates))
        return {"cider_d": float(len(calls))}  # 1, 2, 3, ... in call order

    b = compute_baselines(TRAIN, TEST, MODEL, seed=3, derangements=3, evaluate=counting)
    assert calls[1:4] == [shuffled(MODEL, seed=s) for s in (3, 4, 5)]
    assert b.table.loc["shuffled", "cider_d"] == pytest.approx((2 + 3 + 4) / 3)
    with pytest.raises(ValueError, match="derangements"):
        compute_baselines(TRAIN, TEST, MODEL, derangements=0, evaluate=counting)


def test_compute_baselines_checks_lengths():
    with pytest.raises(ValueError, match=r"model_captions has 3 captions but test_references has 4 clips"):
        compute_baselines(TRAIN, TEST, MODEL[:3], evaluate=FakeEvaluate())


def test_describe_when_model_is_below_the_constant_caption():
    fake = FakeEvaluate()
    b = compute_baselines(TRAIN, TEST, ["a train", "a plane", "a boat", "a bus"], evaluate=fake)
    assert b.describe().endswith("the model scores below the consensus caption (gap share -50%)")


# -- real metrics (Java) --------------------------------------------------------------------------------


@pytest.mark.slow  # five evaluations, each starting the PTB tokenizer and METEOR JVMs: 5-8 s on 2 cores
def test_compute_baselines_real_metrics():
    train = [["a dog barks", "a dog is barking"], ["a dog barks", "rain falls on a roof"]]
    test = [
        ["heavy rain falls on a tin roof", "rain falls on a tin roof", "rain is falling on a roof",
         "heavy rain on a metal roof", "rain pours down on a roof"],
        ["a car drives past on a wet road", "a car drives by on a wet road", "a car passes on a wet street",
         "a vehicle drives past on a wet road", "cars drive past on a wet road"],
        ["birds chirp in the trees", "birds are chirping in the trees", "many birds chirp in a tree",
         "birds chirp loudly in the trees", "small birds chirp in the trees"],
        ["a man speaks to a crowd", "a man is speaking to a crowd", "a man talks to a large crowd",
         "a man speaks loudly to a crowd", "a crowd listens as a man speaks"],
    ]
    from clipaac_lib.metrics import evaluate_captions

    start = time.perf_counter()
    model = ["rain falls on a roof", "a car drives on a road", "birds chirp", "a man talks"]
    b = compute_baselines(train, test, model, derangements=2, evaluate=partial(evaluate_captions, spice=False))
    seconds = time.perf_counter() - start
    cider = b.table["cider_d"]
    assert b.constant == "a dog is barking"  # "a dog barks" is in both clips: CIDEr-D weighs it 0
    assert cider["human (4 refs)"] > cider["consensus caption"]
    assert cider["model"] > cider["shuffled"]
    assert b.table.loc["human (4 refs)", "references"] == 4
    assert math.isnan(b.table.loc["model", "spice"])  # spice=False -> None -> NaN
    share = b.gap_shares()["cider_d"]
    constant, human = cider["consensus caption"], cider["human (4 refs)"]
    assert share == pytest.approx((cider["model"] - constant) / (human - constant))
    assert 0 < share < 1  # paraphrases: better than the yardsticks, short of people
    assert b.describe().endswith(f"the model closes {share:.0%} of the consensus-to-human gap")
    assert seconds < 60


# -- split_references -----------------------------------------------------------------------------------


def test_split_references_reads_csv_without_audio(tmp_path: Path):
    from clipaac_lib.data import make_synthetic_clotho
    from clipaac_lib.data.clotho_csv import read_captions_csv

    make_synthetic_clotho(tmp_path, sizes={"development": 3, "validation": 2, "evaluation": 2},
                          clip_seconds=1.0, max_events=1, progress=False)
    folder = tmp_path / "clotho_v2.1"
    for source in ("development", "validation", "evaluation"):
        shutil.rmtree(folder / source)  # no audio at all
    expected = {s: [list(r.captions) for r in read_captions_csv(folder / f"clotho_captions_{s}.csv")[0]]
                for s in ("development", "validation", "evaluation")}
    assert [len(v) for v in expected.values()] == [3, 2, 2]
    assert all(len(caps) == 5 for v in expected.values() for caps in v)

    train = split_references(tmp_path, "train")
    assert train == expected["development"] + expected["validation"]
    assert split_references(folder, "test") == expected["evaluation"]  # the CSV folder itself works too
    assert split_references(folder, "validation") == expected["validation"]
    with pytest.raises(ValueError, match="unknown split"):
        split_references(folder, "dev")
    (folder / "clotho_captions_validation.csv").unlink()
    with pytest.raises(FileNotFoundError, match="clotho_captions_validation.csv"):
        split_references(folder, "train")


def test_run_baselines_reads_the_runs_clips_and_its_training_captions(tiny_clotho, tmp_path) -> None:
    """``run_baselines`` scores a run's own test captions against the training split it trained on."""
    from clipaac_lib.experiments.report import run_baselines
    from clipaac_lib.train import TrainConfig
    from clipaac_lib.train.rundir import RunResult

    config = TrainConfig(init="random", data_root=str(tiny_clotho), train_split="development",
                         test_split="evaluation", limit_train_clips=3)
    train_refs = split_references(tiny_clotho, "development")[:3]
    test_refs = split_references(tiny_clotho, "evaluation")
    captions = [{"file_name": f"clip {i}", "caption": refs[0], "references": refs} for i, refs in enumerate(test_refs)]
    seen: list[tuple[list[str], list[list[str]]]] = []

    def fake(candidates, references):
        seen.append((list(candidates), [list(r) for r in references]))
        return {"cider_d": sum(c in r for c, r in zip(candidates, references, strict=True)) / len(candidates)}

    result = RunResult(tmp_path, config, "h", captions=captions)
    baselines = run_baselines(result, evaluate=fake)
    assert baselines.constant == constant_caption(train_refs)  # from the 3 clips it trained on
    assert seen[0][0] == [baselines.constant] * len(test_refs)
    model_call = next(call for call in seen if call[0] == [refs[0] for refs in test_refs] and len(call[1][0]) == 5)
    assert model_call[1] == test_refs
    assert baselines.table.loc["model", "cider_d"] == 1.0  # the model's captions are references here
    with pytest.raises(ValueError, match="no test captions"):
        run_baselines(RunResult(tmp_path, config, "h"))
