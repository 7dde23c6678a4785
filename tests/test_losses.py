"""The losses against the paper's equations computed literally (Algorithm 1, eq. 5-7) and against torch's
cross-entropy."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from clipaac_lib.model.losses import caption_loss, contrastive_loss, total_loss


def _algorithm_1(audio: list[list[float]], text: list[list[float]], t: float, lam: float) -> float:
    """Algorithm 1 of the paper with plain Python floats: double loops, eq. (1)-(5)."""
    b = len(audio)

    def cosine(u: list[float], v: list[float]) -> float:  # eq. (1) / (3)
        dot = sum(x * y for x, y in zip(u, v, strict=True))
        return dot / (math.sqrt(sum(x * x for x in u)) * math.sqrt(sum(y * y for y in v)))

    loss_a2t = []
    for i in range(b):  # step 4, eq. (2)
        sims = [cosine(audio[i], text[k]) for k in range(b)]
        loss_a2t.append(-math.log(math.exp(sims[i] / t) / sum(math.exp(s / t) for s in sims)))
    loss_t2a = []
    for i in range(b):  # step 5, eq. (4)
        sims = [cosine(text[i], audio[k]) for k in range(b)]
        loss_t2a.append(-math.log(math.exp(sims[i] / t) / sum(math.exp(s / t) for s in sims)))
    return sum(lam * loss_a2t[i] + (1 - lam) * loss_t2a[i] for i in range(b)) / b  # eq. (5)


@pytest.mark.parametrize("lam", [0.5, 0.3, 1.0, 0.0])
def test_contrastive_loss_equals_algorithm_1(lam: float) -> None:
    gen = torch.Generator().manual_seed(3)
    audio = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    text = audio + 0.8 * torch.randn(6, 5, generator=gen, dtype=torch.float64)
    t = 0.07
    ours = contrastive_loss(audio, text, torch.tensor(1 / t, dtype=torch.float64), lam=lam)
    assert ours.dim() == 0
    assert ours.item() == pytest.approx(_algorithm_1(audio.tolist(), text.tolist(), t, lam), rel=1e-10)


def test_lambda_one_and_zero_reduce_to_one_direction() -> None:
    audio, text = torch.randn(8, 16), torch.randn(8, 16)
    scale = torch.tensor(14.3)
    logits = scale * F.normalize(audio, dim=1) @ F.normalize(text, dim=1).T
    targets = torch.arange(8)
    torch.testing.assert_close(
        contrastive_loss(audio, text, scale, lam=1.0), F.cross_entropy(logits, targets)
    )
    torch.testing.assert_close(
        contrastive_loss(audio, text, scale, lam=0.0), F.cross_entropy(logits.T, targets)
    )
    # lam = 0.5 is half of AudioCLIP's CE(logits) + CE(logits.T)
    audioclip = F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)
    torch.testing.assert_close(contrastive_loss(audio, text, scale), audioclip / 2)


def test_contrastive_loss_uses_cosine_similarity() -> None:
    audio, text = torch.randn(4, 8), torch.randn(4, 8)
    scale = torch.tensor(10.0)
    rescaled = contrastive_loss(audio * (torch.rand(4, 1) * 5 + 0.1), text * 7.0, scale)  # per-row scales
    torch.testing.assert_close(rescaled, contrastive_loss(audio, text, scale))


def test_gradients_reach_the_temperature() -> None:
    audio, text = torch.randn(5, 8, dtype=torch.float64), torch.randn(5, 8, dtype=torch.float64)
    param = torch.tensor(math.log(20.0), dtype=torch.float64, requires_grad=True)
    contrastive_loss(audio, text, param.exp().clamp(1, 100)).backward()
    assert param.grad is not None and param.grad.abs() > 0

    def loss_at(value: float) -> float:  # central finite difference of the loss in the parameter
        return contrastive_loss(audio, text, torch.tensor(math.exp(value), dtype=torch.float64)).item()

    h = 1e-6
    numeric = (loss_at(math.log(20.0) + h) - loss_at(math.log(20.0) - h)) / (2 * h)
    assert param.grad.item() == pytest.approx(numeric, rel=1e-5)


def test_the_temperature_gets_no_gradient_at_audioclips_clamp() -> None:
    """AudioCLIP's checkpoint stores logit_scale_at = log(100); in float32 exp of it is just above the
    clamp's upper bound 100, so the clamp passes no gradient: started there, 1/t never moves."""
    audio, text = torch.randn(5, 8), torch.randn(5, 8)
    param = torch.tensor(math.log(100.0), requires_grad=True)  # float32, as the model's parameter
    assert param.exp().item() > 100.0
    contrastive_loss(audio, text, param.exp().clamp(1, 100)).backward()
    assert param.grad is not None and param.grad.item() == 0.0
    inside = torch.tensor(math.log(99.0), requires_grad=True)  # just inside the clamp: a gradient
    contrastive_loss(audio, text, inside.exp().clamp(1, 100)).backward()
    assert inside.grad.abs() > 0


def test_contrastive_loss_rejects_mismatched_batches() -> None:
    with pytest.raises(ValueError, match=r"\(4, 8\) and \(3, 8\)"):
        contrastive_loss(torch.randn(4, 8), torch.randn(3, 8), 10.0)
    with pytest.raises(ValueError, match="lam"):
        contrastive_loss(torch.randn(4, 8), torch.randn(4, 8), 10.0, lam=1.5)


def test_caption_loss_is_label_smoothed_cross_entropy_over_real_tokens() -> None:
    gen = torch.Generator().manual_seed(0)
    vocab, eps = 11, 0.1
    logits = torch.randn(2, 5, vocab, generator=gen, dtype=torch.float64)
    targets = torch.tensor([[5, 6, 2, 0, 0], [7, 8, 9, 4, 2]])
    real = targets != 0
    # by hand: (1 - eps) * NLL(target) + eps * mean over the vocabulary of -log p, averaged over real tokens
    log_p = logits.log_softmax(-1)
    nll = -log_p.gather(-1, targets[..., None]).squeeze(-1)
    smooth = -log_p.mean(-1)
    by_hand = ((1 - eps) * nll + eps * smooth)[real].mean()
    ours = caption_loss(logits, targets, pad_id=0, label_smoothing=eps)
    assert ours.item() == pytest.approx(by_hand.item(), rel=1e-12)
    torch_ref = F.cross_entropy(logits[real], targets[real], label_smoothing=eps)
    assert ours.item() == pytest.approx(torch_ref.item(), rel=1e-12)
    garbage = logits.clone()
    garbage[0, 3:] = 1e3 * torch.randn(2, vocab, generator=gen, dtype=torch.float64)  # padded positions
    assert caption_loss(garbage, targets).item() == pytest.approx(ours.item(), rel=1e-12)


def test_caption_loss_refuses_an_all_padding_batch() -> None:
    with pytest.raises(ValueError, match="padding"):
        caption_loss(torch.randn(1, 3, 5), torch.zeros(1, 3, dtype=torch.long))


def test_total_loss_is_equation_7() -> None:
    contrastive, caption = torch.tensor(2.0), torch.tensor(5.0)
    assert total_loss(contrastive, caption).item() == pytest.approx(0.2 * 2.0 + 0.8 * 5.0)
    assert total_loss(contrastive, caption, alpha=0.0).item() == pytest.approx(5.0)
    assert total_loss(contrastive, caption, alpha=1.0).item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="alpha"):
        total_loss(contrastive, caption, alpha=-0.1)
