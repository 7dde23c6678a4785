"""The ESResNeXt-fbsp audio head against AudioCLIP's checkpoint layout, torchvision's ResNeXt and the
published parameter count (facts.md section 1: 32.1 M)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torchvision.models.resnet import Bottleneck as TorchvisionBottleneck
from torchvision.models.resnet import ResNet

from clipaac_lib.model import AudioConfig, ModelConfig
from clipaac_lib.model.esresnext import ESResNeXtFBSP

SHAPES = Path(__file__).parent / "data" / "audioclip_state_dict_shapes.json"
_BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


@pytest.fixture(scope="module")
def paper_head() -> ESResNeXtFBSP:
    torch.manual_seed(0)
    return ESResNeXtFBSP(ModelConfig.paper().audio, 1024)


@pytest.fixture(scope="module")
def checkpoint_audio_shapes() -> dict[str, list[int]]:
    shapes = json.loads(SHAPES.read_text())
    return {key.removeprefix("audio."): shape for key, shape in shapes.items() if key.startswith("audio.")}


def test_paper_audio_head_has_32_1_million_parameters(paper_head, checkpoint_audio_shapes) -> None:
    ours = sum(p.numel() for p in paper_head.parameters())
    # independent count from the published checkpoint's shapes: learned tensors only (no BN statistics,
    # no window, no empty fbsp bias)
    learned = {
        key: shape
        for key, shape in checkpoint_audio_shapes.items()
        if not key.endswith(_BUFFER_SUFFIXES) and key not in ("window", "fbsp.bias")
    }
    assert ours == sum(math.prod(shape) for shape in learned.values())
    assert round(ours / 1e6, 1) == 32.1
    assert {name for name, _ in paper_head.named_parameters()} == set(learned)


def test_audio_head_state_dict_is_audioclip_layout(paper_head, checkpoint_audio_shapes) -> None:
    ours = {key: list(value.shape) for key, value in paper_head.state_dict().items()}
    assert ours == checkpoint_audio_shapes


def _copy_into_torchvision(head: ESResNeXtFBSP, reference: ResNet) -> None:
    missing, unexpected = head.load_state_dict(reference.state_dict(), strict=False)
    front_end = {"window", "fbsp.m", "fbsp.fb", "fbsp.fc", "fbsp.bias"}
    assert {name for name in missing if not name.startswith("att")} == front_end
    assert unexpected == []


def _resnext_pair(attention: bool) -> tuple[ESResNeXtFBSP, ResNet]:
    torch.manual_seed(1)
    config = AudioConfig(stem_width=64, layers=(1, 1, 1, 1), groups=4, width_per_group=4, attention=attention)
    reference = ResNet(
        TorchvisionBottleneck, [1, 1, 1, 1], num_classes=10, groups=4, width_per_group=4
    ).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
    head = ESResNeXtFBSP(config, 10).eval()
    _copy_into_torchvision(head, reference)
    return head, reference


def test_resnext_without_attention_equals_torchvision_resnext() -> None:
    head, reference = _resnext_pair(attention=False)
    x = torch.randn(2, 3, 40, 72)
    with torch.no_grad():
        torch.testing.assert_close(head.fc(head.pool(head.stages(x))), reference(x), rtol=1e-4, atol=1e-5)


def test_attention_blocks_gate_each_stage_and_the_pooled_vector() -> None:
    head, reference = _resnext_pair(attention=True)
    x = torch.randn(2, 3, 40, 72)
    with torch.no_grad():
        for index in range(1, 6):  # saturate every gate open: sigmoid(BN(.) + 30) = 1
            attention = getattr(head, f"att{index}")
            attention.bn.weight.zero_()
            attention.bn.bias.fill_(30.0)
        torch.testing.assert_close(head.fc(head.pool(head.stages(x))), reference(x), rtol=1e-4, atol=1e-5)
        head.att5.bn.bias.fill_(-30.0)  # close the pooling gate: the embedding is the fc bias
        torch.testing.assert_close(
            head.fc(head.pool(head.stages(x))), head.fc.bias.expand(2, -1), atol=1e-6, rtol=0
        )
        head.att5.bn.bias.fill_(30.0)
        head.att2.bn.bias.fill_(-30.0)  # close stage 2's gate: stages 3 and 4 see zeros
        stem = torch.nn.functional.max_pool2d(torch.relu(head.bn1(head.conv1(x))), 3, 2, 1)
        stage2 = head.layer2(head.layer1(stem))
        expected = head.layer4(head.layer3(torch.zeros_like(stage2)))
        torch.testing.assert_close(head.stages(x), expected, atol=1e-6, rtol=0)
        assert expected.abs().max() > 0.01  # BatchNorm shifts make the zero-input path non-trivial


def test_paper_head_on_one_second_gives_1024_d_embeddings(paper_head) -> None:
    audio = torch.rand(2, 44100) * 2 - 1
    paper_head.eval()
    with torch.no_grad():
        spec = paper_head.spectrogram(audio)
        embedding, features = paper_head.forward_features(audio)
    assert spec.shape == (2, 3, 341, 77)  # 1025 bins cut to 3 x 341; 1 + ceil((44100 - 1654) / 561) frames
    assert embedding.shape == (2, 1024) and torch.isfinite(embedding).all()
    assert features.shape[:2] == (2, 2048)
    assert features.shape[-1] == paper_head.feature_steps(torch.tensor([44100])).item()


def test_feature_steps_match_the_feature_map_for_many_lengths() -> None:
    head = ESResNeXtFBSP(ModelConfig.small().audio, 32).eval()
    with torch.no_grad():
        for length in (200, 481, 16321, 23999):
            _, features = head.forward_features(torch.zeros(2, length).uniform_(-0.5, 0.5))
            assert head.feature_steps(torch.tensor([length])).item() == features.shape[-1], length


def test_audio_head_rejects_non_mono_input() -> None:
    head = ESResNeXtFBSP(ModelConfig.small().audio, 32)
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        head(torch.zeros(2, 1, 16000))


def test_training_a_single_clip_batch_is_refused_clearly() -> None:
    head = ESResNeXtFBSP(ModelConfig.small().audio, 32).train()
    with pytest.raises(ValueError, match="at least 2 clips"):
        head(torch.zeros(1, 16000))
    head.eval()
    assert head(torch.zeros(1, 16000)).shape == (1, 32)


def test_front_end_stays_float32_under_autocast() -> None:
    head = ESResNeXtFBSP(ModelConfig.small().audio, 32).eval()
    audio = torch.rand(2, 8000) * 2 - 1
    with torch.no_grad():
        reference = head.spectrogram(audio)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = head.spectrogram(audio)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, reference)
