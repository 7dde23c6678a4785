"""The paper's published tables, as transcribed, are internally consistent (SPIDEr = (CIDEr + SPICE) / 2)."""

from __future__ import annotations

import pytest

from clipaac_lib.experiments.paper import TABLE1, TABLE2, paper_table


@pytest.mark.parametrize("table", [TABLE1, TABLE2], ids=["table1", "table2"])
def test_spider_is_mean_of_cider_and_spice(table):
    frame = paper_table(table)
    # the paper rounds each of the three to 3 decimals, so allow one unit of rounding
    assert ((frame["cider_d"] + frame["spice"]) / 2 - frame["spider"]).abs().max() <= 0.0011


def test_system_8_is_system_4():
    """Table 2's system 8 (alpha 0.2, batch 8) is Table 1's system 4: same scores in both tables."""
    assert TABLE1[4][1] == TABLE2[8][1]


def test_bleu_decreases_with_n():
    for table in (TABLE1, TABLE2):
        frame = paper_table(table)
        assert (frame["bleu_1"] > frame["bleu_2"]).all() and (frame["bleu_2"] > frame["bleu_3"]).all()
        assert (frame["bleu_3"] > frame["bleu_4"]).all()
