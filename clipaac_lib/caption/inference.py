"""Captioning audio with a trained model: one waveform (:func:`caption_audio`), any audio file
(:func:`caption_file`) or many files and folders with one loading of the model (:func:`caption_files`,
``clipaac caption FILE_OR_FOLDER ... [--run RUN_DIR] [--csv PATH]``).

Without a run directory the command takes the newest finished run under the run root
(:func:`newest_run`); :func:`write_captions_csv` writes the ``file,caption`` table atomically.

Notebook: ``notebooks/07_caption_your_audio.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from clipaac_lib.common.fileio import atomic_write_text
from clipaac_lib.common.progress import tqdm
from clipaac_lib.data import Vocabulary, load_audio
from clipaac_lib.model import CLIPAAC
from clipaac_lib.model.decode import DecodeConfig, search
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.rundir import RunDir, decode_config, load_run_model, rows_to_csv

__all__ = ["AUDIO_SUFFIXES", "audio_files", "newest_run", "caption_file", "caption_files", "caption_audio",
           "write_captions_csv"]

#: What a folder's audio files end with (compared in lower case).
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")


def audio_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files to caption, in the order given: a file as it is, a folder as its audio files
    (:data:`AUDIO_SUFFIXES`, not in sub-folders) sorted by name.

    Raises ``FileNotFoundError`` naming a path that does not exist or a folder without audio files.
    """
    if not paths:
        raise ValueError("no audio files given; name WAV, FLAC, OGG or MP3 files or folders holding them")
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not inside:
                raise FileNotFoundError(f"folder {path} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"audio file {path} does not exist; give the path of a WAV, FLAC, OGG "
                                    "or MP3 file, or of a folder holding them")
    return found


def newest_run(run_root: str | Path) -> Path | None:
    """The finished run directory (:meth:`RunDir.is_finished`) under ``run_root`` that finished last
    (by the time of its ``finished.json``), or None when there is none."""
    root = Path(run_root)
    if not root.is_dir():
        return None
    finished = [RunDir(p) for p in root.iterdir() if p.is_dir() and RunDir(p).is_finished()]
    if not finished:
        return None
    return max(finished, key=lambda rd: (rd.finished_file.stat().st_mtime_ns, rd.path.name)).path


def _load(run_dir: str | Path, device: str, beam_size: int | None, max_caption_len: int | None,
          length_penalty: float | None) -> tuple[CLIPAAC, Vocabulary, TrainConfig]:
    """The run's model and vocabulary, and its configuration with the decoding changes applied."""
    rd = RunDir(run_dir).require()
    config = TrainConfig.from_dict(rd.read_config_dict())
    changes = {k: v for k, v in {"beam_size": beam_size, "max_caption_len": max_caption_len,
                                 "length_penalty": length_penalty}.items() if v is not None}
    config = config.replace(device=device, **changes).validate()
    model, vocab = load_run_model(rd, config.device)
    return model, vocab, config


@torch.no_grad()
def caption_file(audio_path: str | Path, run_dir: str | Path, *, device: str = "auto",
                 beam_size: int | None = None, max_caption_len: int | None = None,
                 length_penalty: float | None = None) -> str:
    """A caption for any WAV/FLAC/OGG/MP3 file with the model of ``run_dir`` (:func:`caption_files`
    captions many with one loading of the model).

    The file is mixed to mono, resampled to the model's rate and cut to the run's ``max_seconds``.
    """
    [(_, caption)] = caption_files([audio_path], run_dir, device=device, beam_size=beam_size,
                                   max_caption_len=max_caption_len, length_penalty=length_penalty)
    return caption


@torch.no_grad()
def caption_files(paths: Sequence[str | Path], run_dir: str | Path, *, device: str = "auto",
                  beam_size: int | None = None, max_caption_len: int | None = None,
                  length_penalty: float | None = None, progress: bool = False) -> list[tuple[str, str]]:
    """``clipaac caption FILE_OR_FOLDER ...``: ``(file, caption)`` for every file of ``paths`` (folders
    expanded by :func:`audio_files`), the model loaded once; with ``progress`` a tqdm bar over the files
    (when there are several).

    Every path is checked before the model is loaded; an unreadable file stops the loop with an error
    naming it.
    """
    files = audio_files(paths)
    model, vocab, config = _load(run_dir, device, beam_size, max_caption_len, length_penalty)
    decode = decode_config(config)
    out: list[tuple[str, str]] = []
    # no bar for one file; the bar is cleared when the loop ends or stops on an error
    with tqdm(files, desc="captioning", unit="file", disable=not progress or len(files) < 2,
              leave=False) as bar:
        for path in bar:
            audio = load_audio(path, model.config.sample_rate, config.max_seconds)  # (S,)
            out.append((str(path), caption_audio(model, vocab, audio, decode)))
    return out


def write_captions_csv(rows: Sequence[tuple[str, str]], path: str | Path) -> Path:
    """Write ``(file, caption)`` rows to a CSV with the header ``file,caption``, atomically (a reader
    never sees half of it); returns the path."""
    path = Path(path)
    atomic_write_text(path, rows_to_csv([{"file": file, "caption": caption} for file, caption in rows]))
    return path


@torch.no_grad()
def caption_audio(model: CLIPAAC, vocab: Vocabulary, audio: torch.Tensor, decode: DecodeConfig) -> str:
    """The caption of one waveform ``audio`` (S,) in [-1, 1] at the model's rate, by ``decode``'s search.

    Notebook: ``notebooks/07_caption_your_audio.ipynb``.
    """
    model.eval()
    dev = next(model.parameters()).device
    enc = model.encode_audio(audio.reshape(1, -1).to(dev))
    result = search(model, enc.memory, enc.memory_mask, decode)
    return vocab.decode(result.tokens[0])
