"""Installing Stanford CoreNLP 3.6.0 (needed by SPICE) into our cache, checked.

``install_spice()`` (also ``python -m clipaac_lib.metrics install-spice``) puts
``stanford-corenlp-3.6.0.jar`` and ``stanford-corenlp-3.6.0-models.jar`` into
``<cache>/spice/lib``:

1. from Stanford's ``stanford-corenlp-full-2015-12-09.zip`` (the file pycocoevalcap downloads), or,
   if that fails,
2. from Maven Central (``edu.stanford.nlp:stanford-corenlp:3.6.0``, plain and ``models`` classifier),
   each jar compared with the ``.sha1`` file that Maven Central publishes beside it.

Downloads are resumable and can be pinned to a digest (:class:`CoreNLPSource`). No published
checksum of these files is known to us, so every jar is also checked for what SPICE needs: it opens
as a zip, every member passes its CRC check, and it holds the classes and models SPICE loads
(:data:`REQUIRED_ENTRIES`). Only verified jars are moved into place, and a small
``installed.json`` records them.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from clipaac_lib.common import (
    Checksum,
    ChecksumError,
    DownloadError,
    atomic_write_json,
    download,
    file_hash,
    subdir,
)

__all__ = [
    "CORENLP_JARS",
    "MAVEN_BASE",
    "REQUIRED_ENTRIES",
    "SPICE_INSTALL_COMMAND",
    "STANFORD_ZIP_URL",
    "CoreNLPSource",
    "InvalidJarError",
    "SpiceInstallError",
    "install_spice",
    "jars_verified",
    "spice_dir",
    "verify_jar",
]

SPICE_INSTALL_COMMAND = "python -m clipaac_lib.metrics install-spice"
CORENLP_JARS: tuple[str, str] = ("stanford-corenlp-3.6.0.jar", "stanford-corenlp-3.6.0-models.jar")
STANFORD_ZIP_URL = "https://nlp.stanford.edu/software/stanford-corenlp-full-2015-12-09.zip"
MAVEN_BASE = "https://repo1.maven.org/maven2/edu/stanford/nlp/stanford-corenlp/3.6.0"

#: Members each jar must contain: classes SPICE imports, and the default models of its pipeline
#: ``tokenize,ssplit,parse,lemma,ner`` (English PCFG parser, 3-class NER).
REQUIRED_ENTRIES: dict[str, tuple[str, ...]] = {
    "stanford-corenlp-3.6.0.jar": (
        "edu/stanford/nlp/pipeline/StanfordCoreNLP.class",
        "edu/stanford/nlp/semgraph/semgrex/SemgrexPattern.class",
        "edu/stanford/nlp/trees/UniversalEnglishGrammaticalRelations.class",
    ),
    "stanford-corenlp-3.6.0-models.jar": (
        "edu/stanford/nlp/models/lexparser/englishPCFG.ser.gz",
        "edu/stanford/nlp/models/ner/english.all.3class.distsim.crf.ser.gz",
    ),
}
_MARKER = "installed.json"


class InvalidJarError(RuntimeError):
    """A downloaded jar is not a complete CoreNLP 3.6.0 jar."""


class SpiceInstallError(RuntimeError):
    """Neither source gave verified CoreNLP jars."""


@dataclass(frozen=True)
class CoreNLPSource:
    """Where the CoreNLP 3.6.0 jars come from. ``None`` for a URL skips that source; a checksum pins a
    file (``jar_checksums`` maps a jar name to its checksum); ``maven_sha1`` compares Maven jars
    with Maven Central's ``.sha1`` files (used when no checksum is pinned); ``adopt_pycocoevalcap``
    reuses jars that pycocoevalcap itself downloaded into its ``spice/lib`` (copied after checks)."""

    zip_url: str | None = STANFORD_ZIP_URL
    zip_checksum: Checksum | None = None
    zip_root: str = "stanford-corenlp-full-2015-12-09"
    maven_base: str | None = MAVEN_BASE
    jar_checksums: Mapping[str, Checksum] = field(default_factory=dict)
    maven_sha1: bool = True
    adopt_pycocoevalcap: bool = True


def spice_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The SPICE folder: ``cache_dir`` if given, else ``<cache>/spice``; created on demand."""
    folder = Path(cache_dir) if cache_dir is not None else subdir("spice")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def verify_jar(path: str | os.PathLike[str], name: str) -> None:
    """Raise :class:`InvalidJarError` unless ``path`` is a sound zip holding ``REQUIRED_ENTRIES[name]``."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as jar:
            names = set(jar.namelist())
            missing = [entry for entry in REQUIRED_ENTRIES[name] if entry not in names]
            if missing:
                raise InvalidJarError(
                    f"{path} (as {name}) lacks {', '.join(missing)}: "
                    "it is not the CoreNLP 3.6.0 jar SPICE needs. "
                    f"Delete it and run `{SPICE_INSTALL_COMMAND}` again."
                )
            bad = jar.testzip()
            if bad is not None:
                raise InvalidJarError(
                    f"{path}: member {bad} fails its CRC check (corrupt download); delete it "
                    f"and run `{SPICE_INSTALL_COMMAND}` again."
                )
    except zipfile.BadZipFile as err:
        raise InvalidJarError(
            f"{path} is not a zip/jar file ({err}); delete it and run `{SPICE_INSTALL_COMMAND}` again."
        ) from err


def jars_verified(folder: Path) -> bool:
    """True when both jars are in ``folder/lib`` as recorded (size, mtime) by a finished install."""
    import json

    marker = folder / "lib" / _MARKER
    try:
        record = json.loads(marker.read_text())
        for name in CORENLP_JARS:
            stat = (folder / "lib" / name).stat()
            if (
                record["jars"][name]["size"] != stat.st_size
                or record["jars"][name]["mtime_ns"] != stat.st_mtime_ns
            ):
                return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


def _place(verified: Mapping[str, Path], folder: Path, origin: str) -> Path:
    """Move verified jars into ``folder/lib`` and write the marker."""
    lib = folder / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    record: dict[str, dict[str, object]] = {}
    for name, path in verified.items():
        target = lib / name
        os.replace(path, target)
        stat = target.stat()
        record[name] = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": file_hash(target, "sha256"),
        }
    atomic_write_json(lib / _MARKER, {"source": origin, "jars": record})
    return lib


def _from_zip(source: CoreNLPSource, folder: Path, keep_zip: bool) -> Path:
    assert source.zip_url is not None
    downloads = folder / "downloads"
    archive = download(
        source.zip_url, downloads / f"{source.zip_root}.zip", source.zip_checksum, desc="CoreNLP 3.6.0 (zip)"
    )
    extracted: dict[str, Path] = {}
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.namelist()
            for name in CORENLP_JARS:
                wanted = f"{source.zip_root}/{name}"
                member = (
                    wanted
                    if wanted in members
                    else next((m for m in members if m.endswith("/" + name)), None)
                )
                if member is None:
                    raise InvalidJarError(f"{archive} has no {wanted}: not the CoreNLP 3.6.0 distribution")
                part = downloads / f"{name}.from-zip"  # not download()'s "<name>.part"
                extracted[name] = part
                with bundle.open(member) as src, open(part, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                verify_jar(part, name)
    except BaseException as err:
        for part in extracted.values():
            part.unlink(missing_ok=True)
        if isinstance(err, (InvalidJarError, zipfile.BadZipFile)):  # a bad archive: fetch afresh next time
            os.replace(archive, archive.with_name(archive.name + ".corrupt"))
            archive.with_name(archive.name + ".ok").unlink(missing_ok=True)
        if isinstance(err, zipfile.BadZipFile):
            raise InvalidJarError(f"{archive} is not a valid zip ({err}); moved aside, try again") from err
        raise
    lib = _place(extracted, folder, source.zip_url)
    if not keep_zip:
        archive.unlink(missing_ok=True)
        archive.with_name(archive.name + ".ok").unlink(missing_ok=True)
    return lib


def _check_sha1(url: str, path: Path, downloads: Path) -> None:
    """Compare ``path`` with the ``.sha1`` file published at ``url + '.sha1'``."""
    sidecar = download(url + ".sha1", downloads / (path.name + ".sha1"), None, desc=path.name + ".sha1")
    words = sidecar.read_text(encoding="ascii", errors="replace").split()
    sidecar.unlink(missing_ok=True)
    expected = words[0].lower() if words else ""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        corrupt = path.with_name(path.name + ".corrupt")
        os.replace(path, corrupt)
        raise ChecksumError(
            f"{path.name}: sha1 is {digest.hexdigest()}, Maven Central publishes {expected!r} "
            f"({url}.sha1). Moved to {corrupt}; run `{SPICE_INSTALL_COMMAND}` again."
        )


def _from_maven(source: CoreNLPSource, folder: Path) -> Path:
    assert source.maven_base is not None
    downloads = folder / "downloads"
    fetched: dict[str, Path] = {}
    for name in CORENLP_JARS:
        url = f"{source.maven_base.rstrip('/')}/{name}"
        pinned = source.jar_checksums.get(name)
        path = download(url, downloads / name, pinned, desc=name)
        path.with_name(path.name + ".ok").unlink(missing_ok=True)
        if pinned is None and source.maven_sha1:
            _check_sha1(url, path, downloads)
        try:
            verify_jar(path, name)
        except InvalidJarError:
            os.replace(path, path.with_name(path.name + ".corrupt"))  # fetch afresh next time
            raise
        fetched[name] = path
    return _place(fetched, folder, source.maven_base)


def _from_local(folder: Path, adopt_pycocoevalcap: bool) -> Path | None:
    """Adopt jars put into ``folder/lib`` by hand, or downloaded by pycocoevalcap into its own
    ``spice/lib`` (copied, the original is left alone), once they pass :func:`verify_jar`."""
    lib = folder / "lib"
    if all((lib / name).is_file() for name in CORENLP_JARS):
        for name in CORENLP_JARS:
            verify_jar(lib / name, name)
        return _place({name: lib / name for name in CORENLP_JARS}, folder, f"placed by hand in {lib}")
    if not adopt_pycocoevalcap:
        return None
    try:
        from pycocoevalcap.spice import spice as theirs
    except ImportError:  # pragma: no cover - pycocoevalcap is a dependency
        return None
    their_lib = Path(theirs.__file__).resolve().parent / "lib"
    if not all((their_lib / name).is_file() for name in CORENLP_JARS):
        return None
    copies: dict[str, Path] = {}
    (folder / "downloads").mkdir(parents=True, exist_ok=True)
    for name in CORENLP_JARS:
        part = folder / "downloads" / f"{name}.copy"
        shutil.copyfile(their_lib / name, part)
        try:
            verify_jar(part, name)
        except InvalidJarError:
            part.unlink(missing_ok=True)
            return None
        copies[name] = part
    return _place(copies, folder, f"copied from {their_lib}")


def install_spice(
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    source: CoreNLPSource | None = None,
    keep_zip: bool = False,
    force: bool = False,
) -> Path:
    """Download, check and install the CoreNLP 3.6.0 jars for SPICE; return the folder holding them.

    ``cache_dir`` defaults to ``clipaac_lib.common.subdir("spice")``. Nothing happens when verified jars
    are already there (``force=True`` reinstalls). Raises :class:`SpiceInstallError` naming what went
    wrong with each source. Notebook: ``notebooks/04_metrics.ipynb``.
    """
    source = source if source is not None else CoreNLPSource()
    folder = spice_dir(cache_dir)
    if not force and jars_verified(folder):
        return folder / "lib"
    failures: list[str] = []
    try:
        local = _from_local(folder, source.adopt_pycocoevalcap)
    except InvalidJarError as err:
        failures.append(f"jars already present: {err}")
        local = None
    if local is not None:
        return local
    if source.zip_url is not None:
        try:
            return _from_zip(source, folder, keep_zip)
        except (DownloadError, ChecksumError, InvalidJarError, OSError) as err:
            failures.append(f"Stanford zip ({source.zip_url}): {err}")
            if source.maven_base is not None:
                warnings.warn(f"{failures[-1]}; trying Maven Central", RuntimeWarning, stacklevel=2)
    if source.maven_base is not None:
        try:
            return _from_maven(source, folder)
        except (DownloadError, ChecksumError, InvalidJarError, OSError) as err:
            failures.append(f"Maven Central ({source.maven_base}): {err}")
    raise SpiceInstallError(
        "could not install Stanford CoreNLP 3.6.0 for SPICE.\n- "
        + "\n- ".join(failures or ["no source given"])
        + f"\nBy hand: put {' and '.join(CORENLP_JARS)} (from {STANFORD_ZIP_URL}) "
        f"into {folder / 'lib'} and run "
        f"`{SPICE_INSTALL_COMMAND}` again to check them."
    )
