"""Audio reading (mono mix-down, resampling, crop, pad) and the decoded-audio cache, against hand references."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from clipaac_lib.data import ClothoDataset, load_audio, pad_batch
from clipaac_lib.data import audio as audio_mod
from clipaac_lib.data.audio import AudioError
from clipaac_lib.data.cache import from_int16, to_int16
from tests.test_data_fixtures import CLIPS, RATE, write_clotho_folder


def _write_tone(path: Path, freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    wave = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float64)
    sf.write(str(path), wave, rate, subtype="FLOAT")
    return wave


def _peak_frequency(wave: np.ndarray, rate: int) -> float:
    windowed = wave * np.hanning(wave.shape[0])
    spectrum = np.abs(np.fft.rfft(windowed))
    return float(np.fft.rfftfreq(wave.shape[0], 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize(("orig", "new", "freq"), [(44100, 16000, 1000.0), (16000, 44100, 3000.0),
                                                    (44100, 32000, 440.0)])
def test_resampling_keeps_a_sines_frequency_and_amplitude(tmp_path: Path, orig: int, new: int, freq: float) -> None:
    _write_tone(tmp_path / "tone.wav", freq, orig, 1.0)
    out = load_audio(tmp_path / "tone.wav", new).numpy()
    assert out.shape[0] == math.ceil(orig * new / orig)  # 1 s in, 1 s out
    assert abs(_peak_frequency(out, new) - freq) <= 1.0  # 1 Hz FFT bins for a 1 s clip
    core = out[new // 10 : -new // 10]  # away from the edges, a 0.5 amplitude sine has rms 0.5 / sqrt(2)
    assert np.sqrt(np.mean(core**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_resampling_removes_what_the_new_rate_cannot_hold(tmp_path: Path) -> None:
    # a 10 kHz tone is above 16 kHz's Nyquist frequency (8 kHz): an anti-aliasing resampler drops it
    _write_tone(tmp_path / "high.wav", 10000.0, 44100, 1.0)
    out = load_audio(tmp_path / "high.wav", 16000).numpy()
    assert np.sqrt(np.mean(out[1600:-1600] ** 2)) < 0.01 * 0.5


def resampled_length(frames: int, orig_rate: int, new_rate: int) -> int:
    """The oracle: ceil(frames * new / old) after reducing the ratio (torchaudio's polyphase length)."""
    if orig_rate == new_rate:
        return frames
    g = math.gcd(orig_rate, new_rate)
    return math.ceil(frames * (new_rate // g) / (orig_rate // g))


def test_resampled_length_matches_torchaudio() -> None:
    for frames, orig, new in [(44100, 44100, 16000), (12345, 44100, 16000), (999, 16000, 44100), (7, 8, 8)]:
        wave = torch.zeros(frames)
        assert audio_mod.resample(wave, orig, new).shape[0] == resampled_length(frames, orig, new)


def test_mono_mix_down_is_the_channel_mean(tmp_path: Path) -> None:
    rate = 16000
    left = np.round(0.4 * np.sin(np.arange(rate) / 7.0) * 32767).astype(np.int16)
    right = np.round(-0.2 * np.cos(np.arange(rate) / 3.0) * 32767).astype(np.int16)
    sf.write(str(tmp_path / "stereo.wav"), np.stack([left, right], axis=1), rate, subtype="PCM_16")
    out = load_audio(tmp_path / "stereo.wav", rate).numpy()
    expected = (left.astype(np.float64) + right.astype(np.float64)) / 2 / 32768
    np.testing.assert_allclose(out, expected, atol=1e-7)


def test_crop_keeps_the_first_max_seconds_and_clamps(tmp_path: Path) -> None:
    wave = _write_tone(tmp_path / "long.wav", 300.0, 16000, 2.0, amplitude=1.2)  # over full scale on purpose
    out = load_audio(tmp_path / "long.wav", 16000, max_seconds=0.5)
    assert out.shape == (8000,)
    np.testing.assert_allclose(out.numpy(), np.clip(wave[:8000], -1, 1), atol=1e-6)


def test_missing_and_corrupt_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.wav"):
        load_audio(tmp_path / "nothing.wav", 16000)
    (tmp_path / "bad.wav").write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match=r"bad\.wav.*corrupt"):
        load_audio(tmp_path / "bad.wav", 16000)


def test_pad_batch_pads_with_zeros_and_returns_lengths() -> None:
    audio, lengths = pad_batch([torch.ones(3), torch.full((5,), -0.5), torch.arange(1.0, 2.0)])
    expected = torch.tensor([[1, 1, 1, 0, 0], [-0.5] * 5, [1, 0, 0, 0, 0]], dtype=torch.float32)
    assert torch.equal(audio, expected) and lengths.tolist() == [3, 5, 1] and lengths.dtype == torch.long


def test_pad_batch_keeps_int16_samples_and_refuses_a_mix() -> None:
    audio, lengths = pad_batch([torch.tensor([5, -7], dtype=torch.int16), torch.tensor([1, 2, 3], dtype=torch.int16)])
    assert audio.dtype == torch.int16 and audio.tolist() == [[5, -7, 0], [1, 2, 3]] and lengths.tolist() == [2, 3]
    with pytest.raises(ValueError, match="mixes int16"):
        pad_batch([torch.tensor([5], dtype=torch.int16), torch.ones(2)])


def test_int16_round_trip_is_within_half_a_step() -> None:
    x = torch.linspace(-1, 1, 10001)
    back = from_int16(to_int16(x))
    assert float((back - x).abs().max()) <= 1 / 32768  # 32767/32768 is the top code: 1.0 loses one step
    assert to_int16(torch.tensor([-1.0, 0.0, 0.5, 1.0])).tolist() == [-32768, 0, 16384, 32767]


# ---- the decoded-audio cache ----------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [RATE, 16000])
def test_cache_gives_the_same_samples_as_direct_decoding(tmp_path: Path, rate: int) -> None:
    write_clotho_folder(tmp_path)
    cached = ClothoDataset(tmp_path, "train", sample_rate=rate, cache=True, progress=False)
    direct = ClothoDataset(tmp_path, "train", sample_rate=rate, cache=False, progress=False)
    for i in range(len(direct)):
        a, b = cached[i]["audio"], direct[i]["audio"]
        assert a.shape == b.shape and a.dtype == b.dtype == torch.float32
        mono16 = rate == RATE and CLIPS[i].channels == 1  # 16-bit source at its own rate: exact
        assert float((a - b).abs().max()) <= (0 if mono16 else 0.5 / 32768 + 1e-7)
    assert (tmp_path / "clotho_v2.1" / ".cache" / f"development_{rate}hz_30s" / "audio.int16").is_file()


def test_cache_is_built_once_and_rebuilt_when_files_or_rate_change(tmp_path: Path, monkeypatch) -> None:
    folder = write_clotho_folder(tmp_path)
    first = ClothoDataset(tmp_path, "evaluation", sample_rate=16000, progress=False)
    before = first[0]["audio"].clone()
    calls: list[Path] = []
    real = audio_mod.load_audio

    def counting(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr("clipaac_lib.data.clotho.load_audio", counting)
    again = ClothoDataset(tmp_path, "evaluation", sample_rate=16000, progress=False)
    assert calls == [] and torch.equal(again[0]["audio"], before)  # read from the cache, nothing decoded

    # a changed source file invalidates the cache: the new content is decoded
    name = CLIPS[5].file_name
    sf.write(str(folder / "evaluation" / name), np.zeros(RATE // 4, dtype=np.int16), RATE, subtype="PCM_16")
    changed = ClothoDataset(tmp_path, "evaluation", sample_rate=16000, progress=False)
    assert len(calls) == 2 and float(changed[0]["audio"].abs().max()) == 0.0
    index = json.loads((folder / ".cache" / "evaluation_16000hz_30s" / "index.json").read_text())
    assert index["sample_rate"] == 16000 and index["names"] == [CLIPS[5].file_name, CLIPS[6].file_name]

    # another rate is another cache
    calls.clear()
    other = ClothoDataset(tmp_path, "evaluation", sample_rate=22050, progress=False)
    assert len(calls) == 2 and other[1]["audio"].shape[0] == resampled_length(int(0.24 * RATE), RATE, 22050)


def test_dataset_pickles_for_dataloader_workers(tmp_path: Path) -> None:
    import pickle

    write_clotho_folder(tmp_path)
    ds = ClothoDataset(tmp_path, "validation", sample_rate=16000, progress=False)
    first = ds[0]["audio"]
    clone = pickle.loads(pickle.dumps(ds))
    assert torch.equal(clone[0]["audio"], first)
