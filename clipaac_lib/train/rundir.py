"""The run directory: everything one training run writes, in plain formats.

Layout of ``<run_root>/<TrainConfig.run_name()>/``:

- ``config.json``          the full :class:`TrainConfig` plus its ``run_hash``;
- ``model_config.json``    the model's ``ModelConfig.to_dict()``; ``vocab.json`` the caption vocabulary;
- ``checkpoint.pt``        the last finished epoch (model, optimiser, scheduler, RNG states), replaced
                           atomically every epoch;
- ``history.csv`` / ``history.json``  one row per epoch (losses, learning rates, clips/s, test loss and recall);
- ``model.pt``             the final weights (:func:`clipaac_lib.model.save_model`'s format, the only
                           one); ``finished.json`` marks a completed run;
- ``.lock``                held by the process training the run (:mod:`clipaac_lib.train.lock`);
- ``eval-<tag>/``          ``scores.json`` (corpus scores, retrieval recall, decoding settings, config),
                           ``captions.csv`` / ``captions.json`` (a caption per clip with its references).

:class:`RunResult` is what training, evaluation and :func:`clipaac_lib.train.find_run` return about a
run; :func:`load_run_model` reads its model back.

Checkpoints hold tensors and JSON only: ``torch.save`` of ``{"format", "meta" (a JSON string),
"tensors" (name -> tensor)}``, read back with ``torch.load(weights_only=True)``; nested state such as
an optimiser's is flattened to a JSON skeleton whose tensors are referenced by name.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clipaac_lib.common.devices import resolve_device
from clipaac_lib.common.fileio import atomic_open, atomic_write_json, atomic_write_text
from clipaac_lib.common.paths import subdir
from clipaac_lib.data.text import Vocabulary
from clipaac_lib.model import CLIPAAC, ModelConfig, load_model_state, model_from_state, save_model
from clipaac_lib.model.decode import DecodeConfig
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.dataroot import digest_of_test_split
from clipaac_lib.train.scores import SplitScores

__all__ = [
    "CHECKPOINT_FORMAT",
    "RunDir",
    "RunResult",
    "RunNotFoundError",
    "default_run_root",
    "run_dir_of",
    "find_run",
    "require_run",
    "load_run_model",
    "decode_config",
    "evaluation_tag",
    "flatten_state",
    "unflatten_state",
    "save_tensors_and_meta",
    "load_tensors_and_meta",
    "capture_rng",
    "restore_rng",
]

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "clipaac-checkpoint/1"
_TENSOR_REF = "__tensor__"


def flatten_state(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "") -> Any:
    """Replace every tensor inside nested dicts/lists/tuples by ``{"__tensor__": name}``.

    The tensors go into ``tensors`` (name -> tensor, detached and on the CPU); the returned skeleton is
    JSON-serialisable when the leaves are numbers, strings, booleans or ``None``.
    """
    if isinstance(obj, torch.Tensor):
        name = prefix or "tensor"
        tensors[name] = obj.detach().cpu()
        return {_TENSOR_REF: name}
    if isinstance(obj, np.ndarray):
        return flatten_state(torch.from_numpy(obj.copy()), tensors, prefix)
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"state key {key!r} at {prefix!r} is neither a string nor an integer")
            out[f"{'#' if isinstance(key, int) else ''}{key}"] = flatten_state(value, tensors, f"{prefix}.{key}")
        return out
    if isinstance(obj, (list, tuple)):
        return [flatten_state(value, tensors, f"{prefix}.{i}") for i, value in enumerate(obj)]
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in a tensors+JSON checkpoint")


def unflatten_state(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten_state` (tuples come back as lists; integer keys as integers)."""
    if isinstance(skeleton, dict):
        if set(skeleton) == {_TENSOR_REF}:
            return tensors[skeleton[_TENSOR_REF]]
        return {
            (int(key[1:]) if key.startswith("#") else key): unflatten_state(value, tensors)
            for key, value in skeleton.items()
        }
    if isinstance(skeleton, list):
        return [unflatten_state(value, tensors) for value in skeleton]
    return skeleton


