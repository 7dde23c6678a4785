"""Notebook glue in ``clipaac_lib.metrics.corpus``: one clip's scores inside a corpus (notebook 04).
Needs Java, like every test of ``evaluate_captions``."""

from __future__ import annotations

import pytest

from clipaac_lib.metrics.corpus import score_each_in_corpus, score_in_corpus

PER_CLIP = ["bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "meteor", "cider_d"]  # the paper's column order


def test_score_in_corpus_bleu_by_hand_and_cider_depends_on_the_corpus() -> None:
    candidate, references = "a dog barks loudly", ["a dog barks", "a dog is barking"]
    with pytest.warns(RuntimeWarning, match="single clip"):  # CIDEr-D needs a corpus
        alone = score_in_corpus(candidate, references)
    assert list(alone) == PER_CLIP
    # BLEU-1: 3 of the 4 candidate words occur in a reference; longer than the closest reference (3
    # words), so no brevity penalty
    assert alone["bleu_1"] == pytest.approx(0.75, abs=1e-6)
    dogs = [("a dog barks", ["a dog barks outside", "a dog is barking"])] * 3
    rain = [("rain falls", ["rain is falling", "heavy rain falls"])] * 3
    among_dogs = score_in_corpus(candidate, references, dogs)
    among_rain = score_in_corpus(candidate, references, rain)
    assert among_dogs["bleu_1"] == among_rain["bleu_1"] == alone["bleu_1"]  # per-sentence, no IDF
    # "dog" and "barks" are everywhere among the dog clips: they weigh less than among rain clips
    assert among_dogs["cider_d"] < among_rain["cider_d"]
    # the notebook's form: both clips in one call, each in its own corpus
    assert score_each_in_corpus([(candidate, references, dogs), (candidate, references, rain)]) == [
        among_dogs, among_rain]


def test_score_in_corpus_is_the_first_clip_of_one_evaluation() -> None:
    from clipaac_lib.metrics import evaluate_captions

    corpus = [("water drips", ["water drips from a tap"]), ("a bell rings", ["a bell is ringing"])]
    ours = score_in_corpus("a bell rings twice", ["a bell rings", "bells ring"], corpus)
    reference = evaluate_captions(["a bell rings twice", "water drips", "a bell rings"],
                                  [["a bell rings", "bells ring"], ["water drips from a tap"],
                                   ["a bell is ringing"]], per_clip=True, spice=False)
    assert ours == {m: reference["per_clip"][m][0] for m in PER_CLIP}
