"""Numbers rounded for reading: tables shown in the book carry 3 significant digits, not 17.

:func:`significant` formats every number of a pandas table with ``digits`` significant digits (so a
learning rate of 1e-05 stays 1e-05 instead of rounding to 0.0, and a loss of 2.718281 reads 2.72);
missing values read "–", numbers of ``digits`` or more integer digits are shown whole with
thousands separators ("1,200", not "1.2e+03"), and text is left alone. The result is for display only (strings). Used by
the notebooks' tables, e.g. ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import TYPE_CHECKING, TypeVar

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PlainText", "fmt_significant", "significant", "png_bytes"]

Table = TypeVar("Table", pd.DataFrame, pd.Series)


def fmt_significant(value: object, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits (``:g``); "–" when missing; booleans and text as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, Real):
        return str(value)
    shown = f"{float(value):.{digits}g}"
    if abs(float(shown)) >= 10**digits:  # a count or a large score: every integer digit ("24,420")
        return f"{float(value):,.0f}"
    if float(value).is_integer():
        return str(int(value))
    return shown


def significant(table: Table, digits: int = 3) -> Table:
    """A copy of ``table`` (DataFrame or Series) with every cell formatted by :func:`fmt_significant`."""
    if digits < 1:
        raise ValueError(f"digits must be at least 1, got {digits}")
    return table.map(lambda v: fmt_significant(v, digits))


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes: to show a figure drawn without pyplot (``IPython.display.Image``) or paste
    it into another page of the book (the report). Notebooks: ``02_architecture``, ``06_ablations``."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


class PlainText:
    """Text whose representation is the text itself, without quotes: ``glue("budget", PlainText("1 epoch"))``
    pastes ``1 epoch`` into a page, where a ``str`` would paste ``'1 epoch'`` (myst-nb pastes the
    ``text/plain`` repr). Notebook: ``06_ablations`` (the grid's budget in the report)."""

    def __init__(self, text: str) -> None:
        self.text = str(text)

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text
