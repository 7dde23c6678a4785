"""Notebook glue in ``clipaac_lib.data``: choosing the dataset folder, log-mel spectrograms and their plot
(notebooks 01 and 02)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from clipaac_lib.data import log_mel_spectrogram, plot_spectrograms, prepare_dataset
from clipaac_lib.data import prepare as prepare_module


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path))
    return tmp_path


def test_prepare_dataset_synthetic_generates_with_the_seed(cache: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake(root: Path, seed: int = 0) -> Path:
        calls.append((root, seed))
        return root / "clotho_v2.1"

    monkeypatch.setattr(prepare_module, "make_synthetic_clotho", fake)
    folder = prepare_dataset("synthetic", seed=7)
    assert calls == [(cache / "data" / "synthetic", 7)]
    assert folder == cache / "data" / "synthetic" / "clotho_v2.1"


def test_prepare_dataset_clotho_missing_present_and_download(cache: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError, match="download=True"):
        prepare_dataset("clotho")
    downloads = []
    monkeypatch.setattr(prepare_module, "download_clotho",
                        lambda root: downloads.append(root) or Path(root) / "clotho_v2.1")
    assert prepare_dataset("clotho", download=True) == cache / "data" / "clotho_v2.1"
    assert downloads == [cache / "data"]
    (cache / "data" / "clotho_v2.1").mkdir()
    assert prepare_dataset("clotho") == cache / "data" / "clotho_v2.1"
    assert len(downloads) == 1  # present and download=False: nothing fetched


def test_prepare_dataset_rejects_unknown_names(cache: Path) -> None:
    with pytest.raises(ValueError, match="'synthetic', 'clotho'.*'audiocaps'"):
        prepare_dataset("audiocaps")


def _hz_to_mel(hz: float) -> float:  # HTK, torchaudio's default
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: float) -> float:
    return 700.0 * (10 ** (mel / 2595.0) - 1.0)


def test_log_mel_of_a_tone_peaks_in_its_mel_band_and_silence_is_minus_100_db() -> None:
    sample_rate, n_mels, band = 16000, 64, 20
    centre = _mel_to_hz((band + 1) * _hz_to_mel(sample_rate / 2) / (n_mels + 1))  # centre of band 20
    t = torch.arange(sample_rate) / sample_rate  # one second
    spec = log_mel_spectrogram(torch.sin(2 * math.pi * centre * t), sample_rate, n_mels=n_mels)
    assert spec.shape == (n_mels, 1 + sample_rate // 256)
    assert spec.mean(dim=1).argmax().item() == band
    silence = log_mel_spectrogram(torch.zeros(4096), sample_rate)
    torch.testing.assert_close(silence, torch.full((64, 17), -100.0))


def test_log_mel_rejects_batches() -> None:
    with pytest.raises(ValueError, match="one waveform"):
        log_mel_spectrogram(torch.zeros(2, 4096), 16000)


def test_plot_spectrograms_panels_titles_and_axes() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    specs = [torch.rand(8, 5), torch.rand(8, 7)]
    fig = plot_spectrograms(specs, ["a", "b"], xlabel="seconds", ylabel="mel band", seconds=[2.0, 3.5],
                            suptitle="caption")
    axes, colorbar = fig.axes[:2], fig.axes[2]  # two panels, then the shared colour bar
    assert [ax.get_title() for ax in axes] == ["a", "b"]
    assert colorbar.get_ylabel() == "dB"
    low = min(float(s.min()) for s in specs)
    high = max(float(s.max()) for s in specs)
    assert [im.get_clim() for ax in axes for im in ax.get_images()] == [(low, high)] * 2  # one scale
    assert [ax.get_xlabel() for ax in axes] == ["seconds", "seconds"]
    assert axes[0].get_ylabel() == "mel band" and axes[1].get_ylabel() == ""
    assert axes[1].get_images()[0].get_extent() == [0, 3.5, 0, 8]
    torch.testing.assert_close(torch.as_tensor(axes[0].get_images()[0].get_array()), specs[0])
    assert fig._suptitle.get_text() == "caption"
    assert tuple(fig.get_size_inches()) == (8.0, 3.0)
    plt.close(fig)
    frames = plot_spectrograms(torch.rand(3, 4, 6), ["1", "2", "3"], xlabel="frame", ylabel="bin")
    assert len(frames.axes) == 4 and frames.axes[0].get_images()[0].get_extent() == [-0.5, 5.5, -0.5, 3.5]
    plt.close(frames)
    long = plot_spectrograms(specs, ["clip 0000.wav: " + "word " * 20, "b"], xlabel="x", ylabel="y")
    assert all(len(line) <= 38 for line in long.axes[0].get_title().splitlines())  # wrapped, not cut
    plt.close(long)
    with pytest.raises(ValueError, match="2 spectrograms but 1 titles"):
        plot_spectrograms(specs, ["a"], xlabel="x", ylabel="y")
