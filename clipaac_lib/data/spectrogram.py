"""Looking at clips: a standard log-mel spectrogram and a row of spectrogram images.

:func:`log_mel_spectrogram` is the usual view of a clip (not the model's own front end, which notebook 2
shows); :func:`plot_spectrograms` draws any number of (frequency, time) images side by side.
torchaudio and matplotlib are imported when used. Notebooks: ``notebooks/01_data.ipynb`` (log-mel
spectrograms of the clips) and ``notebooks/02_architecture.ipynb`` (the audio head's frequency bands).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["log_mel_spectrogram", "plot_spectrograms"]


def log_mel_spectrogram(audio: Tensor, sample_rate: int, *, n_fft: int = 1024, hop_length: int = 256,
                        n_mels: int = 64) -> Tensor:
    """``10 * log10(mel power + 1e-10)`` in dB, (n_mels, frames), of a waveform ``audio`` (S,).

    torchaudio's ``MelSpectrogram`` (HTK mel scale from 0 Hz to ``sample_rate / 2``, centred frames:
    ``frames = 1 + S // hop_length``); silence gives -100 dB. Notebook: ``notebooks/01_data.ipynb``.
    """
    import torchaudio

    if audio.dim() != 1:
        raise ValueError(f"audio must be one waveform (samples,), got shape {tuple(audio.shape)}")
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=sample_rate, n_fft=n_fft,
                                               hop_length=hop_length, n_mels=n_mels)
    return 10 * torch.log10(mel(audio) + 1e-10)  # (n_mels, frames)


def plot_spectrograms(specs: Sequence[Tensor] | Tensor, titles: Sequence[str], *, xlabel: str,
                      ylabel: str, seconds: Sequence[float] | None = None, suptitle: str | None = None,
                      panel_size: tuple[float, float] = (4.0, 3.0), colorbar_label: str = "dB",
                      wrap: int = 38) -> Figure:
    """One row of images, one per spectrogram in ``specs`` (each (frequency, time)), sharing the y axis.

    ``titles`` names each panel; ``ylabel`` labels the first. With ``seconds`` (one duration per
    spectrogram) the x axis is in seconds, else in frames; ``suptitle`` goes above the row. All panels
    share one colour scale (the min and max over every spectrogram), shown by one colour bar labelled
    ``colorbar_label``; titles are wrapped at ``wrap`` characters a line so that none is cut off.
    Notebooks: ``notebooks/01_data.ipynb`` and ``notebooks/02_architecture.ipynb``.
    """
    import textwrap

    import matplotlib.pyplot as plt

    if len(titles) != len(specs) or (seconds is not None and len(seconds) != len(specs)):
        raise ValueError(f"{len(specs)} spectrograms but {len(titles)} titles"
                         + ("" if seconds is None else f" and {len(seconds)} durations"))
    arrays = [spec.detach().cpu().float().numpy() for spec in specs]
    vmin, vmax = min(float(a.min()) for a in arrays), max(float(a.max()) for a in arrays)
    width, height = panel_size
    fig, axes = plt.subplots(1, len(arrays), figsize=(width * len(arrays), height), sharey=True,
                             squeeze=False, layout="constrained")
    image = None
    for i, (ax, array) in enumerate(zip(axes[0], arrays, strict=True)):
        extent = None if seconds is None else (0, seconds[i], 0, array.shape[0])
        image = ax.imshow(array, origin="lower", aspect="auto", cmap="magma", extent=extent,
                          vmin=vmin, vmax=vmax)
        ax.set_title(textwrap.fill(titles[i], wrap), fontsize=9)
        ax.set_xlabel(xlabel)
    axes[0, 0].set_ylabel(ylabel)
    fig.colorbar(image, ax=axes[0].tolist(), label=colorbar_label, shrink=0.9)
    if suptitle is not None:
        fig.suptitle(textwrap.fill(suptitle, 2 * wrap), fontsize=9)
    return fig
