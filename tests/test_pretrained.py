"""Loading AudioCLIP's checkpoints: the published layout (tests/data/audioclip_state_dict_shapes.json, a copy
of the shared reference) loads tensor by tensor into the right parameters; every mismatch is named; the
weights registry downloads through the shared verified downloader."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest
import torch

from clipaac_lib.common.download import ChecksumError
from clipaac_lib.model import CLIPAAC
from clipaac_lib.pretrain.published import (
    WEIGHTS,
    CheckpointMismatchError,
    WeightFile,
    apply_init,
    download_weights,
    load_audioclip,
    load_esresnext_audioset,
    read_state_dict,
)
from tests.http_server import serve

SHAPES = json.loads((Path(__file__).parent / "data" / "audioclip_state_dict_shapes.json").read_text())
FACTS_SHA256 = {  # facts.md section 1
    "AudioCLIP-Full-Training.pt": "2441d35b353352c8b1bbfb8f7c687f46314c3d2909e940eaf763b8c17f632c44",
    "AudioCLIP-Partial-Training.pt": "1921885b6c3b5de0619f2ef4a9700ecbade758a398b34eb064230c30baef0c75",
    "ESRNXFBSP.pt": "acfcc6b0a0f07025cc660ed6dcf9b5a05fbd7c8ebf65edaa0a81d88a92ff6834",
    "CLIP.pt": "124e6d59d54c0837c456c953b3147adf438a21570d5c5b01ad83f6ad3e78d15e",
}


def _model_name(key: str) -> str | None:
    """Where an AudioCLIP key must land in CLIPAAC (written from the checkpoint layout, not our loader)."""
    if key.startswith("visual.") or key in ("logit_scale", "logit_scale_ai"):
        return None
    if key.startswith("audio.") or key == "logit_scale_at":
        return key
    return "text." + key


@pytest.fixture(scope="module")
def paper_model(make_model) -> CLIPAAC:
    return make_model("paper", vocab_size=20)


@pytest.fixture(scope="module")
def audioclip_state() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    state: dict[str, torch.Tensor] = {}
    for key, shape in SHAPES.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.randint(1, 10**6, (), generator=gen)
        elif key.startswith("visual."):
            state[key] = torch.zeros(shape)  # skipped anyway; zeros keep the fixture cheap
        else:
            state[key] = torch.randn(shape, generator=gen)
    return state


def test_registry_matches_the_published_files() -> None:
    assert {name: entry.sha256 for name, entry in WEIGHTS.items()} == FACTS_SHA256
    base = "https://github.com/AndreyGuzhov/AudioCLIP/releases/download/v0.1/"
    assert all(entry.url == base + name and entry.filename == name for name, entry in WEIGHTS.items())
    assert (
        WEIGHTS["AudioCLIP-Full-Training.pt"].size == 537302068 and WEIGHTS["ESRNXFBSP.pt"].size == 124795647
    )


def test_audioclip_layout_loads_every_tensor_into_its_parameter(paper_model, audioclip_state) -> None:
    report = load_audioclip(paper_model, audioclip_state)
    ours = paper_model.state_dict()
    expected_loaded = {_model_name(key) for key in SHAPES} - {None}
    assert set(report.loaded) == expected_loaded
    for key, tensor in audioclip_state.items():
        name = _model_name(key)
        if name is not None:
            assert torch.equal(ours[name], tensor.to(ours[name].dtype)), key
    visual = {key for key in SHAPES if key.startswith("visual.")}
    assert visual and all("image head" in report.skipped[key] for key in visual)
    assert set(report.skipped) == visual | {"logit_scale", "logit_scale_ai"}
    assert all(name.startswith(("decoder.", "memory_")) for name in report.kept)
    assert "skipped" in report.summary()


def test_a_missing_key_raises_naming_it_and_loads_nothing(paper_model, audioclip_state) -> None:
    broken = dict(audioclip_state)
    del broken["audio.layer2.1.conv2.weight"]
    broken["audio.conv1.weight"] = audioclip_state["audio.conv1.weight"] + 1.0
    with pytest.raises(CheckpointMismatchError, match=r"audio\.layer2\.1\.conv2\.weight") as info:
        load_audioclip(paper_model, broken)
    assert info.value.missing == ["audio.layer2.1.conv2.weight"]
    assert not torch.equal(paper_model.audio.conv1.weight, broken["audio.conv1.weight"])  # nothing copied


def test_a_wrong_shape_or_unknown_key_raises_naming_it(paper_model, audioclip_state) -> None:
    broken = dict(audioclip_state)
    broken["text_projection"] = torch.zeros(512, 512)
    broken["audio.extra_head.weight"] = torch.zeros(3)
    with pytest.raises(CheckpointMismatchError) as info:
        load_audioclip(paper_model, broken)
    assert info.value.mismatched == [("text_projection", (512, 512), (512, 1024))]
    assert info.value.missing == []  # a mis-shaped tensor is reported once, as mis-shaped
    assert info.value.unexpected == ["audio.extra_head.weight"]
    assert "text_projection: checkpoint [512, 512] vs model [512, 1024]" in str(info.value)


def test_esresnext_audioset_layout_skips_the_527_class_fc(paper_model, audioclip_state) -> None:
    state = {
        key.removeprefix("audio."): -tensor
        for key, tensor in audioclip_state.items()
        if key.startswith("audio.")
    }
    state["fc.weight"], state["fc.bias"] = torch.zeros(527, 2048), torch.zeros(527)
    report = load_esresnext_audioset(paper_model, state)
    assert set(report.skipped) == {"fc.weight", "fc.bias"} and "527" in report.skipped["fc.weight"]
    ours = paper_model.state_dict()
    for key, tensor in state.items():
        if not key.startswith("fc."):
            assert torch.equal(ours["audio." + key], tensor.to(ours["audio." + key].dtype)), key
    assert "audio.fc.weight" in report.kept and not torch.equal(
        ours["audio.fc.weight"][:527], state["fc.weight"]
    )


def test_the_small_model_refuses_audioclip_weights_with_advice(audioclip_state, make_model) -> None:
    small = make_model(vocab_size=20)
    with pytest.raises(CheckpointMismatchError, match=r"ModelConfig\.paper\(\)") as info:
        load_audioclip(small, audioclip_state)
    assert (
        "audio.conv1.weight",
        (64, 3, 7, 7),
        tuple(small.audio.conv1.weight.shape),
    ) in info.value.mismatched


def _small_audioclip_file(model: CLIPAAC, path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint in AudioCLIP's layout shaped for ``model`` (plus image-head keys), saved to ``path``."""
    state: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        if name.startswith("audio.") or name == "logit_scale_at":
            state[name] = torch.randn_like(tensor.float()).to(tensor.dtype)
        elif name.startswith("text."):
            state[name.removeprefix("text.")] = torch.randn_like(tensor)
    state["visual.conv1.weight"], state["logit_scale"] = torch.zeros(4, 3, 3, 3), torch.tensor(4.6)
    torch.save(state, path)
    return state


