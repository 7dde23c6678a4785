"""Caption decoding: greedy search and batched beam search over the CLIP-AAC decoder.

Both searches work on the encoder's memory (``model.encode_audio(audio).memory``) and call
``model.decode(memory, tokens, memory_mask)`` once per generated word with the whole prefix
(the decoder is two layers deep and captions are short, so no key/value cache is kept).

Scoring. A hypothesis ``y = (y_1, ..., y_n)`` (words, then the end token when it ended) gets

    log P(y | audio) = sum_t log p(y_t | <bos>, y_<t, audio)            (the model's log-probability)
    score(y)         = log P(y | audio) / n ** length_penalty          (what the beam ranks at the end)

with ``n`` the number of scored tokens (words plus the end token if emitted). ``length_penalty=0``
ranks by the raw log-probability, which favours short captions; ``1`` (our default) ranks by the mean
log-probability per token. During the search beams are kept by raw log-probability; the penalty only
picks the winner among the final beams. The paper (section 3.2) uses 3 beams; it does not state a
length penalty.

Rules: the padding, begin and unknown tokens are never generated; the end token is not allowed as the
first token (``min_len=1``: no empty captions); a hypothesis without an end token after ``max_len``
words is cut there. A finished beam keeps its score and is carried along (extended by padding at no
cost) so that all beams of a batch stay in one tensor.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from clipaac_lib.common import BOS_ID, EOS_ID, PAD_ID, UNK_ID

__all__ = ["DecodeConfig", "DecodeResult", "greedy_search", "beam_search", "search"]


class _Decoder(Protocol):
    def decode(self, memory: Tensor, caption_tokens: Tensor, memory_mask: Tensor | None = None) -> Tensor: ...


@dataclass(frozen=True)
class DecodeConfig:
    """Decoding settings: ``beam_size`` 1 means greedy; see the module docstring for the scoring."""

    beam_size: int = 3
    max_len: int = 30
    length_penalty: float = 1.0
    min_len: int = 1
    pad_id: int = PAD_ID
    bos_id: int = BOS_ID
    eos_id: int = EOS_ID
    unk_id: int | None = UNK_ID

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be at least 1; got {self.beam_size}")
        if self.max_len < 1:
            raise ValueError(f"max_len must be at least 1; got {self.max_len}")
        if not 0 <= self.min_len <= self.max_len:
            raise ValueError(f"min_len must be in [0, max_len={self.max_len}]; got {self.min_len}")

    def tag(self) -> str:
        """A short name for result folders, e.g. ``beam3-len30-lp1``."""
        return f"beam{self.beam_size}-len{self.max_len}-lp{self.length_penalty:g}"

    def banned(self) -> list[int]:
        return [t for t in (self.pad_id, self.bos_id, self.unk_id) if t is not None]


@dataclass
class DecodeResult:
    """Best hypothesis per clip: ``tokens`` (word ids, end token excluded), ``log_prob`` (B,) the model's
    log-probability of the hypothesis (end token included when emitted), ``length`` (B,) scored tokens,
    ``score`` (B,) = ``log_prob / length ** length_penalty``."""

    tokens: list[list[int]]
    log_prob: Tensor
    length: Tensor
    score: Tensor


def _step_log_probs(model: _Decoder, memory: Tensor, tokens: Tensor, memory_mask: Tensor | None,
                    cfg: DecodeConfig, step: int) -> Tensor:
    """Log-probabilities of the next token (N, V) in float32, with banned tokens at -inf."""
    logits = model.decode(memory, tokens, memory_mask)[:, -1]  # (N, V)
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    log_probs[:, cfg.banned()] = -torch.inf
    if step < cfg.min_len:
        log_probs[:, cfg.eos_id] = -torch.inf
    return log_probs


def _strip(row: list[int], cfg: DecodeConfig) -> list[int]:
    out = []
    for token in row[1:]:  # skip <bos>
        if token in (cfg.eos_id, cfg.pad_id):
            break
        out.append(token)
    return out


@torch.no_grad()
def greedy_search(model: _Decoder, memory: Tensor, memory_mask: Tensor | None = None,
                  cfg: DecodeConfig | None = None) -> DecodeResult:
    """Pick the most probable next word at every step; ``memory`` is (B, T, D)."""
    cfg = cfg or DecodeConfig(beam_size=1)
    batch, device = memory.shape[0], memory.device
    tokens = torch.full((batch, 1), cfg.bos_id, dtype=torch.long, device=device)  # (B, 1)
    log_prob = torch.zeros(batch, device=device)
    length = torch.zeros(batch, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    for step in range(cfg.max_len):
        log_probs = _step_log_probs(model, memory, tokens, memory_mask, cfg, step)  # (B, V)
        best, nxt = log_probs.max(dim=-1)  # (B,), (B,)
        nxt = torch.where(finished, torch.full_like(nxt, cfg.pad_id), nxt)
        log_prob += torch.where(finished, torch.zeros_like(best), best)
        length += (~finished).float()
        finished |= nxt == cfg.eos_id
        tokens = torch.cat([tokens, nxt[:, None]], dim=1)  # (B, step + 2)
        if bool(finished.all()):
            break
    score = log_prob / length.clamp(min=1) ** cfg.length_penalty
    return DecodeResult([_strip(row, cfg) for row in tokens.tolist()], log_prob, length, score)


@torch.no_grad()
def beam_search(model: _Decoder, memory: Tensor, memory_mask: Tensor | None = None,
                cfg: DecodeConfig | None = None) -> DecodeResult:
    """Batched beam search with ``cfg.beam_size`` beams per clip; ``memory`` is (B, T, D)."""
    cfg = cfg or DecodeConfig()
    batch, beams, device = memory.shape[0], cfg.beam_size, memory.device
    memory = memory.repeat_interleave(beams, dim=0)  # (B*K, T, D)
    if memory_mask is not None:
        memory_mask = memory_mask.repeat_interleave(beams, dim=0)  # (B*K, T)
    tokens = torch.full((batch * beams, 1), cfg.bos_id, dtype=torch.long, device=device)  # (B*K, 1)
    log_prob = torch.zeros(batch, beams, device=device)
    log_prob[:, 1:] = -torch.inf  # all beams start identical: keep only the first
    length = torch.zeros(batch, beams, device=device)
    finished = torch.zeros(batch, beams, dtype=torch.bool, device=device)
    offsets = torch.arange(batch, device=device)[:, None] * beams  # (B, 1)
    for step in range(cfg.max_len):
        log_probs = _step_log_probs(model, memory, tokens, memory_mask, cfg, step)  # (B*K, V)
        vocab = log_probs.shape[-1]
        log_probs = log_probs.view(batch, beams, vocab)
        carry = torch.full((vocab,), -torch.inf, device=device)
        carry[cfg.pad_id] = 0.0  # a finished beam continues only with padding, at no cost
        log_probs = torch.where(finished[..., None], carry, log_probs)  # (B, K, V)
        candidates = (log_prob[..., None] + log_probs).view(batch, beams * vocab)  # (B, K*V)
        log_prob, index = candidates.topk(beams, dim=-1)  # (B, K)
        source, word = index // vocab, index % vocab  # (B, K) beam of origin, new token
        was_finished = finished.gather(1, source)
        length = length.gather(1, source) + (~was_finished).float()
        finished = was_finished | (word == cfg.eos_id)
        tokens = torch.cat([tokens[(offsets + source).view(-1)], word.view(-1, 1)], dim=1)  # (B*K, step+2)
        if bool(finished.all()):
            break
    score = log_prob / length.clamp(min=1) ** cfg.length_penalty  # (B, K)
    best = score.argmax(dim=-1)  # (B,)
    rows = tokens.view(batch, beams, -1)[torch.arange(batch, device=device), best].tolist()
    pick = best[:, None]
    return DecodeResult([_strip(row, cfg) for row in rows], log_prob.gather(1, pick)[:, 0],
                        length.gather(1, pick)[:, 0], score.gather(1, pick)[:, 0])


def search(model: _Decoder, memory: Tensor, memory_mask: Tensor | None = None,
           cfg: DecodeConfig | None = None) -> DecodeResult:
    """Greedy search when ``cfg.beam_size == 1``, beam search otherwise."""
    cfg = cfg or DecodeConfig()
    if cfg.beam_size == 1:
        return greedy_search(model, memory, memory_mask, cfg)
    return beam_search(model, memory, memory_mask, cfg)
