"""Fourteen sound-event synthesisers for the synthetic, Clotho-format dataset (numpy only).

Each synthesiser takes a random generator, a sample rate, a length in samples and, for some events,
one audible attribute, and returns a float64 waveform with peak 1; loudness is applied by the scene
renderer (:mod:`clipaac_lib.data.synth_scenes`). The attributes are chosen to be clearly audible:

========== ============ ==============================================================
event      attribute    what the synthesiser does
========== ============ ==============================================================
beep       pitch        short sine beeps, 520 Hz (low) or 1560 Hz (high), 2.5 per second
hum        -            mains-like hum: 95-125 Hz with five harmonics, slow wobble
siren      speed        sine sweeping 600-1300 Hz, 0.4 sweeps/s (slow) or 2.5/s (fast)
chirp      -            bird-like chirps: fast 2.5-4.5 kHz glides in groups of 2-4
ticking    speed        3 ms clicks (2-6 kHz), 2 per second (slow) or 7 (fast)
knocking   speed        damped 180/420 Hz thumps, 1.5 per second (slow) or 5 (fast)
bell       pitch        inharmonic partials decaying over ~1 s, 330 Hz (low) or 990 Hz (high)
rain       -            0.8-7 kHz noise plus about 40 droplet clicks per second
engine     -            28-36 Hz pulse train through a 400 Hz low-pass, plus rumble
crackle    -            fire-like: sparse sharp crackles of random size over a soft roar
drum       speed        kick drum (pitch drops 160 -> 55 Hz), 1.5 hits/s (slow) or 4.5 (fast)
dripping   speed        water drops (rising 0.8 -> 1.8 kHz plinks), 1.2/s (slow) or 4/s (fast)
wind       -            100-1200 Hz noise with slow gusts
whistle    pitch        0.6-1 s tones with vibrato, 900 Hz (low) or 2400 Hz (high)
========== ============ ==============================================================

Every component stays below 8 kHz, so any sample rate of at least 16 kHz renders the events
without aliasing. Notebook: ``notebooks/01_data.ipynb`` (section "A synthetic Clotho").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["ATTRIBUTE_VALUES", "EVENTS", "EventType", "render_event", "band_noise"]

Rng = np.random.Generator
Synth = Callable[[Rng, int, int, "str | None"], np.ndarray]
ATTRIBUTE_VALUES: dict[str, tuple[str, str]] = {"pitch": ("low", "high"), "speed": ("slow", "fast")}


def band_noise(rng: Rng, n: int, sr: int, low: float, high: float) -> np.ndarray:
    """White noise band-passed to [low, high] Hz by an FFT mask with 20 %-wide cosine edges; peak 1."""
    size = 1 << max(0, (n - 1).bit_length())  # a power-of-two FFT, then keep the first n samples
    spectrum = np.fft.rfft(rng.standard_normal(size))
    freqs = np.fft.rfftfreq(size, 1.0 / sr)
    mask = ((freqs >= low) & (freqs <= high)).astype(np.float64)
    for edge, sign in ((low, -1.0), (high, 1.0)):
        width = 0.2 * edge
        ramp = (np.abs(freqs - edge) < width) & ((freqs - edge) * sign > 0)
        mask[ramp] = 0.5 * (1 + np.cos(np.pi * np.abs(freqs[ramp] - edge) / width))
    out = np.fft.irfft(spectrum * mask, size)[:n]
    return out / (np.max(np.abs(out)) + 1e-12)


def _grains(rng: Rng, sr: int, count: int, m: int, low: float, high: float) -> np.ndarray:
    """``count`` band-passed noise grains of ``m`` samples, cut from one long filtered noise."""
    noise = band_noise(rng, max(1, count) * m + m, sr, low, high)
    return noise[: max(1, count) * m].reshape(max(1, count), m)


def _time(n: int, sr: int) -> np.ndarray:
    return np.arange(n) / sr


def _fade(n: int, sr: int, attack: float = 0.005, release: float = 0.005) -> np.ndarray:
    env = np.ones(n)
    a, r = max(1, min(n // 2, int(attack * sr))), max(1, min(n // 2, int(release * sr)))
    env[:a] = np.linspace(0.0, 1.0, a)
    env[n - r :] = np.minimum(env[n - r :], np.linspace(1.0, 0.0, r))
    return env


def _onsets(rng: Rng, n: int, sr: int, rate: float, jitter: float = 0.1) -> list[int]:
    """Roughly regular onsets at ``rate`` per second (period jittered by +-``jitter``)."""
    times, t = [], rng.uniform(0.0, 0.5 / rate)
    while t < n / sr:
        times.append(int(t * sr))
        t += rng.uniform(1 - jitter, 1 + jitter) / rate
    return times


def _place(out: np.ndarray, grain: np.ndarray, start: int) -> None:
    end = min(out.shape[0], start + grain.shape[0])
    if start < end:
        out[start:end] += grain[: end - start]


def _beep(rng: Rng, sr: int, n: int, pitch: str | None) -> np.ndarray:
    freq = (1560.0 if pitch == "high" else 520.0) * rng.uniform(0.97, 1.03)
    m = int(0.15 * sr)
    t = _time(m, sr)
    grain = (np.sin(2 * np.pi * freq * t) + 0.2 * np.sin(4 * np.pi * freq * t)) * _fade(m, sr)
    out = np.zeros(n)
    for start in _onsets(rng, n, sr, 2.5, jitter=0.02):
        _place(out, grain, start)
    return out


def _hum(rng: Rng, sr: int, n: int, _: str | None) -> np.ndarray:
    f0, t = rng.uniform(95.0, 125.0), _time(n, sr)
    out = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 7))
    return np.asarray(out) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t))


def _siren(rng: Rng, sr: int, n: int, speed: str | None) -> np.ndarray:
    rate = (2.5 if speed == "fast" else 0.4) * rng.uniform(0.9, 1.1)
    t = _time(n, sr)
    freq = 950.0 + 350.0 * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return np.sin(phase) + 0.3 * np.sin(2 * phase)


def _chirp(rng: Rng, sr: int, n: int, _: str | None) -> np.ndarray:
    out = np.zeros(n)
    for group in _onsets(rng, n, sr, 1.3, jitter=0.3):
        start = group
        for _k in range(int(rng.integers(2, 5))):
            m = int(rng.uniform(0.05, 0.1) * sr)
            f_start, f_end = rng.uniform(2500, 4500), rng.uniform(2500, 4500)
            freq = np.linspace(f_start, f_end, m)
            grain = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.sin(np.pi * np.arange(m) / m) ** 2
            _place(out, grain, start)
            start += m + int(rng.uniform(0.02, 0.06) * sr)
    return out


def _ticking(rng: Rng, sr: int, n: int, speed: str | None) -> np.ndarray:
    rate = 7.0 if speed == "fast" else 2.0
    m = int(0.004 * sr)
    out = np.zeros(n)
    onsets = _onsets(rng, n, sr, rate, jitter=0.01)
    grains = _grains(rng, sr, len(onsets), m, 2000, 6000) * np.exp(-np.arange(m) / (0.0008 * sr))
    for k, start in enumerate(onsets):
        _place(out, grains[k] * (1.0 if k % 2 == 0 else 0.7), start)
    return out


def _knocking(rng: Rng, sr: int, n: int, speed: str | None) -> np.ndarray:
    rate = 5.0 if speed == "fast" else 1.5
    m = int(0.12 * sr)
    t = _time(m, sr)
    out = np.zeros(n)
    onsets = _onsets(rng, n, sr, rate, jitter=0.08)
    body = (np.sin(2 * np.pi * 180 * t) + 0.6 * np.sin(2 * np.pi * 420 * t)) * np.exp(-t / 0.025)
    noise = _grains(rng, sr, len(onsets), m, 200, 2000) * np.exp(-t / 0.005)
    for k, start in enumerate(onsets):
        _place(out, body + 0.3 * noise[k], start)
    return out


def _bell(rng: Rng, sr: int, n: int, pitch: str | None) -> np.ndarray:
    f0 = (990.0 if pitch == "high" else 330.0) * rng.uniform(0.97, 1.03)
    m = min(n, int(1.6 * sr))
    t = _time(m, sr)
    partials = ((1.0, 1.0, 0.9), (2.0, 0.6, 0.6), (2.4, 0.5, 0.45), (3.0, 0.35, 0.35), (4.1, 0.2, 0.25))
    grain = sum(a * np.sin(2 * np.pi * r * f0 * t) * np.exp(-t / tau) for r, a, tau in partials)
    grain = np.asarray(grain) * _fade(m, sr, 0.002, 0.05)
    out = np.zeros(n)
    for start in _onsets(rng, n, sr, 0.8, jitter=0.15):
        _place(out, grain, start)
    return out


def _rain(rng: Rng, sr: int, n: int, _: str | None) -> np.ndarray:
    out = 0.5 * band_noise(rng, n, sr, 800, 7000)
    m = int(0.003 * sr)
    for _k in range(int(40 * n / sr)):
        grain = rng.uniform(0.3, 1.0) * rng.standard_normal(m) * np.exp(-np.arange(m) / (0.0007 * sr))
        _place(out, grain, int(rng.integers(0, n)))
    return out


def _engine(rng: Rng, sr: int, n: int, _: str | None) -> np.ndarray:
    firing, t = rng.uniform(28.0, 36.0), _time(n, sr)
    pulses = (np.sin(2 * np.pi * firing * t) > 0.6).astype(np.float64)
    size = 1 << max(0, (n - 1).bit_length())
    spectrum = np.fft.rfft(pulses - pulses.mean(), size)
    spectrum[np.fft.rfftfreq(size, 1.0 / sr) > 400] = 0.0
    out = np.fft.irfft(spectrum, size)[:n]
    out = out / (np.max(np.abs(out)) + 1e-12) + 0.4 * band_noise(rng, n, sr, 30, 300)
    return out * (1 + 0.1 * np.sin(2 * np.pi * 0.5 * t))


def _crackle(rng: Rng, sr: int, n: int, _: str | None) -> np.ndarray:
    out = 0.15 * band_noise(rng, n, sr, 100, 800)
    m = int(0.002 * sr)
    count = int(15 * n / sr)
    grains = _grains(rng, sr, count, m, 1000, 7000) * np.exp(-np.arange(m) / (0.0005 * sr))
    for k in range(count):
        size = min(1.0, 0.2 * (1 + rng.pareto(2.0)))
        _place(out, size * grains[k], int(rng.integers(0, n)))
    return out


def _drum(rng: Rng, sr: int, n: int, speed: str | None) -> np.ndarray:
    rate = 4.5 if speed == "fast" else 1.5
    m = int(0.25 * sr)
    t = _time(m, sr)
    freq = 55.0 + 105.0 * np.exp(-t / 0.03)
    grain = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.1)
    out = np.zeros(n)
    onsets = _onsets(rng, n, sr, rate, jitter=0.02)
    clicks = 0.3 * _grains(rng, sr, len(onsets), m, 1000, 5000) * np.exp(-t / 0.003)
    for k, start in enumerate(onsets):
        _place(out, grain + clicks[k], start)
    return out


def _dripping(rng: Rng, sr: int, n: int, speed: str | None) -> np.ndarray:
    rate = 4.0 if speed == "fast" else 1.2
    m = int(0.08 * sr)
    t = _time(m, sr)
    out = np.zeros(n)
    for start in _onsets(rng, n, sr, rate, jitter=0.25):
        f_lo = rng.uniform(700, 900)
        freq = f_lo + 2.0 * f_lo * (1 - np.exp(-t / 0.02)) * 0.55
        grain = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.02) * _fade(m, sr, 0.001, 0.01)
        _place(out, grain, start)
    return out


def _wind(rng: Rng, sr: int, n: int, _: str | None) -> np.ndarray:
    t = _time(n, sr)
    gusts = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t + rng.uniform(0, 2 * np.pi))
    return band_noise(rng, n, sr, 100, 1200) * gusts


def _whistle(rng: Rng, sr: int, n: int, pitch: str | None) -> np.ndarray:
    f0 = (2400.0 if pitch == "high" else 900.0) * rng.uniform(0.97, 1.03)
    out = np.zeros(n)
    start = int(rng.uniform(0.0, 0.2) * sr)
    while start < n:
        m = int(rng.uniform(0.6, 1.0) * sr)
        t = _time(m, sr)
        freq = f0 * (1 + 0.02 * np.sin(2 * np.pi * 5.0 * t))
        _place(out, np.sin(2 * np.pi * np.cumsum(freq) / sr) * _fade(m, sr, 0.03, 0.05), start)
        start += m + int(rng.uniform(0.2, 0.4) * sr)
    return out


@dataclass(frozen=True)
class EventType:
    """A synthesisable event: its name, its audible attribute (``pitch``/``speed``/None) and synthesiser."""

    name: str
    attribute: str | None
    synth: Synth


EVENTS: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("beep", "pitch", _beep),
        EventType("hum", None, _hum),
        EventType("siren", "speed", _siren),
        EventType("chirp", None, _chirp),
        EventType("ticking", "speed", _ticking),
        EventType("knocking", "speed", _knocking),
        EventType("bell", "pitch", _bell),
        EventType("rain", None, _rain),
        EventType("engine", None, _engine),
        EventType("crackle", None, _crackle),
        EventType("drum", "speed", _drum),
        EventType("dripping", "speed", _dripping),
        EventType("wind", None, _wind),
        EventType("whistle", "pitch", _whistle),
    )
}


def render_event(name: str, rng: Rng, sample_rate: int, num_samples: int, attribute: str | None = None) -> np.ndarray:
    """Waveform (num_samples,) of event ``name`` with peak 1 and 10 ms fades at both ends."""
    if name not in EVENTS:
        raise ValueError(f"unknown event type {name!r}; known: {', '.join(EVENTS)}")
    event = EVENTS[name]
    if event.attribute is not None and attribute not in ATTRIBUTE_VALUES[event.attribute]:
        raise ValueError(f"event {name!r} needs {event.attribute} in {ATTRIBUTE_VALUES[event.attribute]}, "
                         f"got {attribute!r}")
    if num_samples <= 0:
        raise ValueError(f"num_samples must be positive, got {num_samples}")
    wave = event.synth(rng, sample_rate, num_samples, attribute) * _fade(num_samples, sample_rate, 0.01, 0.01)
    peak = float(np.max(np.abs(wave)))
    return wave / peak if peak > 0 else wave
