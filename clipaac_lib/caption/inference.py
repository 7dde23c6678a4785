"""Captioning audio with a trained model: one waveform (:func:`caption_audio`), any audio file
(:func:`caption_file`) or many files and folders with one loading of the model (:func:`caption_files`;
:func:`caption_outcomes` file by file, for
``clipaac caption FILE_OR_FOLDER ... [--run RUN_DIR] [--csv PATH]``).

:func:`caption_outcomes` never stops at a bad file: an unreadable or corrupt one becomes a
:class:`CaptionOutcome` with the reason in ``error``, and a clip too short or silent to trust is captioned
with the reasons in ``warnings`` (:func:`clipaac_lib.caption.checks.clip_warnings`). Without a run
directory the command takes the book's model (:func:`clipaac_lib.caption.runs.choose_run`);
:func:`write_captions_csv` writes the ``file,caption`` table atomically.

Notebook: ``notebooks/07_caption_your_audio.ipynb``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from clipaac_lib.caption.checks import clip_warnings
from clipaac_lib.common import atomic_write_text, tqdm
from clipaac_lib.data import Vocabulary, load_audio
from clipaac_lib.model import CLIPAAC, DecodeConfig, search
from clipaac_lib.train import RunDir, TrainConfig, decode_config, load_run_model, rows_to_csv

__all__ = ["AUDIO_SUFFIXES", "CaptionOutcome", "audio_files", "caption_file", "caption_files",
           "caption_outcomes", "caption_audio", "write_captions_csv"]

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


@dataclass
class CaptionOutcome:
    """What captioning one file gave: its ``caption``, or the reason it could not be read (``error``,
    with the raised ``exception``); ``warnings`` say why a caption should not be trusted (a clip too short
    or silent, :func:`clipaac_lib.caption.checks.clip_warnings`). Notebook:
    ``notebooks/07_caption_your_audio.ipynb``."""

    file: str
    caption: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    exception: Exception | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether the file was captioned."""
        return self.error is None


def _reason(err: Exception, path: Path) -> str:
    """The error's message on one line, without the file name it may start with (the caller names it)."""
    text = " ".join(str(err).split()) or type(err).__name__
    prefix = f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _caption_path(path: Path, model: CLIPAAC, vocab: Vocabulary, config: TrainConfig,
                  decode: DecodeConfig) -> CaptionOutcome:
    """One file's outcome: decoded as :func:`clipaac_lib.data.load_audio` does (a file that cannot be
    read or decoded gives an ``error``), captioned, and checked by :func:`clip_warnings`."""
    try:
        audio = load_audio(path, model.config.sample_rate, config.max_seconds)  # (S,)
    except (OSError, ValueError) as err:  # AudioError (corrupt, empty, not audio) is a ValueError
        return CaptionOutcome(str(path), error=_reason(err, path), exception=err)
    return CaptionOutcome(str(path), caption_audio(model, vocab, audio, decode),
                          warnings=clip_warnings(audio, model.config))


def _each_outcome(files: list[Path], model: CLIPAAC, vocab: Vocabulary, config: TrainConfig,
                  progress: bool) -> Iterator[CaptionOutcome]:
    decode = decode_config(config)
    # no bar for one file; the bar is cleared when the loop ends or stops
    with tqdm(files, desc="captioning", unit="file", disable=not progress or len(files) < 2,
              leave=False) as bar:
        for path in bar:
            yield _caption_path(path, model, vocab, config, decode)


def caption_outcomes(paths: Sequence[str | Path], run_dir: str | Path, *, device: str = "auto",
                     beam_size: int | None = None, max_caption_len: int | None = None,
                     length_penalty: float | None = None, progress: bool = False) -> Iterator[CaptionOutcome]:
    """``clipaac caption FILE_OR_FOLDER ...``: a :class:`CaptionOutcome` for every file of ``paths``
    (folders expanded by :func:`audio_files`), yielded as each is done, the model of ``run_dir`` loaded
    once; with ``progress`` a tqdm bar over the files (when there are several; print with ``tqdm.write``
    while it shows).

    The paths are checked and the model loaded before this returns (errors then are raised here); an
    unreadable or corrupt file afterwards is an outcome with an ``error``, and the files after it are still
    captioned. Notebook: ``notebooks/07_caption_your_audio.ipynb``.
    """
    files = audio_files(paths)
    model, vocab, config = _load(run_dir, device, beam_size, max_caption_len, length_penalty)
    return _each_outcome(files, model, vocab, config, progress)


@torch.no_grad()
def caption_files(paths: Sequence[str | Path], run_dir: str | Path, *, device: str = "auto",
                  beam_size: int | None = None, max_caption_len: int | None = None,
                  length_penalty: float | None = None, progress: bool = False) -> list[tuple[str, str]]:
    """``(file, caption)`` for every file of ``paths`` (folders expanded by :func:`audio_files`), the
    model loaded once; with ``progress`` a tqdm bar over the files (when there are several).

    Every path is checked before the model is loaded; an unreadable file stops the loop, raising its error
    (which names it). :func:`caption_outcomes` skips such files instead, and gives the warnings too.
    """
    rows: list[tuple[str, str]] = []
    for outcome in caption_outcomes(paths, run_dir, device=device, beam_size=beam_size,
                                    max_caption_len=max_caption_len, length_penalty=length_penalty,
                                    progress=progress):
        if outcome.exception is not None:
            raise outcome.exception
        rows.append((outcome.file, str(outcome.caption)))
    return rows


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