def save_tensors_and_meta(path: str | Path, state: dict[str, Any]) -> None:
    """Write nested ``state`` atomically as a tensors + JSON file (see the module docstring)."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = flatten_state(state, tensors)
    payload = {"format": CHECKPOINT_FORMAT, "meta": json.dumps(skeleton), "tensors": tensors}
    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)


def load_tensors_and_meta(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a file written by :func:`save_tensors_and_meta` with ``weights_only=True``."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 (re-raised with the file named)
        raise RuntimeError(
            f"{path}: not a readable clipaac checkpoint ({err}); delete it to start the run afresh"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise RuntimeError(f"{path}: not a {CHECKPOINT_FORMAT} file; delete it to start the run afresh")
    return unflatten_state(json.loads(payload["meta"]), payload["tensors"])


def capture_rng() -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's (CPU and CUDA) random generators."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng` (after a round trip through :func:`flatten_state`)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"].to(torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.to(torch.uint8) for s in state["cuda"]])


class RunDir:
    """Paths and readers/writers of one run directory (see the module docstring for the layout)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- paths
    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def model_config_file(self) -> Path:
        return self.path / "model_config.json"

    @property
    def vocab_file(self) -> Path:
        return self.path / "vocab.json"

    @property
    def checkpoint_file(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def model_file(self) -> Path:
        return self.path / "model.pt"

    @property
    def finished_file(self) -> Path:
        return self.path / "finished.json"

    @property
    def best_dir(self) -> Path:
        """``best/``: the model of the epoch with the lowest validation loss (``select_checkpoint="best"``)."""
        return self.path / "best"

    def eval_dir(self, tag: str) -> Path:
        return self.path / f"eval-{tag}"

    # -- state
    def is_finished(self) -> bool:
        return self.finished_file.is_file() and self.model_file.is_file()

    def has_checkpoint(self) -> bool:
        return self.checkpoint_file.is_file()

    def require(self) -> RunDir:
        """Raise ``FileNotFoundError`` with advice unless this is a run directory."""
        if not self.path.is_dir():
            raise FileNotFoundError(
                f"run directory {self.path} does not exist; train one with `clipaac train` "
                "(it prints the run directory) or check the path"
            )
        if not self.config_file.is_file():
            raise FileNotFoundError(f"{self.path} is not a clipaac run directory (no config.json inside)")
        return self

    # -- writers
    def write_config(self, config_dict: dict[str, Any], run_hash: str,
                     init_weights: dict[str, str] | None = None) -> None:
        """``config.json``: the configuration, its hash and (pretrained init) the file that initialised
        the encoder, with its sha256."""
        self.path.mkdir(parents=True, exist_ok=True)
        extra = {} if init_weights is None else {"init_weights": init_weights}
        atomic_write_json(self.config_file, {**config_dict, "run_hash": run_hash, **extra})

    def read_config_dict(self) -> dict[str, Any]:
        """The TrainConfig fields of ``config.json`` (without the hash and the init record)."""
        data = json.loads(self.config_file.read_text(encoding="utf-8"))
        data.pop("run_hash", None)
        data.pop("init_weights", None)
        return data

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        save_tensors_and_meta(self.checkpoint_file, state)

    def load_checkpoint(self, map_location: str | torch.device = "cpu") -> dict[str, Any]:
        return load_tensors_and_meta(self.checkpoint_file, map_location)

    def save_model(self, model: CLIPAAC) -> None:
        """The final model, in :func:`clipaac_lib.model.save_model`'s format."""
        save_model(model, self.path)

    def load_model_state(self, map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
        return load_model_state(self.path, map_location)

    def write_history(self, history: list[dict[str, Any]]) -> None:
        atomic_write_json(self.path / "history.json", history)
        atomic_write_text(self.path / "history.csv", rows_to_csv(history))

    def read_history(self) -> list[dict[str, Any]]:
        path = self.path / "history.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []

    def mark_finished(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.finished_file, summary)

    def read_finished(self) -> dict[str, Any]:
        return json.loads(self.finished_file.read_text(encoding="utf-8"))

    def write_evaluation(self, tag: str, scores: SplitScores, captions: list[dict[str, Any]]) -> Path:
        """Write ``scores.json`` and ``captions.csv``/``.json`` under ``eval-<tag>/``; return the folder."""
        folder = self.eval_dir(tag)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / "captions.json", captions)
        flat = [{**{k: v for k, v in row.items() if k != "references"},
                 **{f"reference_{i + 1}": ref for i, ref in enumerate(row.get("references", []))}}
                for row in captions]
        atomic_write_text(folder / "captions.csv", rows_to_csv(flat))
        atomic_write_json(folder / "scores.json", scores.to_dict())  # written last: its presence means complete
        return folder

    def discard_trained_evaluations(self) -> list[Path]:
        """Remove every ``eval-<tag>/`` of the trained model (not ``eval-untrained-*``) and return them.

        Called when the run finishes: an evaluation made before then (``clipaac evaluate`` on the
        interrupted run) scored an earlier checkpoint, and reusing it would report that checkpoint's
        scores as the final model's. ``scores.json`` goes first, so a half-removed folder reads as absent."""
        removed = []
        for folder in sorted(self.path.glob("eval-*")):
            if folder.name.startswith("eval-untrained-") or not folder.is_dir():
                continue
            (folder / "scores.json").unlink(missing_ok=True)
            shutil.rmtree(folder)
            removed.append(folder)
        return removed

    def result(self, config: TrainConfig, *, reused: bool, scores: SplitScores | None = None,
               untrained_scores: SplitScores | None = None,
               captions: list[dict[str, Any]] | None = None) -> RunResult:
        """A :class:`RunResult` of this directory's saved state (history, finish record) and ``scores``."""
        finished = self.read_finished() if self.finished_file.is_file() else {}
        history = self.read_history()
        return RunResult(self.path, config, config.run_hash(), history, scores=scores,
                         untrained_scores=untrained_scores, captions=captions,
                         epochs_completed=int(finished.get("epochs", len(history))),
                         finished=self.is_finished(), reused=reused,
                         train_seconds=float(finished.get("train_seconds", 0.0)))

    def read_evaluation(self, tag: str, split_digest: str = "") -> tuple[SplitScores, list[dict[str, Any]]] | None:
        """The saved scores and caption rows of evaluation ``tag``, or None when it never finished, or when
        ``split_digest`` (the test split on disk now; ``""``: unknown, not checked) differs from the one
        the scores were computed on (the split was regenerated or replaced since)."""
        folder = self.eval_dir(tag)
        if not (folder / "scores.json").is_file():
            return None
        scores = SplitScores.from_dict(json.loads((folder / "scores.json").read_text(encoding="utf-8")))
        if split_digest and scores.split_digest != split_digest:
            log.warning("%s was scored on another version of the %s split (its files changed since): "
                        "it is not reused", folder, scores.split)
            return None
        captions = json.loads((folder / "captions.json").read_text(encoding="utf-8"))
        return scores, captions


def rows_to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text of a list of dicts (columns in first-seen order; missing cells empty)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in columns})
    return buffer.getvalue()


