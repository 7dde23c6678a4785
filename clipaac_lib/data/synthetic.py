"""The embedded default dataset: synthetic captioned sounds written in Clotho's exact on-disk format.

Clotho cannot be downloaded everywhere and the book must run offline on a CPU, so
:func:`make_synthetic_clotho` writes a small dataset that :class:`~clipaac_lib.data.ClothoDataset`
reads through the very same code path as Clotho::

    <root>/clotho_v2.1/
    ├── clotho_captions_{development,validation,evaluation}.csv   UTF-8, CRLF (dev/val) or LF (eval)
    ├── clotho_metadata_{development,validation,evaluation}.csv   ISO-8859-1, keywords = event types
    ├── {development,validation,evaluation}/*.wav                 16-bit PCM mono at sample_rate
    ├── synthetic.json          the generator's configuration (what makes a second call a no-op)
    └── synthetic_scenes.json   the ground-truth scene of every clip (events, times, background)

Every clip is a :class:`~clipaac_lib.data.synth_scenes.Scene` rendered by the synthesisers in
:mod:`~clipaac_lib.data.synth_sounds`, with five captions from :mod:`~clipaac_lib.data.synth_captions`.
Each clip draws from its own random stream ``SeedSequence([seed, split, index])``, so the same seed
gives the same bytes, and the dataset is written to a scratch folder renamed into place at the end.

Notebook: ``notebooks/01_data.ipynb`` (section "A synthetic Clotho").
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from clipaac_lib.common import SAMPLE_RATE, atomic_write_bytes, atomic_write_text, tqdm
from clipaac_lib.data.clotho import DATASET_FOLDER, SOURCE_SPLITS, default_data_root
from clipaac_lib.data.clotho_csv import CAPTIONS_HEADER, METADATA_COLUMNS
from clipaac_lib.data.synth_captions import write_captions
from clipaac_lib.data.synth_scenes import render_scene, sample_scene

__all__ = ["DEFAULT_SIZES", "DEFAULT_CLIP_SECONDS", "SyntheticConfig", "make_synthetic_clotho", "default_synthetic_root"]

#: Clips per split. The test split (evaluation) has 300 clips (Clotho's has 1 045), enough that a score's
#: test-clip sampling noise is small beside the differences the ablations compare (notebook 06); its
#: first 60 clips are the 60 of the earlier, smaller default (clip seeds depend on the index only).
DEFAULT_SIZES: dict[str, int] = {"development": 240, "validation": 60, "evaluation": 300}
#: Clip lengths of the default set: from 3 to 6 s in steps of 0.5 s, so that, as in Clotho (15-30 s),
#: clips of one batch differ in length and evaluation has to handle the padding.
DEFAULT_CLIP_SECONDS: tuple[float, float] = (3.0, 6.0)
CLIP_SECONDS_STEP = 0.5
GENERATOR_VERSION = 2
_LINE_ENDS = {"development": "\r\n", "validation": "\r\n", "evaluation": "\n"}  # as in Clotho v2.1


@dataclass
class SyntheticConfig:
    """Knobs of the synthetic dataset (all recorded in ``synthetic.json``)."""

    seed: int = 0
    sizes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SIZES))  # clips per split
    #: one length for every clip, or (shortest, longest): each clip's length drawn uniformly from that
    #: range in steps of :data:`CLIP_SECONDS_STEP`
    clip_seconds: float | tuple[float, float] = DEFAULT_CLIP_SECONDS
    sample_rate: int = SAMPLE_RATE  # rate of the WAV files (the loader resamples to the model's rate)
    background_probability: float = 0.4  # chance that a clip has a background texture
    max_events: int = 3  # 1 to 3 events per scene

    def __post_init__(self) -> None:
        unknown = set(self.sizes) - set(SOURCE_SPLITS)
        if unknown:
            raise ValueError(f"unknown split(s) {sorted(unknown)} in sizes; use {', '.join(SOURCE_SPLITS)}")
        self.sizes = {s: int(self.sizes.get(s, 0)) for s in SOURCE_SPLITS}
        if any(n < 0 for n in self.sizes.values()) or sum(self.sizes.values()) == 0:
            raise ValueError(f"sizes must be non-negative with at least one clip, got {self.sizes}")
        if self.sample_rate < SAMPLE_RATE:
            raise ValueError(f"sample_rate must be at least {SAMPLE_RATE} Hz (the events reach 7 kHz), got {self.sample_rate}")
        if isinstance(self.clip_seconds, (list, tuple)):
            low, high = (float(x) for x in self.clip_seconds)
            if not 0 < low <= high:
                raise ValueError(f"clip_seconds range must be (shortest, longest) with 0 < shortest <= longest, "
                                 f"got {self.clip_seconds}")
            self.clip_seconds = (low, high)
        if not 0.0 <= self.background_probability <= 1.0:
            raise ValueError(f"background_probability must be in [0, 1], got {self.background_probability}")

    def clip_length(self, rng: np.random.Generator) -> float:
        """One clip's length in seconds: fixed, or drawn from the range (``rng`` is the clip's own)."""
        if not isinstance(self.clip_seconds, tuple):
            return float(self.clip_seconds)
        low, high = self.clip_seconds
        steps = int(round((high - low) / CLIP_SECONDS_STEP))
        return low + CLIP_SECONDS_STEP * int(rng.integers(0, steps + 1))

    def to_dict(self) -> dict[str, object]:
        return {"generator_version": GENERATOR_VERSION, **asdict(self)}


def default_synthetic_root() -> Path:
    """``<cache>/data/synthetic``: where the book keeps the synthetic set."""
    return default_data_root() / "synthetic"


def _csv_text(rows: list[list[str]], line_end: str) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=line_end, quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buffer.getvalue()


def _file_name(split: str, index: int) -> str:
    return f"synthetic {split} clip {index:04d}.wav"


def _write_split(folder: Path, split: str, split_index: int, config: SyntheticConfig,
                 progress: bool) -> list[dict[str, object]]:
    import soundfile as sf

    audio_dir = folder / split
    audio_dir.mkdir(parents=True)
    captions_rows: list[list[str]] = [list(CAPTIONS_HEADER)]
    metadata_rows: list[list[str]] = [list(METADATA_COLUMNS)]
    scenes: list[dict[str, object]] = []
    for index in tqdm(range(config.sizes[split]), desc=f"synthesising {split}", unit="clip",
                      disable=not progress):
        scene_seq, audio_seq, text_seq, length_seq = np.random.SeedSequence([config.seed, split_index, index]).spawn(4)
        seconds = config.clip_length(np.random.default_rng(length_seq))
        scene = sample_scene(np.random.default_rng(scene_seq), seconds,
                             config.background_probability, config.max_events)
        wave = render_scene(scene, np.random.default_rng(audio_seq), config.sample_rate)
        captions = write_captions(scene, np.random.default_rng(text_seq))
        name = _file_name(split, index)
        buffer = io.BytesIO()  # written whole: no per-file fsync (the scratch folder is renamed at the end)
        sf.write(buffer, wave, config.sample_rate, subtype="PCM_16", format="WAV")
        (audio_dir / name).write_bytes(buffer.getvalue())
        captions_rows.append([name, *captions])
        keywords = ";".join([e.kind for e in scene.events] + ([scene.background] if scene.background else []))
        metadata_rows.append([name, keywords, str(index), "", f"[0, {wave.shape[0]}]", "clipaac synthetic",
                              "http://creativecommons.org/publicdomain/zero/1.0/"])
        scenes.append({"file_name": name, **scene.to_dict()})
    line_end = _LINE_ENDS[split]
    atomic_write_text(folder / f"clotho_captions_{split}.csv", _csv_text(captions_rows, line_end))
    metadata = _csv_text(metadata_rows, line_end).encode("iso-8859-1")
    atomic_write_bytes(folder / f"clotho_metadata_{split}.csv", metadata)
    return scenes


def _is_complete(folder: Path, config: SyntheticConfig) -> bool:
    try:
        recorded = json.loads((folder / "synthetic.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if recorded != json.loads(json.dumps(config.to_dict())):
        return False
    for split, size in config.sizes.items():
        if (not (folder / f"clotho_captions_{split}.csv").is_file()
                     or sum(1 for _ in (folder / split).glob("*.wav")) != size):
            return False
    return True


def make_synthetic_clotho(
    root: str | os.PathLike[str] | None = None,
    seed: int = 0,
    *,
    sizes: dict[str, int] | None = None,
    clip_seconds: float | tuple[float, float] = DEFAULT_CLIP_SECONDS,
    sample_rate: int = SAMPLE_RATE,
    background_probability: float = 0.4,
    max_events: int = 3,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write the synthetic Clotho-format dataset under ``<root>/clotho_v2.1``; returns that folder.

    ``root`` defaults to :func:`default_synthetic_root`. A folder already holding the same
    configuration is returned untouched (nothing is generated twice); one holding another synthetic
    configuration is regenerated; one holding anything else (real Clotho) is never overwritten unless
    ``overwrite=True``. Deterministic: the same arguments give byte-identical files.
    Notebook: ``notebooks/01_data.ipynb``.
    """
    config = SyntheticConfig(seed=seed, sizes=dict(DEFAULT_SIZES if sizes is None else sizes),
                             clip_seconds=clip_seconds, sample_rate=sample_rate,
                             background_probability=background_probability, max_events=max_events)
    base = Path(default_synthetic_root() if root is None else root).expanduser()
    folder = base / DATASET_FOLDER
    if _is_complete(folder, config):
        return folder
    if folder.exists() and not (folder / "synthetic.json").is_file() and not overwrite and any(folder.iterdir()):
        raise FileExistsError(
            f"{folder} already holds a dataset that this generator did not write (real Clotho?). Pick another "
            "root for the synthetic set, or pass overwrite=True to replace it."
        )
    base.mkdir(parents=True, exist_ok=True)
    scratch = base / f".synthetic-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        scratch.mkdir()
        # a split of size 0 still gets its (header-only) CSVs and folder, so "train" = dev + val always opens
        scenes = {split: _write_split(scratch, split, i, config, progress) for i, split in enumerate(SOURCE_SPLITS)}
        text = json.dumps(scenes, indent=1, sort_keys=True) + "\n"
        atomic_write_text(scratch / "synthetic_scenes.json", text)
        atomic_write_text(scratch / "synthetic.json", json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(scratch, folder)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return folder
