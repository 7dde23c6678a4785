"""The paper's four findings decided seed by seed, with intervals (:mod:`~clipaac_lib.experiments.intervals`).

For each finding (:data:`~clipaac_lib.experiments.findings.FINDINGS`: system ``better`` against system
``worse``), the two systems' runs of the same seed are compared clip by clip on the test split: the
per-clip scores of each run are computed once from its saved captions (:func:`run_per_clip`, cached in
the run directory), and :func:`~clipaac_lib.experiments.intervals.paired_difference` turns them into the
mean difference, its 95 % interval (seed and test-clip noise) and the label. Beside each, the design's
minimum detectable effect (the interval's half-width) and the paper's effect: when the paper's effect
is smaller than what the design can detect, *undecided* was the likely outcome before any run.

Notebook: ``notebooks/06_ablations.ipynb``; the report page shows the same table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clipaac_lib.common.fileio import atomic_write_json
from clipaac_lib.experiments.findings import ALIASES, FINDINGS, Finding
from clipaac_lib.experiments.intervals import paired_difference
from clipaac_lib.experiments.paper import METRIC_NAMES

__all__ = ["PER_CLIP_FILE", "describe_paired", "paired_findings", "plot_paired_findings", "run_per_clip"]

PER_CLIP_FILE = "per_clip_scores.json"
Evaluate = Callable[..., Mapping[str, Any]]

_COLOURS = {"reproduced": "tab:green", "contradicted": "tab:red", "undecided": "tab:gray"}


def _default_evaluate() -> Evaluate:
    from clipaac_lib.metrics import evaluate_captions  # Java tools; imported only when scoring for real

    def evaluate(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> Mapping[str, Any]:
        return evaluate_captions(candidates, references, per_clip=True, spice=False, modern=False)

    return evaluate


def run_per_clip(run_dir: str | Path, metric: str = "cider_d", *, evaluate: Evaluate | None = None) -> np.ndarray:
    """Per-clip ``metric`` of a finished run's test captions, in test-split order.

    Read from ``<run_dir>/per_clip_scores.json`` when it was computed for the same captions (their
    sha256 is recorded), else scored with :func:`~clipaac_lib.metrics.evaluate_captions`
    (``per_clip=True``; ``evaluate``: another scorer returning ``{"per_clip": {metric: [...]}}``, for
    tests) and saved atomically. CIDEr-D's document frequencies come from the whole test split, so the
    per-clip values average to the run's corpus score.
    """
    run_dir = Path(run_dir)
    # eval-<decoding>-test/, or eval-<decoding>-test-first<N>/ when the test split was limited (smoke mode)
    captions_files = sorted(run_dir.glob("eval-*-test*/captions.json"))
    captions_files = [p for p in captions_files if "untrained" not in p.parent.name]
    if not captions_files:
        raise FileNotFoundError(f"{run_dir} has no test captions (eval-*-test/captions.json): evaluate the run "
                                "first with `clipaac evaluate`")
    if len(captions_files) > 1:
        raise ValueError(f"{run_dir} has test captions from {len(captions_files)} decodings "
                         f"({', '.join(p.parent.name for p in captions_files)}): keep one to compare runs")
    text = captions_files[0].read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    cache = run_dir / PER_CLIP_FILE
    stored: dict[str, Any] = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    if stored.get("captions_sha256") == digest and metric in stored.get("per_clip", {}):
        return np.asarray(stored["per_clip"][metric], dtype=float)
    rows = json.loads(text)
    scores = (evaluate or _default_evaluate())([r["caption"] for r in rows], [r["references"] for r in rows])
    per_clip = {k: [float(x) for x in v] for k, v in scores["per_clip"].items()}
    if metric not in per_clip:
        raise KeyError(f"the scorer gave no per-clip {metric!r}; it gave {', '.join(per_clip)}")
    atomic_write_json(cache, {"captions_sha256": digest, "per_clip": per_clip})
    return np.asarray(per_clip[metric], dtype=float)


def _runs_by_seed(records: pd.DataFrame, system: int) -> dict[int, str]:
    """``{seed: run_dir}`` of ``system``'s finished runs (system 4 stands for 8 and back)."""
    ran = records[records["status"] == "ran"]
    for candidate in (system, ALIASES.get(system)):
        rows = ran[ran["system"] == candidate]
        if len(rows):
            return {int(r.seed): str(r.run_dir) for r in rows.itertuples()}
    return {}


