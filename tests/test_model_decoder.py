"""The caption decoder: causal (section 2.3: t_m depends on t_0..t_{m-1} and A only), memory masking,
dropout."""

from __future__ import annotations

import pytest
import torch

from clipaac_lib.model import DecoderConfig, ModelConfig
from clipaac_lib.model.decoder import CaptionDecoder

VOCAB = 50


@pytest.fixture()
def decoder() -> CaptionDecoder:
    torch.manual_seed(0)
    return CaptionDecoder(DecoderConfig(d_model=32, heads=4, layers=2, ffn_dim=64, dropout=0.2), VOCAB).eval()


def test_paper_decoder_has_two_blocks_and_dropout_0_2() -> None:
    config = ModelConfig.paper().decoder
    assert config.layers == 2 and config.dropout == 0.2


@pytest.mark.parametrize("m", [0, 3, 7])
def test_decoder_is_causal(decoder: CaptionDecoder, m: int) -> None:
    memory = torch.randn(2, 5, 32)
    tokens = torch.randint(4, VOCAB, (2, 10))
    changed = tokens.clone()
    changed[:, m + 1] = (tokens[:, m + 1] + 1 - 4) % (VOCAB - 4) + 4  # a different word at position m + 1
    with torch.no_grad():
        before, after = decoder(memory, tokens), decoder(memory, changed)
    assert before.shape == (2, 10, VOCAB)
    torch.testing.assert_close(after[:, : m + 1], before[:, : m + 1], rtol=0, atol=1e-6)
    assert not torch.allclose(after[:, m + 1], before[:, m + 1])  # the change is visible from m + 1 on


def test_prefix_decoding_equals_full_decoding(decoder: CaptionDecoder) -> None:
    memory = torch.randn(3, 1, 32)
    tokens = torch.randint(4, VOCAB, (3, 8))
    with torch.no_grad():
        full = decoder(memory, tokens)
        for length in (1, 4, 8):
            torch.testing.assert_close(
                decoder(memory, tokens[:, :length]), full[:, :length], rtol=1e-5, atol=1e-6
            )


def test_masked_memory_entries_are_ignored(decoder: CaptionDecoder) -> None:
    memory = torch.randn(2, 6, 32)
    mask = torch.tensor([[True] * 6, [True, True, True, False, False, False]])
    tokens = torch.randint(4, VOCAB, (2, 5))
    noisy = memory.clone()
    noisy[1, 3:] = torch.randn(3, 32) * 10  # only masked entries change
    with torch.no_grad():
        base = decoder(memory, tokens, mask)
        torch.testing.assert_close(decoder(noisy, tokens, mask), base)
        noisy[0, 0] += 1.0  # an unmasked entry does matter
        assert not torch.allclose(decoder(noisy, tokens, mask)[0], base[0])


def test_memory_changes_the_output(decoder: CaptionDecoder) -> None:
    tokens = torch.randint(4, VOCAB, (1, 4))
    with torch.no_grad():
        a = decoder(torch.randn(1, 1, 32), tokens)
        b = decoder(torch.randn(1, 1, 32), tokens)
    assert not torch.allclose(a, b)


def test_dropout_is_active_in_training_only(decoder: CaptionDecoder) -> None:
    memory, tokens = torch.randn(2, 1, 32), torch.randint(4, VOCAB, (2, 6))
    with torch.no_grad():
        torch.testing.assert_close(decoder(memory, tokens), decoder(memory, tokens))
        decoder.train()
        assert not torch.allclose(decoder(memory, tokens), decoder(memory, tokens))


def test_decoder_rejects_ids_outside_the_vocabulary(decoder: CaptionDecoder) -> None:
    with pytest.raises(ValueError, match="vocab_size"):
        decoder(torch.randn(1, 1, 32), torch.tensor([[1, VOCAB]]))
