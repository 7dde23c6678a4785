"""download_clotho end to end against a local HTTP server serving 7z archives and CSVs made by the test."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import py7zr
import pytest
import soundfile as sf

from clipaac_lib.cli.main import main as cli_main
from clipaac_lib.common.download import ChecksumError, DownloadError
from clipaac_lib.data import CLOTHO_V21_FILES, ClothoDataset, ClothoFile, download_clotho
from clipaac_lib.data.clotho_download import ExtractionError, clotho_url
from tests.http_server import serve
from tests.test_data_fixtures import CLIPS, RATE, samples_of, write_clotho_folder

SPLITS = ("development", "validation", "evaluation")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture()
def release(tmp_path: Path) -> tuple[Path, tuple[ClothoFile, ...]]:
    """A folder laid out like the Zenodo record (archives with a <split>/ folder inside, CSVs) + its md5 table."""
    source = write_clotho_folder(tmp_path / "source")
    served = tmp_path / "served"
    served.mkdir()
    table = []
    for split in SPLITS:
        archive = served / f"clotho_audio_{split}.7z"
        with py7zr.SevenZipFile(archive, "w") as handle:
            handle.writeall(source / split, arcname=split)
        table.append(ClothoFile(archive.name, _md5(archive), split, "audio"))
        for kind in ("captions", "metadata"):
            name = f"clotho_{kind}_{split}.csv"
            shutil.copy(source / name, served / name)
            table.append(ClothoFile(name, _md5(served / name), split, kind))
    return served, tuple(table)


def test_the_real_table_lists_the_v2_1_release() -> None:
    assert len(CLOTHO_V21_FILES) == 9 and {f.split for f in CLOTHO_V21_FILES} == set(SPLITS)
    dev = {f.kind: f for f in CLOTHO_V21_FILES if f.split == "development"}
    assert dev["audio"].md5 == "c8b05bc7acdb13895bb3c6a29608667e"  # facts.md section 2
    assert clotho_url("clotho_captions_evaluation.csv", None) == (
        "https://zenodo.org/record/4783391/files/clotho_captions_evaluation.csv?download=1")
    assert clotho_url("x.7z", "http://mirror/clotho/") == "http://mirror/clotho/x.7z"


def test_download_extract_and_load(tmp_path: Path, release) -> None:
    served, table = release
    with serve(served) as (url, server):
        folder = download_clotho(tmp_path / "data", base_url=url, files=table)
        assert folder == tmp_path / "data" / "clotho_v2.1"
        assert len(server.requests) == 9
        for split in SPLITS:
            names = sorted(p.name for p in (folder / split).glob("*.wav"))
            assert names == sorted(c.file_name for c in CLIPS if c.split == split)
        ds = ClothoDataset(tmp_path / "data", "train", sample_rate=RATE, cache=False, progress=False)
        assert ds.file_names == [c.file_name for c in CLIPS if c.split != "evaluation"]
        data, rate = sf.read(str(folder / "validation" / CLIPS[3].file_name), dtype="int16")
        assert rate == RATE and (data == samples_of(CLIPS[3])[:, 0]).all()
        # a second call downloads nothing
        before = len(server.requests)
        download_clotho(tmp_path / "data", base_url=url, files=table)
        assert len(server.requests) == before


def test_interrupted_download_resumes_with_a_range_request(tmp_path: Path, release) -> None:
    served, table = release
    name = "clotho_audio_development.7z"
    with serve(served) as (url, server):
        server.fail_after[name] = 200  # the first transfer stops after 200 bytes
        with pytest.raises(DownloadError, match="call again to resume"):
            download_clotho(tmp_path / "data", splits=["development"], base_url=url, files=table, retries=0)
        part = tmp_path / "data" / "clotho_v2.1" / "archives" / (name + ".part")
        assert part.stat().st_size == 200
        server.fail_after[name] = 300  # interrupted again; the built-in retry resumes within the call
        download_clotho(tmp_path / "data", splits=["development"], base_url=url, files=table)
        ranges = [r for n, r in server.requests if n == name]
        assert ranges == [None, "bytes=200-", "bytes=500-"]
        archive = tmp_path / "data" / "clotho_v2.1" / "archives" / name
        assert _md5(archive) == _md5(served / name) and not part.exists()
    assert len(ClothoDataset(tmp_path / "data", "development", cache=False, progress=False)) == 3


def test_corrupt_archive_is_rejected_naming_both_checksums(tmp_path: Path, release) -> None:
    served, table = release
    archive = served / "clotho_audio_validation.7z"
    good = _md5(archive)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in transit
    archive.write_bytes(bytes(data))
    with serve(served) as (url, _server), pytest.raises(ChecksumError) as info:
        download_clotho(tmp_path / "data", splits=["validation"], base_url=url, files=table)
    text = str(info.value)
    assert "clotho_audio_validation.7z" in text and good in text and hashlib.md5(data).hexdigest() in text
    assert "download afresh" in text  # what to do
    assert not (tmp_path / "data" / "clotho_v2.1" / "validation").exists()  # nothing extracted


def test_archive_that_cannot_be_extracted(tmp_path: Path, release) -> None:
    served, table = release
    bogus = served / "clotho_audio_evaluation.7z"
    bogus.write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\x00" * 64)  # right magic, broken body; md5 matches the table
    table = tuple(ClothoFile(f.name, _md5(bogus), f.split, f.kind) if f.name == bogus.name else f for f in table)
    with serve(served) as (url, _server), pytest.raises(ExtractionError, match=r"clotho_audio_evaluation\.7z.*Delete"):
        download_clotho(tmp_path / "data", splits=["evaluation"], base_url=url, files=table)


def test_extracted_split_survives_deleting_the_archive(tmp_path: Path, release) -> None:
    served, table = release
    with serve(served) as (url, server):
        folder = download_clotho(tmp_path / "d", splits=["evaluation"], base_url=url, files=table,
                                 delete_archives=True)
        assert not (folder / "archives" / "clotho_audio_evaluation.7z").exists()
        before = len(server.requests)
        download_clotho(tmp_path / "d", splits=["evaluation"], base_url=url, files=table)
        assert len(server.requests) == before  # the extraction marker stands in for the archive


def test_cli_clotho_passes_root_mirror_and_splits(tmp_path: Path, monkeypatch) -> None:
    calls = []

    def fake(root, splits, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((root, list(splits), kwargs))
        return Path(root) / "clotho_v2.1"

    monkeypatch.setattr("clipaac_lib.data.download_clotho", fake)  # the name the command line imports
    assert cli_main(["data", "clotho", "--root", str(tmp_path), "--base-url", "http://mirror/c",
                     "--splits", "evaluation", "validation", "--delete-archives"]) == 0
    assert calls == [(tmp_path, ["evaluation", "validation"],
                      {"base_url": "http://mirror/c", "delete_archives": True})]
