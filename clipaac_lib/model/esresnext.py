"""ESResNeXt-fbsp, the audio head (AudioCLIP's ``audio``), rewritten with the same parameter names.

The module's ``state_dict`` keys are those of AudioCLIP's checkpoints with the ``audio.`` prefix removed
(``conv1.weight``, ``layer3.5.bn2.running_var``, ``att4.conv_point.bias``, ``fbsp.m``, ``window``, ...), so
loading pretrained weights is a rename.

Computation (paper section 2.1, AudioCLIP ``model/esresnet``):

- front end (:mod:`clipaac_lib.model.frontend`): waveform -> (B, 3, 341, T) log-power bands;
- stem: 7x7 conv (stride 2) + BatchNorm + ReLU + 3x3 max-pool (stride 2);
- four ResNeXt stages of bottleneck blocks (1x1, grouped 3x3, 1x1, with a projection shortcut when the
  shape changes). Each stage's output is multiplied by an attention map ``att1..att4`` computed from the
  stage's *input*: adaptive max-pool to the output size, depthwise conv ((3,1) or (1,5)), pointwise conv,
  BatchNorm, sigmoid (the paper's "dual-path blocks");
- reduction: average pool to 1x1, multiplied by ``att5`` of the max-pooled features, then ``fc`` to the
  L-d audio embedding.

Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from clipaac_lib.model.config import AudioConfig
from clipaac_lib.model.frontend import (
    LinearFBSP,
    audioclip_input,
    blackman_harris,
    fbsp_power,
    log_power_bands,
    num_frames,
)

__all__ = ["Attention2d", "Bottleneck", "ESResNeXtFBSP"]

# (kernel, padding) of the depthwise convs in att1..att4 (alternating frequency / time) and att5
_STAGE_ATTENTION = [((3, 1), (1, 0)), ((1, 5), (0, 2)), ((3, 1), (1, 0)), ((1, 5), (0, 2))]
_POOL_ATTENTION = ((3, 5), (1, 2))


class Attention2d(nn.Module):
    """Gate (B, C_out, H, W) in (0, 1) from a block input x (B, C_in, H', W') (AudioCLIP's Attention2d)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: tuple[int, int], padding: tuple[int, int]
    ):
        super().__init__()
        self.conv_depth = nn.Conv2d(in_channels, in_channels, kernel, padding=padding, groups=in_channels)
        self.conv_point = nn.Conv2d(in_channels, out_channels, 1)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        x = F.adaptive_max_pool2d(x, size)  # (B, C_in, H, W)
        x = self.conv_point(self.conv_depth(x))  # (B, C_out, H, W)
        return torch.sigmoid(self.bn(x))


