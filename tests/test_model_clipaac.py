"""The assembled CLIP-AAC model: outputs, inference without the text head, parameter groups, frozen
encoder (Table 1 system 3), config and checkpoint round trips."""

from __future__ import annotations

import json
import math

import pytest
import torch

from clipaac_lib.model import CLIPAAC, ModelConfig, load_model, save_model
from clipaac_lib.model.losses import caption_loss, contrastive_loss, total_loss

VOCAB = 60
B = 3


@pytest.fixture()
def model(make_model) -> CLIPAAC:
    return make_model(vocab_size=VOCAB, logit_scale_init=20.0)


def _batch(config: ModelConfig, seconds: float = 0.5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    audio = torch.rand(B, int(seconds * config.sample_rate)) * 1.6 - 0.8
    text = torch.zeros(B, 77, dtype=torch.long)
    text[:, 0], text[:, 1:6], text[:, 6] = 49406, torch.randint(300, 4000, (B, 5)), 49407
    captions = torch.randint(4, VOCAB, (B, 9))
    captions[:, 0], captions[0, 6:] = config.bos_id, config.pad_id
    return audio, text, captions


def test_presets_follow_the_interface() -> None:
    paper, small = ModelConfig.paper(vocab_size=123), ModelConfig.small(vocab_size=123)
    assert paper.sample_rate == 44100 and small.sample_rate < 44100
    assert paper.audio_memory == "embedding" and paper.embed_dim == 1024
    assert (paper.pad_id, paper.bos_id, paper.eos_id, paper.unk_id) == (0, 1, 2, 3)
    assert (paper.text.layers, paper.text.width, paper.text.heads, paper.text.context_length) == (
        12,
        512,
        8,
        77,
    )
    assert paper.logit_scale_init == 100.0  # AudioCLIP's log(100) initialisation


def test_config_round_trips_through_json() -> None:
    config = ModelConfig.small(vocab_size=77, audio_memory="frames")
    restored = ModelConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config
    with pytest.raises(ValueError, match="bogus"):
        ModelConfig.from_dict({**config.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="audio_memory"):
        ModelConfig.small(audio_memory="tokens")


def test_training_forward_returns_logits_embeddings_and_scale(model: CLIPAAC) -> None:
    audio, text, captions = _batch(model.config)
    out = model(audio, text, captions)
    assert out.logits.shape == (B, 9, VOCAB)
    assert out.audio_emb.shape == out.text_emb.shape == (B, model.config.embed_dim)
    assert out.logit_scale.dim() == 0
    assert out.logit_scale.item() == pytest.approx(20.0, rel=1e-5)  # clamp(exp(log 20), 1, 100)
    with torch.no_grad():
        model.logit_scale_at.fill_(math.log(500.0))
    assert model.logit_scale.item() == 100.0


def test_a_training_step_reaches_every_trainable_part(model: CLIPAAC) -> None:
    audio, text, captions = _batch(model.config)
    out = model(audio, text, captions[:, :-1])
    loss = total_loss(
        contrastive_loss(out.audio_emb, out.text_emb, out.logit_scale),
        caption_loss(out.logits, captions[:, 1:], pad_id=model.config.pad_id),
    )
    loss.backward()
    for name in (
        "logit_scale_at",
        "audio.fbsp.m",
        "audio.conv1.weight",
        "audio.att5.bn.bias",
        "text.text_projection",
        "memory_proj.weight",
        "decoder.output.weight",
    ):
        grad = model.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_parameter_groups_partition_the_model(model: CLIPAAC) -> None:
    encoder = {id(p) for p in model.encoder_parameters()}
    new = {id(p) for p in model.new_parameters()}
    assert encoder.isdisjoint(new)
    assert encoder | new == {id(p) for p in model.parameters()}
    assert id(model.logit_scale_at) in encoder and id(model.decoder.output.weight) in new


def test_inference_without_the_text_head(model: CLIPAAC) -> None:
    audio, _, captions = _batch(model.config)
    model.eval()
    with torch.no_grad():
        before = model(audio, None, captions).logits
    model.drop_text_head()
    assert model.text is None and not any(name.startswith("text.") for name in model.state_dict())
    with torch.no_grad():
        out = model(audio, None, captions)
        encoding = model.encode_audio(audio)
        step = model.decode(encoding.memory, captions[:, :4], encoding.memory_mask)
    assert out.text_emb is None
    torch.testing.assert_close(out.logits, before)
    torch.testing.assert_close(step, before[:, :4], rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError, match="dropped"):
        model.encode_text(torch.zeros(1, 77, dtype=torch.long))


def test_frames_memory_is_a_time_sequence_with_a_length_mask(make_model) -> None:
    model = make_model(vocab_size=VOCAB, audio_memory="frames").eval()
    audio, _, captions = _batch(model.config, seconds=1.0)
    lengths = torch.tensor([16000, 8000, 3000])
    with torch.no_grad():
        encoding = model.encode_audio(audio, lengths)
        steps = model.audio.feature_steps(lengths)
        assert encoding.memory.shape == (B, int(steps[0]), model.config.decoder.d_model)
        assert encoding.memory_mask.sum(dim=1).tolist() == steps.tolist()
        assert model.encode_audio(audio).memory_mask is None
        logits = model.decode(encoding.memory, captions, encoding.memory_mask)
    assert logits.shape == (B, 9, VOCAB)


def test_freeze_encoder_keeps_weights_and_batchnorm_statistics(model: CLIPAAC) -> None:
    from clipaac_lib.pretrain.published import freeze_encoder

    freeze_encoder(model)
    model.train()
    assert not model.audio.training and model.decoder.training
    assert not any(p.requires_grad for p in model.encoder_parameters())
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("decoder.")}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    audio, text, captions = _batch(model.config)
    out = model(audio, text, captions[:, :-1])
    total_loss(
        contrastive_loss(out.audio_emb, out.text_emb, out.logit_scale),
        caption_loss(out.logits, captions[:, 1:]),
    ).backward()
    optimizer.step()
    after = model.state_dict()
    for key, value in before.items():
        if key.startswith(("audio.", "text.", "logit_scale_at")):
            torch.testing.assert_close(after[key], value, rtol=0, atol=0, msg=key)
    assert not torch.equal(after["memory_proj.weight"], before["memory_proj.weight"])


def test_int16_range_audio_is_refused_with_advice(model: CLIPAAC) -> None:
    audio, text, captions = _batch(model.config)
    with pytest.raises(ValueError, match="32768"):
        model(audio * 32768, text, captions)


def test_checkpoint_round_trip_is_tensors_and_json(model: CLIPAAC, tmp_path) -> None:
    audio, _, captions = _batch(model.config)
    model.eval()
    save_model(model, tmp_path / "run")
    assert json.loads((tmp_path / "run" / "model_config.json").read_text())["name"] == "small"
    torch.load(tmp_path / "run" / "model.pt", weights_only=True)  # nothing executable inside
    restored = load_model(tmp_path / "run").eval()
    with torch.no_grad():
        torch.testing.assert_close(
            restored(audio, None, captions).logits, model(audio, None, captions).logits
        )
    model.drop_text_head()
    save_model(model, tmp_path / "inference")
    assert load_model(tmp_path / "inference").text is None
