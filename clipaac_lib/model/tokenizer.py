"""CLIP BPE tokenisation for the text head, through open_clip's maintained tokenizer.

open_clip ships CLIP's vocabulary (``bpe_simple_vocab_16e6.txt.gz``) inside its wheel, so this works
offline. open_clip is imported lazily (it takes seconds: it imports timm and torchvision) and the
tokenizer is built once. Text is ftfy-cleaned and lower-cased; each row is
``[49406 (start), ids..., 49407 (end), 0, ...]`` of length 77. Captions longer than that are truncated
(the last id is set to the end token, as CLIP does) with a warning naming them, where AudioCLIP raises.

Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = ["CONTEXT_LENGTH", "SOT_ID", "EOT_ID", "TokenTruncationWarning", "tokenize", "clip_tokenizer"]

CONTEXT_LENGTH = 77
SOT_ID = 49406
EOT_ID = 49407


class TokenTruncationWarning(UserWarning):
    """A caption had more BPE tokens than the text head's context and was cut."""


@functools.lru_cache(maxsize=1)
def clip_tokenizer() -> Any:
    """open_clip's ``SimpleTokenizer`` with CLIP's vocabulary (built once; imports open_clip)."""
    try:
        from open_clip.tokenizer import SimpleTokenizer
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "clipaac_lib.model.tokenize needs open_clip (pip install open_clip_torch); "
            "it ships CLIP's BPE vocabulary"
        ) from err
    tokenizer = SimpleTokenizer()
    if tokenizer.sot_token_id != SOT_ID or tokenizer.eot_token_id != EOT_ID:  # pragma: no cover
        raise RuntimeError(
            f"open_clip's tokenizer has start/end ids {tokenizer.sot_token_id}/{tokenizer.eot_token_id}, "
            f"expected CLIP's {SOT_ID}/{EOT_ID}; check the open_clip_torch version"
        )
    return tokenizer


def tokenize(texts: str | Sequence[str], context_length: int = CONTEXT_LENGTH) -> Tensor:
    """Texts -> CLIP BPE ids (B, context_length), zero-padded; over-long texts truncated with a warning."""
    if isinstance(texts, str):
        texts = [texts]
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"tokenize expects strings; item {index} is {type(text).__name__}: {text!r}")
    tokenizer = clip_tokenizer()
    result = torch.zeros(len(texts), context_length, dtype=torch.long)
    truncated: list[tuple[int, int]] = []
    for row, text in enumerate(texts):
        ids = [SOT_ID, *tokenizer.encode(text), EOT_ID]
        if len(ids) > context_length:
            truncated.append((row, len(ids)))
            ids = ids[: context_length - 1] + [EOT_ID]
        result[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    if truncated:
        shown = ", ".join(f"#{row} ({n} tokens): {texts[row][:60]!r}" for row, n in truncated[:5])
        more = f" and {len(truncated) - 5} more" if len(truncated) > 5 else ""
        warnings.warn(
            f"{len(truncated)} text(s) exceed the text head's context of {context_length} tokens and were "
            f"truncated: {shown}{more}",
            TokenTruncationWarning,
            stacklevel=2,
        )
    return result
