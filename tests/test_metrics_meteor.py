"""The reduced METEOR paraphrase table: index building and pruning checked against a plain-Python reading
of a small table, and METEOR's word normalisation against its rules worked by hand."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from clipaac_lib.metrics.paraphrase import build_index, load_index, meteor_words, prune_table

# A METEOR-format table: probability, phrase, paraphrase (phrases of 1 to 3 words, repeated phrases).
TABLE = [
    ("0.1", "big", "large"),
    ("0.2", "big", "huge"),
    ("0.3", "a big dog", "a large dog"),
    ("0.4", "car", "vehicle"),
    ("0.5", "café", "coffee shop"),
    ("0.6", "kids", "children"),
    ("0.7", "large", "big"),
    ("0.8", "children", "kids"),
    ("0.9", "rock'n'roll", "rock music"),
    ("0.1", "3.5", "three and a half"),
    ("0.2", "vehicle", "automobile"),
]


def write_table(path: Path, entries: list[tuple[str, str, str]]) -> Path:
    path.write_bytes(gzip.compress("".join(f"{p}\n{a}\n{b}\n" for p, a, b in entries).encode("utf-8")))
    return path


def read_pruned(path: Path) -> list[tuple[str, str]]:
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) % 3 == 0 and all(line == "1" for line in lines[0::3])
    return list(zip(lines[1::3], lines[2::3], strict=True))


def expected_kept(cand: set[str], ref: set[str]) -> list[tuple[str, str]]:
    """The rule from METEOR's ParaphraseMatcher: the phrase in one sentence, the paraphrase in the other."""
    kept = []
    for _, phrase, para in TABLE:
        a, b = set(phrase.split()), set(para.split())
        if (a <= cand and b <= ref) or (a <= ref and b <= cand):
            kept.append((phrase, para))
    return kept


@pytest.fixture()
def index(tmp_path: Path):
    table = write_table(tmp_path / "table.gz", TABLE)
    return load_index(table, tmp_path / "index")


@pytest.mark.parametrize(
    ("cand", "ref"),
    [
        ({"a", "big", "dog"}, {"a", "large", "dog", "huge"}),
        ({"kids", "car"}, {"children", "automobile", "vehicle"}),
        ({"café"}, {"coffee", "shop", "big"}),
        ({"nothing"}, {"here"}),
        ({"rock'n'roll", "3.5"}, {"rock", "music", "three", "and", "a", "half"}),
    ],
)
def test_prune_keeps_exactly_the_entries_that_can_match(
    index, tmp_path: Path, cand: set[str], ref: set[str]
) -> None:
    dest = tmp_path / "pruned.gz"
    kept = prune_table(index, cand, ref, dest)
    assert read_pruned(dest) == expected_kept(cand, ref)  # same entries, same (table) order
    assert kept == len(expected_kept(cand, ref))


def test_prune_keeps_everything_when_all_words_are_present(index, tmp_path: Path) -> None:
    words = {w for _, a, b in TABLE for w in (a + " " + b).split()}
    prune_table(index, words, words, tmp_path / "all.gz")
    assert read_pruned(tmp_path / "all.gz") == [(a, b) for _, a, b in TABLE]


def test_index_is_rebuilt_when_the_table_changes(tmp_path: Path) -> None:
    table = write_table(tmp_path / "table.gz", TABLE)
    folder = build_index(table, tmp_path / "index")
    assert load_index(table, folder, build=False) is not None
    write_table(table, TABLE[:3])
    os.utime(table, ns=(1, 1))
    assert load_index(table, folder, build=False) is None  # stale: not used
    rebuilt = load_index(table, folder)
    assert rebuilt is not None and len(rebuilt) == 3


@pytest.mark.parametrize("bad", ["big\tdog", "big  dog", " big"])
def test_tables_with_unexpected_whitespace_are_refused(tmp_path: Path, bad: str) -> None:
    table = write_table(tmp_path / "table.gz", [("0.1", bad, "large dog")])
    with pytest.raises(ValueError, match="unexpected whitespace"):
        build_index(table, tmp_path / "index")


def test_meteor_words_follow_meteors_normaliser() -> None:
    # METEOR's Normalizer (English, -norm), applied by hand to
    #   " rock'n'roll, 3.5 km/h (loud)! #tag a_b x-1 2-3 e.g. "
    # 1. spaces around { | } ~ [ \ ] ^ _ ` ! " # $ % & ( ) * + : ; < = > ? @ /
    # 2./3. "." and "," split off unless between digits ("3.5" stays); 4. "-" split off after a digit
    # ("2-3" -> "2 - 3", "x-1" stays); 5. "_" and "#" become spaces.
    words = meteor_words(["Rock'n'roll, 3.5 km/h (loud)! #tag a_b x-1 2-3 e.g."])
    expected = {
        "rock'n'roll",
        ",",
        "3.5",
        "km",
        "/",
        "h",
        "(",
        "loud",
        ")",
        "!",
        "tag",
        "a",
        "b",
        "x-1",
        "2",
        "-",
        "3",
        "e",
        ".",
        "g",
    }
    assert expected <= words
    assert "Rock'n'roll," in words  # plain whitespace tokens are kept too (a harmless superset)


def test_meteor_words_keep_non_ascii() -> None:
    assert {"café", "très", "«", "»"} <= meteor_words(["Un café très « chaud »"])
