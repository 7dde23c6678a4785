"""Evaluation does not depend on batch mates: a clip's embedding and caption are the same alone and
padded in a batch with a longer clip (in evaluation, retrieval and captioning)."""

from __future__ import annotations

import torch

from clipaac_lib.data import Vocabulary
from clipaac_lib.model import CLIPAAC, ModelConfig
from clipaac_lib.model.decode import DecodeConfig, search
from clipaac_lib.train.evaluation import SplitPass, equal_length_groups, run_split

RATE = ModelConfig.small(vocab_size=12).sample_rate
WORDS = ["a", "dog", "barks", "loudly", "rain", "falls"]


def _clip(seconds: float, seed: int, name: str) -> dict:
    wave = 0.3 * torch.randn(int(seconds * RATE), generator=torch.Generator().manual_seed(seed))  # (S,)
    return {"audio": wave, "captions": ["a dog barks", "rain falls loudly"], "file_name": name}


def _model() -> tuple[CLIPAAC, Vocabulary]:
    vocab = Vocabulary.build([" ".join(WORDS)])
    torch.manual_seed(0)
    return CLIPAAC(ModelConfig.small(vocab_size=len(vocab))).eval(), vocab


def test_equal_length_groups_keep_first_seen_order() -> None:
    assert equal_length_groups([5, 9, 5, 7, 9]) == [[0, 2], [1, 4], [3]]
    assert equal_length_groups([]) == []


def test_embedding_and_caption_do_not_depend_on_batch_mates() -> None:
    model, vocab = _model()
    short, long = _clip(1.0, 1, "short.wav"), _clip(3.0, 2, "long.wav")  # the mate is 3x longer
    decode = DecodeConfig(beam_size=2, max_len=5)
    alone = run_split(model, [short], vocab, SplitPass(batch_size=1, decode=decode, nll=True))
    mixed = run_split(model, [short, long], vocab, SplitPass(batch_size=2, decode=decode, nll=True))
    torch.testing.assert_close(mixed.audio_emb[0], alone.audio_emb[0], rtol=1e-5, atol=1e-6)
    assert mixed.captions[0] == alone.captions[0]
    long_alone = run_split(model, [long], vocab, SplitPass(batch_size=1, decode=decode))
    torch.testing.assert_close(mixed.audio_emb[1], long_alone.audio_emb[0], rtol=1e-5, atol=1e-6)
    # the check can fail: encoding the short clip zero-padded to its mate's length changes its embedding
    padded = torch.nn.functional.pad(short["audio"], (0, long["audio"].shape[0] - short["audio"].shape[0]))
    with torch.no_grad():
        naive = model.encode_audio(torch.stack([padded, long["audio"]])).audio_emb[0]
    assert not torch.allclose(naive, alone.audio_emb[0], rtol=1e-3, atol=1e-4)


def test_captioning_one_clip_matches_its_split_caption() -> None:
    """``clipaac caption`` encodes one file alone: the same caption as evaluation gives it in a batch."""
    model, vocab = _model()
    short, long = _clip(1.5, 3, "a.wav"), _clip(4.5, 4, "b.wav")
    decode = DecodeConfig(beam_size=3, max_len=5)
    mixed = run_split(model, [long, short], vocab, SplitPass(batch_size=2, decode=decode))
    with torch.no_grad():
        enc = model.encode_audio(short["audio"][None])
        alone = vocab.decode(search(model, enc.memory, enc.memory_mask, decode).tokens[0])
    assert mixed.captions[1] == alone
