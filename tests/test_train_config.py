"""The training configuration, its command line, the learning-rate schedule and the checkpoint format."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from clipaac_lib.cli.train import add_train_commands, main_train
from clipaac_lib.train.checkpoint import (
    capture_rng,
    load_tensors_and_meta,
    restore_rng,
    save_tensors_and_meta,
)
from clipaac_lib.train.config import SYNTHETIC_EPOCHS, ConfigError, TrainConfig
from clipaac_lib.train.preflight import check_environment
from clipaac_lib.train.trainer import train


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clipaac")
    add_train_commands(parser.add_subparsers(dest="command", required=True))
    return parser


# ------------------------------------------------------------------------------------------ defaults
def test_defaults_are_the_papers_recipe() -> None:
    """Section 3.2 of the paper: Adam, 1e-5 / 1e-3, 5 warm-up epochs, 40 epochs, batch 8, label smoothing
    0.1, dropout 0.2; Eq. 7 alpha = 0.2 (system 8), Eq. 5 lambda = 0.5; beam size 3."""
    cfg = TrainConfig()
    clotho = cfg.replace(dataset="clotho").resolved()
    assert (clotho.lr, clotho.warmup_epochs, clotho.num_epochs, clotho.batch_size) == (1e-3, 5.0, 40, 8)
    synthetic = cfg.resolved()  # the embedded default trains for minutes, with the paper's warm-up share
    assert synthetic.num_epochs == SYNTHETIC_EPOCHS and synthetic.warmup_epochs == SYNTHETIC_EPOCHS * 5 / 40
    assert cfg.replace(num_epochs=7).resolved().num_epochs == 7
    assert (cfg.label_smoothing, cfg.dropout, cfg.alpha, cfg.lam, cfg.beam_size) == (0.1, 0.2, 0.2, 0.5, 3)
    assert cfg.replace(init="audio_text").effective_encoder_lr() == 1e-5  # a pre-trained encoder
    assert cfg.replace(init="random").effective_encoder_lr() == cfg.lr  # nothing to protect
    assert cfg.replace(encoder_lr=3e-4).effective_encoder_lr() == 3e-4
    assert (cfg.dataset, cfg.model_config, cfg.device) == ("synthetic", "small", "auto")


def test_warmup_rises_linearly_over_the_first_epochs() -> None:
    from clipaac_lib.train.trainer import warmup_factor

    # 10 steps per epoch, 5 warm-up epochs: 50 steps from 1/50 to 50/50, then flat
    assert warmup_factor(0, 10, 5.0) == pytest.approx(1 / 50)
    assert warmup_factor(24, 10, 5.0) == pytest.approx(25 / 50)
    assert warmup_factor(49, 10, 5.0) == 1.0
    assert warmup_factor(400, 10, 5.0) == 1.0
    assert warmup_factor(0, 10, 0.0) == 1.0


def test_optimizer_has_the_two_parameter_groups() -> None:
    from clipaac_lib.model import CLIPAAC
    from clipaac_lib.train.setup import build_model_config
    from clipaac_lib.train.step import make_optimizer

    cfg = TrainConfig(init="audio", model_overrides={"embed_dim": 16, "text": {"width": 16, "heads": 2, "layers": 1},
                                                     "decoder": {"d_model": 16, "heads": 2, "ffn_dim": 32}})
    model = CLIPAAC(build_model_config(cfg, vocab_size=10))
    optimizer = make_optimizer(model, cfg)
    groups = {g["name"]: g for g in optimizer.param_groups}
    assert groups["encoder"]["lr"] == 1e-5 and groups["new"]["lr"] == 1e-3
    ids = [id(p) for g in optimizer.param_groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    assert {id(p) for p in model.decoder.parameters()} <= {id(p) for p in groups["new"]["params"]}
    assert {id(p) for p in model.audio.parameters()} <= {id(p) for p in groups["encoder"]["params"]}


def test_model_config_follows_the_training_config() -> None:
    from clipaac_lib.train.setup import build_model_config

    cfg = TrainConfig(dropout=0.3, audio_memory="frames", model_overrides={"decoder": {"layers": 1}})
    model_config = build_model_config(cfg, vocab_size=123)
    assert model_config.vocab_size == 123 and model_config.audio_memory == "frames"
    assert model_config.decoder.dropout == 0.3 and model_config.decoder.layers == 1
    assert model_config.decoder.d_model == 128  # the rest of the small preset is kept
    with pytest.raises(ValueError, match="model_overrides"):
        build_model_config(TrainConfig(model_overrides={"decoder": {"depth": 3}}), vocab_size=10)


# ------------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"alpha": 1.5}, "alpha must be"),
        ({"alpha": -0.1}, "alpha must be"),
        ({"lam": 2.0}, "lam must be"),
        ({"init": "imagenet"}, "unknown init 'imagenet'"),
        ({"dataset": "audiocaps"}, "unknown dataset"),
        ({"model_config": "large"}, "unknown model_config"),
        ({"audio_memory": "tokens"}, "unknown audio_memory"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"num_epochs": 2.5}, "num_epochs must be a positive integer"),
        ({"lr": 0.0}, "lr must be a positive number"),
        ({"lr": float("nan")}, "lr must be a positive number"),
        ({"dropout": 1.0}, "dropout must be"),
        ({"label_smoothing": -0.1}, "label_smoothing must be"),
        ({"warmup_epochs": -1.0}, "warmup_epochs must be"),
        ({"device": "gpu"}, "device must be"),
        ({"beam_size": 0}, "beam_size must be"),
    ],
)
def test_bad_values_are_rejected_with_the_field_named(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes).validate()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_a_gpu_is_a_preflight_error() -> None:
    config = TrainConfig(device="cuda").validate()  # the value is fine: validation does no I/O
    with pytest.raises(ConfigError, match="no CUDA"):
        check_environment(config)


def test_clotho_without_its_files_is_a_preflight_error(tmp_path: Path) -> None:
    config = TrainConfig(dataset="clotho", data_root=str(tmp_path)).validate()
    with pytest.raises(ConfigError, match="clipaac data clotho"):
        check_environment(config)
    with pytest.raises(ConfigError, match="clipaac data clotho"):  # and train() stops on it first
        train(config.replace(run_root=str(tmp_path / "runs")))
    assert not (tmp_path / "runs").exists()


def test_validation_does_no_io(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """TrainConfig.validate checks values only: no file system glob, no CUDA query."""
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("validate() did I/O")

    monkeypatch.setattr(Path, "glob", forbidden)
    monkeypatch.setattr(torch.cuda, "is_available", forbidden)
    TrainConfig(dataset="clotho", device="cuda", data_root=str(tmp_path)).validate()


def test_unknown_fields_are_rejected_when_loading() -> None:
    with pytest.raises(ConfigError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"alpha": 0.2, "alhpa": 0.3})


# ------------------------------------------------------------------------------------------ run hash
def test_run_hash_depends_only_on_what_changes_the_weights(tmp_path: Path) -> None:
    cfg = TrainConfig()
    for changes in ({"device": "cpu"}, {"run_root": "/elsewhere"}, {"beam_size": 1}, {"progress": False},
                    {"num_workers": 4}, {"resume": False}, {"caption_metrics": False}):
        assert cfg.replace(**changes).run_hash() == cfg.run_hash(), changes
    hashes = {cfg.replace(**c).run_hash() for c in ({"alpha": 0.3}, {"seed": 1}, {"lr": 2e-3}, {"batch_size": 16},
                                                       {"init": "audio"}, {})}
    assert len(hashes) == 6
    cfg.save(tmp_path / "c.json")
    again = TrainConfig.load(tmp_path / "c.json")
    assert again == cfg and again.run_hash() == cfg.run_hash()
    shuffled = dict(reversed(list(cfg.to_dict().items())))  # field order does not matter
    assert TrainConfig.from_dict(shuffled).run_hash() == cfg.run_hash()
    assert cfg.replace(model_overrides={"a": 1, "b": 2}).run_hash() == \
        cfg.replace(model_overrides={"b": 2, "a": 1}).run_hash()


def test_smoke_shrinks_the_run_but_never_enlarges_it() -> None:
    smoke = TrainConfig(smoke=True).resolved()
    assert smoke.num_epochs == 1 and smoke.limit_train_clips == 16 and smoke.max_seconds <= 2.0
    # the paper's largest batch (16, Table 2) must still fit the smoke run's clips
    assert TrainConfig(smoke=True, batch_size=16).resolved().limit_train_clips >= 16
    assert TrainConfig(smoke=True, limit_train_clips=3).resolved().limit_train_clips == 3
    assert TrainConfig(smoke=True).run_hash() != TrainConfig().run_hash()


# ------------------------------------------------------------------------------------------ command line
def test_help_works_everywhere(capsys: pytest.CaptureFixture) -> None:
    parser = _parser()
    for argv in (["train", "--help"], ["evaluate", "--help"], ["caption", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(argv)
        assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--alpha", "--lam", "--init", "--encoder-lr", "--num-epochs", "--no-resume", "--run", "RUN_DIR"):
        assert option in out
    with pytest.raises(SystemExit) as exit_info:
        main_train(["--help"])
    assert exit_info.value.code == 0


def test_every_config_field_is_an_option_with_its_type() -> None:
    args = _parser().parse_args(["train", "--alpha", "0.3", "--encoder-lr", "none", "--batch-size", "16",
                                 "--no-resume", "--model-overrides", '{"decoder": {"layers": 1}}',
                                 "--limit-train-clips", "5"])
    from clipaac_lib.cli.train import config_from_args

    cfg = config_from_args(args)
    assert cfg == TrainConfig(alpha=0.3, encoder_lr=None, batch_size=16, resume=False,
                              model_overrides={"decoder": {"layers": 1}}, limit_train_clips=5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--alpha", "1.5"], "alpha must be"),
        (["train", "--init", "imagenet"], "unknown init 'imagenet'"),
        (["train", "--batch-size", "0"], "batch_size must be"),
        (["train", "--model-overrides", "[1, 2]"], "JSON object"),
        (["evaluate", "{missing}"], "does not exist"),
        (["caption", "{audio}", "--run", "{missing}"], "does not exist"),
        (["caption", "{missing}/x.wav", "--run", "{tmp}"], "does not exist"),
    ],
)
def test_bad_command_lines_fail_before_any_work(argv: list[str], message: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF")
    argv = [a.format(missing=tmp_path / "missing", audio=audio, tmp=tmp_path) for a in argv]
    runs = tmp_path / "runs"
    if argv[0] == "train":
        argv += ["--run-root", str(runs)]
    from clipaac_lib.cli.main import main

    try:
        status = main(argv)
    except SystemExit as stop:  # a usage error, reported by the parser
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("clipaac: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert message in err
    assert not runs.exists() and not (tmp_path / "cache" / "data").exists()  # nothing was started


# ------------------------------------------------------------------------------------------ checkpoint format
def test_checkpoints_hold_tensors_and_json_only(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(5, 3)).sum().backward()
    optimizer.step()
    state = {"epoch": 3, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "history": [{"epoch": 1, "loss": 2.5}], "rng": capture_rng()}
    path = tmp_path / "ck.pt"
    save_tensors_and_meta(path, state)
    raw = torch.load(path, weights_only=True)  # no pickled Python objects inside
    assert isinstance(json.loads(raw["meta"]), dict)
    back = load_tensors_and_meta(path)
    assert back["epoch"] == 3 and back["history"] == state["history"]
    assert all(torch.equal(back["model"][k], v) for k, v in state["model"].items())
    fresh = torch.optim.Adam(model.parameters(), lr=0.1)
    fresh.load_state_dict(back["optimizer"])
    assert fresh.state_dict()["state"][0]["exp_avg"].equal(optimizer.state_dict()["state"][0]["exp_avg"])
    assert fresh.param_groups[0]["lr"] == 0.1
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="bad.pt"):
        load_tensors_and_meta(tmp_path / "bad.pt")


def test_random_states_round_trip_through_a_checkpoint(tmp_path: Path) -> None:
    save_tensors_and_meta(tmp_path / "rng.pt", {"rng": capture_rng()})
    expected = (random.random(), float(np.random.rand()), float(torch.rand(())))
    random.random(), np.random.rand(), torch.rand(())  # move every generator on
    restore_rng(load_tensors_and_meta(tmp_path / "rng.pt")["rng"])
    assert (random.random(), float(np.random.rand()), float(torch.rand(()))) == expected


def test_loader_workers_default_to_none_on_cpu_and_to_the_free_cores_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from clipaac_lib.train import setup

    assert TrainConfig().num_workers is None
    assert setup.default_num_workers("cpu") == 0
    monkeypatch.setattr(setup, "resolve_device", lambda name: torch.device("cuda"))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert setup.default_num_workers("auto") == 8  # 15 free cores, capped at 8
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert setup.default_num_workers("auto") == 3  # 4 cores per process, one of them trains
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert setup.default_num_workers("auto") == 0
