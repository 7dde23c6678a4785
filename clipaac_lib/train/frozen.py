"""Training with a frozen encoder (paper Table 1, system 3): each training clip's audio embedding, once.

With ``freeze_encoder=True`` the audio head's weights and BatchNorm statistics never change (it stays in
eval mode), so the embedding A of a clip is the same in every epoch: running the audio head at every
step, most of a step's work, recomputes the same numbers. When the encoder is frozen, the decoder's memory
is the embedding (``audio_memory="embedding"``, the paper's setting) and the run is a single process,
:func:`training_audio_cache` computes every training clip's A once before the first epoch and the step
(:func:`clipaac_lib.train.step.compute_loss`) takes ``cache[clip_index]``: the memory is then
``memory_norm(memory_proj(A))``, :meth:`~clipaac_lib.model.CLIPAAC.memory_from_embedding`, the path
:meth:`~clipaac_lib.model.CLIPAAC.encode_audio` takes too. The frozen text head still embeds each batch's
captions (under ``no_grad``; cheap) so that the contrastive loss is logged as before. Otherwise (frames
memory, ``torchrun``, a trainable encoder) every step runs the audio head as usual.

Padding: each clip is encoded alone or with clips of its own length (as evaluation does,
:func:`~clipaac_lib.train.evaluation.equal_length_groups`), never zero-padded. Without the cache a
training batch is zero-padded to its longest clip (or to ``max_seconds`` with ``fixed_length``), and the
audio head's embedding of a padded clip differs from that of the clip itself; the cache gives each clip
its unpadded embedding, the one evaluation sees. On clips of one length (no padding) the two are the
same numbers (``tests/test_train_frozen.py``).

The cache lives on the device, (N, L) float32 (Clotho's 3839 clips at L = 1024: 16 MB); it is not saved:
a resumed run rebuilds it in seconds.

Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from clipaac_lib.common import tqdm
from clipaac_lib.data import collate_clips
from clipaac_lib.model import CLIPAAC
from clipaac_lib.train import distributed as D
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.evaluation import equal_length_groups
from clipaac_lib.train.setup import TrainData, default_num_workers
from clipaac_lib.train.step import audio_to_device, autocast_context, autocast_dtype, unwrap

__all__ = ["uses_audio_cache", "audio_embedding_cache", "training_audio_cache"]

log = logging.getLogger(__name__)

#: module-level switch (tests turn the cache off to compare with the plain step); not a TrainConfig field
#: because the cache changes no result on clips of one length
_ENABLED = True


def uses_audio_cache(model: torch.nn.Module, info: D.DistInfo | None = None) -> bool:
    """True when the step can take cached audio embeddings: a frozen encoder (no encoder parameter
    trains), the ``"embedding"`` memory, a single process."""
    info = info or D.DistInfo()
    inner = unwrap(model)
    return (_ENABLED and not info.is_distributed and not D.is_distributed()
            and isinstance(inner, CLIPAAC) and inner.encoder_frozen
            and inner.config.audio_memory == "embedding"
            and not any(p.requires_grad for p in inner.encoder_parameters()))


@torch.no_grad()
def audio_embedding_cache(model: CLIPAAC, dataset: Dataset, device: torch.device | str, *,
                          batch_size: int = 32, num_workers: int = 0,
                          autocast: torch.dtype | bool | None = None, progress: bool = False) -> Tensor:
    """The audio embedding A of every clip of ``dataset`` (items with ``audio`` (S,) int16 or float in
    [-1, 1]): (N, L) float32 on ``device``, row i for clip i.

    The audio head runs in eval mode under ``no_grad`` (and ``autocast``, as the training step would),
    each clip unpadded: the clips of a loaded batch are encoded in groups of equal length. Compiled
    ResNeXt stages run uncompiled here (every new clip length would compile them again).
    """
    device = torch.device(device)
    audio_head = model.audio
    was_training = audio_head.training
    audio_head.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        collate_fn=collate_clips, generator=torch.Generator())  # leaves the global RNG alone
    cache = torch.empty(len(dataset), model.config.embed_dim, dtype=torch.float32, device=device)  # (N, L)
    start = 0
    try:
        with _eager_stages(audio_head), autocast_context(device, autocast):
            for batch in tqdm(loader, desc="embedding the training clips (frozen encoder)",
                              disable=not progress, leave=False, unit="batch"):
                lengths = batch.audio_lengths  # (B,)
                for group in equal_length_groups(lengths.tolist()):
                    audio = audio_to_device(batch.audio[group, : int(lengths[group[0]])], device)  # (G, S)
                    rows = torch.tensor(group, device=device) + start  # (G,)
                    cache[rows] = audio_head(audio).float()  # (G, L)
                start += len(lengths)
    finally:
        audio_head.train(was_training)
    if start != len(dataset):
        raise RuntimeError(f"the loader gave {start} clips for a dataset of {len(dataset)}")
    return cache


def training_audio_cache(model: torch.nn.Module, data: TrainData, config: TrainConfig, device: torch.device,
                         info: D.DistInfo | None = None) -> Tensor | None:
    """The (N, L) audio embeddings of ``data.train`` (the clips ``clip_index`` points to) when
    :func:`uses_audio_cache`, else None (the step runs the audio head)."""
    if not uses_audio_cache(model, info):
        return None
    workers = config.num_workers if config.num_workers is not None else default_num_workers(config.device)
    cache = audio_embedding_cache(unwrap(model), data.train, device, batch_size=config.eval_batch_size,
                                  num_workers=workers, autocast=autocast_dtype(device, config.precision),
                                  progress=config.progress and (info is None or info.is_main))
    log.info("frozen encoder: the audio embeddings of the %d training clips are computed once (unpadded) "
             "and reused at every step", cache.shape[0])
    return cache


@contextlib.contextmanager
def _eager_stages(audio_head: nn.Module) -> Iterator[None]:
    """Swap ``torch.compile``d ResNeXt stages (:func:`~clipaac_lib.train.step.fast_path`) for the modules
    they wrap, and back afterwards."""
    swapped: dict[str, nn.Module] = {}
    for name in ("layer1", "layer2", "layer3", "layer4"):
        stage = getattr(audio_head, name, None)
        original = getattr(stage, "_orig_mod", None)
        if isinstance(original, nn.Module):
            swapped[name] = stage
            setattr(audio_head, name, original)
    try:
        yield
    finally:
        for name, stage in swapped.items():
            setattr(audio_head, name, stage)
