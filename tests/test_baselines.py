"""Baselines (``clipaac_lib.experiments.baselines``): consensus caption, shuffled, human, gap share, against hand numbers."""

from __future__ import annotations

import math
import re
import shutil
import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from clipaac_lib.experiments.baselines import (
    Baselines,
    compute_baselines,
    constant_caption,
    gap_share,
    shuffled,
    split_references,
)
from clipaac_lib.metrics import SpiceUnavailableWarning


def _simple(texts: Sequence[str]) -> list[str]:
    """A tokenizer for the consensus caption that needs no Java: lower case, words of letters only."""
    return [" ".join(re.findall(r"[a-z]+", t.lower())) for t in texts]

# -- consensus caption (the constant caption) ---------------------------------------------------------


def test_constant_caption_is_the_consensus_not_the_most_frequent():
    # "birds sing" is the most frequent caption (3 times, in tokens), all in clip 0: on the other clips,
    # the only ones it is scored on, it matches nothing. "a dog barks" (clip 1, scored on 0, 2, 3) and
    # "A dog barks." (clip 2, scored on 0, 1, 3) are the same tokens and meet the same clips 0 and 3;
    # clips 2 and 1 hold each other's exact match beside two captions of the same shape ("a bell rings",
    # "a car passes": "a" and two words found nowhere else), so they tie, and the first as written in
    # sorted order wins, as written
    train = [
        ["Birds sing.", "birds sing", "Birds sing!"],
        ["a dog barks", "wind blows", "a car passes"],
        ["A dog barks.", "an engine idles", "a bell rings"],
        ["a dog barks loudly", "a train horn", "water drips"],
    ]
    assert constant_caption(train, tokenize=_simple) == "A dog barks."


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
#: Round k: reference k held out of every test clip.
HELD_OUT = [[r[k] for r in TEST] for k in range(5)]
REST = [[r[:k] + r[k + 1:] for r in TEST] for k in range(5)]


class FakeEvaluate:
    """cider_d = the fraction of clips whose candidate is one of its references (in lower-case words, as
    a tokenizer would see them); rouge_l = 1 always; spice = None (not computed); plus a per_clip dict,
    which the table drops."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[list[str]]]] = []

    def __call__(self, candidates, references):
        self.calls.append((list(candidates), [list(r) for r in references]))
        hits = [_simple([c])[0] in _simple(refs) for c, refs in zip(candidates, references, strict=True)]
        return {"cider_d": sum(hits) / len(hits), "rouge_l": 1.0, "spice": None,
                "per_clip": {"cider_d": [float(h) for h in hits]}}


def test_compute_baselines_table_by_hand():
    fake = FakeEvaluate()
    b = compute_baselines(TRAIN, TEST, MODEL, seed=0, evaluate=fake, tokenize=_simple)
    assert isinstance(b, Baselines)
    # "A dog barks." and "a dog barks" tie (each meets the other's clip and clip 2): the first as written
    assert b.constant == "A dog barks." and b.rounds == 5
    assert list(b.table.index) == ["consensus caption", "shuffled", "model", "human"]
    assert b.human_row == "human"
    assert list(b.table.columns) == ["cider_d", "rouge_l", "spice", "references"]
    # five rounds, reference k held out in round k; the fake's CIDEr-D is the share of 4 clips matched:
    # constant: clip 0 keeps a copy of "a dog barks" every round: 1/4 each round -> 0.25;
    # shuffled: a model caption matches only its own clip -> 0;
    # model: "dog barking" (clip 0, reference 3) and "heavy rain" (clip 1, reference 4) match unless
    #   held out: 2, 2, 1, 1, 2 clips -> (0.5 + 0.5 + 0.25 + 0.25 + 0.5) / 5 = 0.4;
    # human: the held-out caption recurs among the others only for references 1 and 2 of clips 0-2:
    #   3, 3, 0, 0, 0 clips -> (0.75 + 0.75) / 5 = 0.3
    assert b.table["cider_d"].to_dict() == pytest.approx({
        "consensus caption": 0.25, "shuffled": 0.0, "model": 0.4, "human": 0.3,
    })
    assert b.table["references"].to_dict() == {"consensus caption": 4, "shuffled": 4, "model": 4, "human": 4}
    assert b.table["spice"].isna().all()
    assert (b.table["rouge_l"] == 1.0).all()

    # what each row was scored on: 4 rows x 5 rounds, every row against the same 4 references per round
    assert len(fake.calls) == 20
    constant_calls, shuffled_calls = fake.calls[0:5], fake.calls[5:10]
    model_calls, human_calls = fake.calls[10:15], fake.calls[15:20]
    assert constant_calls == [(["A dog barks."] * 4, REST[k]) for k in range(5)]
    assert shuffled_calls == [(shuffled(MODEL, seed=k), REST[k]) for k in range(5)]
    for candidates, _ in shuffled_calls:  # each a derangement of the model's captions
        assert sorted(candidates) == sorted(MODEL) and all(a != b for a, b in zip(candidates, MODEL, strict=True))
    assert model_calls == [(MODEL, REST[k]) for k in range(5)]
    assert human_calls == [(HELD_OUT[k], REST[k]) for k in range(5)]

    shares = b.gap_shares()
    assert shares["cider_d"] == pytest.approx((0.4 - 0.25) / (0.3 - 0.25))
    assert math.isnan(shares["rouge_l"])  # human == constant
    assert math.isnan(shares["spice"])  # not computed
    assert b.describe() == (
        "CIDEr-D: consensus caption 0.25, shuffled 0.00, model 0.40, human 0.30: "
        "the model closes 300% of the consensus-to-human gap"
    )
    assert "no gap share" in b.describe("rouge_l")
    with pytest.raises(KeyError, match="bleu_4"):
        b.describe("bleu_4")


def test_compute_baselines_shuffled_is_seeded():
    first, again = FakeEvaluate(), FakeEvaluate()
    captions = [f"model caption {i}" for i in range(4)]
    compute_baselines(TRAIN, TEST, captions, seed=5, evaluate=first, tokenize=_simple)
    compute_baselines(TRAIN, TEST, captions, seed=5, evaluate=again, tokenize=_simple)
    assert [c[0] for c in first.calls[5:10]] == [c[0] for c in again.calls[5:10]]
    assert [c[0] for c in first.calls[5:10]] == [shuffled(captions, seed=s) for s in range(5, 10)]


def test_compute_baselines_without_model():
    fake = FakeEvaluate()
    b = compute_baselines(TRAIN, TEST, evaluate=fake, tokenize=_simple)
    assert list(b.table.index) == ["consensus caption", "shuffled", "human"]
    assert len(fake.calls) == 15  # 3 rows x 5 rounds
    assert b.shuffled_source == "human (held-out caption)"
    # round k moves the held-out human captions, against the references left
    assert fake.calls[5:10] == [(shuffled(HELD_OUT[k], seed=k), REST[k]) for k in range(5)]
    assert (b.table["references"] == 4).all()
    with pytest.raises(ValueError, match="no model row"):
        b.gap_shares()
    assert b.describe() == "CIDEr-D: consensus caption 0.25, shuffled 0.00, human 0.30"


def test_each_row_is_the_mean_over_the_rounds():
    """A scorer that gives each call a different score: each row is the mean of its rounds' scores."""
    calls: list[list[str]] = []

    def counting(candidates, references):
        calls.append(list(candidates))
        return {"cider_d": float(len(calls))}  # 1, 2, 3, ... in call order

    three = [refs[:3] for refs in TEST]  # 3 references per clip: 3 rounds
    b = compute_baselines(TRAIN, three, MODEL, seed=3, evaluate=counting, tokenize=_simple)
    assert len(calls) == 12
    assert calls[3:6] == [shuffled(MODEL, seed=s) for s in (3, 4, 5)]
    assert b.table["cider_d"].to_dict() == {"consensus caption": 2.0, "shuffled": 5.0, "model": 8.0, "human": 11.0}
    assert (b.table["references"] == 2).all()


