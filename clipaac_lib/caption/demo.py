"""The interactive captioning demo of notebook 7: a trained run, its test clips and a caption bank.

:class:`CaptionDemo` holds what the demo computes once (the model, the test split, the decoding settings
and the text embeddings of every test caption) and describes a waveform: the model's caption, the
references, and the bank captions nearest to its audio embedding. :meth:`CaptionDemo.widget` wraps it in
ipywidgets (imported only there: they are an optional dependency, installed with the ``book`` and
``colab`` extras). Notebook: ``notebooks/07_caption_your_audio.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from clipaac_lib.caption.inference import caption_audio
from clipaac_lib.data import Vocabulary, load_audio
from clipaac_lib.model import CLIPAAC
from clipaac_lib.model.analysis import embed_captions, rank_captions
from clipaac_lib.model.decode import DecodeConfig
from clipaac_lib.train.rundir import RunResult, decode_config
from clipaac_lib.train.setup import LimitedDataset, open_test_split

__all__ = ["Description", "CaptionDemo"]


@dataclass
class Description:
    """What the demo says about one clip."""

    caption: str
    references: list[str]
    nearest: pd.DataFrame  # columns: caption, cosine

    def show(self) -> None:
        """Print the caption and references, and display the nearest captions."""
        from IPython.display import display

        print("caption:   ", self.caption)
        for ref in self.references:
            print("reference: ", ref)
        display(self.nearest.round(3))


class CaptionDemo:
    """A trained run, ready to caption its test clips or any audio file."""

    def __init__(self, run: RunResult, device: str | torch.device = "cpu", top_k: int = 5) -> None:
        self.run = run
        self.model: CLIPAAC
        self.vocab: Vocabulary
        self.model, self.vocab = run.load_model(device=device)
        self.config = run.config
        self.decode: DecodeConfig = decode_config(run.config)
        self.test: LimitedDataset = open_test_split(run.config.replace(progress=False),
                                                    self.model.config.sample_rate)
        self.bank = sorted({c for i in range(len(self.test)) for c in self.test.captions(i)})
        self.bank_emb = embed_captions(self.model, self.bank)  # (N, L), computed once
        self.top_k = top_k

    @property
    def sample_rate(self) -> int:
        return self.model.config.sample_rate

    def load(self, path: str) -> Tensor:
        """Any WAV/FLAC/OGG/MP3 file as the model hears it: mono, resampled, cut to ``max_seconds``."""
        return load_audio(path, self.sample_rate, self.config.max_seconds)  # (S,)

    def describe(self, audio: Tensor, references: list[str] | None = None) -> Description:
        """Caption ``audio`` (S,) and rank the bank captions by cosine similarity to its embedding."""
        nearest = rank_captions(self.model, audio, self.bank, caption_emb=self.bank_emb, top=self.top_k)
        return Description(caption_audio(self.model, self.vocab, audio, self.decode), list(references or []),
                           pd.DataFrame(nearest, columns=["nearest caption by embedding", "cosine"]))

    def describe_clip(self, index: int) -> Description:
        """:meth:`describe` a test clip with its reference captions."""
        item = self.test[index]
        return self.describe(item["audio"], item["captions"])

    def widget(self, audio_file: str | None = None) -> Any:
        """A clip chooser, a file path box and a *Caption* button; output below them (needs a live kernel)."""
        import ipywidgets as widgets
        from IPython.display import Audio, display

        choice = widgets.Dropdown(options=[(n, i) for i, n in enumerate(self.test.file_names)], description="clip")
        path = widgets.Text(value=audio_file or "", placeholder="or a path to an audio file", description="file")
        button = widgets.Button(description="Caption", button_style="primary")
        output = widgets.Output()

        def on_click(_: Any) -> None:
            output.clear_output()
            with output:
                if path.value.strip():
                    audio, refs = self.load(path.value.strip()), []
                else:
                    item = self.test[choice.value]
                    audio, refs = item["audio"], item["captions"]
                display(Audio(audio.numpy(), rate=self.sample_rate))
                self.describe(audio, refs).show()

        button.on_click(on_click)
        return widgets.VBox([widgets.HBox([choice, button]), path, output])
