"""The pretraining curves of the book's own encoder files. Notebook: ``notebooks/06_ablations.ipynb``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from clipaac_lib.pretrain.store import PretrainedFile

__all__ = ["pretraining_history", "plot_pretraining"]


def pretraining_history(*files: PretrainedFile) -> pd.DataFrame:
    """The curves of ``files`` as one table: one row per (stage, epoch), epoch 0 = before training."""
    return pd.DataFrame([row for made in files for row in made.history]).set_index(["stage", "epoch"])


def plot_pretraining(audio: PretrainedFile, audio_text: PretrainedFile) -> plt.Figure:
    """Left: stage ``audio`` (losses, held-out mAP); right: stage ``audio_text`` (losses, held-out
    zero-shot accuracy against chance)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    panels = [(axes[0], audio, "val_map", "held-out mAP", "stage audio: sound-event tagging (AudioSet stand-in)"),
              (axes[1], audio_text, "val_zero_shot", "held-out zero-shot accuracy",
               "stage audio_text: contrastive (AudioCLIP stand-in)")]
    for ax, made, score, score_name, title in panels:
        history = pd.DataFrame(made.history)
        history.plot(x="epoch", y=["train_loss", "val_loss"], marker="o", ax=ax)
        right = ax.twinx()
        right.plot(history["epoch"], history[score], "s-", color="tab:green", label=score_name)
        if "val_chance" in history:
            right.plot(history["epoch"], history["val_chance"], ":", color="tab:green", label="chance")
        right.set(ylim=(0, 1), ylabel=score_name)
        right.legend(loc="center right", fontsize=8)
        ax.set(title=title, xlabel="epoch", ylabel="loss")
    fig.tight_layout()
    return fig
