"""Notebook glue in ``clipaac_lib.model.losses``: the contrastive loss across temperatures (notebook 03)."""

from __future__ import annotations

import math

import pytest
import torch

from clipaac_lib.model.losses import contrastive_loss_curve


def _loss_by_hand(audio: torch.Tensor, text: torch.Tensor, scale: float, lam: float) -> float:
    """Eq. (1)-(5) with plain floats: rows (A->T) and columns (T->A) of the scaled cosine matrix."""
    b = audio.shape[0]
    sim = [[float(audio[i] @ text[k] / (audio[i].norm() * text[k].norm())) for k in range(b)]
           for i in range(b)]
    a2t = [-math.log(math.exp(scale * sim[i][i]) / sum(math.exp(scale * s) for s in sim[i]))
           for i in range(b)]
    t2a = [-math.log(math.exp(scale * sim[i][i]) / sum(math.exp(scale * sim[k][i]) for k in range(b)))
           for i in range(b)]
    return sum(lam * x + (1 - lam) * y for x, y in zip(a2t, t2a, strict=True)) / b


@pytest.mark.parametrize("lam", [0.5, 0.2])
def test_contrastive_loss_curve_matches_hand_computation(lam: float) -> None:
    gen = torch.Generator().manual_seed(1)
    audio = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    text = audio + torch.randn(5, 4, generator=gen, dtype=torch.float64)
    scales = torch.logspace(0, 2, 4, dtype=torch.float64)  # 1/t = 1, 4.6, 21.5, 100
    curve = contrastive_loss_curve(audio, text, scales, lam=lam)
    assert isinstance(curve, list) and len(curve) == 4 and all(isinstance(v, float) for v in curve)
    expected = [_loss_by_hand(audio, text, float(s), lam) for s in scales]
    assert curve == pytest.approx(expected, rel=1e-10)


def test_contrastive_loss_curve_tends_to_log_b_at_high_temperature() -> None:
    audio, text = torch.randn(6, 8), torch.randn(6, 8)
    (loss,) = contrastive_loss_curve(audio, text, [1e-4])  # 1/t -> 0: a uniform guess over b = 6
    assert loss == pytest.approx(math.log(6), abs=1e-3)
