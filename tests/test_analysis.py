"""Similarity matrices and caption ranking against hand computations on a tiny model."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from clipaac_lib.model import CLIPAAC, tokenize
from clipaac_lib.model.analysis import embed_captions, rank_captions, similarity_matrix


@pytest.fixture()
def model(make_model) -> CLIPAAC:
    return make_model(vocab_size=16).eval()


def test_similarity_matrix_matches_hand_computation(model):
    audio = 0.1 * torch.randn(3, 8000)
    captions = ["a dog barks", "rain falls on a roof", "a bell rings twice"]
    probs = similarity_matrix(model, audio, captions)
    with torch.no_grad():
        a = F.normalize(model.encode_audio(audio).audio_emb, dim=-1)
        t = F.normalize(model.encode_text(tokenize(captions)), dim=-1)
        expected = (model.logit_scale * a @ t.T).softmax(dim=-1)
    assert probs.shape == (3, 3)
    assert torch.allclose(probs, expected, atol=1e-5)
    assert torch.allclose(probs.sum(dim=1), torch.ones(3), atol=1e-5)
    cosine = similarity_matrix(model, audio, captions, softmax=False)
    assert torch.allclose(cosine, a @ t.T, atol=1e-5)


def test_rank_captions_orders_by_cosine(model):
    bank = ["a dog barks", "rain falls on a roof", "a bell rings twice", "wind blows", "an engine idles"]
    audio = 0.1 * torch.randn(8000)
    ranked = rank_captions(model, audio, bank, top=3)
    with torch.no_grad():
        a = F.normalize(model.encode_audio(audio[None]).audio_emb, dim=-1)[0]
        sims = F.normalize(embed_captions(model, bank), dim=-1) @ a
    order = sims.argsort(descending=True)[:3].tolist()
    assert [c for c, _ in ranked] == [bank[i] for i in order]
    assert [round(s, 5) for _, s in ranked] == [round(float(sims[i]), 5) for i in order]


def test_mismatched_captions_are_refused(model):
    try:
        similarity_matrix(model, torch.zeros(2, 8000), ["one caption"])
    except ValueError as err:
        assert "2 clips but 1 captions" in str(err)
    else:
        raise AssertionError("expected a ValueError")
