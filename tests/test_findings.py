"""Seed statistics and the paper's findings as comparisons (clipaac_lib.experiments.findings), on hand-computed numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from clipaac_lib.experiments.findings import FINDINGS, png_bytes, seed_table

NAN = math.nan

# CIDEr-D as published in the paper (/work/shared/paper/clip-aac.md, Tables 1 and 2), typed here as the
# independent reference for what clipaac_lib.experiments.paper holds.
PUBLISHED_CIDER = {1: 0.060, 2: 0.217, 3: 0.333, 4: 0.394, 5: 0.368, 7: 0.372, 8: 0.394, 9: 0.407}


# --- seed_table ---------------------------------------------------------------------------------------

def test_seed_table_mean_and_sample_sd():
    records = pd.DataFrame({
        "system": [1, 1, 1, 2],
        "seed": [0, 1, 2, 0],
        "cider_d": [0.3, 0.4, 0.5, 0.2],
        "bleu_4": [0.10, 0.14, NAN, 0.05],  # a missing value is skipped
    })
    table = seed_table(records, ["cider_d", "bleu_4"])
    assert list(table.index) == [1, 2]
    assert table.at[1, "cider_d_mean"] == pytest.approx(0.4)
    assert table.at[1, "cider_d_sd"] == pytest.approx(0.1)  # sqrt((0.01 + 0 + 0.01) / 2)
    assert table.at[1, "bleu_4_mean"] == pytest.approx(0.12)
    assert table.at[1, "bleu_4_sd"] == pytest.approx(math.sqrt(0.0008))  # sqrt((0.02^2 * 2) / 1)
    assert table.at[1, "n_seeds"] == 3
    assert table.at[2, "cider_d_mean"] == pytest.approx(0.2)
    assert math.isnan(table.at[2, "cider_d_sd"])  # one seed: no sample sd
    assert table.at[2, "n_seeds"] == 1
    assert set(table.columns) == {"cider_d_mean", "cider_d_sd", "bleu_4_mean", "bleu_4_sd", "n_seeds"}


def test_seed_table_rejects_missing_metric_and_repeated_seed():
    records = pd.DataFrame({"system": [1, 1], "seed": [0, 0], "cider_d": [0.3, 0.4]})
    with pytest.raises(ValueError, match="a2t_r1"):
        seed_table(records, ["cider_d", "a2t_r1"])
    with pytest.raises(ValueError, match="repeat"):
        seed_table(records, ["cider_d"])


# --- FINDINGS -----------------------------------------------------------------------------------------

def test_findings_are_the_papers_chain_one_change_each():
    """Table 1 as a chain (2 vs 1, 4 vs 2, 4 vs 3), Table 2's two claims, and 4 vs 1 as a summary only."""
    assert [(f.system_better, f.system_worse, f.summary) for f in FINDINGS] == [
        (2, 1, False), (4, 2, False), (4, 3, False), (8, 5, False), (9, 7, False), (4, 1, True)]
    with pytest.raises(AttributeError):
        FINDINGS[0].system_better = 2  # frozen


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.name)
def test_paper_differences_match_published_tables(finding):
    expected = PUBLISHED_CIDER[finding.system_better] - PUBLISHED_CIDER[finding.system_worse]
    assert finding.paper_difference() == pytest.approx(expected, abs=1e-9)
    assert finding.paper_difference() > 0


def test_first_paper_difference_by_hand():
    assert FINDINGS[0].paper_difference("cider_d") == pytest.approx(0.157, abs=1e-9)  # 0.217 - 0.060
    assert FINDINGS[1].paper_difference("cider_d") == pytest.approx(0.177, abs=1e-9)  # 0.394 - 0.217
    assert FINDINGS[-1].paper_difference("cider_d") == pytest.approx(0.334, abs=1e-9)  # 0.394 - 0.060
    assert FINDINGS[4].paper_difference("bleu_4") == pytest.approx(0.009, abs=1e-9)  # 0.169 - 0.160


def test_png_bytes_is_a_png_of_the_figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    data = png_bytes(fig, dpi=50)
    plt.close(fig)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")  # IHDR width, pixels
    assert 0 < width <= 2 * 50 + 10  # 2 inches at 50 dpi, cropped tight
