"""Downloading Clotho v2.1 from Zenodo (or a mirror) and extracting its 7z archives.

What :func:`download_clotho` does for each split:

1. downloads the captions CSV, the metadata CSV and the audio archive through
   :func:`clipaac_lib.common.download.download`: a progress bar, resume after an interruption (HTTP Range on
   the ``.part`` file), md5 check, atomic rename; a verified file is never fetched again, and an
   interrupted transfer is retried (resumed) ``retries`` times before giving up;
2. extracts ``clotho_audio_<split>.7z`` with py7zr (pure Python) into a scratch folder, moves the
   ``.wav`` files into ``<root>/clotho_v2.1/<split>/`` and writes ``<split>/.extracted.json``
   (archive md5, file count); a split with that marker is neither downloaded nor extracted again,
   even after ``delete_archives=True`` removed its archive.

The URL table points at Zenodo record 4783391. A mirror holding the same file names is used with
``base_url="https://my.mirror/clotho"`` or the ``CLIPAAC_CLOTHO_URL`` environment variable; tests
point it at a local server. When the mirror's files differ from Zenodo's (re-packed archives, say),
``CLIPAAC_CLOTHO_CHECKSUMS`` names its checksum table: a text file of ``name md5`` lines (``md5sum``'s
``md5  name`` output works too) whose md5s replace the published ones for the files it lists
(:func:`clotho_files`; :func:`clipaac_lib.common.read_checksum_table` reads the table). Notebook:
``notebooks/01_data.ipynb`` (section "Getting Clotho").
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clipaac_lib.common import Checksum, DownloadError, atomic_write_json, download, read_checksum_table
from clipaac_lib.data.clotho import DATASET_FOLDER, SOURCE_SPLITS, default_data_root

__all__ = [
    "CLOTHO_V21_FILES",
    "ENV_BASE_URL",
    "ENV_CHECKSUMS",
    "ZENODO_RECORD",
    "ClothoFile",
    "ExtractionError",
    "clotho_files",
    "clotho_url",
    "download_clotho",
    "extract_archive",
    "read_checksum_table",  # lives in clipaac_lib.common.download (pretrain reads its table too)
]

ZENODO_RECORD = 4783391
ENV_BASE_URL = "CLIPAAC_CLOTHO_URL"
ENV_CHECKSUMS = "CLIPAAC_CLOTHO_CHECKSUMS"
_ZENODO = "https://zenodo.org/record/{record}/files/{name}?download=1"


@dataclass(frozen=True)
class ClothoFile:
    """One file of the release: ``kind`` is ``audio`` (a .7z archive), ``captions`` or ``metadata``."""

    name: str
    md5: str
    split: str
    kind: str


# md5s as published with the release (facts.md section 2, from Labbeti/aac-datasets).
CLOTHO_V21_FILES: tuple[ClothoFile, ...] = (
    ClothoFile("clotho_audio_development.7z", "c8b05bc7acdb13895bb3c6a29608667e", "development", "audio"),
    ClothoFile("clotho_audio_validation.7z", "7dba730be08bada48bd15dc4e668df59", "validation", "audio"),
    ClothoFile("clotho_audio_evaluation.7z", "4569624ccadf96223f19cb59fe4f849f", "evaluation", "audio"),
    ClothoFile("clotho_captions_development.csv", "d4090b39ce9f2491908eebf4d5b09bae", "development", "captions"),
    ClothoFile("clotho_captions_validation.csv", "5879e023032b22a2c930aaa0528bead4", "validation", "captions"),
    ClothoFile("clotho_captions_evaluation.csv", "1b16b9e57cf7bdb7f13a13802aeb57e2", "evaluation", "captions"),
    ClothoFile("clotho_metadata_development.csv", "170d20935ecfdf161ce1bb154118cda5", "development", "metadata"),
    ClothoFile("clotho_metadata_validation.csv", "2e010427c56b1ce6008b0f03f41048ce", "validation", "metadata"),
    ClothoFile("clotho_metadata_evaluation.csv", "13946f054d4e1bf48079813aac61bf77", "evaluation", "metadata"),
)


class ExtractionError(RuntimeError):
    """An archive passed its checksum but could not be extracted."""


def clotho_files(checksums: str | os.PathLike[str] | None = None) -> tuple[ClothoFile, ...]:
    """The release's file table with a mirror's md5s: :data:`CLOTHO_V21_FILES`, each md5 replaced by the
    one ``checksums`` (default ``$CLIPAAC_CLOTHO_CHECKSUMS``; none: the published table) lists for its
    name. Names the table does not list keep Zenodo's md5; names that are no release file are ignored."""
    source = checksums if checksums is not None else os.environ.get(ENV_CHECKSUMS) or None
    if source is None:
        return CLOTHO_V21_FILES
    table = read_checksum_table(source, 32, what=f"the Clotho checksum table (${ENV_CHECKSUMS})")
    return tuple(ClothoFile(f.name, table.get(f.name, f.md5), f.split, f.kind) for f in CLOTHO_V21_FILES)


