"""The interactive captioning demo of notebook 7: a trained run, its test clips and a caption bank.

:class:`CaptionDemo` holds what the demo computes once (the model, the test split, the decoding settings
and the text embeddings of every test caption) and describes a waveform: the model's caption, the
references, and the bank captions nearest to its audio embedding. The other way round,
:meth:`CaptionDemo.search` embeds a sentence with the text head and ranks the test clips by the cosine
similarity of their audio embeddings (computed once, at the first search): text-to-audio retrieval with
the two heads CLIP-AAC keeps from contrastive training. :meth:`CaptionDemo.widget` and
:meth:`CaptionDemo.search_widget` wrap them in ipywidgets (imported only there: they are an optional
dependency, installed with the ``book`` and ``colab`` extras). A run trained without the contrastive loss
(alpha = 0) has no text head: no caption bank and no search. Notebook:
``notebooks/07_caption_your_audio.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from clipaac_lib.caption.inference import caption_audio
from clipaac_lib.data import Vocabulary, load_audio
from clipaac_lib.model import CLIPAAC, DecodeConfig, embed_captions, rank_captions
from clipaac_lib.train import LimitedDataset, RunResult, SplitPass, decode_config, open_test_split, run_split

__all__ = ["Description", "SearchHit", "SearchResult", "CaptionDemo", "NO_TEXT_HEAD"]

#: What the demo says instead of searching when the run has no text head.
NO_TEXT_HEAD = ("This run has no text head (trained with alpha = 0, no contrastive loss), so it cannot "
                "embed a sentence to search the clips with.")


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


@dataclass
class SearchHit:
    """One test clip found by :meth:`CaptionDemo.search`: its place in the ranking (1 = most similar),
    its index in ``demo.test``, file name, cosine similarity to the sentence, and its waveform (S,) at
    ``sample_rate`` for playing it."""

    rank: int
    index: int
    file_name: str
    similarity: float
    audio: Tensor
    sample_rate: int

    def player(self) -> Any:
        """An ``IPython.display.Audio`` player of the clip."""
        from IPython.display import Audio

        return Audio(self.audio.numpy(), rate=self.sample_rate)


@dataclass
class SearchResult:
    """The ``hits`` of :meth:`CaptionDemo.search` for ``query``, most similar first."""

    query: str
    hits: list[SearchHit]

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Any:
        return iter(self.hits)

    def __getitem__(self, position: int) -> SearchHit:
        return self.hits[position]

    def table(self) -> pd.DataFrame:
        """One row per hit: rank (the index), file name, cosine similarity."""
        return pd.DataFrame({"file": [h.file_name for h in self.hits],
                             "cosine": [h.similarity for h in self.hits]},
                            index=pd.Index([h.rank for h in self.hits], name="rank"))

    def show(self) -> None:
        """Print the query, display a player per hit and the table."""
        from IPython.display import display

        print("query:", self.query)
        for hit in self.hits:
            print(f"{hit.rank}. {hit.file_name}  (cosine {hit.similarity:.3f})")
            display(hit.player())
        display(self.table().round(3))


class CaptionDemo:
    """A trained run, ready to caption its test clips or any audio file, and to search the test clips
    by text."""

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
        # (N, L), computed once; None without a text head (alpha = 0)
        self.bank_emb: Tensor | None = embed_captions(self.model, self.bank) if self.has_text_head else None
        self.top_k = top_k

    @property
    def has_text_head(self) -> bool:
        """Whether the model can embed text (False for a run trained with alpha = 0): what the caption
        bank and :meth:`search` need."""
        return self.model.text is not None

    @property
    def sample_rate(self) -> int:
        return self.model.config.sample_rate

    def load(self, path: str) -> Tensor:
        """Any WAV/FLAC/OGG/MP3 file as the model hears it: mono, resampled, cut to ``max_seconds``."""
        return load_audio(path, self.sample_rate, self.config.max_seconds)  # (S,)

    def describe(self, audio: Tensor, references: list[str] | None = None) -> Description:
        """Caption ``audio`` (S,) and rank the bank captions by cosine similarity to its embedding."""
        nearest = ([] if self.bank_emb is None
                   else rank_captions(self.model, audio, self.bank, caption_emb=self.bank_emb, top=self.top_k))
        return Description(caption_audio(self.model, self.vocab, audio, self.decode), list(references or []),
                           pd.DataFrame(nearest, columns=["nearest caption by embedding", "cosine"]))

    def describe_clip(self, index: int) -> Description:
        """:meth:`describe` a test clip with its reference captions."""
        item = self.test[index]
        return self.describe(item["audio"], item["captions"])

    @cached_property
    def clip_emb(self) -> Tensor:
        """(N, L) audio embeddings of the test clips, in ``self.test`` order (each clip encoded without
        padding); computed at the first search, once."""
        device = next(self.model.parameters()).device
        out = run_split(self.model, self.test, self.vocab, SplitPass(batch_size=8), device=device)
        return out.audio_emb  # (N, L) float32, CPU

    @torch.no_grad()
    def search(self, text: str, k: int = 3) -> SearchResult:
        """The ``k`` test clips whose audio embeddings are most similar (cosine) to the text embedding of
        ``text``, most similar first (equal similarities: the earlier clip first).

        Raises ``RuntimeError`` (saying :data:`NO_TEXT_HEAD`) when the run has no text head.
        """
        if not self.has_text_head:
            raise RuntimeError(NO_TEXT_HEAD)
        if k < 1:
            raise ValueError(f"k must be a positive number of clips; got {k}")
        if not text.strip():
            raise ValueError("give a sentence to search for, e.g. 'a bell rings while rain falls'")
        query = F.normalize(embed_captions(self.model, [text]).cpu(), dim=-1)  # (1, L)
        sims = (F.normalize(self.clip_emb, dim=-1) @ query.T)[:, 0]  # (N,)
        order = sorted(range(len(sims)), key=lambda i: (-float(sims[i]), i))[:k]
        names = self.test.file_names
        hits = [SearchHit(rank + 1, i, names[i], float(sims[i]), self.test[i]["audio"], self.sample_rate)
                for rank, i in enumerate(order)]
        return SearchResult(text, hits)

    def search_widget(self, text: str = "", k: int = 3) -> Any:
        """A sentence box, a number of clips and a *Search* button; the hits below them, each with a
        player (needs a live kernel). Without a text head, a line saying so."""
        import ipywidgets as widgets

        if not self.has_text_head:
            return widgets.Label(NO_TEXT_HEAD)
        box = widgets.Text(value=text, placeholder="describe a sound, e.g. a bell rings", description="text")
        count = widgets.BoundedIntText(value=k, min=1, max=max(1, len(self.test)), description="clips")
        button = widgets.Button(description="Search", button_style="primary")
        output = widgets.Output()

        def on_click(_: Any) -> None:
            output.clear_output()
            with output:
                if box.value.strip():
                    self.search(box.value, int(count.value)).show()
                else:
                    print("type a sentence first")

        button.on_click(on_click)
        return widgets.VBox([widgets.HBox([box, count, button]), output])

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
