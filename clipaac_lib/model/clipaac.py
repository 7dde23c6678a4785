"""CLIP-AAC (Chen et al., Interspeech 2022): audio head + text head + contrastive temperature + decoder.

Training (paper Figure 1): the audio head turns each clip a_i into A_i, the text head turns its caption
t_i into T_i (both L-d); the contrastive loss pulls matching pairs together with the learnable
temperature ``logit_scale_at`` (AudioCLIP's name; 1/t = clamp(exp(param), 1, 100)); the decoder predicts
the caption word by word from the audio memory. Inference: only the audio head and the decoder run; the
text head can be dropped (:meth:`CLIPAAC.drop_text_head`).

The decoder's memory is, with ``audio_memory="embedding"`` (the paper), the audio embedding A as a
sequence of length 1; with ``audio_memory="frames"`` (not in the paper), the audio head's last feature map
averaged over frequency, one entry per time step, with sinusoidal positions. Either way it is projected to
the decoder width and layer-normalised.

Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import torch
from torch import Tensor, nn

from clipaac_lib.model.attention import sinusoidal_positions
from clipaac_lib.model.checks import check_audio_values
from clipaac_lib.model.config import ModelConfig
from clipaac_lib.model.decoder import CaptionDecoder
from clipaac_lib.model.esresnext import ESResNeXtFBSP
from clipaac_lib.model.text import TextTransformer

__all__ = ["AudioEncoding", "CLIPAACOutput", "CLIPAAC"]

class AudioEncoding(NamedTuple):
    """What the audio side gives the decoder."""

    audio_emb: Tensor  # (B, L) the audio embedding A
    memory: Tensor  # (B, T, d_model) decoder-ready memory
    memory_mask: Tensor | None  # (B, T) bool, True = real audio; None = all valid


class CLIPAACOutput(NamedTuple):
    """A training forward pass."""

    logits: Tensor  # (B, M, V) next-word logits
    audio_emb: Tensor  # (B, L)
    text_emb: Tensor | None  # (B, L), None when no text was given
    logit_scale: Tensor  # () 1/t = clamp(exp(logit_scale_at), 1, 100)


class CLIPAAC(nn.Module):
    """The CLIP-AAC model. Build with ``CLIPAAC(ModelConfig.paper(vocab_size=V))`` or ``.small(...)``.

    Notebook: ``notebooks/02_architecture.ipynb``.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.audio = ESResNeXtFBSP(config.audio, config.embed_dim)
        self.text: TextTransformer | None = TextTransformer(config.text, config.embed_dim)
        self.logit_scale_at = nn.Parameter(torch.tensor(math.log(config.logit_scale_init)))
        d_model = config.decoder.d_model
        self.memory_proj = nn.Linear(config.memory_dim, d_model)
        self.memory_norm = nn.LayerNorm(d_model)
        self.decoder = CaptionDecoder(config.decoder, config.vocab_size, pad_id=config.pad_id)
        self.encoder_frozen = False

    # ------------------------------------------------------------------------------------ encoders
    @property
    def logit_scale(self) -> Tensor:
        """1/t as a 0-d tensor: clamp(exp(logit_scale_at), 1, 100) (AudioCLIP's audio-text scale)."""
        return self.logit_scale_at.exp().clamp(1.0, 100.0)

    def _check_audio(self, audio: Tensor, check_values: bool = True) -> None:
        if audio.dim() != 2 or not audio.is_floating_point():
            raise ValueError(
                f"audio must be a float tensor (batch, samples) of mono waveforms at "
                f"{self.config.sample_rate} Hz, got {audio.dtype} {tuple(audio.shape)}"
            )
        if check_values:
            check_audio_values(audio)

    def encode_audio(self, audio: Tensor, lengths: Tensor | None = None, *, check_values: bool = True
                     ) -> AudioEncoding:
        """[-1, 1] audio (B, S) -> :class:`AudioEncoding`.

        ``lengths`` (B,) optional: real samples per clip when the batch is zero-padded; it only masks
        padded time steps of the ``"frames"`` memory (the embedding still sees the padding).
        ``check_values=False`` skips the peak check (a GPU synchronisation) for audio checked before.
        """
        self._check_audio(audio, check_values)
        audio_emb, features = self.audio.forward_features(audio)  # (B, L), (B, C, F', T')
        if self.config.audio_memory == "embedding":
            return self.memory_from_embedding(audio_emb)
        frames = features.mean(dim=2).transpose(1, 2)  # (B, T', C)
        memory = self.memory_norm(self.memory_proj(frames))  # (B, T', d)
        memory = memory + sinusoidal_positions(memory.shape[1], memory.shape[2], device=memory.device).to(
            memory.dtype
        )
        mask = None
        if lengths is not None:
            if lengths.shape != (audio.shape[0],):
                raise ValueError(f"lengths must be shaped ({audio.shape[0]},), got {tuple(lengths.shape)}")
            steps = self.audio.feature_steps(lengths.to(device=audio.device, dtype=torch.long))
            steps = steps.clamp(1, memory.shape[1])  # (B,)
            mask = torch.arange(memory.shape[1], device=audio.device)[None, :] < steps[:, None]  # (B, T')
        return AudioEncoding(audio_emb, memory, mask)

    def memory_from_embedding(self, audio_emb: Tensor) -> AudioEncoding:
        """Audio embeddings A (B, L) -> :class:`AudioEncoding` with the ``"embedding"`` memory (B, 1, d).

        :meth:`encode_audio` takes this path; training with a frozen encoder feeds it embeddings computed
        once per clip (:mod:`clipaac_lib.train.frozen`, ``notebooks/06_ablations.ipynb``).
        """
        if self.config.audio_memory != "embedding":
            raise ValueError(f"the memory is built from the embedding only with audio_memory='embedding', "
                             f"not {self.config.audio_memory!r}")
        memory = self.memory_norm(self.memory_proj(audio_emb))[:, None, :]  # (B, 1, d)
        return AudioEncoding(audio_emb, memory, None)

    def encode_text(self, text_tokens: Tensor, *, check_values: bool = True) -> Tensor:
        """CLIP BPE ids (B, 77) from :func:`clipaac_lib.model.tokenize` -> text embeddings (B, L)."""
        if self.text is None:
            raise RuntimeError("the text head was dropped (drop_text_head); it is only needed for training")
        return self.text(text_tokens, check_values=check_values)

    def decode(self, memory: Tensor, caption_tokens: Tensor, memory_mask: Tensor | None = None, *,
               check_values: bool = True) -> Tensor:
        """Memory (B, T, d) from :meth:`encode_audio`, word ids (B, M) -> logits (B, M, V)."""
        return self.decoder(memory, caption_tokens, memory_mask, check_values=check_values)

    def forward(
        self,
        audio: Tensor,
        text_tokens: Tensor | None,
        caption_tokens: Tensor,
        audio_lengths: Tensor | None = None,
        *,
        check_values: bool = True,
    ) -> CLIPAACOutput:
        """audio (B, S) in [-1, 1], text_tokens (B, 77) CLIP ids or None, caption_tokens (B, M) word ids
        starting with bos -> :class:`CLIPAACOutput`.

        ``check_values=False`` skips the checks that read values (audio peak, id ranges), which on a GPU
        each wait for the GPU; the training step checks its batches on the CPU instead."""
        if caption_tokens.shape[0] != audio.shape[0] or (
            text_tokens is not None and text_tokens.shape[0] != audio.shape[0]
        ):
            raise ValueError(
                f"batch sizes differ: audio {audio.shape[0]}, caption_tokens {caption_tokens.shape[0]}"
                + (f", text_tokens {text_tokens.shape[0]}" if text_tokens is not None else "")
            )
        encoding = self.encode_audio(audio, audio_lengths, check_values=check_values)
        text_emb = (self.encode_text(text_tokens, check_values=check_values)
                    if text_tokens is not None else None)  # (B, L)
        logits = self.decode(encoding.memory, caption_tokens, encoding.memory_mask,
                             check_values=check_values)  # (B, M, V)
        return CLIPAACOutput(logits, encoding.audio_emb, text_emb, self.logit_scale)

    # ------------------------------------------------------------------------------------ utilities
    def drop_text_head(self) -> None:
        """Free the text head (inference needs only audio head and decoder)."""
        self.text = None

    def encoder_parameters(self) -> Iterator[nn.Parameter]:
        """Pretrained encoder: audio head, text head, temperature (the paper's lr 1e-5 group)."""
        yield from self.audio.parameters()
        if self.text is not None:
            yield from self.text.parameters()
        yield self.logit_scale_at

    def new_parameters(self) -> Iterator[nn.Parameter]:
        """Newly initialised parts: memory projection and decoder (the paper's lr 1e-3 group)."""
        yield from self.memory_proj.parameters()
        yield from self.memory_norm.parameters()
        yield from self.decoder.parameters()

    def freeze_encoder(self) -> None:
        """Table 1 system 3: no gradients into the encoder and its BatchNorm statistics frozen (the audio
        head stays in eval mode through later ``train()`` calls)."""
        for param in self.encoder_parameters():
            param.requires_grad_(False)
        self.encoder_frozen = True
        self.audio.eval()

    def train(self, mode: bool = True) -> CLIPAAC:
        super().train(mode)
        if self.encoder_frozen:
            self.audio.eval()
        return self