def paired_findings(records: pd.DataFrame, metric: str = "cider_d", *,
                    findings: Sequence[Finding] = FINDINGS, evaluate: Evaluate | None = None) -> pd.DataFrame:
    """One row per finding from :func:`~clipaac_lib.experiments.ablations.run_grid`'s records: the
    paper's difference, ours (mean over common seeds), its interval, the detectable effect (half-width),
    the seeds and clips compared, and the label ("not run" when a system has no run)."""
    rows = []
    for finding in findings:
        paper = finding.paper_difference(metric)
        row: dict[str, Any] = {"finding": finding.name, "better": finding.system_better,
                               "worse": finding.system_worse, "paper_diff": paper}
        better, worse = _runs_by_seed(records, finding.system_better), _runs_by_seed(records, finding.system_worse)
        common = sorted(set(better) & set(worse))
        if not common:
            rows.append({**row, "ours_diff": np.nan, "low": np.nan, "high": np.nan, "detectable": np.nan,
                         "seeds": 0, "clips": 0, "label": "not run"})  # same columns as a decided row
            continue
        a = {s: run_per_clip(better[s], metric, evaluate=evaluate) for s in common}
        b = {s: run_per_clip(worse[s], metric, evaluate=evaluate) for s in common}
        diff = paired_difference(a, b)
        rows.append({**row, "ours_diff": diff.mean, "low": diff.low, "high": diff.high,
                     "detectable": diff.half_width, "seeds": diff.seeds, "clips": diff.clips,
                     "label": diff.label(np.sign(paper))})
    table = pd.DataFrame(rows).set_index("finding")
    table["metric"] = metric
    return table


def describe_paired(table: pd.DataFrame) -> list[str]:
    """One sentence per finding of :func:`paired_findings`, with its numbers."""
    lines = []
    for name, row in table.iterrows():
        metric = METRIC_NAMES.get(row["metric"], row["metric"])
        paper = f"paper {row['paper_diff']:+.3f} {metric}"
        if row["label"] == "not run":
            lines.append(f"{name}: {paper}; ours not run")
            continue
        seeds = f"{int(row['seeds'])} paired seed" + ("s" if row["seeds"] != 1 else "")
        if not np.isfinite(row["detectable"]):
            lines.append(f"{name}: {paper}; ours {row['ours_diff']:+.3f} ({seeds}: no interval): undecided")
            continue
        reach = ("the design could detect the paper's effect" if row["detectable"] < abs(row["paper_diff"])
                 else "the paper's effect is smaller than this design can detect")
        lines.append(f"{name}: {paper}; ours {row['ours_diff']:+.3f}, 95% interval [{row['low']:+.3f}, "
                     f"{row['high']:+.3f}] ({seeds}, {int(row['clips'])} clips): {row['label']}; {reach}")
    return lines


def plot_paired_findings(table: pd.DataFrame) -> plt.Figure:
    """Each finding's 95 % interval of our paired difference (coloured by label) with the paper's effect
    marked; the zero line is "no difference"."""
    names = list(table.index)
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(names) + 1.4))
    ax.axvline(0, color="black", linewidth=0.8)
    for yi, (_, row) in zip(y, table.iterrows(), strict=True):
        if row["label"] != "not run" and np.isfinite(row.get("detectable", np.nan)):
            ax.errorbar(row["ours_diff"], yi, xerr=row["detectable"], fmt="o", capsize=4,
                        color=_COLOURS.get(row["label"], "tab:gray"),
                        label=row["label"] if row["label"] not in ax.get_legend_handles_labels()[1] else None)
        ax.plot(row["paper_diff"], yi, marker="x", color="tab:blue", markersize=9, linestyle="none",
                label="the paper's effect" if yi == 0 else None)
    metric = METRIC_NAMES.get(table["metric"].iloc[0], "") if len(table) else ""
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set(xlabel=f"{metric} difference, better minus worse system (95% interval)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig
