"""Seed statistics and the labels of the paper's findings (clipaac_lib.experiments.findings), on hand-computed numbers."""

from __future__ import annotations

import io
import math

import matplotlib
import pandas as pd
import pytest

from clipaac_lib.experiments.findings import (
    FINDINGS,
    LABELS,
    describe_findings,
    label,
    label_findings,
    plot_findings,
    png_bytes,
    seed_table,
    spread_of,
)

NAN = math.nan

# CIDEr-D as published in the paper (/work/shared/paper/clip-aac.md, Tables 1 and 2), typed here as the
# independent reference for what clipaac_lib.experiments.paper holds.
PUBLISHED_CIDER = {1: 0.060, 3: 0.333, 4: 0.394, 5: 0.368, 7: 0.372, 8: 0.394, 9: 0.407}


def summary(rows: dict[int, tuple[float, float, int]]) -> pd.DataFrame:
    """A seed_table-shaped summary: system -> (cider_d mean, cider_d sd, n_seeds)."""
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["cider_d_mean", "cider_d_sd", "n_seeds"])
    frame.index.name = "system"
    return frame


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


# --- spread_of ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sd_a", "sd_b", "reference_sd", "expected"), [
    (0.01, 0.03, 0.5, 0.03),  # both have seeds: the larger sd; the reference is not used
    (0.04, 0.03, NAN, 0.04),
    (NAN, 0.03, 0.05, 0.05),  # a single-seed system gets the reference sd
    (NAN, 0.03, 0.02, 0.03),
    (0.03, NAN, 0.02, 0.03),
    (NAN, NAN, 0.02, 0.02),
])
def test_spread_of(sd_a, sd_b, reference_sd, expected):
    assert spread_of(sd_a, sd_b, reference_sd) == pytest.approx(expected)


@pytest.mark.parametrize(("sd_a", "sd_b"), [(NAN, NAN), (NAN, 0.03), (0.03, NAN)])
def test_spread_of_without_reference_spread_is_nan(sd_a, sd_b):
    assert math.isnan(spread_of(sd_a, sd_b, NAN))


# --- label --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("diff", "spread", "sign", "expected"), [
    (0.5, 0.25, 1, "within noise"),  # exactly 2 x spread: not an effect
    (-0.5, 0.25, 1, "within noise"),
    (0.5 + 1e-9, 0.25, 1, "reproduced"),  # just above
    (-(0.5 + 1e-9), 0.25, 1, "not reproduced"),  # an effect with the opposite sign
    (-0.6, 0.25, -1, "reproduced"),
    (0.6, 0.25, -0.2, "not reproduced"),  # only the sign of paper_sign counts
    (0.0, 0.0, 1, "within noise"),
    (0.01, 0.0, 1, "reproduced"),  # zero spread: any difference is an effect
    (0.3 - 0.1, 0.1, 1, "within noise"),  # 0.19999999999999998: at the boundary
    (0.1 + 0.2, 0.15, 1, "within noise"),  # 0.30000000000000004: rounding, still the boundary
    (0.5, NAN, 1, "no seed spread"),
    (0.0, NAN, 1, "no seed spread"),
])
def test_label(diff, spread, sign, expected):
    assert label(diff, spread, sign) == expected


def test_label_rejects_no_direction_and_no_difference():
    with pytest.raises(ValueError, match="sign"):
        label(0.1, 0.01, 0)
    with pytest.raises(ValueError, match="sign"):
        label(0.1, 0.01, NAN)
    with pytest.raises(ValueError, match="NaN"):
        label(NAN, 0.01, 1)


# --- FINDINGS -----------------------------------------------------------------------------------------

def test_findings_are_the_papers_four_comparisons():
    assert [(f.name, f.system_better, f.system_worse) for f in FINDINGS] == [
        ("pretrained init helps", 4, 1),
        ("fine-tuning beats freezing", 4, 3),
        ("the contrastive loss helps", 8, 5),
        ("larger batches help", 9, 7),
    ]
    with pytest.raises(AttributeError):
        FINDINGS[0].system_better = 2  # frozen


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.name)
def test_paper_differences_match_published_tables(finding):
    expected = PUBLISHED_CIDER[finding.system_better] - PUBLISHED_CIDER[finding.system_worse]
    assert finding.paper_difference() == pytest.approx(expected, abs=1e-9)
    assert finding.paper_difference() > 0


