"""Caption text: normalisation as AAC baselines do it, and the word vocabulary of the caption decoder.

Normalisation (:func:`normalize_caption`), in this order:

1. Unicode NFKC (turns typographic quotes and ligatures into plain characters), lower case;
2. apostrophes are removed inside words (``dog's`` -> ``dogs``, ``it's`` -> ``its``), as the DCASE
   baseline does;
3. every other character that is not a letter, a digit or white space (punctuation, hyphens,
   quotes) becomes a space, so ``high-pitched`` -> ``high pitched``;
4. runs of white space collapse to one space; leading and trailing space is stripped.

The :class:`Vocabulary` is built from the training captions only; ids 0-3 are the special tokens
``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``, then words by decreasing count (ties alphabetical, so the
same captions always give the same ids). It is saved as JSON with the run.

Notebook: ``notebooks/01_data.ipynb`` (section "Text").
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from clipaac_lib.common import BOS_ID, EOS_ID, PAD_ID, UNK_ID, atomic_write_json

__all__ = [
    "PAD",
    "BOS",
    "EOS",
    "UNK",
    "PAD_ID",
    "BOS_ID",
    "EOS_ID",
    "UNK_ID",
    "normalize_caption",
    "split_words",
    "Vocabulary",
]

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS: tuple[str, ...] = (PAD, BOS, EOS, UNK)

_APOSTROPHE = re.compile(r"(?<=\w)['\u2019](?=\w)")
_NON_WORD = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")
_FORMAT = "clipaac-vocabulary-v1"


def normalize_caption(caption: str) -> str:
    """Lower-case ``caption`` and strip its punctuation (see the module docstring for the exact rules).

    >>> normalize_caption("A dog's bark, then a HIGH-pitched beep.")
    'a dogs bark then a high pitched beep'
    """
    if not isinstance(caption, str):
        raise TypeError(f"a caption must be a str, got {type(caption).__name__}: {caption!r}")
    text = unicodedata.normalize("NFKC", caption).lower()
    text = _APOSTROPHE.sub("", text)
    text = _NON_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def split_words(caption: str) -> list[str]:
    """The words of the normalised caption."""
    return normalize_caption(caption).split()


@dataclass
class Vocabulary:
    """Word <-> id mapping for the caption decoder: ``pad=0, bos=1, eos=2, unk=3``, then words.

    Build with :meth:`build`; ``encode`` gives the ids of the normalised words (no bos/eos, unknown
    words map to ``unk``); ``decode`` turns ids back into a caption, stopping at ``eos`` and skipping
    ``pad``/``bos``. Notebook: ``notebooks/01_data.ipynb``.
    """

    words: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    min_count: int = 1
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if tuple(self.words[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}; got {self.words[:4]}")
        self._index = {}
        for i, word in enumerate(self.words):
            if word in self._index:
                raise ValueError(f"word {word!r} appears twice in the vocabulary (ids {self._index[word]}, {i})")
            self._index[word] = i

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 1) -> Vocabulary:
        """Vocabulary of the words that occur at least ``min_count`` times in ``captions``."""
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        counts: Counter[str] = Counter()
        for caption in captions:
            counts.update(split_words(caption))
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        kept = [w for w in kept if w not in SPECIALS]
        return cls(words=[*SPECIALS, *kept], counts={w: counts[w] for w in kept}, min_count=min_count)

    pad_id: ClassVar[int] = PAD_ID
    bos_id: ClassVar[int] = BOS_ID
    eos_id: ClassVar[int] = EOS_ID
    unk_id: ClassVar[int] = UNK_ID

    def __len__(self) -> int:
        """Entries: the words and the four special tokens (the decoder's output size)."""
        return len(self.words)

    @property
    def n_words(self) -> int:
        """Caption words, without the four special tokens (``len(self) - 4``)."""
        return len(self.words) - len(SPECIALS)

    def describe(self) -> str:
        """``"131 words + 4 special tokens (<pad> <bos> <eos> <unk>) = 135 entries"``: one sentence
        that keeps the two counts apart. Notebooks: ``01_data`` and ``02_architecture``."""
        return (f"{self.n_words} words + {len(SPECIALS)} special tokens ({' '.join(SPECIALS)}) "
                f"= {len(self)} entries")

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def index(self, word: str) -> int:
        """Id of ``word`` (``unk`` when it is not in the vocabulary)."""
        return self._index.get(word, UNK_ID)

    def encode(self, caption: str) -> list[int]:
        """Ids of the normalised words of ``caption`` (no bos/eos)."""
        return [self._index.get(w, UNK_ID) for w in split_words(caption)]

    def decode(self, ids: Iterable[int]) -> str:
        """Words of ``ids`` joined by spaces; stops at the first ``eos``, skips ``pad`` and ``bos``."""
        out: list[str] = []
        for raw in ids:
            i = int(raw)
            if i == EOS_ID:
                break
            if i in (PAD_ID, BOS_ID):
                continue
            if not 0 <= i < len(self.words):
                raise IndexError(f"token id {i} is outside the vocabulary (size {len(self.words)})")
            out.append(self.words[i])
        return " ".join(out)

    def to_dict(self) -> dict[str, object]:
        return {"format": _FORMAT, "min_count": self.min_count, "words": self.words, "counts": self.counts}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the vocabulary as JSON (atomically); returns the path."""
        path = Path(path)
        atomic_write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocabulary:
        """Read a vocabulary written by :meth:`save`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: not a readable vocabulary JSON file ({err})") from err
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"{path}: not a clipaac vocabulary (expected \"format\": \"{_FORMAT}\")")
        return cls(words=list(data["words"]), counts=dict(data.get("counts", {})),
                   min_count=int(data.get("min_count", 1)))
