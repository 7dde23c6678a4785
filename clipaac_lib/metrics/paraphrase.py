"""METEOR's paraphrase table, cut down to what one evaluation can use.

Loading ``paraphrase-en.gz`` (5.3 M entries, 272 MB of text) takes METEOR 6 to 10 s on two cores,
most of the cost of an evaluation. METEOR aligns a candidate with one reference at a time and uses
an entry only when its phrase occurs in one of the two and its paraphrase in the other
(``ParaphraseMatcher``: exact matching of word sequences). An entry with a word that cannot occur on
its side therefore never matches, and dropping it changes no alignment and no score. So:

1. once, :func:`build_index` turns the table into arrays in the cache
   (``<cache>/meteor/paraphrase-en``, about 64 MB, 15-30 s): the distinct words, the distinct
   phrases as word ids, and every entry as (phrase id, paraphrase id) in file order;
2. per evaluation, :func:`prune_table` keeps the entries whose phrase's words all occur in the
   candidates and whose paraphrase's words all occur in the references, or the reverse (using a
   superset of the words METEOR will see, :func:`meteor_words`), and writes them in their original
   order as a small gzip file that METEOR reads with ``-a`` (the 1045-clip benchmark of
   ``benchmarks/metrics_speed.py`` keeps about 250 000 of the 5.3 M entries).

The tests check scores equal to pycocoevalcap's METEOR, which loads the full table.
Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from clipaac_lib.common import atomic_open, atomic_write_bytes, atomic_write_json, progress_disabled, subdir

__all__ = [
    "INDEX_VERSION",
    "ParaphraseIndex",
    "build_index",
    "default_table",
    "load_index",
    "meteor_words",
    "prune_table",
]

INDEX_VERSION = 1
_FILES = ("vocab.txt", "phrase_words.npy", "phrase_lens.npy", "entry_phrase.npy", "entry_para.npy")


def default_table() -> Path:
    """``paraphrase-en.gz`` inside the installed pycocoevalcap."""
    from pycocoevalcap.meteor import meteor

    return Path(meteor.__file__).resolve().parent / "data" / "paraphrase-en.gz"


def _source_key(table: Path) -> dict[str, object]:
    """What identifies the table's content: its size and a digest of its first and last MiB.

    Not its path or mtime, so that several virtual environments (each with its own copy of
    pycocoevalcap's table) share one index in the user cache instead of rebuilding it in turn.
    """
    size = table.stat().st_size
    digest = hashlib.sha256()
    with open(table, "rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, size - (1 << 20)))
        digest.update(handle.read(1 << 20))
    return {"version": INDEX_VERSION, "size": size, "head_tail_sha256": digest.hexdigest()}


class ParaphraseIndex:
    """The table as arrays (memory-mapped): ``vocab`` words (bytes), phrases as word-id runs,
    entries as phrase-id pairs in file order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.vocab: list[bytes] = (folder / "vocab.txt").read_bytes().split(b"\n")
        self.word_id: dict[bytes, int] = {w: i for i, w in enumerate(self.vocab)}
        self.phrase_words = np.load(folder / "phrase_words.npy", mmap_mode="r")
        self.phrase_lens = np.load(folder / "phrase_lens.npy", mmap_mode="r")
        self.entry_phrase = np.load(folder / "entry_phrase.npy", mmap_mode="r")
        self.entry_para = np.load(folder / "entry_para.npy", mmap_mode="r")
        self.phrase_starts = np.zeros(len(self.phrase_lens), dtype=np.int64)
        np.cumsum(self.phrase_lens[:-1], out=self.phrase_starts[1:])

    def __len__(self) -> int:
        return len(self.entry_phrase)

    def phrase(self, i: int) -> bytes:
        start = int(self.phrase_starts[i])
        return b" ".join(self.vocab[j] for j in self.phrase_words[start : start + int(self.phrase_lens[i])])


def _read_phrases(table: Path) -> tuple[list[bytes], list[bytes]]:
    """Phrase and paraphrase lines of the table (each entry: probability, phrase, paraphrase)."""
    raw = gzip.decompress(table.read_bytes())
    # METEOR splits phrases with java.util.StringTokenizer (space, tab, CR, LF, FF) and we split on single
    # spaces: refuse a table where the two could differ.
    for odd in (b"\t", b"\r", b"\x0b", b"\x0c", b"  ", b" \n", b"\n "):
        if odd in raw:
            raise ValueError(f"{table}: unexpected whitespace {odd!r}; cannot index it")
    lines = raw.split(b"\n")
    del raw
    if lines and lines[-1] == b"":
        lines.pop()
    if len(lines) % 3:
        raise ValueError(
            f"{table}: {len(lines)} lines, not a multiple of 3; is it a METEOR paraphrase table?"
        )
    return lines[1::3], lines[2::3]


def build_index(table: Path | None = None, folder: Path | None = None) -> Path:
    """Build the arrays for ``table`` (default: pycocoevalcap's) in ``folder`` (default:
    ``<cache>/meteor/paraphrase-en``); about 15 to 30 s and 2 GB of memory, once."""
    table = Path(table) if table is not None else default_table()
    folder = Path(folder) if folder is not None else subdir("meteor") / "paraphrase-en"
    folder.mkdir(parents=True, exist_ok=True)
    key = _source_key(table)
    phrases, paras = _read_phrases(table)
    unique = {p: i for i, p in enumerate(dict.fromkeys(phrases + paras))}
    entry_phrase = np.fromiter(map(unique.__getitem__, phrases), dtype=np.uint32, count=len(phrases))
    entry_para = np.fromiter(map(unique.__getitem__, paras), dtype=np.uint32, count=len(paras))
    del phrases, paras
    distinct = list(unique)
    del unique
    lens = np.fromiter((p.count(b" ") + 1 for p in distinct), dtype=np.uint8, count=len(distinct))
    words = b" ".join(distinct).split(b" ")
    del distinct
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    if b"" in vocab or any(b"\n" in w for w in vocab):
        raise ValueError(f"{table}: empty or multi-line words; cannot index it")
    dtype = np.uint16 if len(vocab) <= np.iinfo(np.uint16).max else np.uint32
    phrase_words = np.fromiter(map(vocab.__getitem__, words), dtype=dtype, count=len(words))
    for name, array in (
        ("phrase_words.npy", phrase_words),
        ("phrase_lens.npy", lens),
        ("entry_phrase.npy", entry_phrase),
        ("entry_para.npy", entry_para),
    ):
        with atomic_open(folder / name, "wb") as handle:
            np.save(handle, array)
    atomic_write_bytes(folder / "vocab.txt", b"\n".join(vocab))
    atomic_write_json(folder / "index.json", {**key, "entries": int(len(entry_phrase)), "words": len(vocab)})
    return folder


def load_index(
    table: Path | None = None, folder: Path | None = None, *, build: bool = True
) -> ParaphraseIndex | None:
    """The index of ``table``, built first if missing or stale (``build=False``: ``None`` instead)."""
    table = Path(table) if table is not None else default_table()
    folder = Path(folder) if folder is not None else subdir("meteor") / "paraphrase-en"
    meta = folder / "index.json"
    fresh = False
    if meta.is_file() and all((folder / name).is_file() for name in _FILES):
        try:
            stored = json.loads(meta.read_text())
            fresh = all(stored.get(k) == v for k, v in _source_key(table).items())
        except (OSError, ValueError):
            fresh = False
    if not fresh:
        if not build:
            return None
        if not progress_disabled():  # a console note; a page built with TQDM_DISABLE=1 keeps no stderr box
            print(f"clipaac: indexing METEOR's paraphrase table into {folder} (once, about 20 s)", file=sys.stderr)
        build_index(table, folder)
    return ParaphraseIndex(folder)


_PUNCT1 = re.compile(r"([{-~\[-` -&(-+:-@/])")
_PUNCT2 = re.compile(r"([^0-9])([.,])")
_PUNCT3 = re.compile(r"([.,])([^0-9])")
_PUNCT4 = re.compile(r"([0-9])(-)")
_PUNCT5 = re.compile(r"[_#]")
_JAVA_SPACE = re.compile(r"[ \t\n\x0b\x0c\r]+")


def meteor_words(sentences: Iterable[str]) -> set[str]:
    """Every word METEOR can see in ``sentences`` with ``-norm`` (a superset: METEOR's English
    normalisation, re-implemented, plus the plain whitespace tokens and their lower-cased forms)."""
    lines = list(sentences)
    words = set(_JAVA_SPACE.split("\n".join(lines)))
    words |= {w.lower() for w in words}
    # METEOR (Normalizer.normalizeLine, English): " " + line.toLowerCase() + " ", then spaces around
    # punctuation. The lines are processed joined by " \n ", which gives each the same context.
    text = " " + " \n ".join(line.lower() for line in lines) + " "
    text = _PUNCT1.sub(r" \1 ", text)
    text = _PUNCT2.sub(r"\1 \2 ", text)
    text = _PUNCT3.sub(r" \1 \2", text)
    text = _PUNCT4.sub(r"\1 \2 ", text)
    text = _PUNCT5.sub(" ", text)
    words.update(_JAVA_SPACE.split(text))
    words.discard("")
    return words


def _phrase_ok(index: ParaphraseIndex, words: Iterable[str]) -> np.ndarray:
    """Per phrase of ``index``: are all its words in ``words``?"""
    present = np.zeros(len(index.vocab), dtype=bool)
    ids = [i for i in map(index.word_id.get, (w.encode("utf-8") for w in words)) if i is not None]
    present[ids] = True
    missing = (~present[index.phrase_words]).astype(np.uint8)
    return np.add.reduceat(missing, index.phrase_starts) == 0


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.int64)
    np.cumsum(values[:-1], out=out[1:])
    return out


