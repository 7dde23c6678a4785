"""Captioning audio with a trained model: one waveform (:func:`caption_audio`) or any audio file with
the model of a run directory (:func:`caption_file`, ``clipaac caption AUDIO_FILE --run RUN_DIR``).

Notebook: ``notebooks/07_caption_your_audio.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from clipaac_lib.data import Vocabulary, load_audio
from clipaac_lib.model import CLIPAAC
from clipaac_lib.model.decode import DecodeConfig, search
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.rundir import RunDir, decode_config, load_run_model

__all__ = ["caption_file", "caption_audio"]


@torch.no_grad()
def caption_file(audio_path: str | Path, run_dir: str | Path, *, device: str = "auto",
                 beam_size: int | None = None, max_caption_len: int | None = None,
                 length_penalty: float | None = None) -> str:
    """``clipaac caption AUDIO_FILE --run RUN_DIR``: a caption for any WAV/FLAC/OGG/MP3 file.

    The file is mixed to mono, resampled to the model's rate and cut to the run's ``max_seconds``.
    """
    rd = RunDir(run_dir).require()
    config = TrainConfig.from_dict(rd.read_config_dict())
    changes = {k: v for k, v in {"beam_size": beam_size, "max_caption_len": max_caption_len,
                                 "length_penalty": length_penalty}.items() if v is not None}
    config = config.replace(device=device, **changes).validate()
    model, vocab = load_run_model(rd, config.device)
    audio = load_audio(audio_path, model.config.sample_rate, config.max_seconds)  # (S,)
    return caption_audio(model, vocab, audio, decode_config(config))


@torch.no_grad()
def caption_audio(model: CLIPAAC, vocab: Vocabulary, audio: torch.Tensor, decode: DecodeConfig) -> str:
    """The caption of one waveform ``audio`` (S,) in [-1, 1] at the model's rate, by ``decode``'s search.

    Notebook: ``notebooks/07_caption_your_audio.ipynb``.
    """
    model.eval()
    dev = next(model.parameters()).device
    enc = model.encode_audio(audio.reshape(1, -1).to(dev))
    result = search(model, enc.memory, enc.memory_mask, decode)
    return vocab.decode(result.tokens[0])