def clotho_url(name: str, base_url: str | None = None) -> str:
    """URL of release file ``name``: ``<base_url>/<name>`` for a mirror, else Zenodo's."""
    base = base_url or os.environ.get(ENV_BASE_URL)
    if base:
        return f"{base.rstrip('/')}/{name}"
    return _ZENODO.format(record=ZENODO_RECORD, name=name)


def _marker(split_dir: Path) -> Path:
    return split_dir / ".extracted.json"


def _is_extracted(split_dir: Path, archive: ClothoFile) -> bool:
    try:
        info = json.loads(_marker(split_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if info.get("archive_md5") != archive.md5:
        return False
    return sum(1 for _ in split_dir.glob("*.wav")) >= int(info.get("files", 0))


def extract_archive(archive: Path, dest: Path, expected_md5: str | None = None) -> int:
    """Extract the ``.wav`` files of a 7z archive flat into ``dest``; returns how many.

    Extraction goes to a scratch folder beside ``dest`` first, so a failure leaves no half split.
    """
    import py7zr

    scratch = dest.parent / f".extract-{dest.name}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        try:
            with py7zr.SevenZipFile(archive, mode="r") as handle:
                handle.extractall(path=scratch)
        except Exception as err:  # py7zr raises Bad7zFile, CrcError, lzma errors, ...
            raise ExtractionError(
                f"{archive}: cannot extract the 7z archive ({type(err).__name__}: {err}). Delete it and "
                "call download_clotho again to fetch a fresh copy."
            ) from err
        wavs = sorted(p for p in scratch.rglob("*") if p.is_file() and p.suffix.lower() == ".wav")
        if not wavs:
            raise ExtractionError(f"{archive}: the archive holds no .wav files")
        dest.mkdir(parents=True, exist_ok=True)
        for wav in wavs:
            os.replace(wav, dest / wav.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    atomic_write_json(_marker(dest), {"archive": archive.name, "archive_md5": expected_md5, "files": len(wavs)})
    return len(wavs)


def _fetch(url: str, dest: Path, checksum: Checksum, retries: int) -> Path:
    for attempt in range(retries + 1):
        try:
            return download(url, dest, checksum)
        except DownloadError:
            if attempt == retries:
                raise
    raise AssertionError("unreachable")


def download_clotho(
    root: str | os.PathLike[str] | None = None,
    splits: Iterable[str] = SOURCE_SPLITS,
    *,
    base_url: str | None = None,
    files: Sequence[ClothoFile] | None = None,
    metadata: bool = True,
    delete_archives: bool = False,
    retries: int = 3,
) -> Path:
    """Download and extract Clotho v2.1 into ``<root>/clotho_v2.1``; returns that folder.

    ``splits`` picks among development/validation/evaluation; ``base_url`` (or ``$CLIPAAC_CLOTHO_URL``)
    points at a mirror; ``files`` replaces the file/md5 table (default :func:`clotho_files`: the published
    md5s, or a mirror's from ``$CLIPAAC_CLOTHO_CHECKSUMS``; tests pass their own). Safe to call again:
    nothing verified is downloaded twice. Raises :class:`clipaac_lib.common.download.ChecksumError` naming the
    file and both checksums when a download is corrupt. Notebook: ``notebooks/01_data.ipynb``.
    """
    folder = Path(default_data_root() if root is None else root).expanduser() / DATASET_FOLDER
    wanted = list(splits)
    unknown = [s for s in wanted if s not in SOURCE_SPLITS]
    if unknown:
        raise ValueError(f"unknown Clotho split(s) {unknown}; choose among {', '.join(SOURCE_SPLITS)}")
    files = clotho_files() if files is None else files
    folder.mkdir(parents=True, exist_ok=True)
    for split in wanted:
        entries = [f for f in files if f.split == split and (metadata or f.kind != "metadata")]
        if not any(f.kind == "captions" for f in entries):
            raise ValueError(f"the file table has no captions CSV for split {split!r}")
        for entry in entries:
            if entry.kind == "audio":
                continue
            _fetch(clotho_url(entry.name, base_url), folder / entry.name, Checksum("md5", entry.md5), retries)
        for archive in (f for f in entries if f.kind == "audio"):
            split_dir = folder / split
            if _is_extracted(split_dir, archive):
                continue
            path = _fetch(clotho_url(archive.name, base_url), folder / "archives" / archive.name,
                          Checksum("md5", archive.md5), retries)
            extract_archive(path, split_dir, archive.md5)
            if delete_archives:
                path.unlink()
                path.with_name(path.name + ".ok").unlink(missing_ok=True)
    return folder
