"""Setting up a Colab runtime: all that the notebooks' first cell does after installing clipaac.

Every notebook starts with the same cell (tagged ``remove-cell``, so the book does not show it). Only on
Colab, it installs clipaac from GitHub at ``CLIPAAC_REF`` (a branch, tag or commit) with ``%pip`` and
calls :func:`colab_setup`; elsewhere (a local Jupyter, the book build, papermill) it does nothing. The
install stays in the cell because the package cannot be imported before it is installed; the rest is
here, where it is tested (``tests/test_colab_rehearsal.py``):

- the clipaac in use must be the one installed from ``CLIPAAC_REF``: ``%pip`` does not stop the cell when
  pip fails, and pip keeps an installed clipaac of the same version when the cell runs again with
  another ref. Notebook 6 downloads the shipped results at the installed commit
  (``clipaac_lib.experiments.shipped.installed_ref``), so a stale install would show another commit's;
- the caption metrics (PTB tokenizer, METEOR, SPICE; ``notebooks/04_metrics.ipynb``) run on Java, which
  Colab's runtimes do not ship: a headless JRE is installed with apt when no ``java`` is on the ``PATH``.

Notebooks: the first cell of every notebook in ``notebooks/``; Java: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import metadata

__all__ = ["APT_INSTALL_JAVA", "ColabSetupError", "colab_setup", "install_java", "on_colab"]

#: What :func:`install_java` runs (Colab's runtime is root: no sudo).
APT_INSTALL_JAVA = "apt-get -qq update && apt-get -qq install -y default-jre-headless"
#: Where the first cell installs clipaac from (``pyproject.toml``'s Homepage).
REPOSITORY_URL = "https://github.com/clipaac/clipaac"
DISTRIBUTION = "clipaac"


class ColabSetupError(RuntimeError):
    """The Colab runtime could not be set up; the message says what to run by hand."""


def on_colab() -> bool:
    """Whether this process runs in a Colab notebook (its kernel has imported ``google.colab``)."""
    return "google.colab" in sys.modules


def _installed() -> tuple[str, dict[str, str]]:
    """The installed clipaac's version and its PEP 610 ``vcs_info`` (empty unless installed from git)."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # clipaac_lib imported from a folder on sys.path
        return "unknown", {}
    text = dist.read_text("direct_url.json")
    info = json.loads(text) if text else {}
    return str(dist.version), dict(info.get("vcs_info") or {})


def _check_installed_ref(ref: str) -> str:
    """Raise :class:`ColabSetupError` unless the installed clipaac came from git at ``ref``; else return
    ``"clipaac <version> from GitHub at <ref> (commit <short>)"``."""
    version, vcs = _installed()
    requested, commit = vcs.get("requested_revision"), vcs.get("commit_id", "")
    if requested == ref or (len(ref) >= 7 and commit.startswith(ref)):
        return f"clipaac {version} from GitHub at {ref} (commit {commit[:7]})"
    reinstall = (f'%pip install -q --force-reinstall --no-deps "{DISTRIBUTION}[colab] @ '
                 f'git+{REPOSITORY_URL}@{ref}"')
    found = (f"the one installed from git at {requested or commit[:7]}" if vcs
             else "one not installed from git")
    raise ColabSetupError(
        f"CLIPAAC_REF is {ref!r}, but the clipaac in use ({version}) is {found}: the %pip install in this "
        "cell failed (see its messages), or pip kept the installed clipaac because the version is the "
        f"same. Run `{reinstall}` in a cell, then restart the session (Runtime > Restart session) and "
        "run the notebook from the top."
    )


def install_java() -> str:
    """Install a headless Java runtime with apt (:data:`APT_INSTALL_JAVA`) and return the ``java`` it put
    on the ``PATH``; raise :class:`ColabSetupError` naming the command to run by hand if that fails."""
    by_hand = f"run `!{APT_INSTALL_JAVA}` in a cell to see why"
    try:
        done = subprocess.run(APT_INSTALL_JAVA, shell=True, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ColabSetupError(f"installing Java with apt did not finish ({err}); {by_hand}. The caption "
                              "metrics need Java.") from err
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        last = f": {said[-1]}" if said else ""
        raise ColabSetupError(f"installing Java with apt failed (exit code {done.returncode}{last}); "
                              f"{by_hand}. The caption metrics need Java.")
    java = shutil.which("java")
    if java is None:
        raise ColabSetupError(f"apt installed default-jre-headless, but no `java` is on the PATH; {by_hand}. "
                              "The caption metrics need Java.")
    return java


def colab_setup(ref: str | None = None) -> None:
    """The rest of the notebooks' first cell, after ``%pip`` installed clipaac at ``ref`` (the cell's
    ``CLIPAAC_REF``): check that the clipaac in use came from ``ref`` (when given), install Java with apt
    when ``java`` is missing, and print one line saying what was done. Does nothing outside Colab.

    Raises :class:`ColabSetupError` with the command to run by hand when either step fails.
    See the first cell of any notebook in ``notebooks/`` (e.g. ``notebooks/01_data.ipynb``).
    """
    if not on_colab():
        return
    package = _check_installed_ref(ref) if ref is not None else f"clipaac {_installed()[0]}"
    java = shutil.which("java")
    done = f"Java found at {java}" if java else f"Java installed with apt at {install_java()}"
    print(f"Colab ready: {package}; {done}.")
