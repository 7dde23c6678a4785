"""Evaluating a run directory, loading its model, and captioning any audio file with it.

- :func:`evaluate_and_save` captions the test split with the run's decoding settings, scores it
  (:mod:`clipaac_lib.train.evaluate`) and writes ``eval-<tag>/`` in the run directory; the untrained
  model (rebuilt from the seed, so it equals the run's starting point) is scored the same way under
  ``eval-untrained-<tag>/`` for comparison. Saved evaluations are read back instead of recomputed.
- :func:`evaluate_run` is ``clipaac evaluate RUN_DIR``; :func:`caption_file` is ``clipaac caption``.

Notebook: ``notebooks/05_train.ipynb`` and ``notebooks/07_caption_your_audio.ipynb``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.decode import DecodeConfig, search
from clipaac_lib.train.rundir import RunDir
from clipaac_lib.train.setup import build_model, open_split, resolve_device
from clipaac_lib.train.step import use_bf16

__all__ = ["decode_config", "evaluation_tag", "load_run_model", "evaluate_and_save", "evaluate_run",
           "caption_file", "caption_audio", "strip_compiled_prefix"]


def decode_config(config: TrainConfig) -> DecodeConfig:
    """The decoding settings of a training configuration."""
    return DecodeConfig(beam_size=config.beam_size, max_len=config.max_caption_len,
                        length_penalty=config.length_penalty)


def evaluation_tag(config: TrainConfig) -> str:
    """Folder tag of an evaluation: decoding settings, split and clip limit, e.g. ``beam3-len30-lp1-test``."""
    tag = f"{decode_config(config).tag()}-{config.test_split}"
    return tag + (f"-first{config.limit_test_clips}" if config.limit_test_clips else "")


def strip_compiled_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop ``torch.compile``'s ``._orig_mod`` from parameter names."""
    return {key.replace("._orig_mod", ""): value for key, value in state.items()}


def load_run_model(run_dir: str | Path | RunDir, device: str | torch.device = "cpu") -> tuple[Any, Any]:
    """``(model, vocab)`` of a run: the final weights, or the last checkpoint's of an unfinished run."""
    from clipaac_lib.data import Vocabulary
    from clipaac_lib.model import CLIPAAC, ModelConfig

    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    rd.require()
    if not rd.model_config_file.is_file() or not rd.vocab_file.is_file():
        raise FileNotFoundError(f"{rd.path} has no model_config.json/vocab.json: the run never got to training")
    model_config = ModelConfig.from_dict(json.loads(rd.model_config_file.read_text(encoding="utf-8")))
    model = CLIPAAC(model_config)
    if rd.model_file.is_file():
        state = rd.load_model_state()
    elif rd.has_checkpoint():
        state = rd.load_checkpoint()["model"]
    else:
        raise FileNotFoundError(f"{rd.path} holds neither model.pt nor checkpoint.pt: no epoch has finished")
    model.load_state_dict(strip_compiled_prefix(state))
    device = resolve_device(str(device))
    return model.to(device).eval(), Vocabulary.load(rd.vocab_file)


