"""Text-to-audio mAP@10 (DCASE language-based audio retrieval) against hand computations, and its place
in the scores of a split."""

from __future__ import annotations

import pytest
import torch

from clipaac_lib.metrics import chance_map, retrieval_map, retrieval_recall
from clipaac_lib.train.evaluation import SplitOutputs, score_split
from tests.conftest import unit_vectors


def test_map_matches_a_hand_computed_example() -> None:
    audio = unit_vectors([0, 90, 180])  # clips 0, 1, 2
    text = unit_vectors([10, 170, 80, 50, 95, 265])  # two captions per clip
    clip = torch.tensor([0, 0, 1, 1, 2, 2])
    # rank (1-based) of each caption's own clip, by angular distance to the three clips:
    #   10 (clip 0):  clip 0 at 10 deg first                                -> rank 1, AP 1
    #   170 (clip 0): clip 2 (10 deg), clip 1 (80), then clip 0 (170)        -> rank 3, AP 1/3
    #   80 (clip 1):  clip 1 at 10 deg first                                -> rank 1, AP 1
    #   50 (clip 1):  clip 1 (40 deg) before clip 0 (50)                    -> rank 1, AP 1
    #   95 (clip 2):  clip 1 (5 deg), then clip 2 (85)                      -> rank 2, AP 1/2
    #   265 (clip 2): clip 2 (85 deg) before clip 0 (95) and clip 1 (175)   -> rank 1, AP 1
    # mAP@10 = (1 + 1/3 + 1 + 1 + 1/2 + 1) / 6 = 29/36; at k = 2 the rank-3 caption scores 0: 27/36
    assert retrieval_map(audio, text, clip) == pytest.approx(29 / 36)
    assert retrieval_map(audio, text, clip, k=2) == pytest.approx(27 / 36)
    # the ranks are those of retrieval_recall: recall@1 counts the AP-1 captions
    assert retrieval_recall(audio, text, clip, ks=(1,))["t2a_r1"] == pytest.approx(4 / 6)


def test_a_clip_ranked_eleventh_scores_zero_and_tenth_one_tenth() -> None:
    audio = unit_vectors([10.0 * i for i in range(12)])  # clips at 0, 10, ..., 110 degrees
    text = unit_vectors([0, 0])  # both captions at 0 degrees: clip i is ranked (i + 1)th
    assert retrieval_map(audio, text, torch.tensor([10, 10])) == 0.0  # ranked 11th: outside the top 10
    assert retrieval_map(audio, text, torch.tensor([9, 9])) == pytest.approx(1 / 10)  # ranked 10th
    assert retrieval_map(audio, text, torch.tensor([9, 10])) == pytest.approx(1 / 20)
    assert retrieval_map(audio, text, torch.tensor([10, 10]), k=11) == pytest.approx(1 / 11)


def test_perfect_retrieval_gives_one() -> None:
    audio = torch.randn(7, 16)
    clip = torch.arange(7).repeat_interleave(3)  # three captions per clip, each at its clip's embedding
    text = audio[clip] * 2.0  # cosine similarity ignores the scale
    assert retrieval_map(audio, text, clip) == pytest.approx(1.0)


def test_ties_count_against_the_query() -> None:
    # every similarity equal: each caption's clip is ranked behind the 3 others, 4th -> AP 1/4
    got = retrieval_map(torch.ones(4, 3), torch.ones(8, 3), torch.arange(4).repeat_interleave(2))
    assert got == pytest.approx(1 / 4)


def test_non_finite_embeddings_rank_last_never_first() -> None:
    """A NaN embedding must not give perfect retrieval (``sim >= nan`` is False, so before the fix every
    rank was 0 and R@1 = mAP@10 = 1): its similarities rank below every real one."""
    nan_audio = torch.full((4, 3), float("nan"))
    text = torch.randn(8, 3)
    clip = torch.arange(4).repeat_interleave(2)
    assert retrieval_map(nan_audio, text, clip) == pytest.approx(1 / 4)  # last among 4 clips, ties
    recall = retrieval_recall(nan_audio, text, clip, ks=(1,))
    assert recall["a2t_r1"] == 0.0 and recall["t2a_r1"] == 0.0
    # one broken clip among good ones: it is ranked last for its own captions, and the others keep rank 1
    audio = torch.eye(4, 3 + 1)[:, :4]
    good_text = audio[clip]
    audio[2] = float("nan")
    ranks = retrieval_recall(audio, good_text, clip, ks=(1, 4))
    assert ranks["t2a_r1"] == pytest.approx(6 / 8) and ranks["t2a_r4"] == 1.0
    assert ranks["a2t_r1"] == pytest.approx(3 / 4)


def test_map_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="one clip index per caption"):
        retrieval_map(torch.ones(2, 3), torch.ones(4, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="clip indices"):
        retrieval_map(torch.ones(2, 3), torch.ones(2, 3), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="k must be"):
        retrieval_map(torch.ones(2, 3), torch.ones(2, 3), torch.tensor([0, 1]), k=0)


def test_chance_map_is_the_mean_reciprocal_rank_of_a_random_ranking() -> None:
    assert chance_map(3) == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)  # every rank within the top 10
    assert chance_map(60) == pytest.approx(sum(1 / r for r in range(1, 11)) / 60)
    torch.manual_seed(0)  # random embeddings land near it
    audio, text = torch.randn(40, 64), torch.randn(40 * 50, 64)
    got = retrieval_map(audio, text, torch.arange(40).repeat_interleave(50))
    assert got == pytest.approx(chance_map(40), abs=0.02)


def _outputs(text_emb: torch.Tensor | None) -> SplitOutputs:
    audio = unit_vectors([0, 90, 180])
    return SplitOutputs(file_names=["a.wav", "b.wav", "c.wav"], references=[["x", "y"]] * 3,
                        audio_emb=audio, text_emb=text_emb, text_clip=torch.tensor([0, 0, 1, 1, 2, 2]),
                        captions=None, caption_nll=None)


def test_score_split_adds_map_beside_the_recalls() -> None:
    scores = score_split(_outputs(unit_vectors([10, 170, 80, 50, 95, 265])), caption_metrics=False)
    assert scores.retrieval is not None
    assert set(scores.retrieval) == {"a2t_r1", "a2t_r5", "a2t_r10", "t2a_r1", "t2a_r5", "t2a_r10", "t2a_map10"}
    assert scores.recall("t2a_map10") == pytest.approx(29 / 36)
    assert scores.recall("t2a_r1") == pytest.approx(4 / 6)  # the recalls are unchanged
    assert scores.retrieval_chance["t2a_map10"] == pytest.approx(chance_map(3))
    # without a text head (alpha = 0) there is no retrieval at all
    assert score_split(_outputs(None), caption_metrics=False).retrieval is None