def _render(index: ParaphraseIndex, phrase_ids: np.ndarray) -> bytes:
    """The phrases ``phrase_ids`` as text lines (words joined by single spaces); id -1 is the line "1".

    Vectorised: every output byte is gathered from the concatenated vocabulary in one indexing step.
    """
    vocab = [*index.vocab, b"1"]
    one = len(vocab) - 1
    blob = np.frombuffer(b"".join(vocab), dtype=np.uint8)
    word_len = np.fromiter((len(w) for w in vocab), dtype=np.int64, count=len(vocab))
    word_off = _exclusive_cumsum(word_len)
    pseudo = phrase_ids < 0
    real = np.where(pseudo, 0, phrase_ids)
    lens = np.where(pseudo, 1, index.phrase_lens[real]).astype(np.int64)
    first = index.phrase_starts[real]
    n_words = int(lens.sum())
    phrase_of_word = np.repeat(np.arange(len(phrase_ids)), lens)
    within = np.arange(n_words) - np.repeat(_exclusive_cumsum(lens), lens)
    ids = np.where(
        pseudo[phrase_of_word],
        one,
        np.asarray(index.phrase_words, dtype=np.int64)[
            np.where(pseudo[phrase_of_word], 0, first[phrase_of_word] + within)
        ],
    )
    length = word_len[ids]
    start = _exclusive_cumsum(length + 1)  # each word is followed by " " or, ending a line, "\n"
    out = np.empty(int((length + 1).sum()), dtype=np.uint8)
    word_of_byte = np.repeat(np.arange(n_words), length)
    offset = np.arange(len(word_of_byte)) - np.repeat(_exclusive_cumsum(length), length)
    out[start[word_of_byte] + offset] = blob[word_off[ids][word_of_byte] + offset]
    last = np.zeros(n_words, dtype=bool)
    last[np.cumsum(lens) - 1] = True
    out[start + length] = np.where(last, ord("\n"), ord(" "))
    return out.tobytes()


