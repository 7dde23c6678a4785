"""Where the shipped records are: the checkout's ``results/``, or that folder of the repository, downloaded.

In a clone of the repository the records of the plateau grid sit in ``results/`` beside the package.
The pip-installed package (Colab) has no such folder, so :func:`shipped_results_dir` downloads the
repository's archive at the commit the package was installed from (``direct_url.json`` of a ``pip
install git+...``; else ``main``) once into ``<cache>/shipped_results/<ref>/`` and keeps its
``results/*.json`` and ``results/README.md``. Downloads happen only when asked (``download=True``) or on
Colab; offline elsewhere the function returns None and notebook 6 says so. ``CLIPAAC_RESULTS_URL``
(a URL with ``{ref}``) points at a mirror.

Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

import json
import os
import tarfile
from importlib import metadata
from pathlib import Path

from clipaac_lib.common import atomic_write_text, download, on_colab, subdir

__all__ = ["ARCHIVE_URL", "installed_ref", "on_colab", "shipped_results_dir"]

#: The repository's archive at a branch, tag or commit (GitHub's codeload service).
ARCHIVE_URL = "https://codeload.github.com/clipaac/clipaac/tar.gz/{ref}"
#: The checkout's records, beside the package (present in a clone, absent in a wheel).
REPO_RESULTS = Path(__file__).resolve().parents[2] / "results"


def installed_ref(distribution: str = "clipaac") -> str:
    """The commit a ``pip install git+https://...`` installed (PEP 610 ``direct_url.json``), else ``main``."""
    try:
        text = metadata.distribution(distribution).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return "main"
    info = json.loads(text) if text else {}
    return str(info.get("vcs_info", {}).get("commit_id") or "main")


def _extract_results(archive: Path, target: Path) -> int:
    """Copy ``<top>/results/*.json`` and its README out of the archive into ``target``; return the count."""
    count = 0
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) != 3 or parts[1] != "results":
                continue
            if not (parts[2].endswith(".json") or parts[2] == "README.md"):
                continue
            data = tar.extractfile(member)
            if data is not None:
                atomic_write_text(target / parts[2], data.read().decode("utf-8"))
                count += parts[2].endswith(".json")
    return count


def shipped_results_dir(*, download_missing: bool | None = None, ref: str | None = None) -> Path | None:
    """The folder of the shipped records: the checkout's ``results/``; else, when ``download_missing``
    (default: only on Colab), the repository's ``results/`` at ``ref`` (default :func:`installed_ref`),
    downloaded once; else None."""
    if REPO_RESULTS.is_dir():
        return REPO_RESULTS
    if download_missing is None:
        download_missing = on_colab()
    if not download_missing:
        return None
    ref = ref or installed_ref()
    target = subdir("shipped_results") / ref
    if (target / "README.md").is_file():
        return target
    url = os.environ.get("CLIPAAC_RESULTS_URL", ARCHIVE_URL).format(ref=ref)
    archive = download(url, subdir("shipped_results") / f"{ref}.tar.gz", desc="the shipped results")
    count = _extract_results(archive, target)
    if not (target / "README.md").is_file():
        raise ValueError(f"{url} holds no results/README.md: is it an archive of the clipaac repository?")
    print(f"{count} shipped records of {ref[:12]} in {target}")
    return target
