"""Numbers rounded for reading (common/display.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from clipaac_lib.common import PlainText, fmt_significant, significant


@pytest.mark.parametrize(("value", "shown"), [
    (1e-5, "1e-05"), (2.718281828, "2.72"), (0.0123456, "0.0123"), (1234.5678, "1,235"), (1200.0, "1,200"), (24420, "24,420"), (999.6, "1,000"), (999.4, "999"),
    (6, "6"), (6.0, "6"), (None, "–"), (math.nan, "–"), (True, "True"), ("fbsp", "fbsp"), (-0.5, "-0.5"),
])
def test_three_significant_digits(value, shown):
    assert fmt_significant(value) == shown


def test_tables_keep_their_shape_and_text():
    frame = pd.DataFrame({"lr_encoder": [1e-5, 1e-5], "loss": [3.14159, None], "name": ["a", "b"]})
    out = significant(frame)
    assert out.shape == frame.shape and list(out.columns) == list(frame.columns)
    assert out.to_dict("list") == {"lr_encoder": ["1e-05", "1e-05"], "loss": ["3.14", "–"], "name": ["a", "b"]}
    assert significant(pd.Series([0.123456]), digits=2).tolist() == ["0.12"]
    with pytest.raises(ValueError, match="digits"):
        significant(frame, digits=0)


def test_plain_text_is_shown_without_quotes():
    from IPython.core.formatters import PlainTextFormatter

    text = PlainText("1 epoch(s) on 200 training clips")
    assert PlainTextFormatter()(text) == "1 epoch(s) on 200 training clips"  # what myst-nb's glue pastes
    assert PlainTextFormatter()("1 epoch") == "'1 epoch'"  # a plain str would be quoted
    assert str(text) == repr(text) == "1 epoch(s) on 200 training clips"
