"""Finding a Java runtime and starting it the same way under every locale.

The PTB tokenizer, METEOR and SPICE are Java programs shipped by pycocoevalcap. Two things go wrong
on users' machines, and this module handles both:

- no ``java`` on the ``PATH``: :func:`find_java` raises :class:`JavaNotFoundError` with the command
  that installs one (Debian/Ubuntu ``default-jre-headless``, conda ``openjdk``);
- a non-English locale: METEOR then prints ``0,25`` instead of ``0.25`` and the Python side cannot
  parse it (aac-metrics issue 9). Every JVM we start gets :data:`LOCALE_FLAGS`
  (``-Duser.language=en`` ...), and :func:`java_env` removes locale settings from
  ``_JAVA_OPTIONS``, the one variable whose options override the command line.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

__all__ = [
    "JAVA_ENV_VAR",
    "JAVA_INSTALL_HINT",
    "LOCALE_FLAGS",
    "QUICK_START_FLAGS",
    "JavaNotFoundError",
    "find_java",
    "java_env",
    "java_has_module",
    "java_version",
]

JAVA_ENV_VAR = "CLIPAAC_JAVA"

#: Options given to every JVM: English number formatting and UTF-8 text whatever the user's locale.
#: (``stdout.encoding`` is read by Java 19+, ``sun.stdout.encoding`` by older ones; unknown ones are ignored.)
LOCALE_FLAGS: tuple[str, ...] = (
    "-Duser.language=en",
    "-Duser.country=US",
    "-Dfile.encoding=UTF-8",
    "-Dstdout.encoding=UTF-8",
    "-Dsun.stdout.encoding=UTF-8",
)

#: Options for short-lived JVMs (PTB tokenizer, METEOR with a reduced table): the C1 compiler only
#: and the serial collector. The optimising C2 compiler's threads cost more CPU than they save in a
#: few-second run (measured on 2 cores: METEOR 4.2 instead of 8.9 CPU-seconds, same scores).
QUICK_START_FLAGS: tuple[str, ...] = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

JAVA_INSTALL_HINT = (
    "The caption metrics (PTB tokenizer, METEOR, SPICE) run on Java 8 or newer. Install it with "
    "`sudo apt-get install default-jre-headless` (Debian/Ubuntu), `conda install -c conda-forge openjdk` "
    "(conda) or `brew install openjdk` (macOS); or point to an existing one with "
    f"evaluate_captions(..., java='/path/to/bin/java') or the environment variable {JAVA_ENV_VAR}."
)

_LOCALE_OPTION = re.compile(
    r"^-D(user\.(language|country|region|variant|script)|file\.encoding|(sun\.)?stdout\.encoding)="
)


class JavaNotFoundError(RuntimeError):
    """No usable Java runtime was found; the message says how to install one."""


def java_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child JVM: ``base`` (default ``os.environ``) with locale options removed
    from ``_JAVA_OPTIONS`` (which, unlike ``JAVA_TOOL_OPTIONS``, would override :data:`LOCALE_FLAGS`)."""
    env = dict(os.environ if base is None else base)
    options = env.get("_JAVA_OPTIONS")
    if options is not None:
        kept = [opt for opt in options.split() if not _LOCALE_OPTION.match(opt)]
        if kept:
            env["_JAVA_OPTIONS"] = " ".join(kept)
        else:
            del env["_JAVA_OPTIONS"]
    return env


@functools.lru_cache(maxsize=16)
def _probe(java: str) -> str:
    """``java -version`` output (it goes to stderr), or raise :class:`JavaNotFoundError`."""
    try:
        done = subprocess.run(
            [java, *LOCALE_FLAGS, "-version"], capture_output=True, text=True, timeout=60, env=java_env()
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise JavaNotFoundError(f"{java} could not be started ({err}). {JAVA_INSTALL_HINT}") from err
    if done.returncode != 0:
        raise JavaNotFoundError(
            f"`{java} -version` failed with exit code {done.returncode}: {done.stderr.strip()[:500]}. "
            f"{JAVA_INSTALL_HINT}"
        )
    return done.stderr + done.stdout


def find_java(java: str | os.PathLike[str] | None = None) -> str:
    """Path of a working ``java``: ``java`` if given, else ``$CLIPAAC_JAVA``, ``$JAVA_HOME/bin/java``,
    then the ``PATH``. Raises :class:`JavaNotFoundError` (with install instructions) if none runs."""
    if java is not None:
        candidate = str(java)
        resolved = shutil.which(candidate) if os.sep not in candidate else candidate
        if resolved is None or not Path(resolved).exists():
            raise JavaNotFoundError(f"java={candidate!r} does not exist. {JAVA_INSTALL_HINT}")
        _probe(resolved)
        return resolved
    candidates: list[str] = []
    if os.environ.get(JAVA_ENV_VAR):
        candidates.append(os.environ[JAVA_ENV_VAR])
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if Path(candidate).is_file():
            try:
                _probe(candidate)
            except JavaNotFoundError:
                continue
            return candidate
    raise JavaNotFoundError(
        f"no Java runtime found (looked at {candidates or 'the PATH'}). {JAVA_INSTALL_HINT}"
    )


def java_version(java: str) -> int:
    """The major version of ``java`` (8 for ``1.8.0_292``, 17 for ``17.0.15``)."""
    text = _probe(java)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if match is None:
        raise JavaNotFoundError(f"cannot read the version of {java} from: {text.strip()[:300]}")
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:  # 1.8 -> 8
        major = int(match.group(2))
    return major


@functools.lru_cache(maxsize=16)
def java_has_module(java: str, module: str) -> bool:
    """Whether the runtime image of ``java`` (9+) contains ``module`` (e.g. ``jdk.compiler``)."""
    try:
        done = subprocess.run(
            [java, "--list-modules"], capture_output=True, text=True, timeout=60, env=java_env()
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(line.split("@", 1)[0].strip() == module for line in done.stdout.splitlines())
