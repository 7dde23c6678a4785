"""Resumable, verified downloads shared by the data, weights and metrics code.

``download(url, dest, checksum=...)``:

1. if ``dest`` exists and its checksum matches, nothing is fetched (a small ``<dest>.ok`` marker
   remembers size and mtime so that multi-GB files are not re-hashed every time);
2. otherwise bytes go to ``<dest>.part``; an existing ``.part`` is continued with an HTTP ``Range``
   request (a server that ignores Range makes us start over, never corrupt the file);
3. the finished ``.part`` is checked (md5 or sha256) and only then renamed onto ``dest``; a mismatch
   raises :class:`ChecksumError` naming the file, both checksums and what to do, and the bad file is
   moved aside to ``<dest>.corrupt`` so that the next call downloads afresh.

A progress bar (tqdm) shows bytes and speed. A mirror's own checksums come as a table of ``name digest``
lines, read by :func:`read_checksum_table` (Clotho's md5s, the weights' sha256s). Notebook:
``notebooks/01_data.ipynb``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from clipaac_lib.common.progress import tqdm

__all__ = ["Checksum", "ChecksumError", "DownloadError", "download", "file_hash", "read_checksum_table", "verify"]

CHUNK = 1 << 20  # 1 MiB


@dataclass(frozen=True)
class Checksum:
    """An expected digest: ``algorithm`` is ``"md5"`` or ``"sha256"``, ``hexdigest`` lower-case hex."""

    algorithm: str
    hexdigest: str

    def __post_init__(self) -> None:
        if self.algorithm not in ("md5", "sha256"):
            raise ValueError(f"unsupported checksum algorithm {self.algorithm!r}; use 'md5' or 'sha256'")

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hexdigest}"


class DownloadError(RuntimeError):
    """A download failed (network error, HTTP error); partial data is kept for a later resume."""


class ChecksumError(RuntimeError):
    """A file's digest differs from the expected one."""


def file_hash(path: str | os.PathLike[str], algorithm: str) -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".ok")


def _stat_key(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def verify(path: str | os.PathLike[str], checksum: Checksum | None) -> bool:
    """True when ``path`` exists and matches ``checksum`` (always True for ``None`` and an existing file).

    A successful check is remembered in ``<path>.ok`` (size, mtime, digest) and reused while the file
    is unchanged.
    """
    path = Path(path)
    if not path.is_file():
        return False
    if checksum is None:
        return True
    marker = _marker(path)
    expected = {**_stat_key(path), "checksum": str(checksum)}
    if marker.is_file():
        try:
            if json.loads(marker.read_text()) == expected:
                return True
        except (OSError, ValueError):
            pass
    if file_hash(path, checksum.algorithm) != checksum.hexdigest.lower():
        return False
    marker.write_text(json.dumps(expected))
    return True


def _fetch(url: str, part: Path, desc: str, timeout: float) -> None:
    """Append the missing bytes of ``url`` to ``part`` (continuing with an HTTP Range request)."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "clipaac"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # range not satisfiable: the part file is already complete
            return
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:
        raise DownloadError(
            f"could not reach {url} ({err}). Check the network, or point the URL table at a mirror; "
            f"{part.name} keeps what was downloaded so far and the next call resumes."
        ) from err
    with response:
        resumed = offset and response.status == 206
        if offset and not resumed:  # the server ignored Range: start over
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        mode = "ab" if resumed else "wb"
        with open(part, mode) as out, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=desc
        ) as bar:
            try:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
            except (OSError, urllib.error.URLError) as err:
                raise DownloadError(
                    f"download of {url} was interrupted ({err}); {part} keeps {part.stat().st_size} bytes "
                    "and the next call resumes from there."
                ) from err
            out.flush()
            os.fsync(out.fileno())
    if total is not None and part.stat().st_size < total:
        raise DownloadError(
            f"download of {url} ended early ({part.stat().st_size} of {total} bytes); call again to resume."
        )


def download(
    url: str,
    dest: str | os.PathLike[str],
    checksum: Checksum | None = None,
    *,
    desc: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` unless a verified copy is already there; return ``dest``.

    Raises :class:`DownloadError` (partial bytes kept for resuming) or :class:`ChecksumError`.
    ``file://`` URLs work too (handy for mirrors on a shared disk).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if verify(dest, checksum):
        return dest
    if dest.exists():  # present but wrong: keep it aside, never silently overwrite evidence
        shutil.move(str(dest), str(dest.with_name(dest.name + ".corrupt")))
    part = dest.with_name(dest.name + ".part")
    _fetch(url, part, desc or dest.name, timeout)
    if checksum is not None:
        actual = file_hash(part, checksum.algorithm)
        if actual != checksum.hexdigest.lower():
            corrupt = dest.with_name(dest.name + ".corrupt")
            os.replace(part, corrupt)
            raise ChecksumError(
                f"{dest.name}: {checksum.algorithm} is {actual}, expected {checksum.hexdigest}. "
                f"The download from {url} is corrupt or the file changed upstream; it was moved to "
                f"{corrupt}. Call again to download afresh, or fetch the file by hand into {dest}."
            )
    os.replace(part, dest)
    verify(dest, checksum)  # write the .ok marker
    return dest


_HEX = re.compile(r"^[0-9a-fA-F]+$")


def read_checksum_table(path: str | os.PathLike[str], digits: int, what: str = "checksum table") -> dict[str, str]:
    """``{file name: lower-case hex digest}`` from a mirror's checksum table.

    One file per line, as ``name digest`` or as ``md5sum``/``sha256sum`` print it (``digest  name``, a
    ``*`` before the name allowed); blank lines and ``#`` comments are skipped. ``digits`` is the digest's
    length (32 for md5, 64 for sha256); a line that is neither form raises ``ValueError`` naming the
    file and line, a missing file ``FileNotFoundError`` naming ``what`` (such as the environment variable).
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise FileNotFoundError(f"{what} {path} cannot be read ({err}); write one `name digest` line per "
                                "file, or unset the variable to use the published checksums") from None
    table: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        first, last = parts[0], parts[-1]
        if len(parts) >= 2 and len(first) == digits and _HEX.match(first):
            digest, name = first, line[len(first):].strip().lstrip("*")
        elif len(parts) >= 2 and len(last) == digits and _HEX.match(last):
            digest, name = last, line[: -len(last)].strip()
        else:
            raise ValueError(f"{what} {path}, line {number}: expected `name digest` with a {digits}-digit hex "
                             f"digest, got {line!r}")
        table[name] = digest.lower()
    return table
