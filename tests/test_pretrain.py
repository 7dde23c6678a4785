"""The book's own pretraining (clipaac_lib.pretrain): the labelled corpus, mAP and zero-shot accuracy by
hand, the files' key layouts (loaded by the loaders of the published files), determinism, the cache,
and the sha256 a training run records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from clipaac_lib.data.synth_scenes import sample_scene
from clipaac_lib.model import CLIPAAC, ModelConfig
from clipaac_lib.pretrain import CorpusConfig, PretrainConfig, ensure_pretrained, find_pretrained, make_corpus
from clipaac_lib.pretrain.audio_text import zero_shot_accuracy
from clipaac_lib.pretrain.corpus import LABEL_NAMES, LABELS, scene_labels
from clipaac_lib.pretrain.fit import cosine_factor
from clipaac_lib.pretrain.published import load_audioclip, load_esresnext_audioset
from clipaac_lib.pretrain.tagging import average_precision, mean_average_precision
from tests.conftest import TINY_MODEL

pytestmark = pytest.mark.usefixtures("one_thread_private_cache")

#: a seconds-long recipe: 24 clips of 2.5 s, one epoch per stage
TINY_RECIPE = PretrainConfig(corpus=CorpusConfig(clips=24, seconds=2.5), held_out=4, batch_size=4,
                             audio_epochs=1, text_epochs=1)


def tiny_model_config() -> ModelConfig:
    return ModelConfig.small(vocab_size=20, **{k: v for k, v in TINY_MODEL.items() if k == "embed_dim"},
                             audio={**ModelConfig.small().audio.__dict__, **TINY_MODEL["audio"]},
                             text={**ModelConfig.small().text.__dict__, **TINY_MODEL["text"]},
                             decoder={**ModelConfig.small().decoder.__dict__, **TINY_MODEL["decoder"]})


def test_average_precision_by_hand() -> None:
    # ranks: 0.9 (pos), 0.8 (neg), 0.3 (pos), 0.1 (neg): precisions at the positives 1/1 and 2/3
    scores, targets = torch.tensor([0.9, 0.8, 0.3, 0.1]), torch.tensor([1, 0, 1, 0])
    assert average_precision(scores, targets) == pytest.approx((1 + 2 / 3) / 2)
    assert np.isnan(average_precision(scores, torch.zeros(4)))
    # two classes, the second without positives: the mean is over the first only
    both = mean_average_precision(torch.stack([scores, scores], 1), torch.stack([targets, torch.zeros(4)], 1))
    assert both == pytest.approx((1 + 2 / 3) / 2)


def test_zero_shot_accuracy_by_hand() -> None:
    texts = ["bell", "rain"]
    text_emb = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    audio_emb = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])  # closest: bell, rain, bell
    assert zero_shot_accuracy(audio_emb, text_emb, texts, ["bell", "rain", "rain"]) == pytest.approx(2 / 3)


def test_cosine_factor_goes_from_one_to_zero() -> None:
    assert cosine_factor(0, 10) == 1.0 and cosine_factor(10, 10) == pytest.approx(0.0)
    assert cosine_factor(5, 10) == pytest.approx(0.5)


def test_corpus_is_deterministic_labelled_and_not_the_captioning_set() -> None:
    config = CorpusConfig(clips=6, seconds=2.5)
    a, b = make_corpus(config, progress=False), make_corpus(config, progress=False)
    assert torch.equal(a.audio, b.audio) and a.texts == b.texts
    assert a.audio.shape == (6, int(2.5 * 16000)) and a.audio.abs().max() <= 1.0
    # each clip's labels are its scene's, named by LABEL_NAMES
    scene_seq, _ = np.random.SeedSequence([config.seed, 1000, 0]).spawn(2)
    scene = sample_scene(np.random.default_rng(scene_seq), config.seconds, config.background_probability,
                         config.max_events)
    assert a.texts[0] == ", ".join(LABEL_NAMES[label] for label in scene_labels(scene))
    assert a.targets[0].nonzero().flatten().tolist() == sorted(LABELS.index(x) for x in scene_labels(scene))
    # the captioning set draws clip 0 of split 0 from SeedSequence([seed, 0, 0]): another scene stream
    other = make_corpus(CorpusConfig(clips=6, seconds=2.5, seed=2), progress=False)
    assert not torch.equal(a.audio, other.audio)


def test_pretrained_files_have_the_published_layouts_and_load_with_the_published_loaders(tmp_path: Path) -> None:
    model_config = tiny_model_config()
    made = ensure_pretrained("audio_text", model_config, TINY_RECIPE, cache_dir=tmp_path, progress=False)
    audio = find_pretrained("audio", model_config, TINY_RECIPE, cache_dir=tmp_path)
    assert audio is not None and made.path.name.startswith("AudioCLIP-book-")
    assert audio.path.name.startswith("ESRNXFBSP-book-")

    esrnx = torch.load(audio.path, weights_only=True)
    model = CLIPAAC(model_config)
    assert set(esrnx) == set(model.audio.state_dict())  # ESRNXFBSP.pt: the audio head's keys, no prefix
    assert esrnx["fc.weight"].shape == (len(LABELS), model.audio.fc.in_features)  # one row per label
    report = load_esresnext_audioset(model, audio.path)
    assert set(report.skipped) == {"fc.weight", "fc.bias"}
    torch.testing.assert_close(model.audio.conv1.weight, esrnx["conv1.weight"])

    audioclip = torch.load(made.path, weights_only=True)
    expected = {f"audio.{k}" for k in model.audio.state_dict()} | set(model.text.state_dict())
    expected |= {"logit_scale_at", "logit_scale", "logit_scale_ai"}
    assert set(audioclip) == expected
    # every key is one of the published checkpoint's (a shallower model has fewer of them)
    published = set(json.loads((Path(__file__).parent / "data" / "audioclip_state_dict_shapes.json").read_text()))
    assert set(audioclip) <= published
    assert {f"audio.{k}" for k in esrnx} <= published
    model = CLIPAAC(model_config)
    report = load_audioclip(model, made.path)
    assert len(report.loaded) == len(expected) - 2  # all but the two image temperatures
    torch.testing.assert_close(model.text.token_embedding.weight, audioclip["token_embedding.weight"])
    assert made.record["audio_sha256"] == audio.sha256 and len(made.history) == 2  # epoch 0 and 1


def test_pretraining_is_deterministic_and_cached(tmp_path: Path) -> None:
    model_config = tiny_model_config()
    first = ensure_pretrained("audio", model_config, TINY_RECIPE, cache_dir=tmp_path / "a", progress=False)
    second = ensure_pretrained("audio", model_config, TINY_RECIPE, cache_dir=tmp_path / "b", progress=False)
    assert first.sha256 == second.sha256  # same recipe and seed: the same bytes
    other = ensure_pretrained("audio", model_config, TINY_RECIPE.replace(seed=1), cache_dir=tmp_path / "a",
                              progress=False)
    assert other.sha256 != first.sha256 and other.path != first.path
    stamp = first.path.stat().st_mtime_ns
    again = ensure_pretrained("audio", model_config, TINY_RECIPE, cache_dir=tmp_path / "a", progress=False)
    assert again.path.stat().st_mtime_ns == stamp  # found, not made again


def test_a_damaged_file_is_made_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model_config = tiny_model_config()
    made = ensure_pretrained("audio", model_config, TINY_RECIPE, cache_dir=tmp_path, progress=False)
    made.path.write_bytes(made.path.read_bytes()[:-10])
    assert find_pretrained("audio", model_config, TINY_RECIPE, cache_dir=tmp_path) is None
    assert str(made.path) in caplog.text
    again = ensure_pretrained("audio", model_config, TINY_RECIPE, cache_dir=tmp_path, progress=False)
    assert again.sha256 == made.sha256


def test_bad_recipes_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="audio_epochs"):
        PretrainConfig(audio_epochs=0)
    with pytest.raises(ValueError, match="held_out"):
        PretrainConfig(corpus=CorpusConfig(clips=20), held_out=10, batch_size=16)
    with pytest.raises(ValueError, match="unknown CorpusConfig"):
        PretrainConfig().with_overrides({"corpus": {"clip": 3}})
    with pytest.raises(ValueError, match="random"):
        ensure_pretrained("random", ModelConfig.small())
    assert PretrainConfig().with_overrides({"corpus": {"clips": 400}}).corpus.clips == 400
