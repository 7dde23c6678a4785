"""The audio front end against hand computations and AudioCLIP's documented conventions (facts.md 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from clipaac_lib.model.frontend import (
    LOG10_EPS,
    LinearFBSP,
    audioclip_input,
    blackman_harris,
    fbsp_power,
    frame_signal,
    log_power_bands,
    num_frames,
)


def test_audioclip_input_reproduces_int16_loader_then_model_rescale() -> None:
    # AudioCLIP: loader x * 32768, then scale(v, -32768, 32767, -1, 1) = (v + 32768) * 2 / 65535 - 1
    x = torch.tensor([-1.0, 0.0, 32767 / 32768, 0.5], dtype=torch.float64)
    expected = torch.tensor([-1.0, 1 / 65535, 1.0, (16384 + 32768) * 2 / 65535 - 1], dtype=torch.float64)
    torch.testing.assert_close(audioclip_input(x), expected, rtol=0, atol=1e-12)


def test_blackman_harris_is_harris_four_term_periodic_window() -> None:
    n = 1654
    k = np.arange(n)
    a = (0.35875, 0.48829, 0.14128, 0.01168)  # Harris (1978), Table 1, 4-term -92 dB
    expected = sum((-1) ** i * a[i] * np.cos(2 * np.pi * i * k / n) for i in range(4))
    window = blackman_harris(n, dtype=torch.float64).numpy()
    np.testing.assert_allclose(window, expected, atol=1e-12)
    assert window[0] == pytest.approx(a[0] - a[1] + a[2] - a[3])  # 6e-5 at the edge
    assert window[n // 2] == pytest.approx(1.0)  # peak a0 + a1 + a2 + a3 = 1 in the middle
    np.testing.assert_allclose(window[1:], window[1:][::-1], atol=1e-12)  # periodic: w[n] = w[N - n]
    assert window.sum() == pytest.approx(a[0] * n)  # full cosine periods sum to zero


def test_frame_signal_pads_half_left_half_right_like_audioclip() -> None:
    signal = torch.arange(1.0, 12.0)  # 11 samples
    # win 4, hop 3: 1 + ceil((11 - 4) / 3) = 4 frames need 13 samples -> 1 zero left, 1 right
    frames = frame_signal(signal, 4, 3)
    assert frames.shape == (4, 4)
    assert frames[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert frames[-1].tolist() == [9.0, 10.0, 11.0, 0.0]
    # a signal that fits exactly is not padded; one shorter than a frame gives one frame
    assert frame_signal(torch.arange(10.0), 4, 3)[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    short = frame_signal(torch.ones(1, 3), 6, 2)
    assert short.shape == (1, 1, 6) and short[0, 0].tolist() == [0.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def test_num_frames_int_and_tensor_agree_with_framing() -> None:
    lengths = [1, 1654, 1655, 44100, 44100 * 5 + 17]
    counts = num_frames(torch.tensor(lengths), 1654, 561)
    for length, count in zip(lengths, counts.tolist(), strict=True):
        assert num_frames(length, 1654, 561) == count
        assert frame_signal(torch.zeros(length), 1654, 561).shape[0] == count
    assert num_frames(44100, 1654, 561) == 1 + math.ceil((44100 - 1654) / 561) == 77


def _numpy_fbsp(m: np.ndarray, fb: np.ndarray, fc: np.ndarray, n: int) -> np.ndarray:
    """The fbsp kernel from its definition, with numpy complex arithmetic: (K, n) complex."""
    t = np.pi * np.linspace(-1.0, 1.0, n) + 1e-8
    arg = fb[:, None] * t[None, :] / (m[:, None] + 1e-8)
    sinc = np.where(arg == 0, 1.0, np.sin(arg) / np.where(arg == 0, 1.0, arg))
    win = np.power(sinc.astype(complex), m[:, None])  # principal value: |w|^m e^{i pi m} for w < 0
    return np.sqrt(fb)[:, None] * win * np.exp(-1j * fc[:, None] * t[None, :]) / np.sqrt(n)


def test_fbsp_at_initialisation_is_a_fourier_transform() -> None:
    n, bins = 64, 33
    fbsp = LinearFBSP(bins, normalized=True)
    x = torch.randn(5, n, dtype=torch.float64)
    re, im = fbsp.double()(x)
    t = np.pi * np.linspace(-1.0, 1.0, n) + 1e-8
    k = np.arange(bins)
    dft = x.numpy() @ np.exp(-1j * k[None, :] * t[:, None]) / np.sqrt(n)  # (5, bins)
    np.testing.assert_allclose(re.detach().numpy(), dft.real, atol=1e-9)
    np.testing.assert_allclose(im.detach().numpy(), dft.imag, atol=1e-9)


def test_fbsp_kernel_matches_its_definition_for_trained_like_parameters() -> None:
    n, bins = 48, 25
    gen = torch.Generator().manual_seed(0)
    fbsp = LinearFBSP(bins, normalized=True).double()
    with torch.no_grad():
        fbsp.m.copy_(torch.rand(bins, generator=gen, dtype=torch.float64) * 3)
        fbsp.fb.copy_(0.2 + torch.rand(bins, generator=gen, dtype=torch.float64) * 2)
        fbsp.fc.copy_(torch.rand(bins, generator=gen, dtype=torch.float64) * bins)
    w_re, w_im = fbsp.weights(n)
    expected = _numpy_fbsp(fbsp.m.detach().numpy(), fbsp.fb.detach().numpy(), fbsp.fc.detach().numpy(), n)
    np.testing.assert_allclose(w_re.detach().numpy(), expected.real, atol=1e-9)
    np.testing.assert_allclose(w_im.detach().numpy(), expected.imag, atol=1e-9)
    assert (fbsp.m.detach() > 0).all() and (expected.imag != 0).any()


def test_fbsp_power_equals_window_pad_transform_power() -> None:
    """The folded kernel equals AudioCLIP's order: frame, window, zero-pad to n_fft in the middle, fbsp."""
    n_fft, win, hop = 32, 22, 7
    fbsp = LinearFBSP(n_fft // 2 + 1, normalized=True).double()
    with torch.no_grad():
        fbsp.m.uniform_(0, 2)
    window = blackman_harris(win, dtype=torch.float64)
    audio = torch.randn(2, 100, dtype=torch.float64)
    frames = frame_signal(audio, win, hop) * window  # (2, T, win)
    pad = n_fft - win
    padded = F.pad(frames, (pad // 2, pad - pad // 2))  # (2, T, n_fft)
    re, im = fbsp(padded)
    expected = (re**2 + im**2).transpose(1, 2)  # (2, K, T)
    torch.testing.assert_close(fbsp_power(audio, fbsp, window, n_fft=n_fft, hop_length=hop), expected)


def test_log_power_bands_split_and_zero_floor() -> None:
    power = torch.arange(1.0, 1 + 2 * 7 * 4).reshape(2, 7, 4)  # 7 bins -> 3 bands of 2, last bin dropped
    power[0, 0, 0] = 0.0
    bands = log_power_bands(power, 3)
    assert bands.shape == (2, 3, 2, 4)
    assert bands[1, 2, 1, 3].item() == pytest.approx(10 * math.log10(power[1, 5, 3].item()))
    assert bands[0, 1, 0, 2].item() == pytest.approx(10 * math.log10(power[0, 2, 2].item()))
    assert bands[0, 0, 0, 0].item() == pytest.approx(10 * math.log10(LOG10_EPS))  # -180 dB


def test_fbsp_gradients_are_rescaled_to_unit_max_like_audioclip_hooks() -> None:
    window = blackman_harris(20)
    audio = torch.randn(3, 200)
    for normalize in (True, False):
        fbsp = LinearFBSP(17, normalized=True, grad_normalize=normalize)
        with torch.no_grad():
            fbsp.m.fill_(0.5)
        (fbsp_power(audio, fbsp, window, n_fft=32, hop_length=10).mean() * 1e3).backward()
        peaks = [p.grad.abs().max().item() for p in (fbsp.m, fbsp.fb, fbsp.fc)]
        if normalize:
            assert peaks == pytest.approx([1.0, 1.0, 1.0], abs=1e-6)
        else:
            assert all(abs(peak - 1.0) > 1e-3 for peak in peaks)
