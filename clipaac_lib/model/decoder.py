"""The caption decoder (paper section 2.3): a 2-block Transformer decoder over word ids.

word embedding (scaled by sqrt(d_model)) + sinusoidal positions + dropout -> ``layers`` post-norm blocks of
[masked multi-head self-attention, cross-attention to the audio memory, feed-forward], each sub-layer
followed by dropout, a residual connection and LayerNorm (Vaswani et al. 2017) -> linear to the word
vocabulary. The softmax of the paper's figure lives in the loss (:func:`clipaac_lib.model.losses.caption_loss`)
and in decoding.

Position m's output depends only on tokens 0..m (causal mask) and on the memory, so one call on a whole
caption gives every next-token distribution P(t_{m+1} | t_0..t_m, A) (teacher forcing), and beam search
can call it on growing prefixes. Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from clipaac_lib.common import PAD_ID
from clipaac_lib.model.attention import MultiheadAttention, sinusoidal_positions
from clipaac_lib.model.checks import check_token_range
from clipaac_lib.model.config import DecoderConfig

__all__ = ["DecoderBlock", "CaptionDecoder"]


class DecoderBlock(nn.Module):
    """Masked self-attention, cross-attention to the memory, feed-forward; post-norm, dropout."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        d, p = config.d_model, config.dropout
        self.self_attn = MultiheadAttention(d, config.heads, dropout=p)
        self.cross_attn = MultiheadAttention(d, config.heads, dropout=p)
        self.linear1 = nn.Linear(d, config.ffn_dim)
        self.linear2 = nn.Linear(config.ffn_dim, d)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.dropout = nn.Dropout(p)

    def forward(self, x: Tensor, memory: Tensor, memory_mask: Tensor | None = None) -> Tensor:
        """x (B, M, d), memory (B, T, d), memory_mask (B, T) bool (True = attend) -> (B, M, d)."""
        x = self.norm1(x + self.dropout(self.self_attn(x, causal=True)))  # (B, M, d)
        x = self.norm2(x + self.dropout(self.cross_attn(x, memory, memory_mask=memory_mask)))  # (B, M, d)
        hidden = self.dropout(F.relu(self.linear1(x)))  # (B, M, ffn)
        return self.norm3(x + self.dropout(self.linear2(hidden)))  # (B, M, d)


class CaptionDecoder(nn.Module):
    """(memory (B, T, d_model), word ids (B, M)) -> next-word logits (B, M, vocab_size).

    Notebook: ``notebooks/02_architecture.ipynb``.
    """

    def __init__(self, config: DecoderConfig, vocab_size: int, pad_id: int = PAD_ID) -> None:
        super().__init__()
        self.config = config
        self.vocab_size = vocab_size
        self.word_embedding = nn.Embedding(vocab_size, config.d_model, padding_idx=pad_id)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList([DecoderBlock(config) for _ in range(config.layers)])
        self.output = nn.Linear(config.d_model, vocab_size)
        nn.init.normal_(self.word_embedding.weight, std=config.d_model**-0.5)
        nn.init.zeros_(self.word_embedding.weight[pad_id])

    def forward(self, memory: Tensor, tokens: Tensor, memory_mask: Tensor | None = None, *,
                check_values: bool = True) -> Tensor:
        """``check_values=False`` skips the id-range check (on a GPU, a synchronisation)."""
        if tokens.dim() != 2:
            raise ValueError(f"caption tokens must be shaped (batch, length), got {tuple(tokens.shape)}")
        if memory.dim() != 3 or memory.shape[0] != tokens.shape[0] or memory.shape[2] != self.config.d_model:
            raise ValueError(
                f"memory must be (batch={tokens.shape[0]}, T, {self.config.d_model}), "
                f"got {tuple(memory.shape)}"
            )
        if check_values:
            check_token_range(tokens, self.vocab_size, "caption word ids",
                              "is ModelConfig.vocab_size len(vocabulary)?")
        length = tokens.shape[1]
        x = self.word_embedding(tokens) * math.sqrt(self.config.d_model)  # (B, M, d)
        x = self.dropout(x + sinusoidal_positions(length, self.config.d_model, device=x.device).to(x.dtype))
        for block in self.blocks:
            x = block(x, memory, memory_mask)  # (B, M, d)
        return self.output(x)  # (B, M, V)
