"""Training runs on a tiny synthetic set with a tiny model: determinism, resume, reuse, non-finite loss,
run-directory contents, evaluation and captioning from a run directory."""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from clipaac_lib.train import NonFiniteLossError, TrainConfig, train
from clipaac_lib.train import trainer as loop_module
from clipaac_lib.train.rundir import RunDir
from tests.conftest import TINY_MODEL

pytestmark = pytest.mark.usefixtures("one_thread_private_cache")


@pytest.fixture(scope="module")
def tiny_data(tiny_clotho: Path) -> Path:
    """The shared tiny dataset (tests/conftest.py): 8 development and 4 evaluation clips of 1.5 s."""
    return tiny_clotho


def tiny_config(data: Path, run_root: Path, **changes) -> TrainConfig:
    base = dict(init="random", data_root=str(data), run_root=str(run_root), train_split="development", test_split="evaluation",
                model_overrides=TINY_MODEL, num_epochs=2, batch_size=4, warmup_epochs=1.0, beam_size=2,
                max_caption_len=6, eval_batch_size=4, caption_metrics=False, eval_untrained=False, progress=False)
    base.update(changes)
    return TrainConfig(**base)


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return RunDir(run_dir).load_model_state()


def _losses(history: list[dict]) -> list[float]:
    return [row["train_loss"] for row in history]