def test_compute_baselines_checks_the_references():
    fake = FakeEvaluate()
    with pytest.raises(ValueError, match=r"model_captions has 3 captions but test_references has 4 clips"):
        compute_baselines(TRAIN, TEST, MODEL[:3], evaluate=fake, tokenize=_simple)
    with pytest.raises(ValueError, match=r"same number of references; got \[4, 5\]"):
        compute_baselines(TRAIN, [TEST[0], TEST[1][:4]], MODEL[:2], evaluate=fake, tokenize=_simple)
    with pytest.raises(ValueError, match="at least 2 references"):
        compute_baselines(TRAIN, [r[:1] for r in TEST], MODEL, evaluate=fake, tokenize=_simple)
    with pytest.raises(ValueError, match="no clips"):
        compute_baselines(TRAIN, [], evaluate=fake, tokenize=_simple)
    assert fake.calls == []  # nothing scored


def test_describe_when_model_is_below_the_constant_caption():
    fake = FakeEvaluate()
    b = compute_baselines(TRAIN, TEST, ["a train", "a plane", "a boat", "a bus"], evaluate=fake, tokenize=_simple)
    # model 0, consensus caption 0.25, human 0.3: (0 - 0.25) / (0.3 - 0.25) = -5
    assert b.describe().endswith("the model scores below the consensus caption (gap share -500%)")


# -- no model-based metric where none is shown ---------------------------------------------------------


def _recorder(calls: list[dict]):
    def evaluate_captions(candidates, references, **kwargs):
        calls.append(kwargs)
        return {"cider_d": 0.5, "spider": 0.5, "per_clip": {"spider": [0.5] * len(candidates)}}

    return evaluate_captions


def _corpora_recorder(calls: list[dict]):
    """Stands in for evaluate_corpora: one recorded evaluate_captions call per corpus."""
    record = _recorder(calls)

    def evaluate_corpora(corpora, **kwargs):
        return [record(candidates, references, **kwargs) for candidates, references in corpora]

    return evaluate_corpora


