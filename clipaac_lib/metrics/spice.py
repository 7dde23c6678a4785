"""Running SPICE 1.0 from our cache folder, on any Java from 8 to today's.

pycocoevalcap's ``Spice`` downloads Stanford CoreNLP 3.6.0 into site-packages on first use, writes
``tmp/`` and ``cache/`` there, and fails on new Java versions. Here:

- the CoreNLP jars live in ``<cache>/spice/lib`` (:func:`~clipaac_lib.metrics.spice_install.install_spice`);
- SPICE's own jar and libraries are *referenced* in pycocoevalcap (read only), with our CoreNLP jars
  first on an explicit ``-cp`` class path (the jar's manifest would look for CoreNLP in site-packages);
- the working folder, input/output JSON, ``-cache`` and ``java.io.tmpdir`` are all under
  ``<cache>/spice``: nothing is written into site-packages;
- Java 8 to 14 run ``edu.anu.spice.SpiceScorer`` itself, with its parse cache;
- Java 15+ run :mod:`~clipaac_lib.metrics.spice_driver` (``SpiceScorer`` crashes there while
  writing its output), without ``-cache`` on 16+ (its serialiser fails under the module system).

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clipaac_lib.metrics.java import LOCALE_FLAGS, java_env, java_has_module, java_version
from clipaac_lib.metrics.spice_driver import write_driver
from clipaac_lib.metrics.spice_install import CORENLP_JARS, SPICE_INSTALL_COMMAND, jars_verified, spice_dir

__all__ = [
    "SpiceConfig",
    "SpiceNotInstalledError",
    "SpiceProcess",
    "SpiceRun",
    "run_spice",
    "spice_available",
    "spice_classpath",
    "spice_command",
    "spice_jar",
]


class SpiceNotInstalledError(RuntimeError):
    """The Stanford CoreNLP 3.6.0 jars that SPICE needs are not in the cache."""


@dataclass(frozen=True)
class SpiceConfig:
    """How to run SPICE: JVM heap (pycocoevalcap uses 8G), parser threads (None: all cores), a
    timeout in seconds (None: none)."""

    max_memory: str = "8G"
    threads: int | None = None
    timeout: float | None = None


def spice_jar() -> Path:
    """``spice-1.0.jar`` inside the installed pycocoevalcap (read only)."""
    from pycocoevalcap.spice import spice

    jar = Path(spice.__file__).resolve().parent / spice.SPICE_JAR
    if not jar.is_file():
        raise FileNotFoundError(f"{jar} is missing: reinstall pycocoevalcap")
    return jar


def spice_available(cache_dir: str | os.PathLike[str] | None = None) -> bool:
    """True when the CoreNLP 3.6.0 jars are installed (and verified) in the SPICE cache folder."""
    return jars_verified(spice_dir(cache_dir))


def spice_classpath(cache_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """SPICE's class path: our CoreNLP jars first, then pycocoevalcap's SPICE jar and its ``lib/`` jars
    (skipping any CoreNLP copy that pycocoevalcap itself may have downloaded there)."""
    folder = spice_dir(cache_dir)
    jar = spice_jar()
    ours = [str(folder / "lib" / name) for name in CORENLP_JARS]
    theirs = sorted(
        str(p) for p in (jar.parent / "lib").glob("*.jar") if not p.name.startswith("stanford-corenlp")
    )
    return [*ours, str(jar), *theirs]


@dataclass(frozen=True)
class SpiceRun:
    """A planned SPICE run: the command, its working folder and the files it reads and writes."""

    command: list[str]
    cwd: Path
    input_json: Path
    output_json: Path
    cache: Path | None


def spice_command(
    input_json: Path,
    output_json: Path,
    *,
    java: str,
    cache_dir: str | os.PathLike[str] | None = None,
    config: SpiceConfig | None = None,
    java_major: int | None = None,
) -> SpiceRun:
    """The command that scores ``input_json`` (SPICE's input format) into ``output_json``."""
    folder = spice_dir(cache_dir)
    config = config if config is not None else SpiceConfig()
    major = java_version(java) if java_major is None else java_major
    tmp = folder / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    jvm = [
        java,
        f"-Xmx{config.max_memory}",
        *LOCALE_FLAGS,
        f"-Djava.io.tmpdir={tmp}",
        "-cp",
        os.pathsep.join(spice_classpath(folder)),
    ]
    threads = config.threads or os.cpu_count() or 1
    cache = folder / "cache" if major < 16 else None
    if major < 15:
        command = [
            *jvm,
            "edu.anu.spice.SpiceScorer",
            str(input_json),
            "-out",
            str(output_json),
            "-subset",
            "-silent",
            "-threads",
            str(threads),
        ]
        if cache is not None:
            command += ["-cache", str(cache)]
    else:
        driver = write_driver(folder / "driver")
        command = [*jvm, str(driver), str(input_json), str(output_json), str(threads)]
        if cache is not None:
            command.append(str(cache))
    return SpiceRun(command=command, cwd=folder, input_json=input_json, output_json=output_json, cache=cache)


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


class SpiceProcess:
    """SPICE running in the background on tokenised captions; :meth:`result` waits for its scores."""

    def __init__(
        self,
        candidates: Sequence[str],
        references: Sequence[Sequence[str]],
        *,
        java: str,
        cache_dir: str | os.PathLike[str] | None = None,
        config: SpiceConfig | None = None,
    ) -> None:
        folder = spice_dir(cache_dir)
        if not jars_verified(folder):
            raise SpiceNotInstalledError(
                f"SPICE needs Stanford CoreNLP 3.6.0 in {folder / 'lib'}; "
                f"install it with `{SPICE_INSTALL_COMMAND}`"
            )
        major = java_version(java)
        if major >= 15 and not java_has_module(java, "jdk.compiler"):
            raise RuntimeError(
                f"SPICE on Java {major} runs through a small Java source file, which needs the jdk.compiler "
                "module; this Java runtime lacks it. Install a full JDK (`sudo apt-get install "
                "default-jdk-headless` or `conda install -c conda-forge openjdk`) or use Java 8 to 14."
            )
        self.n = len(candidates)
        self.config = config if config is not None else SpiceConfig()
        tmp = folder / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="run-", dir=tmp))
        self._work = work
        input_json = work / "input.json"
        items = [
            {"image_id": i, "test": cand, "refs": list(refs)}
            for i, (cand, refs) in enumerate(zip(candidates, references, strict=True))
        ]
        input_json.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
        self.run = spice_command(
            input_json,
            work / "output.json",
            java=java,
            cache_dir=folder,
            config=self.config,
            java_major=major,
        )
        self._log = open(work / "spice.log", "wb")  # noqa: SIM115 (closed in result())
        self._process = subprocess.Popen(
            self.run.command, cwd=self.run.cwd, stdout=self._log, stderr=subprocess.STDOUT, env=java_env()
        )

    def result(self) -> tuple[float, list[float]]:
        """Wait for SPICE; return (mean F-score over clips, per-clip F-scores; NaN where SPICE gives none)."""
        try:
            code = self._process.wait(timeout=self.config.timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            raise
        finally:
            self._log.close()
        log = self._work / "spice.log"
        if code != 0 or not self.run.output_json.is_file():
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(
                f"SPICE failed (exit code {code}); command: {' '.join(self.run.command)}\n{tail}"
            )
        results = json.loads(self.run.output_json.read_text(encoding="utf-8"))
        by_id = {int(item["image_id"]): _float(item["scores"]["All"]["f"]) for item in results}
        per_clip = [by_id.get(i, math.nan) for i in range(self.n)]
        # pycocoevalcap's mean (numpy): NaN if any clip is NaN
        corpus = float(np.mean(np.array(per_clip))) if per_clip else math.nan
        for path in (self.run.input_json, self.run.output_json, log):
            path.unlink(missing_ok=True)
        self._work.rmdir()
        return corpus, per_clip

    def kill(self) -> None:
        """Stop SPICE (after an error elsewhere) and remove its files."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._log.close()
        shutil.rmtree(self._work, ignore_errors=True)


def run_spice(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    java: str,
    cache_dir: str | os.PathLike[str] | None = None,
    config: SpiceConfig | None = None,
) -> tuple[float, list[float]]:
    """SPICE of tokenised ``candidates`` against ``references``: (corpus score, per-clip scores)."""
    return SpiceProcess(candidates, references, java=java, cache_dir=cache_dir, config=config).result()