def prune_table(
    index: ParaphraseIndex,
    candidate_words: Iterable[str],
    reference_words: Iterable[str],
    dest: str | os.PathLike[str],
) -> int:
    """Write to ``dest`` (gzip) the entries of ``index`` that can match in this evaluation, in table order;
    return how many were kept.

    METEOR aligns a candidate with one reference at a time and matches an entry when its phrase is
    in one of the two and its paraphrase in the other, so an entry is kept when its phrase's words
    are all among ``candidate_words`` and its paraphrase's among ``reference_words``, or the reverse.
    """
    in_cand = _phrase_ok(index, candidate_words)
    in_ref = _phrase_ok(index, reference_words)
    phrase, para = index.entry_phrase, index.entry_para
    keep = np.flatnonzero((in_cand[phrase] & in_ref[para]) | (in_ref[phrase] & in_cand[para]))
    # Entry k becomes three lines: a probability (METEOR skips it; phrase id -1 stands for "1"), the
    # phrase, the paraphrase.
    order = np.empty(3 * len(keep), dtype=np.int64)
    order[0::3] = -1
    order[1::3] = phrase[keep]
    order[2::3] = para[keep]
    text = _render(index, order) if len(keep) else b""
    with atomic_open(dest, "wb") as handle:
        handle.write(gzip.compress(text, compresslevel=1))
    return int(len(keep))
