"""Decoded-audio cache: each split's clips decoded and resampled once into one int16 memmap.

Decoding 44.1 kHz WAV and resampling it every epoch costs more than a GPU step; the cache turns an
epoch into memory-mapped reads. Per source split and target rate a folder holds

- ``audio.int16``: every clip's samples back to back, ``round(x * 32768)`` clipped to int16
  (quantisation error at most 1/65536 of full scale: 16-bit sources at the same rate are exact);
- ``index.json``: the format version, the sample rate, ``max_seconds``, a fingerprint of the source
  files (name, size, mtime) and, per clip, its offset and length in samples.

The cache is built once (with a progress bar), written atomically (data first, index last, so a crash
leaves no index pointing at missing data) and rebuilt when the fingerprint, rate or crop change.

Notebook: ``notebooks/01_data.ipynb`` (section "Caching decoded audio").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clipaac_lib.common import atomic_open, atomic_write_json, tqdm

__all__ = ["AudioCache", "cache_folder", "fingerprint", "to_int16", "from_int16", "INT16_SCALE"]

FORMAT = "clipaac-audio-cache-v1"
INT16_SCALE = 32768.0  # stored samples are round(x * INT16_SCALE); reading divides by it


def to_int16(wave: torch.Tensor) -> np.ndarray:
    """Float samples in [-1, 1] -> int16 (``round(x * 32768)``, clipped to [-32768, 32767])."""
    scaled = np.round(wave.detach().cpu().numpy().astype(np.float64) * INT16_SCALE)  # numpy: no thread-pool start-up
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def from_int16(samples: np.ndarray) -> torch.Tensor:
    """int16 samples -> float32 tensor in [-1, 1) (``x / 32768``)."""
    return torch.from_numpy(samples.astype(np.float32) / np.float32(INT16_SCALE))


def fingerprint(paths: Sequence[Path]) -> str:
    """sha256 over the name, size and mtime of every file, in order: changes when any file changes."""
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


@dataclass
class AudioCache:
    """A built cache: ``len(cache)`` clips, ``cache[i]`` a float32 tensor (S,). See the module docstring."""

    folder: Path
    sample_rate: int
    max_seconds: float | None
    names: list[str]
    offsets: np.ndarray
    lengths: np.ndarray

    def __post_init__(self) -> None:
        self._memmap: np.memmap | None = None
        self._position = {name: i for i, name in enumerate(self.names)}

    @property
    def data_path(self) -> Path:
        return self.folder / "audio.int16"

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._position

    def _data(self) -> np.memmap:
        if self._memmap is None:  # opened lazily, so each DataLoader worker maps the file itself
            self._memmap = np.memmap(self.data_path, dtype=np.int16, mode="r")
        return self._memmap

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_memmap"] = None
        return state

    def __getitem__(self, i: int) -> torch.Tensor:
        return from_int16(self.samples(i))

    def samples(self, i: int) -> np.ndarray:
        """The stored int16 samples (S,) of clip ``i`` (a copy; ``cache[i]`` is them as float32 / 32768)."""
        start, length = int(self.offsets[i]), int(self.lengths[i])
        return np.array(self._data()[start : start + length])

    def get(self, name: str) -> torch.Tensor:
        """The cached samples of the clip called ``name``."""
        return self[self._position[name]]

    @staticmethod
    def _meta(sample_rate: int, max_seconds: float | None, print_: str) -> dict[str, Any]:
        return {"format": FORMAT, "sample_rate": int(sample_rate), "max_seconds": max_seconds,
                "fingerprint": print_}

    @classmethod
    def open(
        cls, folder: Path, paths: Sequence[Path], sample_rate: int, max_seconds: float | None
    ) -> tuple[AudioCache, list[int], dict[int, str]] | None:
        """The cache in ``folder`` if it is complete and matches these files, rate and crop; else None.

        Returns ``(cache, kept, failed)`` as :meth:`build` does.
        """
        try:
            index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
            expected = cls._meta(sample_rate, max_seconds, fingerprint(paths))
            if any(index.get(k) != v for k, v in expected.items()):
                return None
            names = [p.name for p in paths]
            kept = [int(i) for i in index["kept"]]
            if index["names"] != [names[i] for i in kept]:
                return None
            failed = {int(i): str(msg) for i, msg in index["failed"].items()}
            offsets = np.asarray(index["offsets"], dtype=np.int64)
            lengths = np.asarray(index["lengths"], dtype=np.int64)
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None
        data_path = folder / "audio.int16"
        if not data_path.is_file() or data_path.stat().st_size != 2 * int(lengths.sum()):
            return None
        return cls(folder, sample_rate, max_seconds, index["names"], offsets, lengths), kept, failed

    @classmethod
    def build(
        cls,
        folder: Path,
        paths: Sequence[Path],
        sample_rate: int,
        max_seconds: float | None,
        decode: Callable[[Path], torch.Tensor],
        skip_failures: bool = False,
        desc: str = "caching audio",
        progress: bool = True,
    ) -> tuple[AudioCache, list[int], dict[int, str]]:
        """Decode every file with ``decode`` into a new cache in ``folder``.

        Returns the cache, the positions (in ``paths``) of the clips it holds, and ``{position:
        error message}`` for the files that failed to decode. A failure raises unless
        ``skip_failures``; skipped failures are remembered in the index, so that reopening the cache
        reports them again.
        """
        folder.mkdir(parents=True, exist_ok=True)
        kept: list[int] = []
        failed: dict[int, str] = {}
        offsets: list[int] = []
        lengths: list[int] = []
        total = 0
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one small clip at a time: intra-op threads only contend (5x slower on 2 busy cores)
        try:
            with atomic_open(folder / "audio.int16", "wb") as out:
                for i, path in enumerate(tqdm(paths, desc=desc, unit="clip", disable=not progress)):
                    try:
                        samples = to_int16(decode(path))
                    except (OSError, ValueError, RuntimeError) as err:
                        if not skip_failures:
                            raise
                        failed[i] = str(err)
                        continue
                    out.write(samples.tobytes())
                    kept.append(i)
                    offsets.append(total)
                    lengths.append(int(samples.shape[0]))
                    total += int(samples.shape[0])
        finally:
            torch.set_num_threads(threads)
        index = cls._meta(sample_rate, max_seconds, fingerprint(paths))
        names = [paths[i].name for i in kept]
        index.update(names=names, kept=kept, failed={str(i): m for i, m in failed.items()},
                     offsets=offsets, lengths=lengths)
        atomic_write_json(folder / "index.json", index)
        cache = cls(folder, sample_rate, max_seconds, names, np.asarray(offsets, dtype=np.int64),
                    np.asarray(lengths, dtype=np.int64))
        return cache, kept, failed

    @classmethod
    def open_or_build(
        cls,
        folder: Path,
        paths: Sequence[Path],
        sample_rate: int,
        max_seconds: float | None,
        decode: Callable[[Path], torch.Tensor],
        skip_failures: bool = False,
        desc: str = "caching audio",
        progress: bool = True,
    ) -> tuple[AudioCache, list[int], dict[int, str]]:
        """:meth:`open` when the cache is valid, else :meth:`build`."""
        opened = cls.open(folder, paths, sample_rate, max_seconds)
        if opened is not None and (skip_failures or not opened[2]):
            return opened
        return cls.build(folder, paths, sample_rate, max_seconds, decode, skip_failures, desc, progress)


def cache_folder(base: Path, split: str, sample_rate: int, max_seconds: float | None) -> Path:
    """``<base>/<split>_<rate>hz_<crop>``, ``<crop>`` being ``full`` when nothing is cropped."""
    crop = "full" if max_seconds is None else f"{max_seconds:g}s"
    return base / f"{split}_{int(sample_rate)}hz_{crop}"