def test_default_baselines_scorer_asks_for_no_model_based_metric(monkeypatch: pytest.MonkeyPatch):
    """The table shows no FENSE / sentence-BERT score: evaluate_corpora must not load (or download) them;
    its 20 corpora (4 rows x 5 held-out references) go in one call."""
    import clipaac_lib.metrics

    calls: list[dict] = []
    monkeypatch.setattr(clipaac_lib.metrics, "evaluate_corpora", _corpora_recorder(calls))
    compute_baselines(TRAIN, TEST, MODEL, tokenize=_simple)
    assert len(calls) == 20 and all(kwargs.get("modern") is False for kwargs in calls)


def test_spider_max_asks_for_no_model_based_metric(monkeypatch: pytest.MonkeyPatch):
    """SPIDEr-max needs SPIDEr only (this test sits here with the baselines' one, the same concern)."""
    from clipaac_lib.metrics import multi_candidates

    calls: list[dict] = []
    monkeypatch.setattr(multi_candidates, "evaluate_corpora", _corpora_recorder(calls))
    assert multi_candidates.spider_max([["a0", "a1"], ["b0", "b1"]], [["r"], ["s"]]) == 0.5
    assert len(calls) == 2 and all(kwargs.get("modern") is False for kwargs in calls)


def test_score_in_corpus_asks_for_no_model_based_metric(monkeypatch: pytest.MonkeyPatch):
    """score_in_corpus returns per-clip scores only; the model-based metrics are never per clip."""
    from clipaac_lib.metrics import corpus

    calls: list[dict] = []
    monkeypatch.setattr(corpus, "evaluate_corpora", _corpora_recorder(calls))
    corpus.score_in_corpus("a0", ["r"], [("b0", ["s"])])
    assert len(calls) == 1 and calls[0].get("modern") is False


# -- real metrics (Java) --------------------------------------------------------------------------------


@pytest.mark.slow  # 12 evaluations (4 rows x 3 rounds), each starting the PTB tokenizer and METEOR JVMs
def test_compute_baselines_real_metrics():
    train = [["a dog barks", "a dog is barking"], ["a dog barks", "rain falls on a roof"]]
    test = [
        ["heavy rain falls on a tin roof", "rain falls on a tin roof", "rain is falling on a roof"],
        ["a car drives past on a wet road", "a car drives by on a wet road", "a car passes on a wet street"],
        ["birds chirp in the trees", "birds are chirping in the trees", "many birds chirp in a tree"],
        ["a man speaks to a crowd", "a man is speaking to a crowd", "a man talks to a large crowd"],
    ]
    from clipaac_lib.metrics import evaluate_captions

    model = ["rain falls on a roof", "a car drives on a road", "birds chirp", "a man talks"]
    b = compute_baselines(train, test, model, evaluate=partial(evaluate_captions, spice=False, modern=False))
    # the default scores the 12 corpora in one evaluate_corpora call: the same table as one call each
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpiceUnavailableWarning)  # spice="auto" here: None without CoreNLP
        batched = compute_baselines(train, test, model)
    pd.testing.assert_frame_equal(batched.table, b.table, check_exact=True)
    cider = b.table["cider_d"]
    # the consensus caption, on PTB tokens (the default): "a dog barks" is in both clips, so it is scored
    # on neither; the other two score 0 on the other clip (the words they share with it are in both
    # clips: CIDEr-D weighs them 0), and the tie goes to the first in sorted order
    assert b.constant == "a dog is barking"
    assert cider["human"] > cider["consensus caption"]
    assert cider["model"] > cider["shuffled"]
    assert (b.table["references"] == 2).all()
    assert math.isnan(b.table.loc["model", "spice"])  # spice=False -> None -> NaN
    share = b.gap_shares()["cider_d"]
    constant, human = cider["consensus caption"], cider["human"]
    assert share == pytest.approx((cider["model"] - constant) / (human - constant))
    assert 0 < share < 1  # paraphrases: better than the yardsticks, short of people
    assert b.describe().endswith(f"the model closes {share:.0%} of the consensus-to-human gap")


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
    from clipaac_lib.train import RunResult, TrainConfig

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
    assert baselines.constant == constant_caption(train_refs)  # from the 3 clips it trained on (PTB tokens)
    assert seen[0][0] == [baselines.constant] * len(test_refs)
    assert len(seen) == 20  # 4 rows x 5 held-out rounds
    model_calls = seen[10:15]  # after the consensus caption's and the shuffled captions' five rounds
    assert model_calls == [([refs[0] for refs in test_refs], [refs[:k] + refs[k + 1:] for refs in test_refs])
                           for k in range(5)]
    # the model's captions are reference 1: found among the references left in rounds 2-5; in round 1,
    # where it is held out, only in the clips where another reference repeats it
    repeated = sum(refs[0] in refs[1:] for refs in test_refs) / len(test_refs)
    assert baselines.table.loc["model", "cider_d"] == pytest.approx((4 + repeated) / 5)
    with pytest.raises(ValueError, match="no test captions"):
        run_baselines(RunResult(tmp_path, config, "h"))
