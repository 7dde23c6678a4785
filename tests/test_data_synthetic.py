"""The synthetic Clotho-format dataset: format, determinism, captions that say only what is audible."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from clipaac_lib.cli.main import main as cli_main
from clipaac_lib.data import ClothoDataset, dataset_summary, make_synthetic_clotho, normalize_caption
from clipaac_lib.data import synthetic as synthetic_mod
from clipaac_lib.data.synth_scenes import Event, Scene, render_scene
from clipaac_lib.data.synth_sounds import EVENTS, render_event
from tests.conftest import TINY_CLIP_SECONDS, TINY_SIZES

SMALL = {"development": 6, "validation": 2, "evaluation": 3}
SR = 16000

# Words that name each sound in a caption, written independently of the grammar tables.
NAMES = {
    "beep": ("beep", "beeps", "beeping"), "hum": ("hum", "humming"), "siren": ("siren",),
    "chirp": ("bird",), "ticking": ("ticking", "tick"), "knocking": ("knocking", "knocks", "knock"),
    "bell": ("bell",), "rain": ("rain", "rainfall"), "engine": ("engine", "motor"),
    "crackle": ("crackling", "crackle"), "drum": ("drum", "drumming"), "dripping": ("dripping", "drip"),
    "wind": ("wind", "breeze"), "whistle": ("whistle", "whistling"), "noise": ("static", "hiss", "white"),
}
ATTRIBUTE_WORDS = {"loud": {"loud", "strong", "powerful"}, "high": {"shrill", "high"},
                   "fast": {"fast", "rapid", "quick"}, "slow": {"slow", "unhurried", "leisurely"}}


def _folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def default_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic_clotho(tmp_path_factory.mktemp("default"), progress=False)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = make_synthetic_clotho(tmp_path / "a", seed=7, sizes=SMALL, progress=False)
    b = make_synthetic_clotho(tmp_path / "b", seed=7, sizes=SMALL, progress=False)
    c = make_synthetic_clotho(tmp_path / "c", seed=8, sizes=SMALL, progress=False)
    assert a == tmp_path / "a" / "clotho_v2.1"
    assert _folder_digest(a) == _folder_digest(b) != _folder_digest(c)


def test_clotho_format_and_read_back_with_the_loader(tmp_path: Path) -> None:
    folder = make_synthetic_clotho(tmp_path, sizes=SMALL, progress=False)
    lengths: set[int] = set()
    for split, size in SMALL.items():
        raw = (folder / f"clotho_captions_{split}.csv").read_bytes()
        line_end = b"\n" if split == "evaluation" else b"\r\n"
        assert raw.startswith(b"file_name,caption_1,caption_2,caption_3,caption_4,caption_5" + line_end)
        assert raw.count(line_end) == size + 1 and (split != "evaluation" or b"\r" not in raw)
        meta = (folder / f"clotho_metadata_{split}.csv").read_bytes().decode("iso-8859-1")
        assert meta.startswith("file_name,keywords,sound_id,sound_link,start_end_samples,manufacturer,license")
        with open(folder / f"clotho_captions_{split}.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))[1:]
        ds = ClothoDataset(tmp_path, split, sample_rate=SR, progress=False)
        assert len(ds) == size and ds.file_names == [r[0] for r in rows]
        for i, row in enumerate(rows):
            info = sf.info(str(folder / split / row[0]))
            assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
            seconds = info.frames / SR  # the default lengths: 3 to 6 s in steps of 0.5 s
            assert 3.0 <= seconds <= 6.0 and seconds * 2 == int(seconds * 2)
            lengths.add(info.frames)
            item = ds[i]
            assert item["captions"] == row[1:] and item["audio"].shape == (info.frames,)
            assert 0 < float(item["audio"].abs().max()) <= 0.99 + 1e-4
    assert len(lengths) > 1  # clips differ in length, as Clotho's do


def test_an_empty_split_is_written_header_only(tiny_clotho: Path) -> None:
    assert TINY_SIZES["validation"] == 0
    assert (tiny_clotho / "clotho_v2.1" / "clotho_captions_validation.csv").read_bytes() == (
        b"file_name,caption_1,caption_2,caption_3,caption_4,caption_5\r\n")
    train = ClothoDataset(tiny_clotho, "train", sample_rate=SR, progress=False)
    assert len(train) == TINY_SIZES["development"]
    assert train[0]["audio"].shape == (int(TINY_CLIP_SECONDS * SR),)
    assert len(ClothoDataset(tiny_clotho, "validation", sample_rate=SR, progress=False)) == 0


def _kinds_named(caption: str) -> set[str]:
    words = normalize_caption(caption).split()
    return {kind for kind, names in NAMES.items() if any(n in words for n in names)}


def test_five_distinct_captions_of_8_to_20_words_that_name_exactly_the_audible_sounds(default_set: Path) -> None:
    scenes = json.loads((default_set / "synthetic_scenes.json").read_text())
    for split in ("development", "validation", "evaluation"):
        with open(default_set / f"clotho_captions_{split}.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))[1:]
        assert len(rows) == len(scenes[split]) == {"development": 240, "validation": 60, "evaluation": 300}[split]
        for row, scene in zip(rows, scenes[split], strict=True):
            assert row[0] == scene["file_name"]
            captions = row[1:]
            assert len(captions) == 5 and len({normalize_caption(c) for c in captions}) == 5
            truth = {e["kind"] for e in scene["events"]} | ({scene["background"]} if scene["background"] else set())
            values = {e["loudness"] for e in scene["events"]} | {e["attribute"] for e in scene["events"]}
            for caption in captions:
                assert 8 <= len(normalize_caption(caption).split()) <= 20, caption
                assert _kinds_named(caption) == truth, (caption, truth)
                words = set(normalize_caption(caption).split())
                for value, synonyms in ATTRIBUTE_WORDS.items():
                    if words & synonyms:
                        assert value in values, (caption, scene)


def test_default_set_covers_every_event_type_and_is_read_by_the_loader(default_set: Path) -> None:
    summary = dataset_summary(default_set.parent)
    assert summary.events is not None and len(EVENTS) >= 12
    assert set(summary.events.index) == set(EVENTS) and (summary.events["development"] > 0).all()
    assert summary.splits.loc["development", "clips"] == 240 and summary.splits.loc["development", "captions"] == 1200
    assert summary.splits["words min"].min() >= 8 and summary.splits["words max"].max() <= 20
    assert 50 < summary.vocabulary_size < 400
    train = ClothoDataset(default_set, "train", sample_rate=SR, progress=False)
    assert len(train) == 300


def test_second_call_is_a_no_op_and_real_clotho_is_never_overwritten(tmp_path: Path, monkeypatch) -> None:
    folder = make_synthetic_clotho(tmp_path, sizes=SMALL, progress=False)
    digest = _folder_digest(folder)
    monkeypatch.setattr(synthetic_mod, "_write_split", lambda *a, **k: pytest.fail("regenerated"))
    assert make_synthetic_clotho(tmp_path, sizes=SMALL, progress=False) == folder
    assert _folder_digest(folder) == digest
    monkeypatch.undo()
    real = tmp_path / "real"
    (real / "clotho_v2.1").mkdir(parents=True)
    (real / "clotho_v2.1" / "clotho_captions_development.csv").write_text("file_name\n")
    with pytest.raises(FileExistsError, match="did not write"):
        make_synthetic_clotho(real, sizes=SMALL, progress=False)


# ---- the captions are learnable: what they say is measurable in the audio ---------------------------------

def _frames(wave: np.ndarray, size: int = 160) -> np.ndarray:
    return wave[: len(wave) // size * size].reshape(-1, size)


def _peak_hz(wave: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / SR)[np.argmax(spectrum)])


def _onsets_per_second(wave: np.ndarray) -> float:
    energy = np.sqrt((_frames(wave) ** 2).mean(axis=1))  # 10 ms frames
    above = energy > 0.3 * energy.max()
    return float(np.sum(above[1:] & ~above[:-1]) / (len(wave) / SR))


def _sweeps_per_second(wave: np.ndarray) -> float:
    track = np.array([_peak_hz(f) for f in _frames(wave, 640)])  # 40 ms frames
    above = track > np.median(track)
    return float(np.sum(above[1:] != above[:-1]) / 2 / (len(wave) / SR))


@pytest.mark.parametrize("kind", ["beep", "bell", "whistle"])
def test_pitch_is_audible(kind: str) -> None:
    low = _peak_hz(render_event(kind, np.random.default_rng(1), SR, 3 * SR, "low"))
    high = _peak_hz(render_event(kind, np.random.default_rng(1), SR, 3 * SR, "high"))
    assert high > 2 * low


@pytest.mark.parametrize("kind", ["ticking", "knocking", "drum", "dripping", "siren"])
def test_speed_is_audible(kind: str) -> None:
    measure = _sweeps_per_second if kind == "siren" else _onsets_per_second
    slow = measure(render_event(kind, np.random.default_rng(2), SR, 4 * SR, "slow"))
    fast = measure(render_event(kind, np.random.default_rng(2), SR, 4 * SR, "fast"))
    assert fast > 2.5 * slow > 0


def test_loudness_is_audible() -> None:
    def rms(loudness: str) -> float:
        scene = Scene("single", (Event("engine", loudness, None, 0.0, 3.0),), None, 3.0)
        return float(np.sqrt(np.mean(render_scene(scene, np.random.default_rng(3), SR) ** 2)))

    assert rms("loud") > 3 * rms("quiet")  # about 13 dB apart


def _features(wave: np.ndarray) -> np.ndarray:
    power = np.abs(np.fft.rfft(_frames(wave, 512) * np.hanning(512), axis=1)) ** 2  # (frames, 257)
    edges = np.geomspace(2, 257, 21).astype(int)
    bands = np.log(np.stack([power[:, a:b].sum(axis=1) for a, b in zip(edges[:-1], edges[1:], strict=True)], 1) + 1e-9)
    spectrum = bands.mean(axis=0) - bands.mean()
    return np.concatenate([spectrum, [bands.std(axis=0).mean()]])


def test_event_types_are_told_apart_by_a_nearest_neighbour_on_band_energies() -> None:
    """1-NN on 21 log-band features (an independent, untrained reference) separates the event types."""
    train, test = [], []
    for kind, event in EVENTS.items():
        values = [None] if event.attribute is None else ["low", "high"] if event.attribute == "pitch" else ["slow", "fast"]
        for value in values:
            for seed in range(3):
                wave = render_event(kind, np.random.default_rng(100 + seed), SR, 2 * SR, value)
                (test if seed == 2 else train).append((kind, _features(wave)))
    x = np.stack([f for _, f in train])
    correct = sum(train[int(np.argmin(((x - f) ** 2).sum(axis=1)))][0] == kind for kind, f in test)
    assert correct / len(test) >= 0.9


# ---- statistics command ---------------------------------------------------------------------------------------

def test_cli_synthetic_prints_stats_and_stats_command(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert cli_main(["data", "synthetic", "--root", str(tmp_path), "--sizes", "4,2,2", "--seed", "3",
                     "--stats", "--quiet", "--plot", str(tmp_path / "summary.png")]) == 0
    out = capsys.readouterr().out
    assert "clotho_v2.1" in out and "Events (clips containing each type)" in out and "development" in out
    assert (tmp_path / "summary.png").stat().st_size > 1000
    assert cli_main(["data", "stats", "--root", str(tmp_path)]) == 0
    stats = capsys.readouterr().out
    assert "Vocabulary (all splits):" in stats and "words mean" in stats and "relation: " in stats
    recorded = json.loads((tmp_path / "clotho_v2.1" / "synthetic.json").read_text())
    assert recorded["seed"] == 3 and recorded["sizes"] == {"development": 4, "validation": 2, "evaluation": 2}
