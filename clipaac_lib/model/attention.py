"""Multi-head attention with ``torch.nn.MultiheadAttention``'s parameter names, batch-first.

The packed ``in_proj_weight`` / ``in_proj_bias`` and ``out_proj`` match CLIP's checkpoints (so the text
head loads AudioCLIP's weights by name), and the kernel is ``F.scaled_dot_product_attention`` (fused where
available). Used by the text head (causal self-attention) and the decoder (causal self-attention and
cross-attention to the audio memory). Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["MultiheadAttention", "sinusoidal_positions"]


class MultiheadAttention(nn.Module):
    """Scaled dot-product attention with ``heads`` heads over width ``dim``.

    ``forward(query, memory=None, causal=False, memory_mask=None)``: self-attention when ``memory`` is
    None, otherwise cross-attention from ``query`` to ``memory``. ``memory_mask`` (B, T) bool is True for
    entries that may be attended to.
    """

    def __init__(self, dim: int, heads: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.dim, self.heads, self.dropout = dim, heads, dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def _split_heads(self, x: Tensor) -> Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.heads, self.dim // self.heads).transpose(1, 2)  # (B, h, N, d)

    def forward(
        self,
        query: Tensor,
        memory: Tensor | None = None,
        *,
        causal: bool = False,
        memory_mask: Tensor | None = None,
    ) -> Tensor:
        """query (B, M, dim), memory (B, T, dim) or None -> (B, M, dim)."""
        if causal and memory_mask is not None:
            raise ValueError("a causal attention takes no memory_mask (use one or the other)")
        if memory is None:
            q, k, v = F.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(
                3, dim=-1
            )  # (B, M, dim) x3
        else:
            w_q, w_kv = self.in_proj_weight.split([self.dim, 2 * self.dim])
            b_q, b_kv = self.in_proj_bias.split([self.dim, 2 * self.dim])
            q = F.linear(query, w_q, b_q)  # (B, M, dim)
            k, v = F.linear(memory, w_kv, b_kv).chunk(2, dim=-1)  # (B, T, dim) x2
        q, k, v = self._split_heads(q), self._split_heads(k), self._split_heads(v)  # (B, h, *, d)
        attn_mask = None
        if memory_mask is not None:
            attn_mask = memory_mask[:, None, None, :].to(torch.bool)  # (B, 1, 1, T)
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=causal,
        )  # (B, h, M, d)
        out = out.transpose(1, 2).reshape(query.shape[0], query.shape[1], self.dim)  # (B, M, dim)
        return self.out_proj(out)


def sinusoidal_positions(length: int, dim: int, *, device: torch.device | None = None) -> Tensor:
    """Vaswani et al.'s fixed position encodings (length, dim): sin on even, cos on odd channels."""
    position = torch.arange(length, dtype=torch.float32, device=device)[:, None]  # (N, 1)
    rate = torch.exp(
        torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim)
    )  # (ceil(dim/2),)
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: dim // 2])
    return table