def decode_config(config: TrainConfig) -> DecodeConfig:
    """The decoding settings of a training configuration."""
    return DecodeConfig(beam_size=config.beam_size, max_len=config.max_caption_len,
                        length_penalty=config.length_penalty)


def evaluation_tag(config: TrainConfig) -> str:
    """Folder tag of an evaluation: decoding settings, split and clip limit, e.g. ``beam3-len30-lp1-test``."""
    tag = f"{decode_config(config).tag()}-{config.test_split}"
    return tag + (f"-first{config.limit_test_clips}" if config.limit_test_clips else "")


def load_run_model(run_dir: str | Path | RunDir,
                   device: str | torch.device = "cpu") -> tuple[CLIPAAC, Vocabulary]:
    """``(model, vocab)`` of a run in eval mode: the final weights, or the last checkpoint's of an
    unfinished run."""
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    rd.require()
    if not rd.model_config_file.is_file() or not rd.vocab_file.is_file():
        raise FileNotFoundError(f"{rd.path} has no model_config.json/vocab.json: the run never got to training")
    model_config = ModelConfig.from_dict(json.loads(rd.model_config_file.read_text(encoding="utf-8")))
    if rd.model_file.is_file():
        state = rd.load_model_state()
    elif rd.has_checkpoint():
        state = rd.load_checkpoint()["model"]
    else:
        raise FileNotFoundError(f"{rd.path} holds neither model.pt nor checkpoint.pt: no epoch has finished")
    model = model_from_state(model_config, state)
    return model.to(resolve_device(device)).eval(), Vocabulary.load(rd.vocab_file)


