"""Pretrained weights for CLIP-AAC's encoder (Table 1's initialisation strategies).

- :data:`WEIGHTS`: AudioCLIP's published files (URL, size, sha256). :func:`download_weights` fetches one
  into ``<cache>/weights`` (``$CLIPAAC_CACHE``, default ``~/.cache/clipaac``) with resume, a progress bar
  and a sha256 check; nothing is written into the package directory.
- :func:`load_audioclip`: AudioCLIP-Full-Training.pt (audio + text + image heads) into the audio head, the
  text head and ``logit_scale_at``; the image head (``visual.*``) and the image temperatures are reported
  as skipped.
- :func:`load_esresnext_audioset`: ESRNXFBSP.pt (audio head trained on AudioSet) into the audio head; its
  527-class ``fc`` is skipped and reported (ours maps to the L-d embedding).
- :func:`apply_init`: ``"random"`` (system 1), ``"audio"`` (system 2), ``"audio_text"`` (systems 3-4);
  :func:`freeze_encoder` makes system 3.

Every key is accounted for: a key we do not know, a required parameter the checkpoint lacks, or a shape
that differs raises :class:`CheckpointMismatchError` listing the names (AudioCLIP's own
``strict=False`` hides these). Files are read with ``torch.load(weights_only=True)``.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from clipaac_lib.common import (
    Checksum,
    ChecksumError,
    DownloadError,
    download,
    read_checksum_table,
    subdir,
    verify,
)
from clipaac_lib.model import CLIPAAC

__all__ = [
    "WeightFile",
    "WEIGHTS",
    "ENV_WEIGHTS_URL",
    "ENV_WEIGHTS_CHECKSUMS",
    "INIT_STRATEGIES",
    "INIT_WEIGHTS",
    "weights_present",
    "LoadReport",
    "CheckpointMismatchError",
    "download_weights",
    "weights_url",
    "weights_sha256",
    "read_state_dict",
    "load_audioclip",
    "load_esresnext_audioset",
    "apply_init",
    "freeze_encoder",
]

_RELEASE = "https://github.com/AndreyGuzhov/AudioCLIP/releases/download/v0.1/"
#: Base URL of a mirror of the release (the same file names), instead of GitHub's.
ENV_WEIGHTS_URL = "CLIPAAC_WEIGHTS_URL"
#: A mirror's sha256 table (``name sha256`` lines) for files that differ from the published ones.
ENV_WEIGHTS_CHECKSUMS = "CLIPAAC_WEIGHTS_CHECKSUMS"


@dataclass(frozen=True)
class WeightFile:
    """A published checkpoint: file name, URL, size in bytes, sha256."""

    filename: str
    url: str
    size: int
    sha256: str
    description: str = ""


WEIGHTS: dict[str, WeightFile] = {
    "AudioCLIP-Full-Training.pt": WeightFile(
        "AudioCLIP-Full-Training.pt",
        _RELEASE + "AudioCLIP-Full-Training.pt",
        537302068,
        "2441d35b353352c8b1bbfb8f7c687f46314c3d2909e940eaf763b8c17f632c44",
        "AudioCLIP, all heads trained on AudioSet (the paper's audio-text initialisation)",
    ),
    "AudioCLIP-Partial-Training.pt": WeightFile(
        "AudioCLIP-Partial-Training.pt",
        _RELEASE + "AudioCLIP-Partial-Training.pt",
        537302068,
        "1921885b6c3b5de0619f2ef4a9700ecbade758a398b34eb064230c30baef0c75",
        "AudioCLIP, only the audio head trained (text and image heads are CLIP's)",
    ),
    "ESRNXFBSP.pt": WeightFile(
        "ESRNXFBSP.pt",
        _RELEASE + "ESRNXFBSP.pt",
        124795647,
        "acfcc6b0a0f07025cc660ed6dcf9b5a05fbd7c8ebf65edaa0a81d88a92ff6834",
        "ESResNeXt-fbsp audio head trained on AudioSet (527-class fc; the audio-only initialisation)",
    ),
    "CLIP.pt": WeightFile(
        "CLIP.pt",
        _RELEASE + "CLIP.pt",
        408415159,
        "124e6d59d54c0837c456c953b3147adf438a21570d5c5b01ad83f6ad3e78d15e",
        "OpenAI CLIP RN50 (image and text heads)",
    ),
}

#: The checkpoint each pre-trained initialisation strategy loads (paper Table 1).
INIT_WEIGHTS = {"audio": "ESRNXFBSP.pt", "audio_text": "AudioCLIP-Full-Training.pt"}
#: Encoder initialisation strategies: random, or one of :data:`INIT_WEIGHTS`.
INIT_STRATEGIES = ("random", *INIT_WEIGHTS)

_TEXT_PREFIXES = ("transformer.", "token_embedding.", "ln_final.")
_TEXT_KEYS = ("positional_embedding", "text_projection")
_UNUSED_AUDIOCLIP = {
    "logit_scale": "image-text temperature (no image head in CLIP-AAC)",
    "logit_scale_ai": "audio-image temperature (no image head in CLIP-AAC)",
}
# deterministic audio-head tensors that hold no learned values: may be absent from a checkpoint
_OPTIONAL_AUDIO = ("window", "fbsp.bias")


@dataclass
class LoadReport:
    """What a load did: ``loaded`` maps model names to checkpoint keys, ``skipped`` maps checkpoint keys to
    the reason, ``kept`` lists model tensors left at their current values (e.g. the new decoder)."""

    source: str
    loaded: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)

    def summary(self) -> str:
        reasons: dict[str, int] = {}
        for reason in self.skipped.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        lines = [f"{self.source}: loaded {len(self.loaded)} tensors, skipped {len(self.skipped)}"]
        lines += [f"  skipped {count} x {reason}" for reason, count in sorted(reasons.items())]
        groups = sorted({name.split(".")[0] for name in self.kept})
        lines.append(f"  kept {len(self.kept)} model tensors at their current values ({', '.join(groups)})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model; ``missing``, ``mismatched`` and ``unexpected`` name the keys."""

    def __init__(
        self,
        source: str,
        missing: list[str],
        mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
        unexpected: list[str],
        hint: str,
    ) -> None:
        self.missing, self.mismatched, self.unexpected = missing, mismatched, unexpected
        parts = [f"{source} does not fit the model."]
        if missing:
            parts.append(
                f"Model tensors without a value in the checkpoint ({len(missing)}): {', '.join(missing)}"
            )
        if mismatched:
            shown = "; ".join(f"{key}: checkpoint {list(a)} vs model {list(b)}" for key, a, b in mismatched)
            parts.append(f"Shapes differ ({len(mismatched)}): {shown}")
        if unexpected:
            parts.append(f"Unknown keys ({len(unexpected)}): {', '.join(unexpected)}")
        parts.append(hint)
        super().__init__("\n".join(parts))


