"""What a run shows, in sentences computed from its scores (never typed by hand): retrieval against
chance, caption metrics against the untrained model and against the baselines (constant caption,
shuffled captions, humans). Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import pandas as pd

from clipaac_lib.data import events_named, scene_events
from clipaac_lib.experiments.baselines import Baselines, Evaluate, compute_baselines, split_references
from clipaac_lib.train import RunResult, data_root

__all__ = ["event_coverage", "run_verdicts", "run_baselines"]


def run_baselines(result: RunResult, *, seed: int = 0, evaluate: Evaluate | None = None) -> Baselines:
    """The yardsticks beside ``result``'s test scores (:mod:`clipaac_lib.experiments.baselines`), on the clips it was
    scored on: the most frequent caption of the clips it trained on, its own captions shuffled across
    clips (``seed``), caption_1 of each clip against the other references, and the run itself.

    Needs only the caption CSVs of the run's dataset (Clotho's audio may be absent) and its saved
    captions; the model row is scored again, with the same metric code as the run (``evaluate``: another
    scorer with :func:`clipaac_lib.metrics.evaluate_captions`' signature, for tests).
    """
    if not result.captions:
        raise ValueError(f"{result.run_dir} has no test captions (caption_metrics=False or unfinished): "
                         "evaluate it first with `clipaac evaluate`")
    config = result.config
    train = split_references(data_root(config), config.train_split)[: config.limit_train_clips]
    test = [list(row["references"]) for row in result.captions]
    return compute_baselines(train, test, [row["caption"] for row in result.captions], seed=seed,
                             evaluate=evaluate)


def run_verdicts(result: RunResult, baselines: Baselines | None = None) -> list[str]:
    """One sentence per comparison the run's saved scores allow (none are claimed when a score is
    missing): audio-to-text recall@1 against its chance level, CIDEr-D against the untrained model and,
    with ``baselines`` (:func:`run_baselines`), against the constant caption, shuffled and human captions."""
    lines = []
    r1 = None if result.scores is None else result.scores.recall("a2t_r1")
    if r1 is None:
        lines.append("no retrieval: the model has no text head (alpha = 0)")
    else:
        chance = result.scores.retrieval_chance["a2t_r1"]
        lines.append(f"audio-to-text R@1 {r1:.3f} against {chance:.3f} by chance ({r1 / chance:.1f}x chance)")
    trained = None if result.scores is None else result.scores.metric("cider_d")
    untrained = None if result.untrained_scores is None else result.untrained_scores.metric("cider_d")
    if trained is None:
        lines.append("no caption metrics (caption_metrics=False)")
    elif untrained is None:
        lines.append(f"CIDEr-D {trained:.3f} (the untrained model was not scored: eval_untrained=False)")
    else:
        change = "higher than" if trained > untrained else "not higher than"
        lines.append(f"CIDEr-D {trained:.3f} trained, {change} the untrained model's {untrained:.3f}")
    if baselines is not None and trained is not None:
        lines.append(baselines.describe("cider_d"))
    return lines


def event_coverage(result: RunResult) -> pd.DataFrame:
    """How many of each test clip's sound events the run's captions name, beside the humans'.

    One row per number of events in a clip (1, 2, 3): ``clips``, then the share of those clips' events
    named by the run's caption (``model``) and by the clip's first reference caption (``human``), by
    :func:`~clipaac_lib.data.events_named`. Empty for a dataset without ground-truth scenes (Clotho).
    """
    if not result.captions:
        raise ValueError(f"{result.run_dir} has no test captions: evaluate it first with `clipaac evaluate`")
    events = scene_events(data_root(result.config), result.config.test_split)
    rows = []
    for row in result.captions:
        kinds = events.get(row["file_name"])
        if kinds:
            rows.append({"events": len(kinds), "model": sum(events_named(row["caption"], kinds)),
                         "human": sum(events_named(row["references"][0], kinds))})
    if not rows:
        return pd.DataFrame(columns=["clips", "model", "human"]).rename_axis("events")
    frame = pd.DataFrame(rows).groupby("events")
    total = frame["events"].sum()
    return pd.DataFrame({"clips": frame.size(), "model": frame["model"].sum() / total,
                         "human": frame["human"].sum() / total})
