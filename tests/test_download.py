"""The shared resumable, checksummed downloader against a local HTTP server."""

from __future__ import annotations

import hashlib
import os

import pytest

from clipaac_lib.common.download import Checksum, ChecksumError, DownloadError, download, verify
from tests.http_server import serve


@pytest.fixture()
def payload(tmp_path):
    data = os.urandom(3 * (1 << 20) + 12345)  # a bit over 3 chunks
    folder = tmp_path / "server"
    folder.mkdir()
    (folder / "blob.bin").write_bytes(data)
    return folder, data


def test_download_verifies_and_is_not_repeated(payload, tmp_path):
    folder, data = payload
    checksum = Checksum("sha256", hashlib.sha256(data).hexdigest())
    with serve(folder) as (base, server):
        dest = download(f"{base}/blob.bin", tmp_path / "out" / "blob.bin", checksum)
        assert dest.read_bytes() == data
        download(f"{base}/blob.bin", dest, checksum)
        assert len(server.requests) == 1  # second call fetched nothing
    assert not dest.with_name("blob.bin.part").exists()


def test_interrupted_download_resumes_with_range(payload, tmp_path):
    folder, data = payload
    checksum = Checksum("md5", hashlib.md5(data).hexdigest())
    dest = tmp_path / "blob.bin"
    with serve(folder) as (base, server):
        server.fail_after["blob.bin"] = 1_000_000
        with pytest.raises(DownloadError, match="resume"):
            download(f"{base}/blob.bin", dest, checksum)
        part = dest.with_name("blob.bin.part")
        assert part.stat().st_size == 1_000_000 and not dest.exists()
        download(f"{base}/blob.bin", dest, checksum)
        assert server.requests[-1] == ("blob.bin", "bytes=1000000-")
    assert dest.read_bytes() == data


def test_server_ignoring_range_restarts_cleanly(payload, tmp_path):
    folder, data = payload
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(data[:5000])
    with serve(folder) as (base, server):
        server.ignore_range = True
        download(f"{base}/blob.bin", dest, Checksum("md5", hashlib.md5(data).hexdigest()))
    assert dest.read_bytes() == data


def test_wrong_checksum_names_file_and_both_digests(payload, tmp_path):
    folder, data = payload
    wrong = "0" * 64
    dest = tmp_path / "blob.bin"
    with serve(folder) as (base, _):
        with pytest.raises(ChecksumError) as info:
            download(f"{base}/blob.bin", dest, Checksum("sha256", wrong))
    message = str(info.value)
    assert "blob.bin" in message and wrong in message and hashlib.sha256(data).hexdigest() in message
    assert not dest.exists() and dest.with_name("blob.bin.corrupt").exists()


def test_changed_file_fails_verification_despite_marker(payload, tmp_path):
    folder, data = payload
    checksum = Checksum("md5", hashlib.md5(data).hexdigest())
    with serve(folder) as (base, _):
        dest = download(f"{base}/blob.bin", tmp_path / "blob.bin", checksum)
    assert verify(dest, checksum)
    dest.write_bytes(data[:-1] + b"\x00")  # same size, new mtime: the marker no longer applies
    assert not verify(dest, checksum)


def test_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(DownloadError, match="could not reach"):
        download("http://127.0.0.1:9/nothing.bin", tmp_path / "x.bin", timeout=2)


def test_checksum_rejects_unknown_algorithm():
    with pytest.raises(ValueError, match="sha1"):
        Checksum("sha1", "00")


def test_resumed_download_onto_a_corrupt_part_is_caught_and_restarted(payload, tmp_path):
    """A ``.part`` whose bytes are wrong (one flipped) is resumed with Range, so only the final checksum
    can tell: it must raise, leave no ``dest``, move the bad bytes aside, and the next call starts over."""
    folder, data = payload
    checksum = Checksum("sha256", hashlib.sha256(data).hexdigest())
    dest = tmp_path / "blob.bin"
    part, corrupt = dest.with_name("blob.bin.part"), dest.with_name("blob.bin.corrupt")
    n = 1_500_000
    prefix = bytearray(data[:n])
    prefix[n // 2] ^= 0x01
    part.write_bytes(bytes(prefix))
    with serve(folder) as (base, server):
        with pytest.raises(ChecksumError) as info:
            download(f"{base}/blob.bin", dest, checksum)
        assert server.requests == [("blob.bin", f"bytes={n}-")]  # resumed after the bytes already there
        message = str(info.value)
        assert "blob.bin" in message and checksum.hexdigest in message and "afresh" in message
        assert not dest.exists() and not dest.with_name("blob.bin.ok").exists()
        assert not part.exists()  # nothing left to resume from ...
        assert corrupt.read_bytes() == bytes(prefix) + data[n:]  # ... the bad bytes are kept aside

        assert download(f"{base}/blob.bin", dest, checksum) == dest
        assert server.requests[-1] == ("blob.bin", None)  # a fresh download, no Range
    assert dest.read_bytes() == data and not part.exists()
