"""METEOR 1.5 (the jar in pycocoevalcap) started once per evaluation, locale-safe and fast.

Same protocol and options as ``pycocoevalcap.meteor.Meteor`` (``-stdio -l en -norm``, one ``SCORE``
line per clip, then one ``EVAL`` line whose answer is the per-clip scores and the corpus score), so
the numbers are the same, with these differences:

- the JVM gets :data:`~clipaac_lib.metrics.java.LOCALE_FLAGS`: correct under a German or French
  locale, where pycocoevalcap's wrapper crashes parsing ``0,25``;
- the ``SCORE`` lines are written by a thread while the answers are read, instead of one round trip
  per clip;
- with ``paraphrase_table`` METEOR loads a table cut down to the evaluated words
  (:mod:`clipaac_lib.metrics.paraphrase`), which makes its start about 1 s instead of 6 to 10 s;
- ``|||`` (the field separator) is removed from references too, not only from candidates.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from clipaac_lib.metrics.java import LOCALE_FLAGS, QUICK_START_FLAGS, java_env

__all__ = ["MeteorScorer", "meteor_command", "meteor_jar"]


def meteor_jar() -> Path:
    """``meteor-1.5.jar`` inside the installed pycocoevalcap."""
    from pycocoevalcap.meteor import meteor

    jar = Path(meteor.__file__).resolve().parent / meteor.METEOR_JAR
    if not jar.is_file():
        raise FileNotFoundError(f"{jar} is missing: reinstall pycocoevalcap")
    return jar


def meteor_command(
    java: str, paraphrase_table: str | os.PathLike[str] | None = None, max_memory: str = "2G"
) -> list[str]:
    """The command line that starts METEOR in ``-stdio`` mode (optionally with its own, reduced,
    paraphrase table, which makes it a short run that :data:`QUICK_START_FLAGS` speed up)."""
    quick = QUICK_START_FLAGS if paraphrase_table is not None else ()
    cmd = [
        java,
        f"-Xmx{max_memory}",
        *LOCALE_FLAGS,
        *quick,
        "-jar",
        str(meteor_jar()),
        "-",
        "-",
        "-stdio",
        "-l",
        "en",
        "-norm",
    ]
    if paraphrase_table is not None:
        cmd += ["-a", str(paraphrase_table)]
    return cmd


def _clean(text: str) -> str:
    """What pycocoevalcap does to a candidate (drop the field separator, one double space), plus line
    breaks to spaces so that one clip is always one line of the protocol."""
    text = text.replace("\r", " ").replace("\n", " ")
    return text.replace("|||", "").replace("  ", " ")


class MeteorScorer:
    """A running METEOR process. Use as a context manager; :meth:`score` may be called repeatedly.

    The JVM starts (and loads its tables) in the background as soon as the object is created, so
    other work can overlap with it.
    """

    def __init__(
        self, java: str, *, paraphrase_table: str | os.PathLike[str] | None = None, max_memory: str = "2G"
    ) -> None:
        self.command = meteor_command(java, paraphrase_table, max_memory)
        jar_dir = meteor_jar().parent  # pycocoevalcap runs it there; METEOR writes nothing
        self._process = subprocess.Popen(
            self.command,
            cwd=jar_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=java_env(),
        )
        self._stderr: list[bytes] = []
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        self._lock = threading.Lock()

    def _drain_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line)
            del self._stderr[:-50]

    def _readline(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=30)
            detail = b"".join(self._stderr).decode("utf-8", "replace").strip()[-3000:]
            raise RuntimeError(
                f"METEOR stopped (exit code {self._process.returncode}) before answering. Command: "
                f"{' '.join(self.command)}\n{detail}"
            )
        return line.decode("utf-8").strip()

    def score(
        self, candidates: Sequence[str], references: Sequence[Sequence[str]]
    ) -> tuple[float, list[float]]:
        """Corpus METEOR and per-clip METEOR of tokenised ``candidates`` against ``references``."""
        if len(candidates) != len(references):
            raise ValueError(f"{len(candidates)} candidates but {len(references)} reference lists")
        if not candidates:
            raise ValueError("nothing to score")
        lines = [
            "SCORE ||| " + " ||| ".join(_clean(r) for r in refs) + " ||| " + _clean(cand) + "\n"
            for cand, refs in zip(candidates, references, strict=True)
        ]
        process = self._process
        assert process.stdin is not None
        errors: list[BaseException] = []

        def write() -> None:
            try:
                process.stdin.write("".join(lines).encode("utf-8"))
                process.stdin.flush()
            except (BrokenPipeError, OSError) as err:  # the reader reports METEOR's own message
                errors.append(err)

        with self._lock:
            writer = threading.Thread(target=write, daemon=True)
            writer.start()
            stats = [self._readline() for _ in lines]
            writer.join()
            process.stdin.write(("EVAL ||| " + " ||| ".join(stats) + "\n").encode("utf-8"))
            process.stdin.flush()
            per_clip = [float(self._readline()) for _ in lines]
            corpus = float(self._readline())
        return corpus, per_clip

    def close(self) -> None:
        """Stop the JVM."""
        process = self._process
        if process.poll() is None:
            try:
                assert process.stdin is not None
                process.stdin.close()
                process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        self._stderr_thread.join(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> MeteorScorer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._process.poll() is None:
                self._process.kill()
        except Exception:
            pass
