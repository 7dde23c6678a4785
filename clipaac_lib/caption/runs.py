"""Which trained run ``clipaac caption`` uses when none is named: the book's model first.

The book's model is the finished run of the default configuration, ``TrainConfig()`` (the defaults of
notebook 5, ``notebooks/05_train.ipynb``; :func:`default_run`). After ``make book`` the run root also
holds the ablation grid of notebook 6, so "the newest finished run" (:func:`newest_run`) is whichever
grid run finished last; it is only the fallback when the default configuration's run does not exist, and
:func:`choose_run` then says so, with how that run's configuration differs from the default.

Notebook: ``notebooks/07_caption_your_audio.ipynb``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clipaac_lib.train import RunDir, RunNotFoundError, TrainConfig, default_run_root, find_run

__all__ = ["RunChoice", "default_run", "newest_run", "config_differences", "choose_run"]

#: Fields shown first when a run's configuration is compared with the default: the recipe's knobs.
_KEY_FIELDS = ("dataset", "model_config", "init", "freeze_encoder", "alpha", "lam", "batch_size",
               "num_epochs", "warmup_epochs", "lr", "label_smoothing", "dropout", "seed")
_MAX_DIFFERENCES = 6
_MAX_VALUE_CHARS = 40
_PICK_ANOTHER = "--run RUN_DIR picks another"
_MAKE_IT = ("make the book's model with `make book` or notebook 5 (notebooks/05_train.ipynb), or train one "
            "with `clipaac train` (it prints the run directory)")


@dataclass(frozen=True)
class RunChoice:
    """The run ``clipaac caption`` uses without ``--run``: its ``path``, whether it is the default
    configuration's (the book's model), and the ``message`` that says so on stderr (one line)."""

    path: Path
    is_default: bool
    message: str


def _root(run_root: str | Path | None) -> Path:
    return Path(run_root) if run_root else default_run_root()


def default_run(run_root: str | Path | None = None) -> Path | None:
    """The finished run directory of the default configuration ``TrainConfig()`` under ``run_root``
    (default: ``$CLIPAAC_CACHE/runs``), found with :func:`clipaac_lib.train.find_run`, or None."""
    found = find_run(TrainConfig(run_root=None if run_root is None else str(run_root)))
    return None if found is None else Path(found.run_dir)


def newest_run(run_root: str | Path) -> Path | None:
    """The finished run directory (:meth:`RunDir.is_finished`) under ``run_root`` that finished last
    (by the time of its ``finished.json``), or None when there is none."""
    root = Path(run_root)
    if not root.is_dir():
        return None
    finished = [RunDir(p) for p in root.iterdir() if p.is_dir() and RunDir(p).is_finished()]
    if not finished:
        return None
    return max(finished, key=lambda rd: (rd.finished_file.stat().st_mtime_ns, rd.path.name)).path


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def config_differences(run_dir: str | Path) -> str:
    """How the configuration of ``run_dir`` differs from ``TrainConfig()`` in the fields that change the
    weights, recipe knobs first: ``"init=random, num_epochs=1, ... (+3 more)"``; ``""`` when it cannot be
    read (say, written by another clipaac version) or does not differ."""
    try:
        run = TrainConfig.from_dict(RunDir(run_dir).read_config_dict()).hashed_fields()
    except (OSError, ValueError):
        return ""
    default = TrainConfig().hashed_fields()
    names = [n for n in _KEY_FIELDS if n in run] + [n for n in run if n not in _KEY_FIELDS]
    changed = [f"{name}={_short(run[name])}" for name in names if run[name] != default.get(name)]
    more = len(changed) - _MAX_DIFFERENCES
    return ", ".join(changed[:_MAX_DIFFERENCES]) + (f" (+{more} more)" if more > 0 else "")


def _fallback_message(root: Path, path: Path) -> str:
    differences = config_differences(path)
    how = f", which differs from it in {differences}" if differences else ""
    return (f"no finished run of the default configuration (notebook 5) under {root}; using the newest "
            f"finished run {path}{how} ({_PICK_ANOTHER}; `make book` or notebook 5 makes the book's model)")


def choose_run(run_root: str | Path | None = None) -> RunChoice:
    """The run ``clipaac caption`` uses when ``--run`` is not given, under ``run_root`` (default:
    ``$CLIPAAC_CACHE/runs``): the default configuration's finished run (:func:`default_run`), else the
    newest finished run (:func:`newest_run`), each with the line that says which on stderr.

    Raises :class:`clipaac_lib.train.RunNotFoundError`, saying how to make one, when there is no finished
    run at all. Notebook: ``notebooks/07_caption_your_audio.ipynb``.
    """
    root = _root(run_root)
    book = default_run(root)
    if book is not None:
        return RunChoice(book, True, f"using the book's model {book}, the run of the default configuration "
                                     f"(notebook 5, notebooks/05_train.ipynb; {_PICK_ANOTHER})")
    newest = newest_run(root)
    if newest is None:
        raise RunNotFoundError(f"no finished run under {root}; {_MAKE_IT}, or name a run directory with "
                               "--run RUN_DIR")
    return RunChoice(newest, False, _fallback_message(root, newest))
