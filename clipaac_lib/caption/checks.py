"""Why a caption should not be trusted: clips too short for the front end, and digitally silent clips.

The model captions anything it is given, with the same confidence. Two kinds of input give it nothing to
describe, and :func:`clip_warnings` names them (``clipaac caption`` prints each on stderr, naming the file,
and still prints the caption):

- **too short**: fewer samples, at the model's rate, than one analysis window of the front end
  (``AudioConfig.win_length``: 480 samples = 30 ms for the small model, 1654 = 37.5 ms at 44.1 kHz for the
  paper's). Such a clip fills less than one spectrogram frame; :func:`clipaac_lib.model.frontend.frame_signal`
  zero-pads it to one, so the model hears mostly padding;
- **digitally silent**: the peak absolute amplitude is below :data:`SILENT_PEAK` of full scale.

Notebook: ``notebooks/07_caption_your_audio.ipynb``.
"""

from __future__ import annotations

from torch import Tensor

from clipaac_lib.model import ModelConfig

__all__ = ["SILENT_PEAK", "min_samples", "clip_warnings"]

#: Peak absolute amplitude (full scale = 1) below which a clip counts as digitally silent: 1e-4, i.e.
#: -80 dBFS, about three steps of 16-bit audio (one step is 1/32768 = 3.1e-5). Exact zeros and the dither
#: or rounding noise of a silent 16-bit recording fall below it; the quietest real recordings (a room's
#: background, about -60 dBFS and up) stay above it.
SILENT_PEAK = 1e-4


def min_samples(config: ModelConfig) -> int:
    """The fewest samples (at ``config.sample_rate``) that fill one analysis window of the front end:
    ``config.audio.win_length``."""
    return config.audio.win_length


def _milliseconds(samples: int, rate: int) -> float:
    return 1000.0 * samples / rate


def _too_short(audio: Tensor, config: ModelConfig) -> str | None:
    """Why a clip shorter than one analysis window cannot be trusted, or None."""
    count, window, rate = int(audio.shape[-1]), min_samples(config), config.sample_rate
    if count >= window:
        return None
    return (f"only {count} samples ({_milliseconds(count, rate):.1f} ms at {rate} Hz), shorter than one "
            f"analysis window of the model's front end ({window} samples, {_milliseconds(window, rate):.1f} "
            "ms): the model hears mostly zero padding, so its caption should not be trusted")


def _silent(audio: Tensor) -> str | None:
    """Why a digitally silent clip (peak below :data:`SILENT_PEAK`) cannot be trusted, or None."""
    peak = float(audio.abs().max()) if audio.numel() else 0.0
    if peak >= SILENT_PEAK:
        return None
    return (f"digitally silent (peak amplitude {peak:.1e} of full scale, below {SILENT_PEAK:g}): there is "
            "no sound to describe, so its caption should not be trusted")


def clip_warnings(audio: Tensor, config: ModelConfig) -> list[str]:
    """Why the caption of ``audio`` (S,), a waveform in [-1, 1] at ``config.sample_rate`` as the model
    hears it (after :func:`clipaac_lib.data.load_audio`), should not be trusted: a sentence per reason
    (too short, digitally silent), none for an ordinary clip.

    Notebook: ``notebooks/07_caption_your_audio.ipynb``.
    """
    return [reason for reason in (_too_short(audio, config), _silent(audio)) if reason is not None]
