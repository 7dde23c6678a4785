"""Numbers rounded for reading: tables shown in the book carry 3 significant digits, not 17.

:func:`significant` formats every number of a pandas table with ``digits`` significant digits (so a
learning rate of 1e-05 stays 1e-05 instead of rounding to 0.0, and a loss of 2.718281 reads 2.72);
missing values read "–", and text is left alone. The result is for display only (strings). Used by
the notebooks' tables, e.g. ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import TypeVar

import pandas as pd

__all__ = ["fmt_significant", "significant"]

Table = TypeVar("Table", pd.DataFrame, pd.Series)


def fmt_significant(value: object, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits (``:g``); "–" when missing; booleans and text as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, Real):
        return str(value)
    if float(value).is_integer() and abs(value) < 10**digits:
        return str(int(value))
    return f"{float(value):.{digits}g}"


def significant(table: Table, digits: int = 3) -> Table:
    """A copy of ``table`` (DataFrame or Series) with every cell formatted by :func:`fmt_significant`."""
    if digits < 1:
        raise ValueError(f"digits must be at least 1, got {digits}")
    return table.map(lambda v: fmt_significant(v, digits))
