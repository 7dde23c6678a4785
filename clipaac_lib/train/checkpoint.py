"""The checkpoint format of a run: tensors and JSON only, and the random generators' state.

A checkpoint is ``torch.save`` of ``{"format", "meta" (a JSON string), "tensors" (name -> tensor)}``,
read back with ``torch.load(weights_only=True)`` (no pickled code runs when a checkpoint is opened);
nested state such as an optimiser's is flattened to a JSON skeleton whose tensors are referenced by
name. :func:`capture_rng`/:func:`restore_rng` keep Python's, NumPy's and torch's generators, so that a
resumed run continues the very random stream it stopped in. Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clipaac_lib.common import atomic_open

__all__ = ["CHECKPOINT_FORMAT", "capture_rng", "flatten_state", "load_tensors_and_meta", "restore_rng",
           "save_tensors_and_meta", "unflatten_state"]

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
