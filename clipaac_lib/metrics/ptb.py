"""PTB tokenisation of captions with the Stanford tokenizer that pycocoevalcap ships.

The output equals ``pycocoevalcap.tokenizer.ptbtokenizer.PTBTokenizer`` token for token (same jar,
same options ``-preserveLines -lowerCase``, same punctuation list removed afterwards), with three
differences that only matter where pycocoevalcap goes wrong:

- all captions of an evaluation (candidates and references) go through one JVM;
- the temporary file lives in a temporary folder, not inside site-packages;
- characters the tokenizer treats as line breaks (``\\r``, ``\\x0b``, ``\\x0c``, ``\\u2028``,
  ``\\u2029``; pycocoevalcap only replaces ``\\n``) become spaces, and a sentinel line checks that
  the output has exactly one line per caption, so a stray line break can never shift captions
  onto the wrong clip.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from clipaac_lib.metrics.java import LOCALE_FLAGS, QUICK_START_FLAGS, java_env

__all__ = ["PTB_JAR", "PTB_PUNCTUATION", "ptb_tokenize", "tokenizer_jar"]

PTB_JAR = "stanford-corenlp-3.4.1.jar"
_MAIN_CLASS = "edu.stanford.nlp.process.PTBTokenizer"
_LINE_BREAKS = str.maketrans({c: " " for c in "\r\n\x0b\x0c\u2028\u2029"})
_SENTINEL = "clipaacendofinput"


def _punctuation() -> frozenset[str]:
    from pycocoevalcap.tokenizer import ptbtokenizer

    return frozenset(ptbtokenizer.PUNCTUATIONS)


#: Tokens removed after tokenisation (pycocoevalcap's list, read from it).
PTB_PUNCTUATION: frozenset[str] = _punctuation()


def tokenizer_jar() -> Path:
    """The Stanford CoreNLP 3.4.1 jar inside the installed pycocoevalcap."""
    from pycocoevalcap.tokenizer import ptbtokenizer

    jar = Path(ptbtokenizer.__file__).resolve().parent / PTB_JAR
    if not jar.is_file():
        raise FileNotFoundError(
            f"{jar} is missing: reinstall pycocoevalcap (pip install --force-reinstall pycocoevalcap)"
        )
    return jar


def ptb_tokenize(sentences: Sequence[str], *, java: str = "java", timeout: float = 600.0) -> list[str]:
    """Tokenise, lower-case and strip punctuation from ``sentences``; one output string per input.

    ``java`` is the Java executable (see :func:`clipaac_lib.metrics.java.find_java`).
    """
    if not sentences:
        return []
    lines = [s.translate(_LINE_BREAKS) for s in sentences] + [_SENTINEL]
    with tempfile.TemporaryDirectory(prefix="clipaac-ptb-") as tmp:
        source = Path(tmp) / "captions.txt"
        source.write_bytes("\n".join(lines).encode("utf-8"))
        cmd = [
            java,
            *LOCALE_FLAGS,
            *QUICK_START_FLAGS,
            "-cp",
            str(tokenizer_jar()),
            _MAIN_CLASS,
            "-preserveLines",
            "-lowerCase",
            str(source),
        ]
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, env=java_env())
    if done.returncode != 0:
        raise RuntimeError(
            f"the PTB tokenizer failed (exit code {done.returncode}): "
            f"{done.stderr.decode('utf-8', 'replace').strip()[-2000:]}"
        )
    out = done.stdout.decode("utf-8").split("\n")
    while out and out[-1] == "":
        out.pop()
    if len(out) != len(lines) or out[-1].strip() != _SENTINEL:
        raise RuntimeError(
            f"the PTB tokenizer returned {len(out)} lines for {len(lines)} captions; a caption probably "
            "contains a character it reads as a line break. Please report the captions that cause this."
        )
    return [" ".join(w for w in line.rstrip().split(" ") if w not in PTB_PUNCTUATION) for line in out[:-1]]