def _entry(name: str) -> WeightFile:
    if name not in WEIGHTS:
        raise KeyError(f"unknown weights {name!r}; known: {sorted(WEIGHTS)}")
    return WEIGHTS[name]


def weights_url(name: str) -> str:
    """Where ``WEIGHTS[name]`` is downloaded from: ``$CLIPAAC_WEIGHTS_URL/<file>`` when that mirror is set,
    else the registry's URL (AudioCLIP's GitHub release)."""
    entry = _entry(name)
    base = os.environ.get(ENV_WEIGHTS_URL)
    return f"{base.rstrip('/')}/{entry.filename}" if base else entry.url


def _mirror_sha256(name: str) -> str | None:
    source = os.environ.get(ENV_WEIGHTS_CHECKSUMS)
    if not source:
        return None
    table = read_checksum_table(source, 64, what=f"the weights checksum table (${ENV_WEIGHTS_CHECKSUMS})")
    return table.get(_entry(name).filename)


def weights_sha256(name: str) -> str:
    """The sha256 ``WEIGHTS[name]`` is checked against: the mirror's (``$CLIPAAC_WEIGHTS_CHECKSUMS``) when
    its table lists the file, else the published one."""
    return _mirror_sha256(name) or _entry(name).sha256


def download_weights(name: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Download ``WEIGHTS[name]`` (unless a verified copy exists) and return its path.

    From :func:`weights_url`, checked against :func:`weights_sha256`; a failed download raises
    :class:`~clipaac_lib.common.download.DownloadError` (or ``ChecksumError``) on one line naming the URL
    and what to do.
    """
    entry = _entry(name)
    folder = Path(cache_dir) if cache_dir is not None else subdir("weights")
    url = weights_url(name)
    try:
        return download(url, folder / entry.filename, Checksum("sha256", weights_sha256(name)), desc=name)
    except (DownloadError, ChecksumError) as err:
        advice = (f"Check the network and call again (a partial download resumes), set ${ENV_WEIGHTS_URL} to a "
                  f"mirror of the release (and ${ENV_WEIGHTS_CHECKSUMS} to its sha256 table), or put the file "
                  f"in {folder} by hand.")
        raise type(err)(" ".join(f"{name}: {err} {advice}".split())) from err


def weights_present(init: str, cache_dir: str | os.PathLike[str] | None = None) -> bool:
    """True when ``init`` needs no download: ``"random"``, or its checkpoint is already in the cache
    with the right size (the sha256 is checked when it is loaded); a file from a mirror whose checksum
    table lists it (``$CLIPAAC_WEIGHTS_CHECKSUMS``) is checked by that sha256 instead (cheap after the
    download, which remembers the check)."""
    if init == "random":
        return True
    if init not in INIT_WEIGHTS:
        raise ValueError(f"unknown init {init!r}; choose one of {INIT_STRATEGIES}")
    name = INIT_WEIGHTS[init]
    entry = WEIGHTS[name]
    path = (Path(cache_dir) if cache_dir is not None else subdir("weights")) / entry.filename
    mirror = _mirror_sha256(name)
    if mirror is not None:
        return verify(path, Checksum("sha256", mirror))
    return path.is_file() and path.stat().st_size == entry.size


def read_state_dict(checkpoint: str | os.PathLike[str] | Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A flat ``{name: tensor}`` from a path (``torch.load(weights_only=True)``, on the CPU) or a mapping."""
    if isinstance(checkpoint, (str, os.PathLike)):
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {path} not found; download it with download_weights()")
        state = torch.load(path, map_location="cpu", weights_only=True)
        source = str(path)
    else:
        state, source = checkpoint, "the state dict"
    if not isinstance(state, Mapping):
        raise TypeError(f"{source} holds a {type(state).__name__}, expected a flat state dict name -> tensor")
    bad = [
        str(key) for key, value in state.items() if not isinstance(key, str) or not isinstance(value, Tensor)
    ]
    if bad:
        raise TypeError(f"{source} is not a flat state dict; entries that are not name -> tensor: {bad[:10]}")
    return dict(state)


def _source_name(checkpoint: object) -> str:
    return str(checkpoint) if isinstance(checkpoint, (str, os.PathLike)) else "state dict"


def _load_mapped(
    model: CLIPAAC,
    state: dict[str, Tensor],
    route: Callable[[str], tuple[str | None, str | None]],
    required: list[str],
    optional: set[str],
    source: str,
    hint: str,
) -> LoadReport:
    """Copy ``state`` into ``model`` by ``route(key) -> (model name or None, skip reason or None)``.

    Raises unless every required model tensor gets a value of the right shape and every key is routed.
    """
    targets = model.state_dict(keep_vars=True)
    report = LoadReport(source)
    plan: dict[str, Tensor] = {}
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    unexpected: list[str] = []
    routed: set[str] = set()  # model tensors some checkpoint key maps to
    for key, tensor in state.items():
        name, reason = route(key)
        if reason is not None:
            report.skipped[key] = reason
        elif name is None or name not in targets:
            unexpected.append(key)
        elif tuple(tensor.shape) != tuple(targets[name].shape):
            mismatched.append((key, tuple(tensor.shape), tuple(targets[name].shape)))
            routed.add(name)
        else:
            plan[name] = tensor
            report.loaded[name] = key
            routed.add(name)
    missing = [name for name in required if name not in routed and name not in optional]
    if missing or mismatched or unexpected:
        raise CheckpointMismatchError(source, missing, mismatched, unexpected, hint)
    with torch.no_grad():
        for name, tensor in plan.items():
            targets[name].copy_(tensor.to(device=targets[name].device))
    report.kept = [name for name in targets if name not in plan]
    return report


def load_audioclip(model: CLIPAAC, checkpoint: str | os.PathLike[str] | Mapping[str, Tensor]) -> LoadReport:
    """Load an AudioCLIP checkpoint (path or state dict, published layout) into the audio head, the text
    head and ``logit_scale_at``; report ``visual.*``, ``logit_scale`` and ``logit_scale_ai`` as skipped.

    Raises :class:`CheckpointMismatchError` naming missing, mis-shaped or unknown keys.
    Notebook: ``notebooks/05_train.ipynb``.
    """
    state = read_state_dict(checkpoint)
    has_text = model.text is not None

    def route(key: str) -> tuple[str | None, str | None]:
        if key.startswith("visual."):
            return None, "image head (CLIP-AAC removes it)"
        if key in _UNUSED_AUDIOCLIP:
            return None, _UNUSED_AUDIOCLIP[key]
        if key.startswith("audio.") or key == "logit_scale_at":
            return key, None
        if key.startswith(_TEXT_PREFIXES) or key in _TEXT_KEYS:
            return ("text." + key, None) if has_text else (None, "text head (dropped from this model)")
        return None, None

    required = [
        name
        for name in model.state_dict()
        if name.startswith(("audio.", "text.")) or name == "logit_scale_at"
    ]
    optional = {"audio." + name for name in _OPTIONAL_AUDIO}
    hint = (
        "AudioCLIP's checkpoints fit ModelConfig.paper() only (ESResNeXt-50 32x4d at 44.1 kHz, 12-layer text "
        "transformer, L = 1024); check the model's config and that the file is an AudioCLIP checkpoint."
    )
    return _load_mapped(
        model, state, route, required, optional, f"AudioCLIP checkpoint ({_source_name(checkpoint)})", hint
    )


def load_esresnext_audioset(
    model: CLIPAAC, checkpoint: str | os.PathLike[str] | Mapping[str, Tensor]
) -> LoadReport:
    """Load ESRNXFBSP.pt (the audio head trained on AudioSet; keys without ``audio.``) into ``model.audio``.

    Its ``fc`` (527 AudioSet classes) is skipped and reported: our ``fc`` maps to the L-d embedding and
    keeps its initialisation. Notebook: ``notebooks/05_train.ipynb``.
    """
    state = read_state_dict(checkpoint)

    def route(key: str) -> tuple[str | None, str | None]:
        if key in ("fc.weight", "fc.bias"):
            return None, "AudioSet classifier (527 classes); CLIP-AAC's fc maps to the embedding instead"
        return "audio." + key, None

    required = [
        name for name in model.state_dict() if name.startswith("audio.") and not name.startswith("audio.fc.")
    ]
    optional = {"audio." + name for name in _OPTIONAL_AUDIO}
    hint = (
        "ESRNXFBSP.pt fits the audio head of ModelConfig.paper() only; keys must come without the 'audio.' "
        "prefix (an AudioCLIP checkpoint goes to load_audioclip)."
    )
    return _load_mapped(
        model,
        state,
        route,
        required,
        optional,
        f"ESResNeXt-fbsp checkpoint ({_source_name(checkpoint)})",
        hint,
    )


def freeze_encoder(model: CLIPAAC) -> None:
    """Table 1 system 3: freeze the audio head, text head and temperature (BatchNorm statistics too)."""
    model.freeze_encoder()


def apply_init(
    model: CLIPAAC,
    init: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    checkpoint: str | os.PathLike[str] | Mapping[str, Tensor] | None = None,
) -> LoadReport | None:
    """Initialise the encoder by strategy: ``"random"`` (nothing to load, returns None), ``"audio"``
    (an ``ESRNXFBSP.pt``-layout file) or ``"audio_text"`` (an AudioCLIP-layout file).

    ``checkpoint`` names the file (or state dict) to load, such as the book's own pretrained files
    (:mod:`clipaac_lib.pretrain`); None downloads the published one into the cache as needed.
    """
    if init == "random":
        return None
    if init not in INIT_WEIGHTS:
        raise ValueError(f"unknown init {init!r}; choose one of {INIT_STRATEGIES}")
    source = checkpoint if checkpoint is not None else download_weights(INIT_WEIGHTS[init], cache_dir)
    if init == "audio":
        return load_esresnext_audioset(model, source)
    return load_audioclip(model, source)