@dataclass
class RunResult:
    """One run: where it lives, its per-epoch history and its test scores.

    ``scores``/``untrained_scores`` are :class:`~clipaac_lib.train.scores.SplitScores` (caption metrics,
    retrieval recall and its chance level, caption loss), None when not evaluated; ``captions`` one
    row per test clip (file_name, caption, references). ``finished`` is False after ``stop_after_epoch``.
    Notebook: ``notebooks/05_train.ipynb``.
    """

    run_dir: Path
    config: TrainConfig
    run_hash: str
    history: list[dict[str, Any]] = field(default_factory=list)
    scores: SplitScores | None = None
    untrained_scores: SplitScores | None = None
    captions: list[dict[str, Any]] | None = None
    epochs_completed: int = 0
    finished: bool = False
    reused: bool = False
    train_seconds: float = 0.0

    def load_model(self, device: str | torch.device = "cpu") -> tuple[CLIPAAC, Vocabulary]:
        """The trained model (eval mode) and its vocabulary, read from the run directory."""
        return load_run_model(self.run_dir, device=device)


class RunNotFoundError(FileNotFoundError):
    """No finished run of a configuration exists; the message names the command that makes it."""


def default_run_root() -> Path:
    """``<cache>/runs`` (``$CLIPAAC_CACHE/runs`` when set)."""
    return subdir("runs")


def run_dir_of(config: TrainConfig) -> RunDir:
    """The run directory of ``config``: ``<run_root>/<config.run_name()>``."""
    run_root = Path(config.run_root) if config.run_root else default_run_root()
    return RunDir(run_root / config.run_name())


def find_run(config: TrainConfig) -> RunResult | None:
    """The finished run of ``config`` with its saved test evaluation, or None; never trains or writes.

    ``scores`` (and ``captions``) are None when this decoding setting was never evaluated (then
    ``clipaac evaluate RUN_DIR`` with the decoding options computes them). Notebook:
    ``notebooks/06_ablations.ipynb``.
    """
    config = config.validate().resolved()
    rd = run_dir_of(config)
    if not rd.is_finished():
        return None
    tag, digest = evaluation_tag(config), digest_of_test_split(config)
    saved = rd.read_evaluation(tag, digest)
    untrained = rd.read_evaluation(f"untrained-{tag}", digest) if config.eval_untrained else None
    return rd.result(config, reused=True, scores=saved[0] if saved else None,
                     captions=saved[1] if saved else None,
                     untrained_scores=untrained[0] if untrained else None)


def require_run(config: TrainConfig, made_by: str = "notebook 05_train with the same parameters") -> RunResult:
    """:func:`find_run`, raising :class:`RunNotFoundError` that says how to make the run when it is missing."""
    found = find_run(config)
    if found is None:
        raise RunNotFoundError(
            f"no finished run of this configuration in {run_dir_of(config.resolved()).path}; make it with "
            f"{made_by}, or on the command line: {config.command_line()}"
        )
    return found
