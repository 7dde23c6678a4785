"""The Clotho v2.1 dataset (and anything in its format, like the synthetic default) as a torch Dataset.

Notebook: ``notebooks/01_data.ipynb``.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import torch
from torch.utils.data import Dataset

from clipaac_lib.common import SAMPLE_RATE, subdir
from clipaac_lib.data.audio import AudioError, audio_info, load_audio
from clipaac_lib.data.cache import AudioCache, cache_folder, to_int16
from clipaac_lib.data.clotho_csv import (
    SKIP_HINT,
    CaptionRow,
    ClothoFormatError,
    DataIssue,
    read_captions_csv,
    read_metadata_csv,
)

__all__ = [
    "DATASET_FOLDER",
    "SOURCE_SPLITS",
    "SPLITS",
    "ClothoDataset",
    "ClothoItem",
    "dataset_folder",
    "default_data_root",
]

log = logging.getLogger(__name__)

DATASET_FOLDER = "clotho_v2.1"
SOURCE_SPLITS: tuple[str, ...] = ("development", "validation", "evaluation")
SPLITS: dict[str, tuple[str, ...]] = {
    "development": ("development",),
    "validation": ("validation",),
    "evaluation": ("evaluation",),
    "train": ("development", "validation"),  # the paper's training set: 4884 clips, 24420 captions
    "test": ("evaluation",),  # the paper's test set: 1045 clips, 5225 captions
}


def default_data_root() -> Path:
    """Where datasets live by default: ``<cache>/data`` (``$CLIPAAC_CACHE/data`` when set)."""
    return subdir("data")


def dataset_folder(root: str | os.PathLike[str]) -> Path:
    """``<root>/clotho_v2.1``; ``root`` itself when it already is such a folder (holds the CSVs)."""
    root = Path(root).expanduser()
    if not (root / DATASET_FOLDER).is_dir() and any(root.glob("clotho_captions_*.csv")):
        return root
    return root / DATASET_FOLDER


class ClothoItem(TypedDict):
    file_name: str
    audio: torch.Tensor
    captions: list[str]


@dataclass(frozen=True)
class _Clip:
    source: str
    row: CaptionRow
    path: Path
    cache: AudioCache | None
    position: int


class ClothoDataset(Dataset[ClothoItem]):
    """Clips and their five captions from a Clotho-format folder; ``len()`` is the number of clips.

    On-disk layout (what :func:`download_clotho` and :func:`make_synthetic_clotho` write)::

        <root>/
        └── clotho_v2.1/
            ├── clotho_captions_development.csv    file_name,caption_1..caption_5 (UTF-8)
            ├── clotho_captions_validation.csv
            ├── clotho_captions_evaluation.csv
            ├── clotho_metadata_development.csv    optional, ISO-8859-1
            ├── clotho_metadata_validation.csv     optional
            ├── clotho_metadata_evaluation.csv     optional
            ├── development/*.wav                  the clips, named as in file_name
            ├── validation/*.wav
            ├── evaluation/*.wav
            ├── archives/*.7z                      downloaded archives (download_clotho; optional)
            └── .cache/                            decoded-audio cache (see clipaac_lib.data.cache)

    ``split`` is ``development``, ``validation``, ``evaluation``, or the paper's ``train``
    (development + validation) or ``test`` (evaluation). ``ds[i]`` is a dict with ``file_name``,
    ``audio`` (float32 (S,), mono, in [-1, 1], at ``sample_rate``, the first ``max_seconds`` seconds)
    and ``captions`` (the five strings exactly as in the CSV). With ``audio_dtype="int16"`` the audio
    is the int16 samples ``round(x * 32768)`` instead, straight from the cache: half the bytes on their
    way to a GPU, which turns them back into float32 ``x / 32768``
    (:func:`clipaac_lib.train.step.audio_to_device`); training uses this.

    ``cache=True`` decodes and resamples every clip once into an int16 memmap (rebuilt when the
    files, rate or crop change) so that an epoch only reads memory. ``on_error="raise"`` stops at the
    first bad input (missing or corrupt clip, bad CSV row) with an error naming the file and row;
    ``on_error="skip"`` leaves such clips out, counts them in :attr:`skipped` and warns with
    :meth:`report`. Notebook: ``notebooks/01_data.ipynb``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        split: str = "development",
        sample_rate: int = SAMPLE_RATE,
        max_seconds: float | None = 30.0,
        cache: bool = True,
        on_error: str = "raise",
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        progress: bool = True,
        audio_dtype: str = "float32",
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if audio_dtype not in ("float32", "int16"):
            raise ValueError(f"audio_dtype must be 'float32' or 'int16', got {audio_dtype!r}")
        if max_seconds is not None and max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive or None, got {max_seconds}")
        self.folder = dataset_folder(default_data_root() if root is None else root)
        self.split = split
        self.sample_rate = int(sample_rate)
        self.max_seconds = max_seconds
        self.on_error = on_error
        self.audio_dtype = audio_dtype
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.folder / ".cache"
        self.skipped: list[DataIssue] = []
        self._metadata: dict[str, dict[str, dict[str, str]]] = {}
        self._clips: list[_Clip] = []
        for source in SPLITS[split]:
            self._clips.extend(self._load_source(source, cache, progress))
        if self.skipped:
            warnings.warn(self.report(), stacklevel=2)

    # -- construction -------------------------------------------------------------------------------
    def _issue(self, issue: DataIssue, hint: str = SKIP_HINT) -> None:
        if self.on_error == "raise":
            raise ClothoFormatError(issue, hint)
        self.skipped.append(issue)
        log.warning("skipping %s", issue)

    def _load_source(self, source: str, cache: bool, progress: bool) -> list[_Clip]:
        csv_path = self.folder / f"clotho_captions_{source}.csv"
        if not csv_path.is_file():
            raise FileNotFoundError(
                f"{csv_path} not found: no Clotho-format '{source}' split in {self.folder}. Download Clotho "
                "with clipaac_lib.data.download_clotho(root) (or `clipaac data clotho --root ROOT`), or write "
                "the synthetic set with make_synthetic_clotho(root) (`clipaac data synthetic --root ROOT`)."
            )
        rows, issues = read_captions_csv(csv_path, self.on_error)
        for issue in issues:
            self._issue(issue)
        meta_path = self.folder / f"clotho_metadata_{source}.csv"
        if meta_path.is_file():
            self._metadata[source] = read_metadata_csv(meta_path)
        audio_dir = self.folder / source
        present: list[CaptionRow] = []
        for row in rows:
            wav = audio_dir / row.file_name
            if wav.is_file():
                present.append(row)
            else:
                self._issue(DataIssue(csv_path, row.row, row.line, row.file_name, f"clip file missing: {wav}"),
                            "Re-run the download/extraction (clipaac data clotho), or pass on_error='skip'.")
        wavs = [audio_dir / row.file_name for row in present]
        if not cache:
            kept = []
            for row, wav in zip(present, wavs, strict=True):
                try:
                    audio_info(wav)
                except (AudioError, OSError) as err:
                    self._issue(DataIssue(csv_path, row.row, row.line, row.file_name, str(err)), _AUDIO_HINT)
                    continue
                kept.append(_Clip(source, row, wav, None, 0))
            return kept
        by_path = {wav: row for row, wav in zip(present, wavs, strict=True)}

        def decode(wav: Path) -> torch.Tensor:
            try:
                return load_audio(wav, self.sample_rate, self.max_seconds)
            except (AudioError, OSError) as err:
                row = by_path[wav]
                if self.on_error == "skip":
                    raise
                raise ClothoFormatError(DataIssue(csv_path, row.row, row.line, row.file_name, str(err)),
                                        _AUDIO_HINT) from err

        folder = cache_folder(self.cache_dir, source, self.sample_rate, self.max_seconds)
        audio_cache, kept_positions, failed = AudioCache.open_or_build(
            folder, wavs, self.sample_rate, self.max_seconds, decode,
            skip_failures=self.on_error == "skip", desc=f"caching {source} audio at {self.sample_rate} Hz",
            progress=progress,
        )
        for position, message in sorted(failed.items()):
            row = present[position]
            self._issue(DataIssue(csv_path, row.row, row.line, row.file_name, message), _AUDIO_HINT)
        return [_Clip(source, present[p], wavs[p], audio_cache, k) for k, p in enumerate(kept_positions)]

    # -- access ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._clips)

    def __getitem__(self, index: int) -> ClothoItem:
        clip = self._clips[index]
        if clip.cache is not None and self.audio_dtype == "int16":
            audio = torch.from_numpy(clip.cache.samples(clip.position))  # (S,) int16
        elif clip.cache is not None:
            audio = clip.cache[clip.position]  # (S,) float32
        else:
            try:
                audio = load_audio(clip.path, self.sample_rate, self.max_seconds)
            except (AudioError, OSError) as err:
                row = clip.row
                csv_path = self.folder / f"clotho_captions_{clip.source}.csv"
                raise ClothoFormatError(DataIssue(csv_path, row.row, row.line, row.file_name, str(err)),
                                        _AUDIO_HINT) from err
            if self.audio_dtype == "int16":
                audio = torch.from_numpy(to_int16(audio))  # (S,) the samples the cache would hold
        return {"file_name": clip.row.file_name, "audio": audio, "captions": list(clip.row.captions)}

    def captions(self, index: int) -> list[str]:
        """The five captions of clip ``index`` as written in the CSV (no audio is read)."""
        return list(self._clips[index].row.captions)

    @property
    def file_names(self) -> list[str]:
        """File names of the clips, in dataset order."""
        return [clip.row.file_name for clip in self._clips]

    def audio_path(self, index: int) -> Path:
        """Path of the WAV file of clip ``index``."""
        return self._clips[index].path

    def metadata(self, index: int) -> dict[str, str] | None:
        """The metadata CSV row of clip ``index`` (keywords, sound_id, ...), or None without one."""
        clip = self._clips[index]
        return self._metadata.get(clip.source, {}).get(clip.row.file_name)

    def report(self) -> str:
        """A readable account of the clips left out with ``on_error='skip'``."""
        if not self.skipped:
            return f"ClothoDataset({self.split}): {len(self)} clips, none skipped."
        lines = [f"ClothoDataset({self.split}): skipped {len(self.skipped)} clip(s), kept {len(self)}:"]
        lines += [f"  - {issue}" for issue in self.skipped]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"ClothoDataset(folder={str(self.folder)!r}, split={self.split!r}, clips={len(self)}, "
                f"sample_rate={self.sample_rate}, max_seconds={self.max_seconds}, skipped={len(self.skipped)})")


_AUDIO_HINT = ("Re-download or re-extract the clip (clipaac data clotho), or pass on_error='skip' to leave "
               "it out (counted and reported).")