def test_first_paper_difference_by_hand():
    assert FINDINGS[0].paper_difference("cider_d") == pytest.approx(0.334, abs=1e-9)  # 0.394 - 0.060
    assert FINDINGS[3].paper_difference("bleu_4") == pytest.approx(0.009, abs=1e-9)  # 0.169 - 0.160


# --- label_findings -----------------------------------------------------------------------------------

def test_label_findings_each_label():
    table = summary({
        1: (0.10, 0.02, 3),  # 4 vs 1: diff 0.30 > 2 x 0.02 -> reproduced
        3: (0.45, 0.01, 3),  # 4 vs 3: diff -0.05, |.| > 2 x 0.01 -> not reproduced
        4: (0.40, 0.01, 3),  # the reference, also standing for 8
        5: (0.39, NAN, 1),  # 8 vs 5: diff 0.01, spread = reference 0.01 -> within noise
        9: (0.41, 0.01, 2),  # 9 vs 7: 7 missing -> not run
    })
    labels = label_findings(table)
    assert list(labels.index) == [f.name for f in FINDINGS]
    assert list(labels["label"]) == ["reproduced", "not reproduced", "within noise", "not run"]
    assert set(labels["label"]) <= set(LABELS)
    first = labels.loc["pretrained init helps"]
    assert first["paper_better"] == pytest.approx(0.394)
    assert first["paper_worse"] == pytest.approx(0.060)
    assert first["paper_diff"] == pytest.approx(0.334)
    assert first["ours_better"] == pytest.approx(0.40)
    assert first["ours_worse"] == pytest.approx(0.10)
    assert first["ours_diff"] == pytest.approx(0.30)
    assert first["spread"] == pytest.approx(0.02)
    assert first["threshold"] == pytest.approx(0.04)
    contrastive = labels.loc["the contrastive loss helps"]
    assert contrastive["ours_diff"] == pytest.approx(0.01)
    assert contrastive["spread"] == pytest.approx(0.01)
    assert (contrastive["n_better"], contrastive["n_worse"]) == (3, 1)
    batches = labels.loc["larger batches help"]
    assert math.isnan(batches["ours_diff"]) and batches["n_worse"] == 0
    assert math.isnan(batches["spread"]) and math.isnan(batches["threshold"])  # no comparison, no band


def test_label_findings_single_seed_uses_reference_spread():
    # 9 has one seed, 7 has sd 0.005: the spread is max(reference 0.03, 0.005) = 0.03, threshold 0.06
    table = summary({4: (0.40, 0.03, 3), 7: (0.30, 0.005, 2), 9: (0.35, NAN, 1)})
    row = label_findings(table).loc["larger batches help"]
    assert row["spread"] == pytest.approx(0.03)
    assert row["label"] == "within noise"  # 0.05 <= 0.06, though 0.05 > 2 x 0.005
    # with a single-seed reference there is no spread for a single-seed system
    table = summary({4: (0.40, NAN, 1), 7: (0.30, 0.005, 2), 9: (0.35, NAN, 1), 1: (0.10, NAN, 1)})
    labels = label_findings(table)
    assert labels.at["larger batches help", "label"] == "no seed spread"
    assert labels.at["pretrained init helps", "label"] == "no seed spread"


def test_label_findings_aliases_4_and_8():
    only8 = summary({8: (0.40, 0.01, 3), 1: (0.10, 0.01, 3), 3: (0.30, 0.01, 3), 5: (0.35, 0.01, 3)})
    only4 = only8.rename(index={8: 4})
    for table in (only8, only4):
        labels = label_findings(table)
        assert labels.at["pretrained init helps", "ours_better"] == pytest.approx(0.40)
        assert labels.at["fine-tuning beats freezing", "ours_diff"] == pytest.approx(0.10)
        assert labels.at["the contrastive loss helps", "ours_diff"] == pytest.approx(0.05)
        assert list(labels["label"][:3]) == ["reproduced"] * 3
    # when both are present, each keeps its own results
    both = summary({4: (0.40, 0.01, 3), 8: (0.34, 0.01, 3), 5: (0.35, 0.01, 3)})
    labels = label_findings(both)
    assert labels.at["the contrastive loss helps", "ours_diff"] == pytest.approx(-0.01)
    assert labels.at["the contrastive loss helps", "label"] == "within noise"
    # the reference spread comes from 8 when 4 is missing (reference_system=4)
    ref8 = summary({8: (0.40, 0.05, 3), 9: (0.45, NAN, 1), 7: (0.40, NAN, 1)})
    assert label_findings(ref8).at["larger batches help", "spread"] == pytest.approx(0.05)


