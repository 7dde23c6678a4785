"""Summaries of a Clotho-format dataset: clips, captions, vocabulary, caption lengths, events.

:func:`dataset_summary` works on any Clotho-format folder (real Clotho or the synthetic set);
for the synthetic set it also counts the event types, relations and backgrounds from
``synthetic_scenes.json``. ``print(summary)`` gives text tables; :func:`plot_summary` draws them with
seaborn. ``clipaac data stats --root ROOT`` prints the same. Notebook: ``notebooks/01_data.ipynb``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clipaac_lib.data.clotho import SOURCE_SPLITS, dataset_folder
from clipaac_lib.data.clotho_csv import read_captions_csv
from clipaac_lib.data.text import split_words

if TYPE_CHECKING:  # pandas and matplotlib are imported when a summary is made, not at import time
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["DatasetSummary", "dataset_summary", "plot_summary"]


@dataclass
class DatasetSummary:
    """Tables describing a dataset folder (pandas DataFrames)."""

    folder: Path
    splits: pd.DataFrame  # one row per split: clips, captions, words per caption, vocabulary, seconds
    caption_lengths: pd.DataFrame  # long format: split, words (one row per caption)
    words: pd.DataFrame  # word, count (all splits), most frequent first
    events: pd.DataFrame | None  # synthetic only: one row per event type, one column per split
    scenes: pd.DataFrame | None  # synthetic only: relation and background counts per split
    vocabulary_size: int  # distinct normalised words over all splits

    def __str__(self) -> str:
        import pandas as pd

        with pd.option_context("display.width", 120, "display.max_columns", 20):
            parts = [f"Dataset: {self.folder}", f"Vocabulary (all splits): {self.vocabulary_size} words", "",
                     "Splits:", self.splits.to_string(float_format=lambda x: f"{x:.2f}")]
            if self.events is not None:
                parts += ["", "Events (clips containing each type):", self.events.to_string()]
            if self.scenes is not None:
                parts += ["", "Scenes:", self.scenes.to_string()]
            top = ", ".join(f"{w} ({c})" for w, c in self.words.head(15).itertuples(index=False))
            parts += ["", f"Most frequent words: {top}"]
        return "\n".join(parts)


def _duration(path: Path) -> float:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:
        return float("nan")
    return info.frames / info.samplerate


def dataset_summary(root: str | os.PathLike[str], durations: bool = True) -> DatasetSummary:
    """Summarise the Clotho-format dataset in ``root`` (or ``root/clotho_v2.1``)."""
    import pandas as pd

    folder = dataset_folder(root)
    rows: list[dict[str, Any]] = []
    lengths: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    for split in SOURCE_SPLITS:
        csv_path = folder / f"clotho_captions_{split}.csv"
        if not csv_path.is_file():
            continue
        clips, issues = read_captions_csv(csv_path, on_error="skip")
        split_counts: Counter[str] = Counter()
        split_lengths = []
        for clip in clips:
            for caption in clip.captions:
                words = split_words(caption)
                split_counts.update(words)
                split_lengths.append(len(words))
                lengths.append({"split": split, "words": len(words)})
        counts.update(split_counts)
        seconds = [_duration(folder / split / c.file_name) for c in clips] if durations else []
        series = pd.Series(split_lengths, dtype=float)
        secs = pd.Series(seconds, dtype=float)
        rows.append({"split": split, "clips": len(clips), "captions": len(split_lengths),
                     "bad rows": len(issues), "words min": series.min(), "words mean": series.mean(),
                     "words max": series.max(), "vocabulary": len(split_counts),
                     "seconds mean": secs.mean(), "hours": secs.sum() / 3600})
    if not rows:
        raise FileNotFoundError(f"no clotho_captions_*.csv in {folder}: not a Clotho-format dataset folder")
    splits = pd.DataFrame(rows).set_index("split")
    words = pd.DataFrame(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), columns=["word", "count"])
    events, scenes = _synthetic_tables(folder)
    return DatasetSummary(folder, splits, pd.DataFrame(lengths, columns=["split", "words"]), words, events,
                          scenes, len(counts))


def _synthetic_tables(folder: Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    import pandas as pd

    path = folder / "synthetic_scenes.json"
    if not path.is_file():
        return None, None
    data = json.loads(path.read_text(encoding="utf-8"))
    event_rows, scene_rows = [], []
    for split, clips in data.items():
        for clip in clips:
            for event in {e["kind"] for e in clip["events"]}:
                event_rows.append({"split": split, "event": event})
            scene_rows.append({"split": split, "what": f"relation: {clip['relation']}"})
            scene_rows.append({"split": split, "what": f"events: {len(clip['events'])}"})
            scene_rows.append({"split": split, "what": f"background: {clip['background'] or 'none'}"})
    order = [s for s in SOURCE_SPLITS if s in data]
    events = pd.crosstab(pd.DataFrame(event_rows)["event"], pd.DataFrame(event_rows)["split"])
    scenes = pd.crosstab(pd.DataFrame(scene_rows)["what"], pd.DataFrame(scene_rows)["split"])
    return events.reindex(columns=order, fill_value=0), scenes.reindex(columns=order, fill_value=0)


def plot_summary(summary: DatasetSummary) -> Figure:
    """Seaborn figure: caption lengths per split, and event counts (synthetic) or top words; the
    split legend of the event panel sits outside its axes, never over the bars.
    Notebook: ``notebooks/01_data.ipynb``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), constrained_layout=True)
    sns.histplot(data=summary.caption_lengths, x="words", hue="split", discrete=True, multiple="dodge",
                 shrink=0.8, stat="percent", common_norm=False, ax=left)
    left.set(title="Caption length (words, normalised)", xlabel="words per caption",
             ylabel="% of the split's captions")
    if left.get_legend() is not None:
        sns.move_legend(left, "upper left", frameon=False)
    if summary.events is not None:
        long = summary.events.reset_index().melt(id_vars="event", var_name="split", value_name="clips")
        sns.barplot(data=long, y="event", x="clips", hue="split", ax=right)
        right.set(title="Clips containing each event type", xlabel="clips", ylabel="")
        sns.move_legend(right, "upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)  # not over the bars
    else:
        sns.barplot(data=summary.words.head(20), y="word", x="count", ax=right, color="C0")
        right.set(title="Most frequent caption words", xlabel="count", ylabel="")
    return fig
