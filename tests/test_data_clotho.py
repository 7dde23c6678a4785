"""ClothoDataset on a hand-written Clotho-format folder: exact reading, splits, and every kind of bad input."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from clipaac_lib.data import ClothoDataset, ClothoFormatError
from tests.test_data_fixtures import CLIPS, LINE_ENDS, RATE, captions_csv, samples_of, write_clotho_folder


def _dataset(root: Path, split: str, **kwargs: object) -> ClothoDataset:
    kwargs.setdefault("sample_rate", RATE)
    kwargs.setdefault("progress", False)
    return ClothoDataset(root, split, **kwargs)  # type: ignore[arg-type]


def test_fixture_has_the_real_files_style(tmp_path: Path) -> None:
    folder = write_clotho_folder(tmp_path)
    dev = (folder / "clotho_captions_development.csv").read_bytes()
    ev = (folder / "clotho_captions_evaluation.csv").read_bytes()
    assert dev.count(b"\r\n") == 4 and b'"Grinding, metal (take 2).wav"' in dev and b'""hello""' in dev
    assert b"\r\n" not in ev and ev.count(b"\n") == 3
    assert "é".encode("iso-8859-1") in (folder / "clotho_metadata_development.csv").read_bytes()


@pytest.mark.parametrize("cache", [True, False])
def test_reads_every_clip_and_caption_exactly(tmp_path: Path, cache: bool) -> None:
    write_clotho_folder(tmp_path)
    for split in ("development", "validation", "evaluation"):
        expected = [c for c in CLIPS if c.split == split]
        ds = _dataset(tmp_path, split, cache=cache)
        assert len(ds) == len(expected)
        assert ds.file_names == [c.file_name for c in expected]
        for i, clip in enumerate(expected):
            item = ds[i]
            assert item["file_name"] == clip.file_name
            assert item["captions"] == list(clip.captions)  # quotes, commas, apostrophes kept as written
            assert ds.captions(i) == list(clip.captions)
            # reference: the int16 samples we wrote, mixed to mono by hand, / 32768
            ref = samples_of(clip).astype(np.float64).mean(axis=1) / 32768.0
            assert item["audio"].dtype == torch.float32 and item["audio"].ndim == 1
            np.testing.assert_allclose(item["audio"].numpy(), ref, atol=1 / 32768 if clip.channels > 1 else 0)
            assert float(item["audio"].abs().max()) <= 1.0


@pytest.mark.parametrize("cache", [True, False])
def test_int16_audio_is_the_written_samples(tmp_path: Path, cache: bool) -> None:
    """``audio_dtype="int16"`` (what training uses) gives the samples we wrote, mono clips exactly;
    stereo clips as round(32768 * the float mix), the same numbers as the float dataset."""
    write_clotho_folder(tmp_path)
    expected = [c for c in CLIPS if c.split == "development"]
    ds = _dataset(tmp_path, "development", cache=cache, audio_dtype="int16")
    floats = _dataset(tmp_path, "development", cache=cache)
    for i, clip in enumerate(expected):
        audio = ds[i]["audio"]
        assert audio.dtype == torch.int16 and audio.ndim == 1
        if clip.channels == 1:
            np.testing.assert_array_equal(audio.numpy(), samples_of(clip)[:, 0])
        mix = np.clip(np.round(floats[i]["audio"].numpy().astype(np.float64) * 32768), -32768, 32767)
        np.testing.assert_array_equal(audio.numpy(), mix)
    with pytest.raises(ValueError, match="audio_dtype"):
        _dataset(tmp_path, "development", audio_dtype="int8")


def test_metadata_is_read_as_iso_8859_1(tmp_path: Path) -> None:
    write_clotho_folder(tmp_path)
    ds = _dataset(tmp_path, "development", cache=False)
    meta = ds.metadata(ds.file_names.index("Grinding, metal (take 2).wav"))
    assert meta is not None
    assert meta["keywords"] == "grinder;métal;workshop" and meta["manufacturer"] == "Jérôme"
    assert meta["start_end_samples"] == f"[0, {int(0.25 * RATE)}]"


def test_paper_splits_train_and_test(tmp_path: Path) -> None:
    write_clotho_folder(tmp_path)
    train = _dataset(tmp_path, "train", cache=False)
    test = _dataset(tmp_path, "test", cache=False)
    assert train.file_names == [c.file_name for c in CLIPS if c.split in ("development", "validation")]
    assert test.file_names == [c.file_name for c in CLIPS if c.split == "evaluation"]
    # the dataset folder itself is accepted as root too (what make_synthetic_clotho returns)
    assert len(_dataset(tmp_path / "clotho_v2.1", "test", cache=False)) == 2


def test_unknown_split_and_missing_folder_explain_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        _dataset(tmp_path, "dev")
    with pytest.raises(FileNotFoundError, match="download_clotho|make_synthetic_clotho"):
        _dataset(tmp_path, "development")


def test_max_seconds_crops_to_the_first_seconds(tmp_path: Path) -> None:
    write_clotho_folder(tmp_path)
    full = _dataset(tmp_path, "evaluation", cache=False, max_seconds=None)
    cropped = _dataset(tmp_path, "evaluation", cache=True, max_seconds=0.1)
    for i in range(len(full)):
        assert cropped[i]["audio"].shape[0] == round(0.1 * RATE)
        assert torch.equal(cropped[i]["audio"], full[i]["audio"][: round(0.1 * RATE)])


# ---- bad input: each names the file and the row; on_error="skip" counts and reports --------------------

def _replace_in_csv(folder: Path, split: str, old: bytes, new: bytes) -> None:
    path = folder / f"clotho_captions_{split}.csv"
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))


def _break_missing_clip(folder: Path) -> None:
    (folder / "development" / "Grinding, metal (take 2).wav").unlink()


def _break_corrupt_wav(folder: Path) -> None:
    (folder / "development" / "Grinding, metal (take 2).wav").write_bytes(b"RIFF\x00\x01garbage" * 10)


def _break_empty_caption(folder: Path) -> None:
    _replace_in_csv(folder, "development", b"Metal is being ground, loudly, by a machine", b"  ")


def _break_non_utf8(folder: Path) -> None:
    _replace_in_csv(folder, "development", b"grinds metal, then", b"grinds m\xe9tal, then")


def _break_duplicate(folder: Path) -> None:
    _replace_in_csv(folder, "development", b"raindrops on metal; police background.wav",
                    b'"Grinding, metal (take 2).wav"')


# (breaker, row of the bad clip, expected words in the message, clip named in the message)
CASES = {
    "missing clip": (_break_missing_clip, 2, r"clip file missing: .*Grinding, metal \(take 2\)\.wav"),
    "corrupt wav": (_break_corrupt_wav, 2, r"Grinding, metal \(take 2\)\.wav.*corrupt"),
    "empty caption": (_break_empty_caption, 2, r"empty caption in column\(s\) caption_2"),
    "non-utf8": (_break_non_utf8, 2, r"not UTF-8 \(caption_1 has byte\(s\) 0xE9\)"),
    "duplicate": (_break_duplicate, 3, r"duplicate file name: it is already on row 2"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("cache", [True, False])
def test_bad_input_raises_naming_file_and_row(tmp_path: Path, case: str, cache: bool) -> None:
    breaker, row, message = CASES[case]
    breaker(write_clotho_folder(tmp_path))
    with pytest.raises(ClothoFormatError) as info:
        _dataset(tmp_path, "development", cache=cache)
    text = str(info.value)
    assert "clotho_captions_development.csv" in text and f"row {row} (line {row + 1})" in text
    assert re.search(message, text), text
    assert "on_error='skip'" in text  # says what to do
    assert info.value.issue.row == row


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_skipped_counted_and_reported(tmp_path: Path, case: str) -> None:
    breaker, row, message = CASES[case]
    breaker(write_clotho_folder(tmp_path))
    with pytest.warns(UserWarning, match=r"skipped 1 clip\(s\), kept 2") as record:
        ds = _dataset(tmp_path, "development", on_error="skip")
    assert len(ds) == 2 and len(ds.skipped) == 1
    assert ds.skipped[0].row == row and re.search(message, ds.skipped[0].problem)
    assert re.search(message, str(record[0].message))
    kept = [c for c in CLIPS if c.split == "development"][:]
    expected_names = [c.file_name for c in kept if c.file_name != "Grinding, metal (take 2).wav"]
    if case == "duplicate":  # the first of the two rows is kept, the repeat is dropped
        expected_names = [c.file_name for c in kept[:2]]
    assert ds.file_names == expected_names
    for i in range(len(ds)):  # what is kept reads fine
        assert ds[i]["audio"].numel() > 0
    # a skip-built cache remembers the failure, so a second open reports it again
    with pytest.warns(UserWarning, match="skipped 1"):
        again = _dataset(tmp_path, "development", on_error="skip")
    assert again.file_names == ds.file_names


def test_missing_column_always_raises(tmp_path: Path) -> None:
    folder = write_clotho_folder(tmp_path)
    clips = [c for c in CLIPS if c.split == "validation"]
    body = captions_csv(clips, LINE_ENDS["validation"]).decode().split("\r\n", 1)[1]
    header = "file_name,caption_1,caption_2,caption_3,caption_4"
    (folder / "clotho_captions_validation.csv").write_text(header + "\r\n" + body, newline="")
    for on_error in ("raise", "skip"):
        with pytest.raises(ClothoFormatError, match=r"clotho_captions_validation\.csv.*lacks column\(s\) caption_5"):
            _dataset(tmp_path, "validation", on_error=on_error)


def test_wrong_field_count_names_the_row(tmp_path: Path) -> None:
    folder = write_clotho_folder(tmp_path)
    # an unquoted comma inside a caption adds a field
    _replace_in_csv(folder, "evaluation", b"Footsteps crunch on a gravel path", b"Footsteps, crunch on gravel")
    with pytest.raises(ClothoFormatError, match=r"row 1 \(line 2\).*7 fields, expected 6.*double quotes"):
        _dataset(tmp_path, "evaluation")


def test_no_warning_when_nothing_is_skipped(tmp_path: Path) -> None:
    write_clotho_folder(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = _dataset(tmp_path, "validation", on_error="skip")
    assert ds.skipped == [] and "none skipped" in ds.report()
