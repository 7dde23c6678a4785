"""What a run shows, in sentences computed from its scores (never typed by hand): retrieval against
chance, caption metrics against the untrained model. Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

from clipaac_lib.train.rundir import RunResult

__all__ = ["run_verdicts"]


def run_verdicts(result: RunResult) -> list[str]:
    """One sentence per comparison the run's saved scores allow (none are claimed when a score is
    missing): audio-to-text recall@1 against its chance level, CIDEr-D against the untrained model."""
    scores = result.scores or {}
    lines = []
    retrieval = scores.get("retrieval")
    if retrieval is None:
        lines.append("no retrieval: the model has no text head (alpha = 0)")
    else:
        r1, chance = retrieval["a2t_r1"], scores["retrieval_chance"]["a2t_r1"]
        lines.append(f"audio-to-text R@1 {r1:.3f} against {chance:.3f} by chance ({r1 / chance:.1f}x chance)")
    trained = (scores.get("metrics") or {}).get("cider_d")
    untrained = ((result.untrained_scores or {}).get("metrics") or {}).get("cider_d")
    if trained is None:
        lines.append("no caption metrics (caption_metrics=False)")
    elif untrained is None:
        lines.append(f"CIDEr-D {trained:.3f} (the untrained model was not scored: eval_untrained=False)")
    else:
        change = "higher than" if trained > untrained else "not higher than"
        lines.append(f"CIDEr-D {trained:.3f} trained, {change} the untrained model's {untrained:.3f}")
    return lines
