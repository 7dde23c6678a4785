"""Reading dataclass records back from JSON: a dict must hold only the record's fields.

Used by the configurations (``ModelConfig``, ``PretrainConfig``, ``TrainConfig``) and the saved scores,
so a file written by another version fails naming the keys it does not know. Notebook:
``notebooks/05_train.ipynb`` (a run's ``config.json``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["from_known_fields"]

T = TypeVar("T")


def from_known_fields(kind: type[T], data: Mapping[str, Any], *, error: type[Exception] = ValueError,
                      hint: str = "") -> T:
    """``kind(**data)`` for the dataclass ``kind``; keys that are not its fields raise ``error`` naming
    them and the known ones (``hint`` is appended to the message)."""
    known = sorted(f.name for f in dataclasses.fields(kind))
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise error(f"unknown {kind.__name__} field(s) {unknown}; known fields: {known}{hint}")
    return kind(**data)