@pytest.fixture(scope="module")
def straight_run(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """Two epochs without interruption (shared by several tests)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLIPAAC_CACHE", str(tmp_path_factory.mktemp("cache")))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return train(tiny_config(tiny_data, tmp_path_factory.mktemp("runs_straight")))
        finally:
            torch.set_num_threads(threads)


def test_a_run_finishes_and_writes_its_directory(straight_run) -> None:
    run = RunDir(straight_run.run_dir)
    assert straight_run.finished and not straight_run.reused and straight_run.epochs_completed == 2
    saved = json.loads(run.config_file.read_text())
    assert saved["run_hash"] == straight_run.config.run_hash()
    assert TrainConfig.from_dict({k: v for k, v in saved.items() if k != "run_hash"}) == straight_run.config
    assert run.path.name.endswith(straight_run.config.run_hash())
    # per-epoch history as CSV and JSON, with losses, learning rates, throughput and test recall
    rows = (run.path / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and rows[0].startswith("epoch,")
    for row in straight_run.history:
        assert math.isfinite(row["train_loss"]) and row["clips_per_s"] > 0
        assert 0.0 <= row["test_a2t_r1"] <= 1.0
    # warm-up over one epoch: the learning rate ends epoch 1 at its base value and stays there
    assert straight_run.history[0]["lr_new"] == pytest.approx(1e-3)
    # the checkpoint is tensors + JSON: it loads with weights_only=True
    payload = torch.load(run.checkpoint_file, weights_only=True)
    assert set(payload) == {"format", "meta", "tensors"}
    assert all(isinstance(t, torch.Tensor) for t in payload["tensors"].values())
    assert run.load_checkpoint()["epoch"] == 2
    # test captions and scores, as JSON and CSV
    folder = next(run.path.glob("eval-*"))
    scores = json.loads((folder / "scores.json").read_text())
    assert scores["num_clips"] == 4 and set(scores["retrieval"]) >= {"a2t_r1", "a2t_r5", "a2t_r10", "t2a_r1"}
    assert (folder / "captions.csv").read_text().startswith("file_name,caption,reference_1")
    assert len(straight_run.captions) == 4 and all(isinstance(c["caption"], str) for c in straight_run.captions)
    assert not list(run.path.glob(".*.tmp"))  # no half-written files left behind


def test_two_runs_of_one_config_give_the_same_numbers(straight_run, tiny_data: Path, tmp_path: Path) -> None:
    again = train(tiny_config(tiny_data, tmp_path / "runs"))
    assert _losses(again.history) == _losses(straight_run.history)
    first, second = _weights(straight_run.run_dir), _weights(again.run_dir)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert [c["caption"] for c in again.captions] == [c["caption"] for c in straight_run.captions]


def test_resume_after_a_stop_equals_a_straight_run(straight_run, tiny_data: Path, tmp_path: Path) -> None:
    config = tiny_config(tiny_data, tmp_path / "runs")
    stopped = train(config, stop_after_epoch=1)  # as if killed after epoch 1
    run = RunDir(stopped.run_dir)
    assert not stopped.finished and stopped.epochs_completed == 1
    assert run.load_checkpoint()["epoch"] == 1 and not run.model_file.exists()
    resumed = train(config)
    assert resumed.finished and not resumed.reused
    assert _losses(resumed.history) == _losses(straight_run.history)
    first, second = _weights(straight_run.run_dir), _weights(resumed.run_dir)
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_a_resumed_grid_run_says_how_many_epochs_its_wall_time_misses(tiny_data: Path, tmp_path: Path) -> None:
    """The grid's records keep the wall time of the call that finished a run; after an interruption that
    call trained only the epochs after the checkpoint, and the record must say so."""
    from clipaac_lib.experiments import parallel

    config = tiny_config(tiny_data, tmp_path / "runs")
    assert config.num_epochs >= 2
    assert parallel._timed_train(config.replace(run_root=str(tmp_path / "fresh"))).resumed_after_epoch == 0
    train(config, stop_after_epoch=1)
    assert parallel._timed_train(config).resumed_after_epoch == 1
    assert parallel._timed_train(config).resumed_after_epoch == 0, "a finished run (reused) resumes nothing"


def test_scores_of_an_interrupted_run_are_not_reused_as_the_finished_run_s(straight_run, tiny_data: Path,
                                                                            tmp_path: Path) -> None:
    from clipaac_lib.train import evaluate_run

    config = tiny_config(tiny_data, tmp_path / "runs")
    stopped = train(config, stop_after_epoch=1)
    early = evaluate_run(stopped.run_dir, device="cpu")  # `clipaac evaluate` on the epoch-1 checkpoint
    assert early.scores.caption_nll != straight_run.scores.caption_nll  # one epoch less: other weights
    resumed = train(config)
    assert resumed.finished
    assert resumed.scores.caption_nll == pytest.approx(straight_run.scores.caption_nll)
    assert resumed.scores.retrieval == straight_run.scores.retrieval
    assert train(config).scores.caption_nll == pytest.approx(straight_run.scores.caption_nll)  # reused now


def test_a_finished_run_is_reused_not_retrained(straight_run, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run must not be trained again")

    monkeypatch.setattr(loop_module, "_train_run", no_training)
    checkpoint = RunDir(straight_run.run_dir).checkpoint_file
    before = checkpoint.stat().st_mtime_ns
    again = train(straight_run.config.replace(progress=False))
    assert again.reused and again.finished
    assert again.scores.retrieval == straight_run.scores.retrieval
    assert checkpoint.stat().st_mtime_ns == before
    # changing a field that does not change the weights (decoding) re-evaluates without retraining
    greedy = train(straight_run.config.replace(beam_size=1))
    assert greedy.reused and (Path(greedy.run_dir) / "eval-beam1-len6-lp1-evaluation").is_dir()
    # changing one that does (alpha) names another run directory
    assert straight_run.config.replace(alpha=0.3).run_name() != straight_run.config.run_name()


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny_data: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    config = tiny_config(tiny_data, tmp_path / "runs")
    real = loop_module.compute_loss
    calls = {"n": 0}
    steps_per_epoch = 8  # 6 clips x 5 captions in batches of 4

    def poisoned(*args, **kwargs):
        loss, l_cl, l_ce = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == steps_per_epoch + 3:  # third step of epoch 2
            loss = loss * float("nan")
        return loss, l_cl, l_ce

    monkeypatch.setattr(loop_module, "compute_loss", poisoned)
    with pytest.raises(NonFiniteLossError, match=r"epoch 2 .*checkpoint of epoch 1"):
        train(config)
    run = RunDir(next((tmp_path / "runs").iterdir()))
    assert run.load_checkpoint()["epoch"] == 1
    assert not run.is_finished()
    monkeypatch.setattr(loop_module, "compute_loss", real)
    resumed = train(config)  # the same command resumes from the kept checkpoint
    assert resumed.finished and len(resumed.history) == 2


def test_evaluate_and_caption_commands(straight_run, tiny_data: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture) -> None:
    from clipaac_lib.cli.train import add_train_commands
    from clipaac_lib.data import Vocabulary

    parser = argparse.ArgumentParser(prog="clipaac")
    add_train_commands(parser.add_subparsers(dest="command", required=True))
    run_dir = str(straight_run.run_dir)
    args = parser.parse_args(["evaluate", run_dir, "--beam-size", "1", "--device", "cpu"])
    assert args.func(args) == 0
    assert "a2t_r1" in capsys.readouterr().out
    assert (Path(run_dir) / "eval-beam1-len6-lp1-evaluation" / "scores.json").is_file()
    import soundfile as sf

    wav = next((tiny_data / "clotho_v2.1" / "evaluation").glob("*.wav"))
    samples, rate = sf.read(wav, dtype="float32")
    vocab = Vocabulary.load(Path(run_dir) / "vocab.json")
    captions = []
    for ext, fmt, subtype in (("wav", "WAV", None), ("flac", "FLAC", None), ("ogg", "OGG", "VORBIS"),
                              ("mp3", "MP3", "MPEG_LAYER_III")):
        path = tmp_path / f"clip.{ext}"
        stereo = samples[:, None].repeat(2, axis=1)  # stereo (and at half the rate): mixed down, resampled
        sf.write(path, stereo[::2] if ext != "wav" else stereo, rate // 2 if ext != "wav" else rate,
                 format=fmt, subtype=subtype)
        args = parser.parse_args(["caption", str(path), "--run", run_dir, "--device", "cpu"])
        assert args.func(args) == 0
        captions.append(capsys.readouterr().out.strip())
    for caption in captions:
        assert caption and all(word in vocab for word in caption.split())


def test_training_batches_carry_clip_tokens_and_optionally_fixed_length_audio(tiny_data: Path) -> None:
    from clipaac_lib.data import CaptionPairs, ClothoDataset, PairBatch, Vocabulary
    from clipaac_lib.train.setup import collate_train

    ds = ClothoDataset(tiny_data, "development", sample_rate=16000, max_seconds=30.0, progress=False)
    vocab = Vocabulary.build([c for i in range(len(ds)) for c in ds.captions(i)])
    pairs = CaptionPairs(ds)
    batch = collate_train([pairs[0], pairs[5]], vocab, max_words=30, pad_to=2 * 16000)
    assert isinstance(batch, PairBatch)
    assert batch.audio.shape == (2, 32000)  # 1.5 s clips zero-padded to 2 s
    assert batch.audio_lengths.tolist() == [24000, 24000]
    assert bool((batch.audio[:, 24000:] == 0).all())
    # CLIP BPE ids (facts.md): start 49406 first, end 49407 after the words, then zeros; 77 positions
    assert batch.text_tokens is not None and batch.text_tokens.shape == (2, 77)
    assert batch.text_tokens[:, 0].tolist() == [49406, 49406]
    assert (batch.text_tokens == 49407).sum(dim=1).tolist() == [1, 1]


@pytest.mark.parametrize("case", ["missing audio", "missing run", "bad value", "missing clip"])
def test_command_line_errors_are_one_line_with_status_2(case: str, straight_run, tiny_data: Path,
                                                       tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Each error names the file or value and what to do, in one line; ``--debug`` shows the traceback.

    (A file that cannot be decoded is not an error of the call: it is named and skipped with status 1,
    tests/test_caption_cli.py.)"""
    from clipaac_lib.cli.main import main

    run_dir = str(straight_run.run_dir)
    broken = tmp_path / "broken"  # a Clotho-format copy whose CSV names a clip that is not there
    shutil.copytree(tiny_data, broken)
    next((broken / "clotho_v2.1" / "evaluation").glob("*.wav")).unlink()
    argv, expected = {
        "missing audio": (["caption", str(tmp_path / "none.wav"), "--run", run_dir], "does not exist"),
        "missing run": (["evaluate", str(tmp_path / "no_run")], "does not exist"),
        "bad value": (["train", "--lr", "-1"], "lr must be a positive number"),
        "missing clip": (["train", "--data-root", str(broken), "--train-split", "development",
                          "--test-split", "evaluation", "--run-root", str(tmp_path / "runs"), "--no-progress"],
                         "clip file missing"),
    }[case]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("clipaac: error: ") and err.count("\n") == 1, err
    assert expected in err and "Traceback" not in err
    with pytest.raises(Exception):  # noqa: B017 (whatever it was, --debug lets it through)
        main([*argv, "--debug"])


def test_warmup_reaches_the_hand_computed_rate_after_the_last_step(tiny_data: Path, tmp_path: Path) -> None:
    """warmup_epochs=2 over one epoch of S steps: after step s (1-based) the rate is lr * s / (2 S), so
    the epoch ends at exactly half of lr (a loop that passed the step count + 1 would end above it)."""
    config = tiny_config(tiny_data, tmp_path / "runs", num_epochs=1, warmup_epochs=2.0, lr=1e-3, encoder_lr=4e-4,
                         validate_every=0)
    row = train(config).history[0]
    steps = row["steps"]
    assert steps >= 2
    assert row["lr_new"] == pytest.approx(1e-3 * steps / (2 * steps), rel=1e-12)
    assert row["lr_encoder"] == pytest.approx(4e-4 * steps / (2 * steps), rel=1e-12)


_SLOW_TRAINER = """
import json, sys, time
import torch
from clipaac_lib.train import TrainConfig, train
from clipaac_lib.train import trainer as loop
torch.set_num_threads(1)
epoch = loop.train_epochs
def slow_epoch(*args, **kwargs):  # a training long enough to overlap with the other processes
    time.sleep(float(sys.argv[2]))
    return epoch(*args, **kwargs)
loop.train_epochs = slow_epoch
try:
    result = train(TrainConfig.from_dict(json.loads(sys.argv[1])))
    print(json.dumps({"reused": result.reused, "epochs": result.epochs_completed}))
except Exception as err:
    print(json.dumps({"error": type(err).__name__, "message": str(err)}))
"""


@pytest.mark.slow
def test_two_processes_never_train_one_run_at_once(tiny_data: Path, tmp_path: Path) -> None:
    """Three real processes, one configuration: the first trains; one asked not to wait stops naming the
    first's pid; one that waits reuses the finished run instead of training it again."""
    import os
    import subprocess
    import sys
    import time

    config = tiny_config(tiny_data, tmp_path / "runs", num_epochs=2)
    text = json.dumps(config.to_dict())
    env = {**os.environ, "CLIPAAC_CACHE": str(tmp_path / "cache")}

    def start(cfg: str, delay: float) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", _SLOW_TRAINER, cfg, str(delay)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = start(text, 3.0)
    lock = tmp_path / "runs" / config.run_name() / ".lock"
    deadline = time.monotonic() + 120
    while not (lock.is_file() and str(first.pid) in lock.read_text()):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.2)
    refused = start(json.dumps({**config.to_dict(), "wait_for_lock": False}), 0.0)
    waiting = start(text, 0.0)
    outcomes = [json.loads(p.communicate(timeout=300)[0].strip().splitlines()[-1])
                for p in (first, refused, waiting)]
    assert outcomes[0] == {"reused": False, "epochs": 2}
    assert outcomes[1]["error"] == "RunLockedError" and str(first.pid) in outcomes[1]["message"]
    assert outcomes[2] == {"reused": True, "epochs": 2}


def test_run_verdicts_state_only_what_the_scores_show(tmp_path: Path) -> None:
    from clipaac_lib.experiments.report import run_verdicts
    from clipaac_lib.train import RunResult, SplitScores

    chance = {"a2t_r1": 0.075}
    scores = SplitScores(num_clips=4, retrieval={"a2t_r1": 0.3}, retrieval_chance=chance, metrics={"cider_d": 0.25})
    untrained = SplitScores(num_clips=4, retrieval_chance=chance, metrics={"cider_d": 0.5})
    result = RunResult(tmp_path, TrainConfig(), "h", scores=scores, untrained_scores=untrained)
    assert run_verdicts(result) == ["audio-to-text R@1 0.300 against 0.075 by chance (4.0x chance)",
                                    "CIDEr-D 0.250 trained, not higher than the untrained model's 0.500"]
    bare = RunResult(tmp_path, TrainConfig(), "h", scores=SplitScores(num_clips=4, retrieval_chance=chance))
    assert run_verdicts(bare) == ["no retrieval: the model has no text head (alpha = 0)",
                                  "no caption metrics (caption_metrics=False)"]
