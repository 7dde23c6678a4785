"""Reading clips: soundfile decoding, mono mix-down, resampling, and the crop/pad policy.

Pipeline of :func:`load_audio` (the same for Clotho and the synthetic set):

1. **decode** with soundfile (WAV/FLAC/OGG, no system library needed) to float32 in [-1, 1];
2. **mono**: the mean of the channels (Clotho is mono already; this guards user audio);
3. **resample** to the model's rate with ``torchaudio.functional.resample`` (windowed-sinc,
   band-limited; output length ``ceil(n * new_rate / old_rate)``);
4. **crop**: a clip longer than ``max_seconds`` keeps its *first* ``max_seconds`` (deterministic, so
   the decoded-audio cache and direct decoding agree); Clotho's clips are 15-30 s, so the default
   ``max_seconds=30`` crops nothing;
5. **clamp** to [-1, 1] (resampling can overshoot by a hair next to full-scale transients).

Padding happens at batch time, never per clip: :func:`pad_batch` pads every clip with zeros to the
longest one in the batch and returns the true lengths, which the model turns into a mask.

Notebook: ``notebooks/01_data.ipynb`` (section "Audio").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "AudioError",
    "read_audio",
    "audio_info",
    "to_mono",
    "resample",
    "crop",
    "load_audio",
    "pad_batch",
]


class AudioError(ValueError):
    """A clip cannot be decoded (corrupt, truncated, not audio)."""


def audio_info(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """``(frames, sample_rate, channels)`` from the file header, without decoding the samples.

    Raises ``FileNotFoundError`` or :class:`AudioError` naming the file.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises LibsndfileError / RuntimeError for bad headers
        raise AudioError(f"{path}: cannot read the audio header ({err}); the file is corrupt or not audio") from err
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioError(f"{path}: the audio file holds no samples (frames={info.frames}, rate={info.samplerate})")
    return int(info.frames), int(info.samplerate), int(info.channels)


def read_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Decode ``path`` to a float32 array ``(frames, channels)`` in [-1, 1] and its sample rate."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:
        raise AudioError(f"{path}: cannot decode the audio ({err}); the file is corrupt or not audio") from err
    if data.shape[0] == 0:
        raise AudioError(f"{path}: the audio file holds no samples")
    return data, int(rate)


def to_mono(data: np.ndarray) -> np.ndarray:
    """Mean over channels: ``(frames, channels) -> (frames,)``; a 1-D array is returned as is."""
    if data.ndim == 1:
        return data
    if data.ndim != 2:
        raise ValueError(f"expected audio of shape (frames,) or (frames, channels), got {data.shape}")
    return data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)


def resample(wave: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    """Band-limited resampling of ``wave`` (..., time) from ``orig_rate`` to ``new_rate`` Hz."""
    if orig_rate <= 0 or new_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {new_rate}")
    if orig_rate == new_rate:
        return wave
    import torchaudio.functional as AF

    return AF.resample(wave, orig_rate, new_rate)


def crop(wave: torch.Tensor, max_samples: int | None) -> torch.Tensor:
    """Keep the first ``max_samples`` samples of ``wave`` (time is the last axis); ``None`` keeps all."""
    if max_samples is None or wave.shape[-1] <= max_samples:
        return wave
    return wave[..., :max_samples]


def load_audio(
    path: str | os.PathLike[str], sample_rate: int, max_seconds: float | None = None
) -> torch.Tensor:
    """Decode, mix down to mono, resample to ``sample_rate``, crop to ``max_seconds``: float32 (S,).

    The result is in [-1, 1]. See the module docstring for the policy.
    """
    data, rate = read_audio(path)
    wave = torch.from_numpy(np.ascontiguousarray(to_mono(data), dtype=np.float32))
    wave = resample(wave, rate, sample_rate)
    max_samples = None if max_seconds is None else int(round(max_seconds * sample_rate))
    samples = crop(wave, max_samples).numpy()
    return torch.from_numpy(np.clip(samples, -1.0, 1.0).astype(np.float32))  # numpy: cheap on small CPUs


def pad_batch(waves: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad 1-D clips to the longest: returns ``audio (B, S)`` and ``audio_lengths (B,)`` (long).

    The batch is float32, or int16 when every clip is int16 samples (``ClothoDataset(audio_dtype="int16")``);
    int16 clips cannot be mixed with float ones."""
    if len(waves) == 0:
        raise ValueError("pad_batch needs at least one clip")
    int16 = [w.dtype == torch.int16 for w in waves]
    if any(int16) and not all(int16):
        raise ValueError("a batch mixes int16 samples and float waveforms; open every dataset with the same "
                         "audio_dtype")
    lengths = torch.tensor([int(w.shape[-1]) for w in waves], dtype=torch.long)
    dtype = torch.int16 if all(int16) else torch.float32
    out = torch.empty(len(waves), int(lengths.max()), dtype=dtype)  # (B, S); zeroing only the padding
    for i, w in enumerate(waves):
        if w.ndim != 1:
            raise ValueError(f"clip {i} has shape {tuple(w.shape)}; expected a 1-D waveform")
        out[i, : w.shape[0]] = w
        out[i, w.shape[0] :] = 0
    return out, lengths
