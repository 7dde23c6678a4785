"""``clipaac caption`` for many files and folders (one model load; by default the book's model, the run of
the default configuration, else the newest finished run; a CSV; one-line errors; unreadable files skipped;
warnings for clips too short or silent to trust) and the text-to-audio search of the notebook-7 demo, on one
tiny trained run. Notebook: ``notebooks/07_caption_your_audio.ipynb``."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F

from clipaac_lib.caption import (
    NO_TEXT_HEAD,
    CaptionDemo,
    audio_files,
    caption_file,
    caption_files,
    newest_run,
)
from clipaac_lib.caption import inference as inference_module
from clipaac_lib.cli.main import main
from clipaac_lib.data import AudioError
from clipaac_lib.train import RunDir, RunResult, TrainConfig, load_run_model, train
from tests.conftest import TINY_MODEL

pytestmark = pytest.mark.usefixtures("one_thread_private_cache")


@pytest.fixture(scope="module")
def tiny_run(tiny_clotho: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """One epoch of the tiny model on the shared tiny data (tests/conftest.py), trained once here."""
    config = TrainConfig(init="random", data_root=str(tiny_clotho), run_root=str(tmp_path_factory.mktemp("runs")),
                         train_split="development", test_split="evaluation", model_overrides=TINY_MODEL,
                         num_epochs=1, batch_size=4, warmup_epochs=1.0, beam_size=1, max_caption_len=6,
                         eval_batch_size=4, caption_metrics=False, eval_untrained=False, validate_every=0,
                         progress=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLIPAAC_CACHE", str(tmp_path_factory.mktemp("cache")))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return train(config)
        finally:
            torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def wavs(tiny_clotho: Path) -> list[Path]:
    """The 4 test clips of the tiny data, sorted."""
    return sorted((tiny_clotho / "clotho_v2.1" / "evaluation").glob("*.wav"))


@pytest.fixture
def folder(wavs: list[Path], tmp_path: Path) -> Path:
    """A folder with two clips (named out of order), a text file and a sub-folder: only the clips count."""
    path = tmp_path / "clips"
    (path / "sub").mkdir(parents=True)
    shutil.copy(wavs[2], path / "b.wav")
    shutil.copy(wavs[3], path / "a.WAV")
    shutil.copy(wavs[0], path / "sub" / "c.wav")
    (path / "notes.txt").write_text("not audio")
    return path


def _cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    status = main(["caption", *argv, "--device", "cpu"])
    out, err = capsys.readouterr()
    return status, out, err


# ------------------------------------------------------------------------------------------ library
def test_audio_files_keeps_the_order_and_sorts_folders(wavs: list[Path], folder: Path) -> None:
    assert audio_files([wavs[1], folder, wavs[0]]) == [wavs[1], folder / "a.WAV", folder / "b.wav", wavs[0]]
    with pytest.raises(FileNotFoundError, match="none.wav does not exist"):
        audio_files([wavs[0], folder / "none.wav"])
    with pytest.raises(FileNotFoundError, match="holds no audio files"):
        audio_files([_empty(folder)])


def _empty(folder: Path) -> Path:
    empty = folder.parent / "empty"
    empty.mkdir(exist_ok=True)
    (empty / "readme.txt").write_text("no audio here")
    return empty


def test_caption_files_loads_the_model_once(tiny_run: RunResult, wavs: list[Path], folder: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []

    def counting(*args, **kwargs):
        loads.append(args)
        return load_run_model(*args, **kwargs)

    monkeypatch.setattr(inference_module, "load_run_model", counting)
    rows = caption_files([wavs[0], folder, wavs[1]], tiny_run.run_dir, device="cpu")
    assert len(loads) == 1
    assert [f for f, _ in rows] == [str(wavs[0]), str(folder / "a.WAV"), str(folder / "b.wav"), str(wavs[1])]
    assert all(isinstance(c, str) and c for _, c in rows)
    # the same caption as one file at a time, and as the training run's own evaluation of that clip
    assert rows[0][1] == caption_file(wavs[0], tiny_run.run_dir, device="cpu")
    evaluated = {c["file_name"]: c["caption"] for c in tiny_run.captions}
    assert rows[0][1] == evaluated[wavs[0].name] and rows[1][1] == evaluated[wavs[3].name]


def _copy_run(run: RunResult, root: Path, name: str, finished_at: float | None) -> Path:
    """A copy of the run under ``root``; ``finished_at`` the time of its finished.json (None: unfinished)."""
    path = root / name
    shutil.copytree(run.run_dir, path)
    if finished_at is None:
        RunDir(path).finished_file.unlink()
    else:
        os.utime(RunDir(path).finished_file, (finished_at, finished_at))
    return path


def test_newest_run_is_the_last_finished(tiny_run: RunResult, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    assert newest_run(root) is None  # no such folder
    root.mkdir()
    assert newest_run(root) is None  # empty
    now = RunDir(tiny_run.run_dir).finished_file.stat().st_mtime
    older = _copy_run(tiny_run, root, "b_older", now - 100)
    assert newest_run(root) == older
    newer = _copy_run(tiny_run, root, "a_newer", now)
    _copy_run(tiny_run, root, "c_unfinished", None)  # the newest folder, but never finished
    (root / "stray.txt").write_text("not a run")
    assert newest_run(root) == newer


# ------------------------------------------------------------------------------------- command line
def test_several_files_and_a_folder_print_one_line_each_and_write_a_csv(
        tiny_run: RunResult, wavs: list[Path], folder: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    table = tmp_path / "out" / "captions.csv"
    status, out, err = _cli(capsys, str(wavs[0]), str(folder), "--run", str(tiny_run.run_dir),
                            "--csv", str(table))
    assert status == 0, err
    lines = out.splitlines()
    expected_files = [str(wavs[0]), str(folder / "a.WAV"), str(folder / "b.wav")]
    assert [line.split("\t")[0] for line in lines] == expected_files
    with table.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["file", "caption"]
        rows = [(row["file"], row["caption"]) for row in reader]
    assert rows == [tuple(line.split("\t")) for line in lines]
    assert all(caption for _, caption in rows)
    assert "captioning" in err  # the progress bar, on stderr
    assert f"wrote 3 caption(s) to {table}" in err
    assert not list(table.parent.glob(".*.tmp"))  # written atomically: no temporary file left


def test_one_file_prints_just_its_caption(tiny_run: RunResult, wavs: list[Path],
                                          capsys: pytest.CaptureFixture) -> None:
    status, out, _ = _cli(capsys, str(wavs[0]), "--run", str(tiny_run.run_dir), "--no-progress")
    assert status == 0
    assert out.strip() == caption_file(wavs[0], tiny_run.run_dir, device="cpu")


def _default_root() -> Path:
    """The run root ``clipaac caption`` looks in without ``--run-root`` (this test's private cache)."""
    root = Path(os.environ["CLIPAAC_CACHE"]) / "runs"
    root.mkdir(parents=True, exist_ok=True)
    return root


def test_without_run_the_default_configurations_run_is_used_even_when_older(
        tiny_run: RunResult, wavs: list[Path], capsys: pytest.CaptureFixture) -> None:
    root = _default_root()
    now = RunDir(tiny_run.run_dir).finished_file.stat().st_mtime
    # the book's model: the run directory of TrainConfig() (a copy of the tiny run stands in for it)
    book = _copy_run(tiny_run, root, TrainConfig().run_name(), now - 1000)
    newer = _copy_run(tiny_run, root, "a_newer_ablation", now)  # finished last, as a grid run would
    status, out, err = _cli(capsys, str(wavs[0]), "--no-progress")
    assert status == 0, err
    assert err.count("\n") == 1, err
    assert f"using the book's model {book}" in err
    assert "default configuration" in err and "notebook 5" in err and "--run RUN_DIR" in err
    assert str(newer) not in err
    assert out.strip() == caption_file(wavs[0], book, device="cpu")


def test_without_the_default_run_the_newest_finished_one_is_used_and_said(
        tiny_run: RunResult, wavs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = _default_root()
    now = RunDir(tiny_run.run_dir).finished_file.stat().st_mtime
    _copy_run(tiny_run, root, "z_older", now - 100)
    newer = _copy_run(tiny_run, root, "a_newer", now)
    _copy_run(tiny_run, root, TrainConfig().run_name(), None)  # the default configuration's, unfinished
    status, out, err = _cli(capsys, str(wavs[0]), "--no-progress")
    assert status == 0, err
    assert out.strip()
    assert err.count("\n") == 1, err
    assert f"no finished run of the default configuration (notebook 5) under {root}" in err
    assert f"using the newest finished run {newer}" in err
    assert "init=random" in err and "num_epochs=1" in err  # how it differs from the default configuration
    assert "make book" in err and "--run RUN_DIR" in err
    # --run-root looks elsewhere
    other = tmp_path / "other_runs"
    other.mkdir()
    only = _copy_run(tiny_run, other, "only", now - 500)
    status, _, err = _cli(capsys, str(wavs[0]), "--no-progress", "--run-root", str(other))
    assert status == 0 and f"using the newest finished run {only}" in err
    # --run-root holding the default configuration's run: that one
    book = _copy_run(tiny_run, other, TrainConfig().run_name(), now - 1000)
    status, _, err = _cli(capsys, str(wavs[0]), "--no-progress", "--run-root", str(other))
    assert status == 0 and f"using the book's model {book}" in err


@pytest.mark.parametrize("case", ["missing file", "missing among several", "empty folder", "no finished run",
                                  "missing run"])
def test_errors_are_one_line_with_status_2(case: str, tiny_run: RunResult, wavs: list[Path], folder: Path,
                                           tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = ["--run", str(tiny_run.run_dir)]
    argv, expected = {
        "missing file": ([str(tmp_path / "none.wav"), *run], f"{tmp_path / 'none.wav'} does not exist"),
        "missing among several": ([str(wavs[0]), str(folder), str(tmp_path / "gone.flac"), *run],
                                  f"{tmp_path / 'gone.flac'} does not exist"),
        "empty folder": ([str(_empty(folder)), *run], "holds no audio files"),
        "no finished run": ([str(wavs[0])], "no finished run under"),
        "missing run": ([str(wavs[0]), "--run", str(tmp_path / "no_run")], "does not exist"),
    }[case]
    status, out, err = _cli(capsys, *argv, "--no-progress")
    assert status == 2
    assert err.startswith("clipaac: error: ") and err.count("\n") == 1, err
    assert expected in err and "Traceback" not in err
    if case == "no finished run":
        assert all(advice in err for advice in ("clipaac train", "make book", "notebook 5", "--run RUN_DIR"))
    assert out == ""  # nothing captioned before the error


# ---------------------------------------------------------------- unreadable, short and silent files
def _garbage(path: Path) -> Path:
    """A file named like audio that holds no audio."""
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(range(256)))
    return path


def _write(path: Path, samples: np.ndarray, rate: int) -> Path:
    sf.write(path, samples.astype(np.float32), rate, subtype="FLOAT")
    return path


def _rate(wav: Path) -> int:
    return sf.info(str(wav)).samplerate


def test_a_bad_file_in_a_folder_is_named_and_skipped_and_the_others_captioned(
        tiny_run: RunResult, wavs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(wavs[0], folder / "a.wav")
    bad = _garbage(folder / "b_corrupt.wav")
    shutil.copy(wavs[1], folder / "c.wav")
    table = tmp_path / "captions.csv"
    status, out, err = _cli(capsys, str(folder), "--run", str(tiny_run.run_dir), "--no-progress",
                            "--csv", str(table))
    assert status == 1, err
    lines = [line.split("\t") for line in out.splitlines()]
    assert [file for file, _ in lines] == [str(folder / "a.wav"), str(folder / "c.wav")]
    expected = [caption_file(wav, tiny_run.run_dir, device="cpu") for wav in wavs[:2]]
    assert [caption for _, caption in lines] == expected
    [failure] = [line for line in err.splitlines() if str(bad) in line]
    assert "not captioned" in failure and "cannot decode" in failure and "Traceback" not in err
    assert "1 of 3 files could not be captioned" in err
    assert f"wrote 2 caption(s) to {table}" in err
    with table.open(newline="", encoding="utf-8") as handle:
        assert [row["file"] for row in csv.DictReader(handle)] == [file for file, _ in lines]
    # the library's list form still stops at the bad file, naming it
    with pytest.raises(AudioError, match="b_corrupt.wav"):
        caption_files([folder], tiny_run.run_dir, device="cpu")


def test_a_single_bad_file_is_named_with_status_1(tiny_run: RunResult, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    bad = _garbage(tmp_path / "corrupt.wav")
    status, out, err = _cli(capsys, str(bad), "--run", str(tiny_run.run_dir), "--no-progress")
    assert status == 1 and out == ""
    assert f"{bad} not captioned" in err and "cannot decode" in err and "Traceback" not in err


def test_a_folder_with_one_file_prints_file_tab_caption(tiny_run: RunResult, wavs: list[Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    """A folder is never a "single file" argument, even with one file inside: FILE<TAB>CAPTION."""
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(wavs[0], folder / "only.wav")
    status, out, err = _cli(capsys, str(folder), "--run", str(tiny_run.run_dir), "--no-progress")
    assert status == 0, err
    assert out == f"{folder / 'only.wav'}\t{caption_file(wavs[0], tiny_run.run_dir, device='cpu')}\n"


def test_short_and_silent_clips_are_captioned_with_a_warning(
        tiny_run: RunResult, wavs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rate = _rate(wavs[0])
    folder = tmp_path / "odd"
    folder.mkdir()
    normal = Path(shutil.copy(wavs[0], folder / "a_normal.wav"))
    short = _write(folder / "b_short.wav", np.random.default_rng(0).uniform(-0.5, 0.5, 10), rate)
    silent = _write(folder / "c_silent.wav", np.zeros(2 * rate), rate)
    status, out, err = _cli(capsys, str(folder), "--run", str(tiny_run.run_dir), "--no-progress")
    assert status == 0, err
    assert [line.split("\t")[0] for line in out.splitlines()] == [str(normal), str(short), str(silent)]
    assert all(line.split("\t")[1] for line in out.splitlines())  # still captioned
    warnings = [line for line in err.splitlines() if "warning" in line]
    [short_line] = [line for line in warnings if str(short) in line]
    [silent_line] = [line for line in warnings if str(silent) in line]
    assert "shorter than" in short_line and "10 samples" in short_line and "not be trusted" in short_line
    assert "silent" in silent_line and "not be trusted" in silent_line
    assert str(normal) not in err


def test_clip_warnings_thresholds() -> None:
    """Short: fewer samples than one analysis window of the front end; silent: peak below SILENT_PEAK."""
    from clipaac_lib.caption import SILENT_PEAK, clip_warnings
    from clipaac_lib.model import ModelConfig

    config = ModelConfig.small(vocab_size=20)
    window = config.audio.win_length
    loud = torch.full((window,), 0.5)
    assert clip_warnings(loud, config) == []
    [short] = clip_warnings(loud[:-1], config)
    assert "shorter than" in short and f"{window} samples" in short
    [silent] = clip_warnings(torch.full((window,), SILENT_PEAK * 0.99), config)
    assert "silent" in silent
    assert clip_warnings(torch.full((window,), -SILENT_PEAK * 1.01), config) == []  # quiet, not silent
    assert len(clip_warnings(torch.zeros(5), config)) == 2


# ------------------------------------------------------------------------------------------- search
@pytest.fixture(scope="module")
def demo(tiny_run: RunResult) -> CaptionDemo:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return CaptionDemo(tiny_run, device="cpu")
    finally:
        torch.set_num_threads(threads)


def _similarities(demo: CaptionDemo, text: str) -> torch.Tensor:
    """Cosine similarity of ``text`` with each test clip, each clip encoded on its own."""
    from clipaac_lib.model import tokenize

    with torch.no_grad():
        audio = torch.cat([demo.model.encode_audio(demo.test[i]["audio"][None]).audio_emb
                           for i in range(len(demo.test))])  # (N, L)
        query = demo.model.encode_text(tokenize([text]))  # (1, L)
    return (F.normalize(audio, dim=-1) @ F.normalize(query, dim=-1).T)[:, 0]


def test_search_ranks_the_test_clips_by_similarity(demo: CaptionDemo) -> None:
    sentence = demo.test.captions(2)[0]  # a reference caption of clip 2
    result = demo.search(sentence, k=3)
    assert len(result) == 3 and result.query == sentence
    sims = _similarities(demo, sentence)
    expected = sorted(range(len(sims)), key=lambda i: -float(sims[i]))[:3]
    assert [h.index for h in result] == expected
    assert [h.rank for h in result] == [1, 2, 3]
    values = [h.similarity for h in result]
    assert values == sorted(values, reverse=True)
    assert values == pytest.approx([float(sims[i]) for i in expected], abs=1e-5)
    # clip 2 is where its own caption's similarity puts it
    own_rank = 1 + int((sims > sims[2]).sum())
    if own_rank <= 3:
        assert result[own_rank - 1].index == 2
    # what is needed to play each hit
    for hit in result:
        assert hit.file_name == demo.test.file_names[hit.index]
        assert torch.equal(hit.audio, demo.test[hit.index]["audio"]) and hit.sample_rate == demo.sample_rate
    assert list(result.table().columns) == ["file", "cosine"] and result.table().index.name == "rank"


def test_search_respects_k_and_embeds_the_clips_once(demo: CaptionDemo, monkeypatch: pytest.MonkeyPatch) -> None:
    demo.search("a bell rings", k=1)  # the clip embeddings exist from here on
    from clipaac_lib.caption import demo as demo_module

    monkeypatch.setattr(demo_module, "run_split", lambda *a, **k: pytest.fail("clips embedded twice"))
    assert len(demo.search("a bell rings", k=1)) == 1
    assert len(demo.search("a bell rings", k=100)) == len(demo.test)  # at most every clip
    with pytest.raises(ValueError, match="k must be"):
        demo.search("a bell rings", k=0)
    with pytest.raises(ValueError, match="give a sentence"):
        demo.search("   ")


def test_search_result_shows_players_and_a_table(demo: CaptionDemo, capsys: pytest.CaptureFixture) -> None:
    demo.search("rain falls", k=2).show()
    out = capsys.readouterr().out
    assert out.startswith("query: rain falls") and "1. " in out and "2. " in out
    assert "Audio" in out  # outside a notebook, display() prints the players' repr
    widget = demo.search_widget("rain falls", k=2)
    (box, count, button), _output = widget.children[0].children, widget.children[1]
    assert box.value == "rain falls" and count.value == 2
    button.click()  # runs the search; outside a kernel the Output widget passes its output through
    assert "query: rain falls\n1. " in capsys.readouterr().out


def test_without_a_text_head_the_demo_says_so(tiny_run: RunResult, monkeypatch: pytest.MonkeyPatch) -> None:
    def without_text_head(self, device="cpu"):
        model, vocab = load_run_model(self.run_dir, device)
        model.drop_text_head()  # as a run trained with alpha = 0
        return model, vocab

    monkeypatch.setattr(RunResult, "load_model", without_text_head)
    bare = CaptionDemo(tiny_run, device="cpu")
    assert not bare.has_text_head and bare.bank_emb is None
    assert bare.describe_clip(0).nearest.empty and bare.describe_clip(0).caption
    with pytest.raises(RuntimeError, match="no text head"):
        bare.search("a bell rings")
    assert bare.search_widget().value == NO_TEXT_HEAD
    assert NO_TEXT_HEAD.count(".") == 1  # one sentence

