"""Greedy and beam search against an exhaustive search, and retrieval recall against a hand computation."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from clipaac_lib.metrics import chance_recall, retrieval_recall
from clipaac_lib.model.decode import DecodeConfig, beam_search, greedy_search, search
from tests.conftest import unit_vectors

PAD, BOS, EOS, UNK = 0, 1, 2, 3
WORDS = (4, 5, 6)  # a three-word vocabulary after the four special tokens
VOCAB = 7


class ToyDecoder:
    """A decoder with ``model.decode``'s signature whose next-token logits depend on the previous token,
    the position and the memory: small enough to enumerate every caption."""

    def __init__(self, seed: int, dim: int = 4) -> None:
        g = torch.Generator().manual_seed(seed)
        self.table = torch.randn(VOCAB, VOCAB, generator=g) * 2.0  # previous token -> next logits
        self.proj = torch.randn(dim, VOCAB, generator=g)
        self.pos = torch.randn(16, VOCAB, generator=g)

    def decode(self, memory: torch.Tensor, tokens: torch.Tensor, memory_mask: torch.Tensor | None = None):
        context = memory.mean(dim=1) @ self.proj  # (B, V)
        return self.table[tokens] + context[:, None, :] + self.pos[: tokens.shape[1]][None]  # (B, M, V)


def _next_log_probs(model: ToyDecoder, memory: torch.Tensor, prefix: list[int]) -> torch.Tensor:
    logits = model.decode(memory[None], torch.tensor([[BOS, *prefix]]))[0, -1]
    return torch.log_softmax(logits.double(), dim=-1)


def sequence_log_prob(model: ToyDecoder, memory: torch.Tensor, words: list[int], ended: bool) -> float:
    """log P(words [+ <eos>] | memory), one token at a time from scratch (the searches' oracle)."""
    tokens = [*words, EOS] if ended else list(words)
    return sum(float(_next_log_probs(model, memory, list(words[:i]))[tok]) for i, tok in enumerate(tokens))


def brute_force(model: ToyDecoder, memory: torch.Tensor, max_len: int, length_penalty: float):
    """Every caption the rules allow (1..max_len-1 words + <eos>, or max_len words cut), scored from
    scratch as sum log p / n**length_penalty; returns (best words, its log-probability, best score)."""
    best = (None, -math.inf, -math.inf)
    for n in range(1, max_len + 1):
        for words in itertools.product(WORDS, repeat=n):
            ended = n < max_len
            log_p = sequence_log_prob(model, memory, list(words), ended)
            score = log_p / (n + ended) ** length_penalty
            if score > best[2]:
                best = (list(words), log_p, score)
    return best


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_beam_finds_the_exhaustive_optimum(seed: int, length_penalty: float) -> None:
    model = ToyDecoder(seed)
    memory = torch.randn(3, 2, 4, generator=torch.Generator().manual_seed(100 + seed))  # (B, T, D)
    cfg = DecodeConfig(beam_size=128, max_len=4, length_penalty=length_penalty)
    result = beam_search(model, memory, cfg=cfg)
    greedy = greedy_search(model, memory, cfg=DecodeConfig(beam_size=1, max_len=4, length_penalty=length_penalty))
    for b in range(memory.shape[0]):
        words, log_p, score = brute_force(model, memory[b], cfg.max_len, length_penalty)
        assert result.tokens[b] == words
        assert float(result.log_prob[b]) == pytest.approx(log_p, abs=1e-4)
        assert float(result.score[b]) == pytest.approx(score, abs=1e-4)
        assert float(result.score[b]) >= float(greedy.score[b]) - 1e-5  # the optimum beats greedy


def test_beam_of_one_is_greedy_and_scores_match_a_teacher_forced_pass() -> None:
    model = ToyDecoder(7)
    memory = torch.randn(5, 3, 4, generator=torch.Generator().manual_seed(3))
    greedy = greedy_search(model, memory, cfg=DecodeConfig(beam_size=1, max_len=6))
    beam1 = beam_search(model, memory, cfg=DecodeConfig(beam_size=1, max_len=6))
    assert beam1.tokens == greedy.tokens
    torch.testing.assert_close(beam1.log_prob, greedy.log_prob)
    beam3 = search(model, memory, cfg=DecodeConfig(beam_size=3, max_len=6))
    for result in (greedy, beam3):
        ended = [int(n) == len(w) + 1 for n, w in zip(result.length, result.tokens, strict=True)]
        direct = torch.tensor([sequence_log_prob(model, memory[b], words, end)
                               for b, (words, end) in enumerate(zip(result.tokens, ended, strict=True))])
        torch.testing.assert_close(result.log_prob, direct.float(), atol=1e-4, rtol=0)


def test_batched_beam_search_equals_one_clip_at_a_time() -> None:
    model = ToyDecoder(11)
    memory = torch.randn(4, 2, 4, generator=torch.Generator().manual_seed(5))
    cfg = DecodeConfig(beam_size=3, max_len=5)
    batched = beam_search(model, memory, cfg=cfg)
    for b in range(4):
        single = beam_search(model, memory[b : b + 1], cfg=cfg)
        assert single.tokens[0] == batched.tokens[b]
        assert float(single.score[0]) == pytest.approx(float(batched.score[b]), abs=1e-5)


def test_decoding_rules_no_specials_no_empty_caption_and_max_len() -> None:
    model = ToyDecoder(4)
    model.table[:, EOS] = 50.0  # the end token is overwhelmingly likely at every step
    model.table[:, UNK] = 60.0  # ... and the unknown token even more
    memory = torch.zeros(2, 1, 4)
    for beams in (1, 3):
        result = search(model, memory, cfg=DecodeConfig(beam_size=beams, max_len=5))
        for words in result.tokens:
            assert len(words) == 1  # min_len=1: one word, then <eos>
            assert all(w in WORDS for w in words)
    model.table[:, EOS] = -50.0  # now it never ends: cut at max_len
    result = search(model, memory, cfg=DecodeConfig(beam_size=3, max_len=5))
    assert all(len(words) == 5 for words in result.tokens)
    assert result.length.tolist() == [5.0, 5.0]


def test_decode_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="beam_size"):
        DecodeConfig(beam_size=0)
    with pytest.raises(ValueError, match="max_len"):
        DecodeConfig(max_len=0)