class Bottleneck(nn.Module):
    """ResNeXt bottleneck: 1x1 -> grouped 3x3 (carries the stride) -> 1x1 (x4 channels), plus shortcut."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, *, stride: int, groups: int, width_per_group: int):
        super().__init__()
        width = int(planes * (width_per_group / 64.0)) * groups
        if width < 1:
            raise ValueError(f"bottleneck width is 0 for planes={planes}, width_per_group={width_per_group}")
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)  # (B, out, H/s, W/s)
        y = F.relu(self.bn1(self.conv1(x)))  # (B, width, H, W)
        y = F.relu(self.bn2(self.conv2(y)))  # (B, width, H/s, W/s)
        y = self.bn3(self.conv3(y))  # (B, out, H/s, W/s)
        return F.relu(y + identity)


class _RunOnceStats:
    """``fn(index, x)`` for ``torch.utils.checkpoint``: the first call (the forward pass) updates the
    BatchNorm running statistics as usual; the recomputation in the backward pass restores them
    afterwards, so a checkpointed step leaves the same statistics as a plain one."""

    def __init__(self, fn: Callable[[int, Tensor], Tensor], index: int) -> None:
        self.fn, self.index, self.calls = fn, index, 0

    def __call__(self, x: Tensor) -> Tensor:
        self.calls += 1
        if self.calls == 1:
            return self.fn(self.index, x)
        owner: nn.Module = self.fn.__self__  # type: ignore[attr-defined]
        parts = [getattr(owner, f"{kind}{self.index}", None) for kind in ("layer", "att")]
        buffers = [buf for part in parts if part is not None for buf in part.buffers()]  # BatchNorm statistics
        saved = [buf.clone() for buf in buffers]
        try:
            return self.fn(self.index, x)
        finally:
            with torch.no_grad():
                for buf, value in zip(buffers, saved, strict=True):
                    buf.copy_(value)


class ESResNeXtFBSP(nn.Module):
    """The audio head: [-1, 1] waveforms (B, S) -> audio embeddings (B, embed_dim).

    Notebook: ``notebooks/02_architecture.ipynb``.
    """

    def __init__(self, config: AudioConfig, embed_dim: int) -> None:
        super().__init__()
        self.config = config
        c = config
        self.fbsp = LinearFBSP(c.num_freq_bins, normalized=c.normalized, grad_normalize=c.fbsp_grad_normalize)
        self.register_buffer("window", blackman_harris(c.win_length))
        self.conv1 = nn.Conv2d(c.num_bands, c.stem_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(c.stem_width)
        inplanes = c.stem_width
        for index, blocks in enumerate(c.layers):
            planes = c.stem_width * 2**index
            stride = 1 if index == 0 else 2
            stage = []
            for block in range(blocks):
                stage.append(
                    Bottleneck(
                        inplanes if block == 0 else planes * 4,
                        planes,
                        stride=stride if block == 0 else 1,
                        groups=c.groups,
                        width_per_group=c.width_per_group,
                    )
                )
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
            if c.attention:
                kernel, padding = _STAGE_ATTENTION[index]
                self.add_module(f"att{index + 1}", Attention2d(inplanes, planes * 4, kernel, padding))
            inplanes = planes * 4
        if c.attention:
            self.att5 = Attention2d(inplanes, inplanes, *_POOL_ATTENTION)
        self.fc = nn.Linear(inplanes, embed_dim)
        #: recompute each ResNeXt stage's activations in the backward pass instead of keeping them
        #: (:meth:`set_activation_checkpointing`); not part of the weights
        self.checkpoint_stages = False
        self._init_weights()

    def set_activation_checkpointing(self, enabled: bool = True) -> None:
        """Trade compute for memory: in training, each ResNeXt stage keeps only its input and recomputes
        its activations during the backward pass (gradients unchanged; BatchNorm statistics are updated
        once, not again by the recomputation). Notebook: ``notebooks/05_train.ipynb``."""
        self.checkpoint_stages = enabled

    def _init_weights(self) -> None:
        # AudioCLIP / torchvision: He-normal (fan_out) convolutions, BatchNorm at identity
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    # ------------------------------------------------------------------------------------ pieces
    def spectrogram(self, audio: Tensor) -> Tensor:
        """[-1, 1] audio (B, S) -> log-power bands (B, num_bands, band_height, T) in dB.

        Computed in (at least) float32 even under autocast or a half-precision model: the fbsp kernel's
        phases reach ~3000 rad and the 1e-18 power floor underflows in float16.
        """
        c = self.config
        dtype = torch.promote_types(self.window.dtype, torch.float32)
        no_autocast = (torch.autocast(audio.device.type, enabled=False)
                       if torch.amp.is_autocast_available(audio.device.type) else contextlib.nullcontext())
        with no_autocast:  # (meta tensors, used to check for host synchronisation, have no autocast)
            x = audioclip_input(audio.to(dtype))  # (B, S), AudioCLIP's internal range
            window = self.window.to(dtype)
            power = fbsp_power(x, self.fbsp, window, n_fft=c.n_fft, hop_length=c.hop_length)  # (B, K, T)
            bands = log_power_bands(power, c.num_bands)  # (B, bands, K // bands, T)
        return bands.to(self.conv1.weight.dtype)

    def stages(self, x: Tensor) -> Tensor:
        """Spectrogram bands (B, bands, F, T) -> last feature map (B, C, F/32, T/32)."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, stride=2, padding=1)  # (B, stem, F/4, T/4)
        for index in range(1, len(self.config.layers) + 1):
            if self.checkpoint_stages and self.training and torch.is_grad_enabled():
                x = checkpoint(_RunOnceStats(self._stage, index), x, use_reentrant=False)  # (B, C_i, F_i, T_i)
            else:
                x = self._stage(index, x)  # (B, C_i, F_i, T_i)
        return x

    def _stage(self, index: int, x: Tensor) -> Tensor:
        """ResNeXt stage ``index`` (1-4), gated by its attention map when the config has attention."""
        y = getattr(self, f"layer{index}")(x)  # (B, C_i, F_i, T_i)
        if self.config.attention:
            y = y * getattr(self, f"att{index}")(x, y.shape[-2:])
        return y

    def pool(self, features: Tensor) -> Tensor:
        """Feature map (B, C, F', T') -> pooled vector (B, C) (average pool, gated by ``att5``)."""
        pooled = F.adaptive_avg_pool2d(features, 1)  # (B, C, 1, 1)
        if self.config.attention:
            if self.att5.bn.training and features.shape[0] < 2:
                raise ValueError(
                    "training the audio head needs at least 2 clips per batch: att5's BatchNorm normalises "
                    "the pooled 1x1 maps over the batch (as in AudioCLIP); use eval() for single clips"
                )
            pooled = pooled * self.att5(features, pooled.shape[-2:])
        return pooled.flatten(1)  # (B, C)

    def forward_features(self, audio: Tensor) -> tuple[Tensor, Tensor]:
        """Audio (B, S) -> (embedding (B, embed_dim), last feature map (B, C, F', T'))."""
        if audio.dim() != 2:
            raise ValueError(
                "the audio head expects mono waveforms shaped (batch, samples), "
                f"got shape {tuple(audio.shape)}"
            )
        features = self.stages(self.spectrogram(audio))  # (B, C, F', T')
        return self.fc(self.pool(features)), features  # (B, L), (B, C, F', T')

    def forward(self, audio: Tensor) -> Tensor:
        """[-1, 1] audio (B, S) at ``config.sample_rate`` -> audio embedding (B, embed_dim)."""
        return self.forward_features(audio)[0]

    def feature_steps(self, num_samples: Tensor) -> Tensor:
        """Time steps of the last feature map for clips of ``num_samples`` samples (long tensor)."""
        c = self.config
        steps = num_frames(num_samples, c.win_length, c.hop_length)
        steps = torch.div(steps - 1, 2, rounding_mode="floor") + 1  # stem conv 7x7 / 2, padding 3
        steps = torch.div(steps - 1, 2, rounding_mode="floor") + 1  # max-pool 3 / 2, padding 1
        for _ in range(len(c.layers) - 1):  # stride-2 3x3 convs, padding 1
            steps = torch.div(steps - 1, 2, rounding_mode="floor") + 1
        return steps
