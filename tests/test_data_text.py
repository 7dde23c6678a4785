"""Caption normalisation and the word vocabulary, against hand-worked examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from clipaac_lib.data import Vocabulary, normalize_caption, split_words
from clipaac_lib.data.text import BOS_ID, EOS_ID, PAD_ID, UNK_ID


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A dog barks, then a car passes by.", "a dog barks then a car passes by"),
        ("A HIGH-pitched beep; it's loud!", "a high pitched beep its loud"),
        ('Someone says "hello"   while\tmetal grinds ', "someone says hello while metal grinds"),
        ("The dog\u2019s bark (far away)...", "the dogs bark far away"),
        ("Café: people chat_and laugh", "café people chat and laugh"),
        ("  ,.;  ", ""),
    ],
)
def test_normalize_caption(raw: str, expected: str) -> None:
    assert normalize_caption(raw) == expected


def test_normalize_rejects_non_strings() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        normalize_caption(None)  # type: ignore[arg-type]


CAPTIONS = ["A dog barks.", "A dog barks twice, loudly!", "Rain falls and a dog barks", "Rain falls."]
# counts by hand: a 3, dog 3, barks 3, rain 2, falls 2, twice 1, loudly 1, and 1


def test_vocabulary_build_orders_by_count_then_alphabet() -> None:
    vocab = Vocabulary.build(CAPTIONS)
    assert vocab.words == ["<pad>", "<bos>", "<eos>", "<unk>", "a", "barks", "dog", "falls", "rain", "and",
                           "loudly", "twice"]
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3) == (PAD_ID, BOS_ID, EOS_ID, UNK_ID)
    assert len(vocab) == 12 and "dog" in vocab and "cat" not in vocab
    assert vocab.n_words == 8  # the 8 distinct words counted by hand above
    assert vocab.describe() == "8 words + 4 special tokens (<pad> <bos> <eos> <unk>) = 12 entries"


def test_min_count_drops_rare_words_to_unk() -> None:
    vocab = Vocabulary.build(CAPTIONS, min_count=2)
    assert vocab.words[4:] == ["a", "barks", "dog", "falls", "rain"]
    assert vocab.encode("A dog barks twice") == [4, 6, 5, UNK_ID]
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build(CAPTIONS, min_count=0)


def test_encode_decode() -> None:
    vocab = Vocabulary.build(CAPTIONS)
    ids = vocab.encode("Rain falls, and a CAT barks.")
    assert ids == [8, 7, 9, 4, UNK_ID, 5]
    assert vocab.decode(ids) == "rain falls and a <unk> barks"
    # decode skips pad/bos and stops at the first eos
    assert vocab.decode([BOS_ID, 4, 6, PAD_ID, 5, EOS_ID, 8, 8]) == "a dog barks"
    assert [vocab.decode(row) for row in ([BOS_ID, 8, EOS_ID], [PAD_ID])] == ["rain", ""]
    with pytest.raises(IndexError, match="outside the vocabulary"):
        vocab.decode([99])


def test_save_load_round_trip(tmp_path: Path) -> None:
    vocab = Vocabulary.build(CAPTIONS, min_count=1)
    path = vocab.save(tmp_path / "run" / "vocab.json")
    loaded = Vocabulary.load(path)
    assert loaded == vocab and loaded.encode("a dog") == vocab.encode("a dog")
    (tmp_path / "bad.json").write_text('{"words": []}')
    with pytest.raises(ValueError, match="not a clipaac vocabulary"):
        Vocabulary.load(tmp_path / "bad.json")


def test_split_words_gives_normalised_words() -> None:
    assert split_words("Water-drops; drip.") == ["water", "drops", "drip"]