# ----------------------------------------------------------------------------------------- retrieval
def test_retrieval_recall_matches_a_hand_computed_example() -> None:
    # Unit vectors at these angles, so cosine similarity falls as the angle between them grows.
    audio = unit_vectors([0, 90, 180])  # clips 0, 1, 2
    text = unit_vectors([10, 170, 80, 50, 95, 265])  # two captions per clip
    clip = torch.tensor([0, 0, 1, 1, 2, 2])
    # audio -> text (negatives closer than the clip's closest own caption):
    #   clip 0 (0 deg): own 10 deg is the closest of all                      -> rank 0
    #   clip 1 (90 deg): own 80 deg at 10 deg, caption of clip 2 at 95 (5 deg) -> rank 1
    #   clip 2 (180 deg): own at 85 deg, caption of clip 0 at 170 (10 deg)     -> rank 1
    # text -> audio (clips closer than the caption's own clip):
    #   10: clip 0 closest -> 0; 170: clips 2 (10) and 1 (80) before clip 0 (170) -> 2;
    #   80: clip 1 -> 0; 50: clip 1 (40) before 0 (50) -> 0; 95: clip 1 (5) before clip 2 (85) -> 1;
    #   265: clip 2 (85) before clip 0 (95) -> 0
    got = retrieval_recall(audio, text, clip, ks=(1, 2, 5))
    assert got["a2t_r1"] == pytest.approx(1 / 3)
    assert got["a2t_r2"] == pytest.approx(1.0)
    assert got["t2a_r1"] == pytest.approx(4 / 6)
    assert got["t2a_r2"] == pytest.approx(5 / 6)
    assert got["t2a_r5"] == pytest.approx(1.0)


def test_retrieval_ties_count_against_the_query() -> None:
    audio = torch.ones(4, 3)
    text = torch.ones(8, 3)  # every similarity equal: no information
    got = retrieval_recall(audio, text, torch.arange(4).repeat_interleave(2), ks=(1,))
    assert got == {"a2t_r1": 0.0, "t2a_r1": 0.0}


def test_chance_recall_is_one_in_n_at_rank_one() -> None:
    chance = chance_recall(60, 5)
    assert chance["a2t_r1"] == pytest.approx(1 / 60)
    assert chance["t2a_r1"] == pytest.approx(1 / 60)
    assert chance["t2a_r10"] == pytest.approx(10 / 60)


def test_retrieval_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="one clip index per caption"):
        retrieval_recall(torch.ones(2, 3), torch.ones(4, 3), torch.tensor([0, 1]))
