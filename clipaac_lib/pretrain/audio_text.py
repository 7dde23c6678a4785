"""Stage ``audio_text`` of the book's pretraining: audio and text heads aligned contrastively.

The stand-in for AudioCLIP: AudioCLIP starts from ESResNeXt (AudioSet) and CLIP and trains the heads so
that a clip's audio embedding is close to the text embedding of its class names. Here the audio head
starts from stage ``audio`` (:mod:`clipaac_lib.pretrain.tagging`; its classifier ``fc`` is replaced by
the embedding ``fc``), the text head from scratch (the book has no CLIP to start from), and both are
trained with the symmetric contrastive loss of Eq. (5) (lambda 0.5) on (clip, label text) pairs such
as ``("<a siren over rain>", "siren, rain")``. Validation: the loss, and zero-shot tagging accuracy, how
often a held-out clip's audio embedding is closest to its own label text among all distinct label texts
of the held-out clips (AudioCLIP's zero-shot classification).

Notebook: ``notebooks/06_ablations.ipynb`` (section "Pretraining").
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from clipaac_lib.model import CLIPAAC, ModelConfig, contrastive_loss, tokenize
from clipaac_lib.pretrain.corpus import LabelledCorpus
from clipaac_lib.pretrain.fit import fit
from clipaac_lib.pretrain.published import load_esresnext_audioset
from clipaac_lib.pretrain.recipe import PretrainConfig

__all__ = ["audioclip_layout", "zero_shot_accuracy", "train_audio_text"]

#: Present in AudioCLIP's checkpoints for the image head's two temperatures; written as copies of the
#: audio-text one so that the file has the published key set (less ``visual.*``: no image head here).
_IMAGE_TEMPERATURES = ("logit_scale", "logit_scale_ai")


def audioclip_layout(model: CLIPAAC) -> dict[str, Tensor]:
    """The audio head, text head and temperature of ``model`` under AudioCLIP's checkpoint keys:
    ``audio.*``, the text head's keys without prefix (``transformer.*``, ``token_embedding.weight``, ...)
    and ``logit_scale_at`` (plus ``logit_scale``/``logit_scale_ai``, unused by CLIP-AAC)."""
    if model.text is None:
        raise ValueError("the model has no text head: an AudioCLIP checkpoint needs one")
    state = {f"audio.{k}": v for k, v in model.audio.state_dict().items()}
    state.update(model.text.state_dict())
    state["logit_scale_at"] = model.logit_scale_at.detach()
    for key in _IMAGE_TEMPERATURES:
        state[key] = model.logit_scale_at.detach()
    return {key: value.detach().contiguous().clone() for key, value in state.items()}


@torch.no_grad()
def _embed(model: CLIPAAC, corpus: LabelledCorpus, batch_size: int) -> tuple[Tensor, Tensor, list[str]]:
    audio = torch.cat([model.audio(corpus.audio[i:i + batch_size]) for i in range(0, len(corpus), batch_size)])
    unique = sorted(set(corpus.texts))
    text = model.encode_text(tokenize(unique))  # (U, L)
    return audio, text, unique  # (N, L), (U, L)


def zero_shot_accuracy(audio_emb: Tensor, text_emb: Tensor, texts: list[str], truth: list[str]) -> float:
    """Share of clips whose audio embedding (N, L) is most cosine-similar to their own label text among
    the U candidate ``texts`` embedded in ``text_emb`` (U, L); ``truth`` holds each clip's text."""
    similarity = torch.nn.functional.normalize(audio_emb, dim=-1) @ torch.nn.functional.normalize(text_emb, dim=-1).T
    best = similarity.argmax(dim=1).tolist()  # (N,)
    return sum(texts[b] == t for b, t in zip(best, truth, strict=True)) / len(truth)


def _validate(model: CLIPAAC, corpus: LabelledCorpus, batch_size: int) -> dict[str, float]:
    model.eval()
    audio, text, unique = _embed(model, corpus, batch_size)
    model.train()
    own = text[[unique.index(t) for t in corpus.texts]]  # (N, L)
    loss = contrastive_loss(audio, own, model.logit_scale.detach())
    return {"val_loss": float(loss), "val_zero_shot": zero_shot_accuracy(audio, text, unique, corpus.texts),
            "val_chance": 1.0 / len(unique)}


def train_audio_text(model_config: ModelConfig, audio_state: dict[str, Tensor], train: LabelledCorpus,
                     val: LabelledCorpus, config: PretrainConfig, *, progress: bool = True
                     ) -> tuple[dict[str, Tensor], list[dict[str, Any]]]:
    """Train audio and text heads of a ``model_config`` model contrastively, the audio head loaded from
    ``audio_state`` (stage ``audio``'s ``ESRNXFBSP.pt`` layout, through the loader of the published file).

    Returns the state dict in AudioCLIP's checkpoint layout (:func:`audioclip_layout`) and the history
    (epoch 0 = before training): ``train_loss``, ``val_loss``, ``val_zero_shot`` and ``val_chance``.
    """
    torch.manual_seed(config.seed)
    model = CLIPAAC(model_config.__class__.from_dict(
        {**model_config.to_dict(), "logit_scale_init": 1.0 / config.temperature_init}))
    load_esresnext_audioset(model, audio_state)
    model.memory_proj = model.memory_norm = model.decoder = None  # not part of the pretrained encoder
    model = model.train().to(memory_format=torch.channels_last)
    groups = [{"params": list(model.audio.parameters()), "lr": config.audio_text_lr},
              {"params": [*model.text.parameters(), model.logit_scale_at], "lr": config.text_lr}]
    optimizer = torch.optim.Adam(groups, fused=True)
    tokens = tokenize(train.texts)  # (N, 77)

    def loss_of(index: Tensor) -> Tensor:
        audio_emb = model.audio(train.audio[index])  # (b, L)
        text_emb = model.encode_text(tokens[index])  # (b, L)
        return contrastive_loss(audio_emb, text_emb, model.logit_scale)

    history = fit("audio_text", optimizer, loss_of, lambda: _validate(model, val, config.batch_size),
                  clips=len(train), epochs=config.text_epochs, batch_size=config.batch_size, seed=config.seed,
                  desc="pretraining audio and text heads", progress=progress)
    return audioclip_layout(model), history