def test_label_findings_not_run():
    labels = label_findings(summary({}))
    assert list(labels["label"]) == ["not run"] * 4
    # a system whose metric is missing (NaN mean) has no result either
    labels = label_findings(summary({4: (0.40, 0.01, 3), 1: (NAN, NAN, 3)}))
    assert labels.at["pretrained init helps", "label"] == "not run"


def test_label_findings_needs_the_metric():
    with pytest.raises(ValueError, match="bleu_4_mean"):
        label_findings(summary({4: (0.40, 0.01, 3)}), metric="bleu_4")


def test_label_findings_on_seed_table_output():
    records = pd.DataFrame({"system": [4, 4, 4, 1, 1, 1], "seed": [0, 1, 2] * 2,
                            "cider_d": [0.3, 0.4, 0.5, 0.05, 0.10, 0.15]})
    labels = label_findings(seed_table(records, ["cider_d"]))
    row = labels.loc["pretrained init helps"]
    assert row["ours_diff"] == pytest.approx(0.30)
    assert row["spread"] == pytest.approx(0.1)  # max(0.1, 0.05)
    assert row["label"] == "reproduced"  # 0.30 > 0.20


# --- describe_findings and plot_findings --------------------------------------------------------------

def test_describe_findings():
    table = summary({1: (0.10, 0.02, 3), 3: (0.45, 0.01, 3), 4: (0.40, 0.01, 3), 5: (0.39, NAN, 1)})
    assert describe_findings(label_findings(table)) == [
        "pretrained init helps: paper +0.334 CIDEr-D; ours +0.300 +- 0.040 (2 x seed spread, 3 seeds): reproduced",
        "fine-tuning beats freezing: paper +0.061 CIDEr-D; ours -0.050 +- 0.020 (2 x seed spread, 3 seeds): "
        "not reproduced",
        "the contrastive loss helps: paper +0.026 CIDEr-D; ours +0.010 +- 0.020 (2 x seed spread, 3 vs 1 seeds): "
        "within noise",
        "larger batches help: paper +0.035 CIDEr-D; ours not run (no CIDEr-D for system 9 and 7)",
    ]
    spreadless = summary({4: (0.40, NAN, 1), 1: (0.10, NAN, 1)})
    assert describe_findings(label_findings(spreadless))[0] == (
        "pretrained init helps: paper +0.334 CIDEr-D; ours +0.300 (1 seed, no seed spread): no seed spread")


@pytest.mark.parametrize("rows", [
    {1: (0.10, 0.02, 3), 3: (0.45, 0.01, 3), 4: (0.40, 0.01, 3), 5: (0.39, NAN, 1)},  # a mix, one not run
    {},  # nothing run: all NaN
    {4: (0.40, NAN, 1), 1: (0.10, NAN, 1)},  # no spread
], ids=["mixed", "empty", "no-spread"])
def test_plot_findings(rows):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    labels = label_findings(summary(rows))
    fig = plot_findings(labels)
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 2
        assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [f.name for f in FINDINGS]
        texts = [t.get_text().strip() for t in fig.axes[1].texts]
        assert texts == list(labels["label"])
        fig.savefig(io.BytesIO(), format="png")  # draws everything
    finally:
        plt.close(fig)


def test_png_bytes_is_a_png_of_the_figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    data = png_bytes(fig, dpi=50)
    plt.close(fig)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")  # IHDR width, pixels
    assert 0 < width <= 2 * 50 + 10  # 2 inches at 50 dpi, cropped tight
