"""The text head: CLIP's text transformer (AudioCLIP's text branch), with CLIP's parameter names.

``token_embedding`` (vocab, width) + ``positional_embedding`` (context, width) -> ``transformer`` of
``layers`` pre-norm residual blocks (causal multi-head self-attention ``attn``, ``ln_1``, an MLP
``mlp.c_fc`` -> QuickGELU -> ``mlp.c_proj``, ``ln_2``) -> ``ln_final`` -> the feature at the end-of-text
token (the position of the largest id, 49407) -> ``@ text_projection`` (width, L).

The state dict keys are AudioCLIP's text keys (``transformer.resblocks.0.attn.in_proj_weight``,
``token_embedding.weight``, ``positional_embedding``, ``ln_final.weight``, ``text_projection``, ...).
Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from clipaac_lib.model.attention import MultiheadAttention
from clipaac_lib.model.checks import check_token_range
from clipaac_lib.model.config import TextConfig

__all__ = ["QuickGELU", "ResidualAttentionBlock", "Transformer", "TextTransformer"]


class QuickGELU(nn.Module):
    """CLIP's GELU approximation ``x * sigmoid(1.702 x)``."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(1.702 * x)


class _MLP(nn.Sequential):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.gelu = QuickGELU()
        self.c_proj = nn.Linear(4 * width, width)


class ResidualAttentionBlock(nn.Module):
    """x + attn(ln_1(x)) then x + mlp(ln_2(x)), causal."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn = MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = _MLP(width)
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x), causal=True)  # (B, N, width)
        return x + self.mlp(self.ln_2(x))  # (B, N, width)


class Transformer(nn.Module):
    """A stack of ``layers`` residual blocks named ``resblocks.N``."""

    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: Tensor) -> Tensor:
        return self.resblocks(x)


class TextTransformer(nn.Module):
    """CLIP BPE ids (B, N <= context_length) -> text embeddings (B, embed_dim).

    Notebook: ``notebooks/02_architecture.ipynb``.
    """

    def __init__(self, config: TextConfig, embed_dim: int) -> None:
        super().__init__()
        self.config = config
        width = config.width
        self.token_embedding = nn.Embedding(config.vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.empty(config.context_length, width))
        self.transformer = Transformer(width, config.layers, config.heads)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, embed_dim))
        self._init_weights()

    def _init_weights(self) -> None:
        # CLIP's initialisation (Radford et al. 2021, clip/model.py initialize_parameters)
        width, layers = self.config.width, self.config.layers
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        attn_std = width**-0.5
        proj_std = width**-0.5 * (2 * layers) ** -0.5
        fc_std = (2 * width) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=width**-0.5)

    def forward(self, tokens: Tensor, *, check_values: bool = True) -> Tensor:
        """tokens (B, N) long, each row ``[49406, ..., 49407, 0, ...]`` -> (B, embed_dim).

        ``check_values=False`` skips the id-range check (on a GPU, a synchronisation)."""
        if tokens.dim() != 2 or tokens.shape[1] > self.config.context_length:
            raise ValueError(
                f"text tokens must be shaped (batch, <= {self.config.context_length}), "
                f"got {tuple(tokens.shape)}; "
                "make them with clipaac_lib.model.tokenize"
            )
        if tokens.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"text tokens must be integer ids, got dtype {tokens.dtype}")
        if check_values:
            check_token_range(tokens, self.config.vocab_size, "text token ids",
                              "were caption word ids passed as text_tokens?")
        eot = tokens.argmax(dim=-1)  # (B,) position of the end-of-text token (largest id)
        # The attention is causal, so no position at or before an end-of-text token sees the padding
        # after the batch's last one: dropping those columns leaves the result unchanged and saves the
        # text head most of its work (captions fill 10-25 of the 77 positions). On the CPU only: on a GPU
        # reading the length would synchronise and change the shapes that compiled stages are built for,
        # and the memory estimate (meta tensors) has no values to read.
        if tokens.device.type == "cpu":
            tokens = tokens[:, : int(eot.max()) + 1]  # (B, N') with N' <= N
        x = self.token_embedding(tokens) + self.positional_embedding[: tokens.shape[1]]  # (B, N', width)
        x = self.ln_final(self.transformer(x))  # (B, N', width)
        x = x[torch.arange(x.shape[0], device=x.device), eot]  # (B, width)
        return x @ self.text_projection  # (B, embed_dim)