def _evaluate(model: Any, test: Any, vocab: Any, config: TrainConfig, device: torch.device,
              label: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from clipaac_lib.train.evaluate import run_split, score_split

    dcfg = decode_config(config)
    out = run_split(model, test, vocab, device=device, batch_size=config.eval_batch_size, decode=dcfg,
                    nll=True, max_words=config.max_words, autocast=use_bf16(device, config.precision),
                    progress=config.progress, desc=f"captioning the {config.test_split} split ({label})")
    scores = score_split(out, caption_metrics=config.caption_metrics)
    scores.update({"model": label, "split": config.test_split, "decode": dcfg.__dict__,
                   "config": config.to_dict(), "run_hash": config.run_hash()})
    captions = [{"file_name": f, "caption": c, "references": r}
                for f, c, r in zip(out.file_names, out.captions or [], out.references, strict=True)]
    return scores, captions


def evaluate_and_save(run_dir: RunDir, config: TrainConfig, device: torch.device, *, reused: bool,
                      model: Any = None, data: Any = None, force: bool = False) -> Any:
    """Score the run's model (and the untrained one when ``config.eval_untrained``) on the test split,
    write the results into the run directory and return the :class:`~clipaac_lib.train.loop.RunResult`."""
    from clipaac_lib.train.loop import RunResult, seed_everything

    tag = evaluation_tag(config)
    saved = None if force else run_dir.read_evaluation(tag)
    test = vocab = None
    if saved is None:
        if model is None:
            model, vocab = load_run_model(run_dir, device)
        vocab = data.vocab if data is not None else vocab
        test = data.test if data is not None else _open_test(config, model)
        scores, captions = _evaluate(model, test, vocab, config, device, "trained")
        run_dir.write_evaluation(tag, scores, captions)
    else:
        scores, captions = saved
    untrained = None
    if config.eval_untrained:
        utag = f"untrained-{tag}"
        saved_untrained = None if force else run_dir.read_evaluation(utag)
        if saved_untrained is None:
            if vocab is None:
                from clipaac_lib.data import Vocabulary

                vocab = Vocabulary.load(run_dir.vocab_file)
            seed_everything(config.seed)
            fresh, _ = build_model(config, len(vocab), device)
            test = test if test is not None else _open_test(config, fresh)
            untrained, untrained_captions = _evaluate(fresh, test, vocab, config, device, "untrained")
            run_dir.write_evaluation(utag, untrained, untrained_captions)
        else:
            untrained = saved_untrained[0]
    finished = run_dir.read_finished() if run_dir.finished_file.is_file() else {}
    history = run_dir.read_history()
    return RunResult(run_dir.path, config, config.run_hash(), history, scores=scores, untrained_scores=untrained,
                     captions=captions, epochs_completed=int(finished.get("epochs", len(history))),
                     finished=run_dir.is_finished(), reused=reused,
                     train_seconds=float(finished.get("train_seconds", 0.0)))


def _open_test(config: TrainConfig, model: Any) -> Any:
    return open_split(config, config.test_split, model.config.sample_rate, config.limit_test_clips,
                      progress=config.progress)


def evaluate_run(run_dir: str | Path, *, device: str = "auto", force: bool = False, **changes: Any) -> Any:
    """``clipaac evaluate RUN_DIR``: evaluate a (finished or interrupted) run with its saved configuration,
    optionally changing evaluation fields (``beam_size``, ``max_caption_len``, ``length_penalty``,
    ``caption_metrics``, ``eval_untrained``, ...). Returns the ``RunResult``."""
    rd = RunDir(run_dir).require()
    config = TrainConfig.from_dict(rd.read_config_dict())
    config = config.replace(device=device, **changes).validate()
    return evaluate_and_save(rd, config, resolve_device(config.device), reused=True, force=force)


@torch.no_grad()
def caption_file(audio_path: str | Path, run_dir: str | Path, *, device: str = "auto",
                 beam_size: int | None = None, max_caption_len: int | None = None,
                 length_penalty: float | None = None) -> str:
    """``clipaac caption AUDIO_FILE --run RUN_DIR``: a caption for any WAV/FLAC/OGG/MP3 file.

    The file is mixed to mono, resampled to the model's rate and cut to the run's ``max_seconds``.
    """
    from clipaac_lib.data.audio import load_audio

    rd = RunDir(run_dir).require()
    config = TrainConfig.from_dict(rd.read_config_dict())
    changes = {k: v for k, v in {"beam_size": beam_size, "max_caption_len": max_caption_len,
                                 "length_penalty": length_penalty}.items() if v is not None}
    config = config.replace(device=device, **changes).validate()
    model, vocab = load_run_model(rd, config.device)
    audio = load_audio(audio_path, model.config.sample_rate, config.max_seconds)  # (S,)
    return caption_audio(model, vocab, audio, decode_config(config))


@torch.no_grad()
def caption_audio(model: Any, vocab: Any, audio: torch.Tensor, decode: DecodeConfig) -> str:
    """The caption of one waveform ``audio`` (S,) in [-1, 1] at the model's rate, by ``decode``'s search.

    Notebook: ``notebooks/07_caption_your_audio.ipynb``.
    """
    model.eval()
    dev = next(model.parameters()).device
    enc = model.encode_audio(audio.reshape(1, -1).to(dev))
    result = search(model, enc.memory, enc.memory_mask, decode)
    return vocab.decode(result.tokens[0])