def test_load_from_a_file_uses_weights_only(tmp_path, make_model) -> None:
    model = make_model(vocab_size=20)
    state = _small_audioclip_file(model, tmp_path / "ckpt.pt")
    report = load_audioclip(model, tmp_path / "ckpt.pt")
    assert torch.equal(model.text.token_embedding.weight, state["token_embedding.weight"])
    assert torch.equal(model.logit_scale_at, state["logit_scale_at"])
    assert report.source.endswith("ckpt.pt)")

    class Payload:
        def __reduce__(self):  # would run code under a plain pickle load
            return (print, ("unsafe",))

    with open(tmp_path / "evil.pt", "wb") as handle:
        pickle.dump({"audio.window": Payload()}, handle, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        read_state_dict(tmp_path / "evil.pt")


def _register(monkeypatch, name: str, folder: Path, base_url: str, payload: bytes) -> None:
    (folder / name).write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    monkeypatch.setitem(WEIGHTS, name, WeightFile(name, f"{base_url}/{name}", len(payload), digest))


def test_download_weights_into_the_user_cache_with_checksum(tmp_path, monkeypatch) -> None:
    served = tmp_path / "served"
    served.mkdir()
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    with serve(served) as (base_url, _server):
        _register(monkeypatch, "ESRNXFBSP.pt", served, base_url, b"fake weights " * 1000)
        path = download_weights("ESRNXFBSP.pt")
        assert path == tmp_path / "cache" / "weights" / "ESRNXFBSP.pt"
        assert path.read_bytes() == b"fake weights " * 1000
        bad = WEIGHTS["ESRNXFBSP.pt"]
        monkeypatch.setitem(WEIGHTS, "CLIP.pt", WeightFile("CLIP.pt", bad.url, bad.size, "0" * 64))
        with pytest.raises(ChecksumError, match="sha256"):
            download_weights("CLIP.pt", cache_dir=tmp_path / "other")
    with pytest.raises(KeyError, match="unknown weights"):
        download_weights("nope.pt")


def test_apply_init_downloads_and_loads(tmp_path, monkeypatch, make_model) -> None:
    model = make_model(vocab_size=20)
    audioset = {
        name.removeprefix("audio."): torch.full_like(tensor, 0.5)
        for name, tensor in model.state_dict().items()
        if name.startswith("audio.") and not name.startswith("audio.fc.")
    }
    audioset["fc.weight"], audioset["fc.bias"] = torch.zeros(527, 512), torch.zeros(527)
    checkpoint = tmp_path / "source.pt"
    torch.save(audioset, checkpoint)
    served = tmp_path / "served"
    served.mkdir()
    with serve(served) as (base_url, _server):
        _register(monkeypatch, "ESRNXFBSP.pt", served, base_url, checkpoint.read_bytes())
        report = apply_init(model, "audio", cache_dir=tmp_path / "cache")
    assert report is not None and set(report.skipped) == {"fc.weight", "fc.bias"}
    assert torch.all(model.audio.layer1[0].conv2.weight == 0.5)
    assert apply_init(model, "random") is None
    with pytest.raises(ValueError, match="audio_text"):
        apply_init(model, "imagenet")
