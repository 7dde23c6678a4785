"""The audio head's front end, as AudioCLIP computes it: waveform -> log-power spectrogram in bands.

Steps (AudioCLIP ``model/esresnet/base.py`` and ``fbsp.py``, rewritten):

1. **Input convention.** AudioCLIP's loader multiplies [-1, 1] audio by 32768 and the model maps the
   int16 range back with ``scale(x, -32768, 32767, -1, 1)``. :func:`audioclip_input` applies both steps to
   our [-1, 1] waveforms, so pretrained weights see exactly the values they were trained on.
2. **Framing.** :func:`frame_signal`: frames of ``win_length`` every ``hop_length`` samples; a signal
   that does not fill the last frame is zero-padded, half the padding on the left, half on the right.
3. **Window.** A periodic 4-term Blackman-Harris window (:func:`blackman_harris`).
4. **Frequency B-spline transform.** :class:`LinearFBSP`: a learnable complex linear map from a
   ``n_fft``-sample frame (the window zero-padded to ``n_fft`` in the middle) to ``n_fft // 2 + 1`` bins.
   Each bin k has a centre frequency ``fc[k]``, a bandwidth ``fb[k]`` and a spline order ``m[k]``; the
   kernel is ``sqrt(fb) * sinc(fb t / m)^m * exp(-i fc t)`` on ``t = pi * linspace(-1, 1, n_fft)``. At
   initialisation (m = 0, fb = 1, fc = k) it is a discrete Fourier transform.
5. **Bands and log power.** :func:`log_power_bands`: power re^2 + im^2, the bins cut to a multiple of
   ``num_bands`` and split into ``num_bands`` contiguous bands that become image channels; zeros are
   replaced by 1e-18 and the result is ``10 * log10``.

Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "LOG10_EPS",
    "audioclip_input",
    "blackman_harris",
    "frame_signal",
    "num_frames",
    "LinearFBSP",
    "fbsp_power",
    "log_power_bands",
]

LOG10_EPS = 1e-18  # AudioCLIP replaces zero power by this before log10
_FBSP_EPS = 1e-8  # AudioCLIP's small constant in the fbsp kernel
_BLACKMAN_HARRIS = (0.35875, 0.48829, 0.14128, 0.01168)  # Harris (1978), 4-term, -92 dB sidelobes


def audioclip_input(audio: Tensor) -> Tensor:
    """Map [-1, 1] audio to what AudioCLIP's network sees: ``scale(32768 * x, -32768, 32767, -1, 1)``.

    That is ``(32768 x + 32768) * 2 / 65535 - 1``, the identity up to a factor 65536/65535 and an offset
    of 1/65535.
    """
    return (audio * 32768.0 + 32768.0) * (2.0 / 65535.0) - 1.0


def blackman_harris(length: int, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """The periodic (FFT-ready) 4-term Blackman-Harris window of ``length`` samples.

    ``w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N) - a3 cos(6 pi n / N)``, ``N = length``
    (scipy's ``get_window('blackmanharris', N, fftbins=True)``).
    """
    if length < 1:
        raise ValueError(f"window length must be positive, got {length}")
    a0, a1, a2, a3 = _BLACKMAN_HARRIS
    phase = 2.0 * math.pi * torch.arange(length, dtype=torch.float64) / length
    window = a0 - a1 * torch.cos(phase) + a2 * torch.cos(2 * phase) - a3 * torch.cos(3 * phase)
    return window.to(dtype)


def num_frames(num_samples: int | Tensor, win_length: int, hop_length: int) -> int | Tensor:
    """Number of frames :func:`frame_signal` makes of ``num_samples`` samples (1 for short signals)."""
    if isinstance(num_samples, Tensor):
        extra = (num_samples - win_length).clamp_min(0)
        return 1 + torch.div(extra + hop_length - 1, hop_length, rounding_mode="floor")
    if num_samples <= win_length:
        return 1
    return 1 + math.ceil((num_samples - win_length) / hop_length)


def frame_signal(signal: Tensor, win_length: int, hop_length: int) -> Tensor:
    """Cut ``signal`` (..., S) into frames (..., T, win_length), zero-padding the ends like AudioCLIP.

    The padding needed to fill the last frame is split: ``extra // 2`` zeros before the signal and the
    rest after it.
    """
    length = signal.shape[-1]
    frames = num_frames(length, win_length, hop_length)
    padded = (frames - 1) * hop_length + win_length
    extra = padded - length
    if extra > 0:
        signal = F.pad(signal, (extra // 2, extra - extra // 2))
    return signal.unfold(-1, win_length, hop_length)  # (..., T, win_length)


class _ScaleGradToUnitMax(torch.autograd.Function):
    """Identity forward; backward divides the gradient by its max-abs (+1e-8), like AudioCLIP's hooks."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, value: Tensor) -> Tensor:  # type: ignore[override]
        return value.view_as(value)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> Tensor:  # type: ignore[override]
        return grad / (grad.abs().max() + _FBSP_EPS)


def _sinc(x: Tensor) -> Tensor:
    """sin(x) / x with sinc(0) = 1 and a finite gradient at 0."""
    zero = x == 0
    safe = torch.where(zero, torch.ones_like(x), x)
    return torch.where(zero, torch.ones_like(x), torch.sin(safe) / safe)


class LinearFBSP(nn.Module):
    """AudioCLIP's learnable frequency-B-spline transform with ``out_features`` complex outputs.

    Parameters ``m`` (spline order), ``fb`` (bandwidth), ``fc`` (centre frequency), one per output, and
    an empty ``bias`` buffer (AudioCLIP builds it without bias; the name keeps checkpoints loadable).
    ``grad_normalize`` reproduces AudioCLIP's gradient hooks: each parameter's gradient is divided by its
    max-abs value. With ``defer_grad_normalize = True`` the backward pass leaves the gradients as they are
    and :meth:`normalize_grads` rescales the accumulated ones instead: data-parallel training does this
    after the gradients are averaged over processes, which then equals the rescaling of one process
    holding the whole batch. Notebook: ``notebooks/02_architecture.ipynb``.
    """

    def __init__(self, out_features: int, *, normalized: bool = True, grad_normalize: bool = True) -> None:
        super().__init__()
        self.out_features = out_features
        self.normalized = normalized
        self.grad_normalize = grad_normalize
        self.defer_grad_normalize = False
        self.m = nn.Parameter(torch.zeros(out_features))
        self.fb = nn.Parameter(torch.ones(out_features))
        self.fc = nn.Parameter(torch.arange(out_features, dtype=torch.float32))
        self.register_buffer("bias", torch.empty(0))

    def weights(self, in_features: int) -> tuple[Tensor, Tensor]:
        """Real and imaginary kernels, each (out_features, in_features)."""
        m, fb, fc = self.m, self.fb, self.fc
        if self.grad_normalize and not self.defer_grad_normalize and torch.is_grad_enabled():
            m, fb, fc = (_ScaleGradToUnitMax.apply(p) for p in (m, fb, fc))
        dtype = torch.promote_types(
            m.dtype, torch.float32
        )  # phases fc * t reach ~3000 rad: no half precision
        m, fb, fc = m.to(dtype), fb.to(dtype), fc.to(dtype)
        m, fb, fc = m[:, None], fb[:, None], fc[:, None]  # (K, 1)
        t = math.pi * torch.linspace(-1.0, 1.0, in_features, dtype=m.dtype, device=m.device) + _FBSP_EPS
        t = t[None, :]  # (1, N)
        # window sinc(fb t / m) raised to the real power m: |w|^m e^{i m arg(w)}, arg(w) in {0, pi}
        win = _sinc(fb * t / (m + _FBSP_EPS))  # (K, N)
        magnitude = win.abs() ** m
        phase = torch.where(win < 0, torch.full_like(win, math.pi), torch.zeros_like(win)) * m
        win_re, win_im = magnitude * torch.cos(phase), magnitude * torch.sin(phase)
        ker_re, ker_im = torch.cos(fc * t), -torch.sin(fc * t)  # exp(-i fc t)
        scale = fb.sqrt()
        w_re = scale * (win_re * ker_re - win_im * ker_im)
        w_im = scale * (win_re * ker_im + win_im * ker_re)
        if self.normalized:
            w_re, w_im = w_re / in_features**0.5, w_im / in_features**0.5
        return w_re, w_im

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Real input (..., in_features) -> (real, imaginary) outputs, each (..., out_features)."""
        w_re, w_im = self.weights(x.shape[-1])
        out = F.linear(x, torch.cat([w_re, w_im]))  # (..., 2K)
        return out[..., : self.out_features], out[..., self.out_features :]

    def normalize_grads(self) -> None:
        """Divide the accumulated gradients of ``m``, ``fb``, ``fc`` by their max-abs (+1e-8), the same
        rescaling as the backward hooks; for ``defer_grad_normalize`` (a no-op without ``grad_normalize``)."""
        if not self.grad_normalize:
            return
        for param in (self.m, self.fb, self.fc):
            if param.grad is not None:
                param.grad.div_(param.grad.abs().max() + _FBSP_EPS)

    def extra_repr(self) -> str:
        return f"out_features={self.out_features}, normalized={self.normalized}"


def fbsp_power(audio: Tensor, fbsp: LinearFBSP, window: Tensor, *, n_fft: int, hop_length: int) -> Tensor:
    """Power spectrogram (B, K, T) of int16-convention-mapped ``audio`` (B, S) through ``fbsp``.

    Equivalent to windowing each frame, zero-padding it to ``n_fft`` (``(n_fft - win) // 2`` zeros on the
    left) and applying ``fbsp``; the zero columns are skipped and the window is folded into the kernel.
    """
    win_length = window.shape[0]
    with torch.no_grad():
        frames = frame_signal(audio, win_length, hop_length)  # (B, T, win)
    w_re, w_im = fbsp.weights(n_fft)  # (K, n_fft) each
    left = (n_fft - win_length) // 2
    kernel = torch.cat([w_re, w_im])[:, left : left + win_length] * window  # (2K, win)
    kernel = kernel.to(frames.dtype)
    spec = F.linear(frames, kernel)  # (B, T, 2K)
    re, im = spec[..., : fbsp.out_features], spec[..., fbsp.out_features :]
    return (re**2 + im**2).transpose(1, 2)  # (B, K, T)


def log_power_bands(power: Tensor, num_bands: int) -> Tensor:
    """(B, K, T) power -> (B, num_bands, K // num_bands, T) log power in dB (zeros -> 1e-18 first)."""
    batch, bins, steps = power.shape
    height = bins // num_bands
    bands = power[:, : num_bands * height].reshape(batch, num_bands, height, steps)
    bands = torch.where(bands > 0.0, bands, torch.full_like(bands, LOG10_EPS))
    return 10.0 * torch.log10(bands)
