"""Dataclass configurations of CLIP-AAC: the audio head, the text head, the decoder and the whole model.

Two presets build the same classes:

- :meth:`ModelConfig.paper`: the sizes of the paper and of AudioCLIP's checkpoints (44.1 kHz audio,
  ESResNeXt-50 32x4d audio head, 12-layer CLIP text transformer, 1024-d embeddings). Only this one can
  load AudioCLIP's weights.
- :meth:`ModelConfig.small`: the same architecture, narrow and shallow, at 16 kHz, so that a CPU training
  step on a batch of 8 five-second clips takes a fraction of a second. It is for notebooks, tests and
  smoke runs, not for reproducing the paper's numbers.

A config round-trips through JSON (:meth:`ModelConfig.to_dict` / :meth:`ModelConfig.from_dict`) and is
saved next to every checkpoint. Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from clipaac_lib.common import (
    AUDIOCLIP_SAMPLE_RATE,
    BOS_ID,
    EOS_ID,
    PAD_ID,
    SAMPLE_RATE,
    UNK_ID,
    from_known_fields,
)

__all__ = [
    "AUDIO_MEMORY_CHOICES",
    "CLIP_TEMPERATURE",
    "MODEL_PRESETS",
    "AudioConfig",
    "TextConfig",
    "DecoderConfig",
    "ModelConfig",
]

AUDIO_MEMORY_CHOICES = ("embedding", "frames")
#: The named model sizes, :meth:`ModelConfig.preset`.
MODEL_PRESETS = ("small", "paper")
#: CLIP's initial contrastive temperature t (Radford et al. 2021): 1/t = 14.3 (the paper does not give one).
CLIP_TEMPERATURE = 0.07


def _check_positive(owner: str, **values: int | float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{owner}.{name} must be positive, got {value!r}")


@dataclass
class AudioConfig:
    """The ESResNeXt-fbsp audio head (AudioCLIP's ``audio``).

    Front end: frames of ``win_length`` samples every ``hop_length``, a Blackman-Harris window, zero
    padding to ``n_fft``, AudioCLIP's learnable frequency-B-spline transform (``n_fft // 2 + 1`` complex
    bins), ``num_bands`` frequency bands stacked as channels, log power in dB. Then a ResNeXt with
    ``layers`` bottleneck blocks per stage (stage ``i`` has ``stem_width * 2**i`` planes, ``groups``
    groups of ``width_per_group * stem_width / 64`` channels) and AudioCLIP's attention blocks.
    """

    sample_rate: int = AUDIOCLIP_SAMPLE_RATE
    n_fft: int = 2048
    win_length: int = 1654
    hop_length: int = 561
    window: str = "blackmanharris"
    normalized: bool = True  # fbsp weights divided by sqrt(n_fft), as in AudioCLIP
    num_bands: int = 3  # frequency bands stacked as the stem's input channels
    stem_width: int = 64
    layers: tuple[int, ...] = (3, 4, 6, 3)
    groups: int = 32
    width_per_group: int = 4
    attention: bool = True  # AudioCLIP's attention blocks att1..att5
    fbsp_grad_normalize: bool = True  # AudioCLIP rescales fbsp gradients to unit max-norm

    def __post_init__(self) -> None:
        self.layers = tuple(int(n) for n in self.layers)
        _check_positive(
            "AudioConfig",
            sample_rate=self.sample_rate,
            n_fft=self.n_fft,
            win_length=self.win_length,
            hop_length=self.hop_length,
            num_bands=self.num_bands,
            stem_width=self.stem_width,
            groups=self.groups,
            width_per_group=self.width_per_group,
        )
        if self.window != "blackmanharris":
            raise ValueError(
                f"AudioConfig.window must be 'blackmanharris' (AudioCLIP's), got {self.window!r}"
            )
        if self.win_length > self.n_fft:
            raise ValueError(
                f"AudioConfig.win_length ({self.win_length}) must not exceed n_fft ({self.n_fft})"
            )
        if len(self.layers) != 4 or min(self.layers) < 1:
            raise ValueError(f"AudioConfig.layers must be 4 positive block counts, got {self.layers!r}")
        if self.num_freq_bins // self.num_bands < 1:
            raise ValueError(
                f"AudioConfig: {self.num_freq_bins} frequency bins cannot be split into "
                f"{self.num_bands} bands"
            )

    @property
    def num_freq_bins(self) -> int:
        """Complex bins of the fbsp transform (``n_fft // 2 + 1``, one-sided)."""
        return self.n_fft // 2 + 1

    @property
    def band_height(self) -> int:
        """Frequency bins per band (341 for the paper: 1025 bins cut to 1023 = 3 x 341)."""
        return self.num_freq_bins // self.num_bands

    @property
    def feature_channels(self) -> int:
        """Channels of the last stage's feature map (2048 for ResNeXt-50)."""
        return self.stem_width * 2 ** (len(self.layers) - 1) * 4


@dataclass
class TextConfig:
    """The CLIP text transformer (AudioCLIP's text head). The vocabulary is CLIP's BPE (49408 ids)."""

    vocab_size: int = 49408
    context_length: int = 77
    width: int = 512
    heads: int = 8
    layers: int = 12

    def __post_init__(self) -> None:
        _check_positive(
            "TextConfig",
            vocab_size=self.vocab_size,
            context_length=self.context_length,
            width=self.width,
            heads=self.heads,
            layers=self.layers,
        )
        if self.width % self.heads:
            raise ValueError(f"TextConfig.width ({self.width}) must be divisible by heads ({self.heads})")


@dataclass
class DecoderConfig:
    """The caption decoder of section 2.3: ``layers`` blocks of masked self-attention, cross-attention to
    the audio and a feed-forward network, post-norm as in Vaswani et al.; sinusoidal positions.

    The paper fixes 2 blocks and dropout 0.2; it does not give the width, so ``d_model`` 512 / 8 heads /
    feed-forward 2048 (the Transformer-base sizes) are our choice.
    """

    d_model: int = 512
    heads: int = 8
    layers: int = 2
    ffn_dim: int = 2048
    dropout: float = 0.2

    def __post_init__(self) -> None:
        _check_positive(
            "DecoderConfig", d_model=self.d_model, heads=self.heads, layers=self.layers, ffn_dim=self.ffn_dim
        )
        if self.d_model % self.heads:
            raise ValueError(
                f"DecoderConfig.d_model ({self.d_model}) must be divisible by heads ({self.heads})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"DecoderConfig.dropout must be in [0, 1), got {self.dropout!r}")


@dataclass
class ModelConfig:
    """The whole CLIP-AAC model.

    ``vocab_size`` is the size of the *word* vocabulary of the captions (ids: pad 0, bos 1, eos 2,
    unk 3, then words); set it to ``len(vocabulary)``. ``embed_dim`` is the length L of the audio and text
    embeddings A and T. ``audio_memory`` is what the decoder attends to: ``"embedding"`` (the paper: the
    audio embedding A, a memory of length 1) or ``"frames"`` (the last feature map of the audio head,
    averaged over frequency, one memory entry per time step; not in the paper).
    ``logit_scale_init`` is 1/t at initialisation (AudioCLIP: 100, used as clamp(exp(param), 1, 100);
    note that at exactly the upper clamp the temperature receives no gradient).
    """

    vocab_size: int = 5000
    embed_dim: int = 1024
    audio_memory: str = "embedding"
    logit_scale_init: float = 100.0
    pad_id: int = PAD_ID
    bos_id: int = BOS_ID
    eos_id: int = EOS_ID
    unk_id: int = UNK_ID
    name: str = "custom"
    audio: AudioConfig = field(default_factory=AudioConfig)
    text: TextConfig = field(default_factory=TextConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)

    def __post_init__(self) -> None:
        if isinstance(self.audio, dict):
            self.audio = _build(AudioConfig, self.audio, "audio")
        if isinstance(self.text, dict):
            self.text = _build(TextConfig, self.text, "text")
        if isinstance(self.decoder, dict):
            self.decoder = _build(DecoderConfig, self.decoder, "decoder")
        _check_positive("ModelConfig", embed_dim=self.embed_dim)
        if self.audio_memory not in AUDIO_MEMORY_CHOICES:
            raise ValueError(
                f"ModelConfig.audio_memory must be one of {AUDIO_MEMORY_CHOICES}, got {self.audio_memory!r}"
            )
        if not 1.0 <= self.logit_scale_init <= 100.0:
            raise ValueError(
                "ModelConfig.logit_scale_init must be in [1, 100] (it is clamped there), "
                f"got {self.logit_scale_init}"
            )
        special = {"pad_id": self.pad_id, "bos_id": self.bos_id, "eos_id": self.eos_id, "unk_id": self.unk_id}
        if len(set(special.values())) != 4:
            raise ValueError(f"ModelConfig special ids must be distinct, got {special}")
        if self.vocab_size <= max(special.values()):
            raise ValueError(
                f"ModelConfig.vocab_size ({self.vocab_size}) must exceed the special ids {special}; "
                "set it to len(vocabulary)"
            )

    @property
    def sample_rate(self) -> int:
        """Sample rate (Hz) of the waveforms the model expects."""
        return self.audio.sample_rate

    @property
    def memory_dim(self) -> int:
        """Width of the audio memory before the decoder's projection (L or the feature channels)."""
        return self.embed_dim if self.audio_memory == "embedding" else self.audio.feature_channels

    # ----------------------------------------------------------------------------------------- presets
    @classmethod
    def preset(cls, name: str, vocab_size: int = 5000, **overrides: Any) -> ModelConfig:
        """The named preset of :data:`MODEL_PRESETS`: ``"small"`` or ``"paper"``."""
        if name not in MODEL_PRESETS:
            raise ValueError(f"unknown model preset {name!r}; choose one of {', '.join(MODEL_PRESETS)}")
        return cls.small(vocab_size, **overrides) if name == "small" else cls.paper(vocab_size, **overrides)

    @classmethod
    def paper(cls, vocab_size: int = 5000, **overrides: Any) -> ModelConfig:
        """The paper's sizes (AudioCLIP's audio and text heads, 44.1 kHz, L = 1024, 2-block decoder)."""
        return cls(vocab_size=vocab_size, name="paper", **overrides)

    @classmethod
    def small(cls, vocab_size: int = 5000, **overrides: Any) -> ModelConfig:
        """A narrow, shallow model at 16 kHz for CPU notebooks and tests. Sizes:

        - audio: 16 kHz; windows of 480 samples (30 ms) every 240 (15 ms), n_fft 512 (257 bins, 3 bands
          of 85); stem 16 channels, one bottleneck per stage, 8 groups (bottleneck widths 32..256, final
          feature map 512 channels); 1.1 M parameters (the paper's: 32.1 M);
        - text: CLIP BPE, context 77, width 128, 4 heads, 2 layers; embeddings L = 256;
        - decoder: d_model 128, 4 heads, feed-forward 512, 2 blocks, dropout 0.2.

        A training step (forward, backward, Adam) on 8 clips of 4.5 s costs about 8.6 GFLOP of matrix
        products and convolutions (torch's flop counter, ``benchmarks/step_levers.py``), against about
        1.1 TFLOP for the paper's sizes (268 GFLOP per 10 s clip).
        """
        params: dict[str, Any] = {
            "embed_dim": 256,
            "audio": AudioConfig(
                sample_rate=SAMPLE_RATE,
                n_fft=512,
                win_length=480,
                hop_length=240,
                stem_width=16,
                layers=(1, 1, 1, 1),
                groups=8,
                width_per_group=16,
            ),
            "text": TextConfig(width=128, heads=4, layers=2),
            "decoder": DecoderConfig(d_model=128, heads=4, layers=2, ffn_dim=512),
        }
        params.update(overrides)
        return cls(vocab_size=vocab_size, name="small", **params)

    # ----------------------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tuples become lists); inverse of :meth:`from_dict`."""
        return _jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild a config from :meth:`to_dict`'s output; unknown keys raise ``ValueError`` naming them."""
        return _build(cls, data, "model")

def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def _build(kind: type, data: dict[str, Any], where: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"config section {where!r} must be a dict, got {type(data).__name__}")
    return from_known_fields(kind, data, hint=f" (config section {where!r}; was the config written by a "
                                              "different clipaac version?)")
